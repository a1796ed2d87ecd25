import { ComputeServiceAttachment } from '@cdktf/provider-google/lib/compute-service-attachment';
import { ComputeSubnetwork } from '@cdktf/provider-google/lib/compute-subnetwork';
import type { Construct } from 'constructs';
import { PscServiceAttachment, type PscServiceAttachmentProps } from '../../lib/gcp';
import { GCP_ID, NAT_CIDR, NETWORK, PROJECT, REGION, TENANTS, errorOf, resources, single, synth } from './helpers';

const TARGET = 'projects/saas-provider-prod/regions/europe-west1/forwardingRules/gateway-private-link';

const attachment = (overrides: Partial<PscServiceAttachmentProps> = {}) => (scope: Construct) =>
  new PscServiceAttachment(scope, 'Attachment', {
    project: PROJECT,
    region: REGION,
    network: NETWORK,
    targetService: TARGET,
    tenants: TENANTS,
    natSubnetCidr: NAT_CIDR,
    ...overrides,
  });

describe('PscServiceAttachment', () => {
  describe('GIVEN two tenants with consumer projects and a NAT range', () => {
    const s = synth(attachment());

    test('THEN the synthesized stack matches the snapshot', () => {
      expect(s.text).toMatchSnapshot();
    });

    test('THEN PROXY protocol is on: the PSC connection ID reaches the gateway', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeServiceAttachment, { enable_proxy_protocol: true, target_service: TARGET });
    });

    test('THEN connections are accepted manually, from the tenants’ projects with their limits', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeServiceAttachment, {
        connection_preference: 'ACCEPT_MANUAL',
        consumer_accept_lists: [
          { project_id_or_num: 'initech-shared', connection_limit: 2 },
          { project_id_or_num: 'megacorp-prod', connection_limit: 5 },
        ],
      });
    });

    test('THEN a NAT subnet for Private Service Connect is created and used', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeSubnetwork, {
        purpose: 'PRIVATE_SERVICE_CONNECT',
        ip_cidr_range: NAT_CIDR,
        network: NETWORK,
        region: REGION,
      });
      expect(s.text).toHaveResourceWithProperties(ComputeServiceAttachment, {
        nat_subnets: [expect.stringMatching(/google_compute_subnetwork\.Attachment_NatSubnet_\w+\.id/)],
      });
    });

    test('THEN accept-list changes reconcile existing connections (offboarding cuts them)', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeServiceAttachment, { reconcile_connections: true });
    });

    test('THEN no domain name is set', () => {
      expect(single(s, 'google_compute_service_attachment').domain_names).toBeUndefined();
    });

    test('THEN it warns about nothing', () => {
      expect(s.warnings).toEqual([]);
    });
  });

  describe('GIVEN one project named by two tenants', () => {
    test('THEN it is listed once with the larger connection limit', () => {
      const tenants = [
        { name: 'a', hostnames: ['a.example.com'], allow: { gcp: [GCP_ID] }, consumers: { gcp: { projects: [{ id: 'shared-vpc-host', connectionLimit: 3 }] } } },
        { name: 'b', hostnames: ['b.example.com'], open: true, consumers: { gcp: { projects: [{ id: 'shared-vpc-host', connectionLimit: 7 }] } } },
      ];
      const s = synth(attachment({ tenants }));
      expect(s.text).toHaveResourceWithProperties(ComputeServiceAttachment, {
        consumer_accept_lists: [{ project_id_or_num: 'shared-vpc-host', connection_limit: 7 }],
      });
    });
  });

  describe('GIVEN a domain name, existing NAT subnets and no reconciliation', () => {
    const nat = 'projects/saas-provider-prod/regions/europe-west1/subnetworks/psc-nat';
    const s = synth(attachment({ domainName: 'svc.example.com.', natSubnetCidr: undefined, natSubnets: [nat], reconcileConnections: false }));

    test('THEN they are used and no subnet is created', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeServiceAttachment, {
        domain_names: ['svc.example.com.'],
        nat_subnets: [nat],
        reconcile_connections: false,
      });
      expect(resources(s, 'google_compute_subnetwork')).toEqual({});
    });
  });

  describe('validation', () => {
    const cases: [string, Partial<PscServiceAttachmentProps>, RegExp][] = [
      ['a domain without its trailing dot', { domainName: 'svc.example.com' }, /domainName: must be fully qualified with a trailing dot, got "svc.example.com" \(use "svc.example.com."\)/],
      ['a domain that is not a DNS name', { domainName: 'Svc_1.example.com.' }, /domainName: must be a DNS name of lowercase labels with a trailing dot, like "svc.example.com.", got "Svc_1.example.com."/],
      ['both NAT options', { natSubnets: ['x'] }, /natSubnetCidr: give exactly one of natSubnetCidr \(a new NAT subnet\) and natSubnets \(existing ones\)/],
      ['neither NAT option', { natSubnetCidr: undefined }, /natSubnetCidr: give exactly one of natSubnetCidr/],
      ['an empty NAT subnet list', { natSubnetCidr: undefined, natSubnets: [] }, /natSubnets: must list at least one subnet, got \[\]/],
      ['a NAT range that is not IPv4', { natSubnetCidr: 'fd00::/64' }, /natSubnetCidr: must be an IPv4 CIDR block with a \/8 to \/29 prefix.*got "fd00::\/64"/],
      ['no target service', { targetService: '' }, /targetService: must not be empty/],
      ['a bad region', { region: 'EU' }, /region: must be a GCP region like europe-west1, got "EU"/],
      ['a bad project', { project: '1project' }, /project: must be a GCP project ID .*got "1project"/],
      ['a bad name', { name: 'a'.repeat(21) }, /name: must be 1 to 20 lowercase letters/],
    ];
    test.each(cases)('GIVEN %s THEN synth fails naming the construct and the value', (_, overrides, message) => {
      const error = errorOf(attachment(overrides));
      expect(error).toMatch(/^PscServiceAttachment at stack\/Attachment: invalid props:/);
      expect(error).toMatch(message);
    });

    test('GIVEN a consumer project ID that is not one THEN the tenant model refuses it, naming this construct', () => {
      const tenants = [{ name: 'a', hostnames: ['a.example.com'], open: true, consumers: { gcp: { projects: [{ id: 'my project', connectionLimit: 1 }] } } }];
      const error = errorOf(attachment({ tenants }));
      expect(error).toMatch(/^stack\/Attachment: invalid tenant declarations:/);
      expect(error).toMatch(/tenants\[0\]\.consumers\.gcp\.projects\[0\]\.id: expected a GCP project ID .*got "my project"/);
    });

    test('GIVEN a connection limit above 10000 THEN the tenant model refuses it', () => {
      const tenants = [{ name: 'a', hostnames: ['a.example.com'], open: true, consumers: { gcp: { projects: [{ id: 'abcdef-prod', connectionLimit: 10001 }] } } }];
      expect(errorOf(attachment({ tenants }))).toMatch(/connectionLimit: connectionLimit must be at most 10000, got 10001/);
    });

    test('GIVEN a fractional connection limit THEN the tenant model refuses it', () => {
      const tenants = [{ name: 'a', hostnames: ['a.example.com'], open: true, consumers: { gcp: { projects: [{ id: 'abcdef-prod', connectionLimit: 1.5 }] } } }];
      expect(errorOf(attachment({ tenants }))).toMatch(/connectionLimit: connectionLimit must be a whole number, got 1.5/);
    });
  });

  describe('warnings on legal but risky settings', () => {
    test('GIVEN no tenant with consumer projects THEN it warns that every endpoint stays pending', () => {
      const s = synth(attachment({ tenants: [{ name: 'a', hostnames: ['a.example.com'], allow: { gcp: [GCP_ID] } }] }));
      expect(s.text).toHaveResourceWithProperties(ComputeServiceAttachment, { consumer_accept_lists: [] });
      expect(s.warnings).toEqual([expect.stringMatching(/the accept list is empty and every PSC endpoint stays pending/)]);
    });

    test('GIVEN a NAT range smaller than the endpoints allowed THEN it warns about NAT capacity', () => {
      const s = synth(attachment({ natSubnetCidr: '10.100.0.0/29' }));
      expect(s.warnings).toEqual([expect.stringMatching(/natSubnetCidr 10\.100\.0\.0\/29 has 4 usable addresses but the accept list allows 7 endpoints/)]);
    });
  });
});
