/**
 * Owner rules on GCP: the gateway's service account gets a custom role with only
 * compute.serviceAttachments.get, bound with a condition naming the one attachment, and the
 * gateway config reads that attachment.
 */
import { GatewayInstanceGroup } from '../../lib/gcp';
import { PROJECT, errorOf, instanceGroupProps, resources, single, synth } from './helpers';

const ATTACHMENT = `projects/${PROJECT}/regions/europe-west1/serviceAttachments/linkgate-psc`;
const tenants = [{ name: 'megacorp', hostnames: ['megacorp.example.com'], allow: { gcpProjects: ['megacorp-prod'] } }];

describe('owner rules on GCP', () => {
  test('GIVEN allow.gcpProjects and the attachment WHEN synthesized THEN a get-only custom role is bound to the gateway SA for that attachment alone', () => {
    const s = synth((scope) => new GatewayInstanceGroup(scope, 'Gateway', instanceGroupProps({ tenants, ownershipSource: { serviceAttachment: ATTACHMENT } })));
    expect(single(s, 'google_project_iam_custom_role')).toMatchObject({ project: PROJECT, permissions: ['compute.serviceAttachments.get'] });
    const bindings = Object.values(resources(s, 'google_project_iam_member')).filter((b) => b.condition !== undefined);
    expect(bindings).toEqual([
      expect.objectContaining({
        project: PROJECT,
        role: expect.stringContaining('google_project_iam_custom_role'),
        member: expect.stringContaining('google_service_account'),
        condition: { title: 'linkgate service attachment only', expression: `resource.name == "${ATTACHMENT}"` },
      }),
    ]);
    expect(s.value.config.config.ownership).toMatchObject({ gcp: { serviceAttachment: ATTACHMENT }, accept: 'none' });
  });

  test('GIVEN owner rules without ownershipSource THEN synth fails saying what to pass', () => {
    expect(errorOf((scope) => new GatewayInstanceGroup(scope, 'Gateway', instanceGroupProps({ tenants })))).toMatch(
      /invalid props:\n {2}ownershipSource: tenants use allow.gcpProjects or allow.gcpNetworks .*pass ownershipSource/,
    );
  });

  test('GIVEN tenants without owner rules THEN no role is made', () => {
    const s = synth((scope) => new GatewayInstanceGroup(scope, 'Gateway', instanceGroupProps()));
    expect(resources(s, 'google_project_iam_custom_role')).toEqual({});
    expect(s.value.config.config.ownership).toBeUndefined();
  });
});
