/**
 * http mode on GCP: certificates fetched from Secret Manager into a tmpfs by a boot unit (only the
 * gateway's service account may read exactly those secrets), and the shared hostname published as
 * the service attachment's `domain_names`.
 */
import { ComputeServiceAttachment } from '@cdktf/provider-google/lib/compute-service-attachment';
import { SecretManagerSecretIamMember } from '@cdktf/provider-google/lib/secret-manager-secret-iam-member';
import type { GcpHttpModeProps, PrivateServiceConnectGatewayProps } from '../../lib/gcp';
import { HOST_CONFIG_PATH } from '../../lib/gcp/cloud-init';
import { parseConfigText } from '../../lib/tenants';
import { cloudInitSchema, shellcheck, shellScriptsIn } from '../helpers/cloud-init';
import { describeWithPeer } from '../helpers/peers';
import { cloudInit, file, pscGateway, resources, synth } from './helpers';

jest.setTimeout(120_000);

const HTTP: GcpHttpModeProps = {
  certificates: [{ certificateSecret: 'api-cert', privateKeySecret: 'projects/secrets-prj/secrets/api-key', names: ['api.example.com'] }],
  tenantFrom: { header: 'x-tenant' },
  sharedHostname: 'api.example.com',
};

/** The gateway in http mode: HTTP above, every other prop from the fixture unless a test overrides it. */
const linkgate = (overrides: Partial<PrivateServiceConnectGatewayProps> = {}) => pscGateway({ httpMode: HTTP, ...overrides });

describe('PrivateServiceConnectGateway httpMode', () => {
  const s = synth(linkgate());

  test('snapshot', () => {
    expect(s.text).toMatchSnapshot();
  });

  test('GIVEN sharedHostname THEN the service attachment publishes it in domain_names with its trailing dot', () => {
    expect(s.text).toHaveResourceWithProperties(ComputeServiceAttachment, { domain_names: ['api.example.com.'] });
  });

  test('GIVEN two secrets THEN the gateway service account is secretAccessor on exactly those, and nothing project-wide', () => {
    const grants = Object.values(resources(s, 'google_secret_manager_secret_iam_member'));
    expect(grants.map((g) => ({ secret_id: g.secret_id, role: g.role }))).toEqual([
      { secret_id: 'api-cert', role: 'roles/secretmanager.secretAccessor' },
      { secret_id: 'projects/secrets-prj/secrets/api-key', role: 'roles/secretmanager.secretAccessor' },
    ]);
    expect(s.text).toHaveResourceWithProperties(SecretManagerSecretIamMember, { member: expect.stringMatching(/google_service_account\.\w+\.member/) });
    const projectRoles = Object.values(resources(s, 'google_project_iam_member')).map((m) => m.role);
    expect(projectRoles.filter((r) => String(r).includes('secretmanager'))).toEqual([]);
  });

  test('THEN the config runs the private-link listener in http mode with the fetched files, and the container mounts the tmpfs read-only', () => {
    const loaded = parseConfigText(file(s, HOST_CONFIG_PATH).content);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    expect(loaded.value.listeners.privateLink.mode).toBe('http');
    expect(loaded.value.http).toMatchObject({
      certificates: [{ certFile: '/etc/linkgate/certs/cert-0.pem', keyFile: '/etc/linkgate/certs/key-0.pem' }],
      tenantFrom: { header: 'x-tenant' },
    });
    const unit = file(s, '/etc/systemd/system/linkgate.service').content;
    expect(unit).toContain('--mount type=bind,source=/run/linkgate/certs,target=/etc/linkgate/certs,readonly');
    expect(unit).toMatch(/^Requires=docker\.service linkgate-firewall\.service linkgate-certificates\.service$/m);
    const script = file(s, '/var/lib/linkgate/fetch-certificates.sh');
    expect(script.permissions).toBe('0700');
    expect(script.content).toContain("fetch 'projects/saas-provider-prod/secrets/api-cert/versions/latest' 'cert-0.pem'");
    expect(script.content).toContain("fetch 'projects/secrets-prj/secrets/api-key/versions/latest' 'key-0.pem'");
    expect(file(s, '/etc/systemd/system/linkgate-certificates.timer').content).toContain('OnUnitActiveSec=60min');
    expect(cloudInit(s).runcmd).toContain('systemctl start linkgate-firewall.service linkgate-certificates.timer linkgate.service');
  });

  describe('synth-time checks', () => {
    test('GIVEN no certificate THEN synth fails saying http mode needs one', () => {
      expect(() => synth(linkgate({ httpMode: { certificates: [] } }))).toThrow(/httpMode\.certificates http mode terminates TLS and needs at least one certificate/);
    });
    test('GIVEN sharedHostname with tenantFrom host THEN synth fails naming the contradiction', () => {
      expect(() => synth(linkgate({ httpMode: { ...HTTP, tenantFrom: 'host' } }))).toThrow(/httpMode\.tenantFrom is "host" .* with sharedHostname "api\.example\.com"/);
    });
    test('GIVEN sharedHostname outside the certificate names THEN synth fails', () => {
      expect(() => synth(linkgate({ httpMode: { ...HTTP, sharedHostname: 'other.example.org' } }))).toThrow(/"other\.example\.org" is covered by no certificate's names \("api\.example\.com"\)/);
    });
    test('GIVEN a domainName different from sharedHostname THEN synth fails: one domain name per attachment', () => {
      expect(() => synth(linkgate({ domainName: 'svc.example.com.' }))).toThrow(/httpMode\.sharedHostname "api\.example\.com" differs from domainName "svc\.example\.com\."/);
    });
    test('GIVEN a secret that is no Secret Manager name THEN synth fails naming the field', () => {
      const bad = { ...HTTP, certificates: [{ ...HTTP.certificates[0]!, certificateSecret: 'projects/p/secrets/x;rm -rf /' }] };
      expect(() => synth(linkgate({ httpMode: bad }))).toThrow(/httpMode\.certificates\[0\]\.certificateSecret must be a Secret Manager secret ID or projects\/P\/secrets\/S/);
    });
  });
});

describeWithPeer('cloud-init', 'GCP http mode: cloud-init schema', () => {
  test('GIVEN the http-mode user-data WHEN validated with cloud-init schema THEN it is valid', async () => {
    const r = await cloudInitSchema(cloudInit(synth(linkgate())).text);
    expect(`${r.stdout}${r.stderr}`).toContain('Valid');
    expect(r.status).toBe(0);
  });
});

describeWithPeer('shellcheck', 'GCP http mode: shellcheck', () => {
  test('GIVEN the certificate fetch script WHEN checked THEN shellcheck finds nothing', async () => {
    const scripts = shellScriptsIn(cloudInit(synth(linkgate())).text);
    expect(scripts.map((x) => x.origin)).toContain('write_files /var/lib/linkgate/fetch-certificates.sh');
    expect(await shellcheck(scripts)).toEqual([]);
  });
});
