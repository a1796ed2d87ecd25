/**
 * http mode on Azure: certificates from Key Vault through the KeyVaultForLinux extension, copied
 * into a tmpfs the container reads (only the scale set's identity may read the vault's secrets),
 * and the shared hostname published as the Private Link Service's `fqdns`.
 */
import { gunzipSync } from 'node:zlib';
import { PrivateLinkService } from '@cdktf/provider-azurerm/lib/private-link-service';
import type { Construct } from 'constructs';
import type { AzureHttpModeProps, PrivateLinkGatewayProps } from '../../lib/azure';
import { CONFIG_PATH, GATEWAY_SCRIPT_PATH } from '../../lib/azure/cloud-init';
import { parseConfigText } from '../../lib/tenants';
import { cloudInitSchema, shellcheck, shellScriptsIn } from '../helpers/cloud-init';
import { describeWithPeer } from '../helpers/peers';
import {
  SUBSCRIPTION,
  decodeCustomData,
  onlyResource,
  privateLinkGateway,
  resources,
  synth,
  writeFile,
} from './fixtures';

jest.setTimeout(120_000);

const VAULT_ID = `/subscriptions/${SUBSCRIPTION}/resourceGroups/secrets/providers/Microsoft.KeyVault/vaults/lg-certs`;
const HTTP: AzureHttpModeProps = {
  keyVault: { id: VAULT_ID, name: 'lg-certs' },
  certificates: [{ name: 'api-example-com', names: ['api.example.com'] }],
  tenantFrom: { header: 'x-tenant' },
  sharedHostname: 'api.example.com',
};

/** The gateway in http mode: HTTP above, every other prop from the fixture unless a test overrides it. */
const linkgate = (overrides: Partial<PrivateLinkGatewayProps> = {}) => (scope: Construct) => privateLinkGateway(scope, { httpMode: HTTP, ...overrides });

const cloudConfig = (doc: ReturnType<typeof synth>['doc']) =>
  decodeCustomData(onlyResource(doc, 'azurerm_linux_virtual_machine_scale_set').custom_data as string);

describe('PrivateLinkGateway httpMode', () => {
  const s = synth(linkgate());

  test('snapshot', () => {
    expect(s.json).toMatchSnapshot();
  });

  test('GIVEN sharedHostname THEN the Private Link Service publishes it in fqdns', () => {
    expect(s.json).toHaveResourceWithProperties(PrivateLinkService, { fqdns: ['api.example.com'] });
  });

  test('THEN the scale set runs the KeyVaultForLinux extension observing the versionless secret URL', () => {
    const ext = resources(s.doc, 'azurerm_virtual_machine_scale_set_extension').find((e) => e.type === 'KeyVaultForLinux')!;
    expect(ext).toMatchObject({ publisher: 'Microsoft.Azure.KeyVault', type_handler_version: '2.0', auto_upgrade_minor_version: true });
    expect(JSON.parse(ext.settings as string)).toEqual({
      secretsManagementSettings: {
        pollingIntervalInS: '3600',
        certificateStoreLocation: '/var/lib/waagent/Microsoft.Azure.KeyVault.Store',
        observedCertificates: ['https://lg-certs.vault.azure.net/secrets/api-example-com'],
      },
    });
    expect(ext.virtual_machine_scale_set_id).toMatch(/azurerm_linux_virtual_machine_scale_set\.\w+\.id/);
    expect(ext.depends_on).toEqual(expect.arrayContaining([expect.stringMatching(/azurerm_role_assignment\.\w*KeyVaultSecretsUser/)]));
  });

  test('THEN the scale set identity is Key Vault Secrets User on exactly the vault, and nowhere else', () => {
    const grants = resources(s.doc, 'azurerm_role_assignment').filter((r) => String(r.role_definition_name).startsWith('Key Vault'));
    expect(grants).toHaveLength(1);
    expect(grants[0]).toMatchObject({ scope: VAULT_ID, role_definition_name: 'Key Vault Secrets User', principal_type: 'ServicePrincipal' });
    expect(grants[0]!.principal_id).toMatch(/azurerm_linux_virtual_machine_scale_set\.\w+\.identity\[0\]\.principal_id/);
  });

  test('GIVEN object-store delivery (a user-assigned identity on the VMs) THEN the extension names that identity and it gets the grant', () => {
    const t = synth(linkgate({ configDelivery: 'objectStore' }));
    const ext = resources(t.doc, 'azurerm_virtual_machine_scale_set_extension').find((e) => e.type === 'KeyVaultForLinux')!;
    expect(JSON.parse(ext.settings as string).authenticationSettings).toEqual({
      msiEndpoint: 'http://169.254.169.254/metadata/identity',
      msiClientId: expect.stringMatching(/azurerm_user_assigned_identity\.\w+\.client_id/),
    });
    const grant = resources(t.doc, 'azurerm_role_assignment').find((r) => r.role_definition_name === 'Key Vault Secrets User')!;
    expect(grant.principal_id).toMatch(/azurerm_user_assigned_identity\.\w+\.principal_id/);
  });

  test('GIVEN outboundAccess none (the default) THEN the vault is reached through a private endpoint with the vaultcore zone', () => {
    const endpoint = resources(s.doc, 'azurerm_private_endpoint').find((e) => e.name === 'linkgate-gw-kv-pe')!;
    expect(endpoint).toBeDefined();
    expect(endpoint.private_service_connection).toMatchObject({ private_connection_resource_id: VAULT_ID, subresource_names: ['vault'] });
    expect(resources(s.doc, 'azurerm_private_dns_zone').map((z) => z.name)).toContain('privatelink.vaultcore.azure.net');
  });

  test('GIVEN keyVaultPrivateEndpoint false THEN no endpoint to the vault is made', () => {
    const t = synth(linkgate({ httpMode: { ...HTTP, keyVaultPrivateEndpoint: false } }));
    expect(resources(t.doc, 'azurerm_private_endpoint').map((e) => e.name)).not.toContain('linkgate-gw-kv-pe');
    expect(resources(t.doc, 'azurerm_private_dns_zone').map((z) => z.name)).not.toContain('privatelink.vaultcore.azure.net');
  });

  test('THEN the config runs the private-link listener in http mode with the combined PEM as cert and key, and the container mounts the tmpfs read-only', () => {
    const { config } = cloudConfig(s.doc);
    const loaded = parseConfigText(gunzipSync(Buffer.from(writeFile(config, CONFIG_PATH).content, 'base64')).toString('utf8'));
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    expect(loaded.value.listeners.privateLink.mode).toBe('http');
    expect(loaded.value.http).toMatchObject({
      certificates: [{ certFile: '/run/linkgate/certs/lg-certs.api-example-com.pem', keyFile: '/run/linkgate/certs/lg-certs.api-example-com.pem' }],
      tenantFrom: { header: 'x-tenant' },
    });
    expect(writeFile(config, GATEWAY_SCRIPT_PATH).content).toContain('--volume /run/linkgate/certs:/run/linkgate/certs:ro');
    const script = writeFile(config, '/usr/local/lib/linkgate/copy-certificates');
    expect(script.permissions).toBe('0700');
    expect(script.content).toContain("names=('lg-certs.api-example-com')");
    expect(script.content).toContain('docker kill --signal=HUP linkgate');
    expect(writeFile(config, '/etc/systemd/system/linkgate-certificates.path').content).toContain('PathChanged=/var/lib/waagent/Microsoft.Azure.KeyVault.Store');
    expect(config.runcmd).toContainEqual(['systemctl', 'enable', '--now', 'linkgate-certificates.path']);
    expect(config.runcmd).toContainEqual(['systemctl', 'enable', '--now', 'linkgate-certificates.timer']);
  });

  describe('synth-time checks', () => {
    test('GIVEN no certificate THEN synth fails saying http mode needs one', () => {
      expect(() => synth(linkgate({ httpMode: { ...HTTP, certificates: [], sharedHostname: undefined, tenantFrom: undefined } }))).toThrow(
        /httpMode\.certificates.*http mode terminates TLS and needs at least one certificate/,
      );
    });
    test('GIVEN sharedHostname with tenantFrom host THEN synth fails naming the contradiction', () => {
      expect(() => synth(linkgate({ httpMode: { ...HTTP, tenantFrom: 'host' } }))).toThrow(/httpMode\.tenantFrom.*is "host" .* with sharedHostname "api\.example\.com"/);
    });
    test('GIVEN a wildcard sharedHostname THEN synth fails: private DNS integration takes none', () => {
      expect(() => synth(linkgate({ httpMode: { ...HTTP, sharedHostname: '*.example.com' } }))).toThrow(/"\*\.example\.com" is not a host name.*no wildcard/);
    });
    test('GIVEN sharedHostname outside the certificate names THEN synth fails', () => {
      expect(() => synth(linkgate({ httpMode: { ...HTTP, sharedHostname: 'other.example.org' } }))).toThrow(/"other\.example\.org" is covered by no certificate's names \("api\.example\.com"\)/);
    });
    test('GIVEN fqdns without the shared hostname THEN synth fails: the PLS publishes the shared hostname', () => {
      expect(() => synth(linkgate({ fqdns: ['svc.example.com'] }))).toThrow(/httpMode\.sharedHostname "api\.example\.com" is not among fqdns \("svc\.example\.com"\)/);
    });
    test('GIVEN a certificate name that is no Key Vault name THEN synth fails naming the field', () => {
      const bad = { ...HTTP, certificates: [{ name: "x';rm -rf /" }], sharedHostname: undefined, tenantFrom: undefined };
      expect(() => synth(linkgate({ httpMode: bad }))).toThrow(/httpMode\.certificates\[0\]\.name.*must be a Key Vault certificate name/);
    });
  });
});

describeWithPeer('cloud-init', 'Azure http mode: cloud-init schema', () => {
  test('GIVEN the http-mode custom data WHEN validated with cloud-init schema THEN it is valid', async () => {
    const r = await cloudInitSchema(cloudConfig(synth(linkgate()).doc).text);
    expect(`${r.stdout}${r.stderr}`).toContain('Valid');
    expect(r.status).toBe(0);
  });
});

describeWithPeer('shellcheck', 'Azure http mode: shellcheck', () => {
  test('GIVEN the certificate copy script and the gateway script WHEN checked THEN shellcheck finds nothing', async () => {
    const scripts = shellScriptsIn(cloudConfig(synth(linkgate()).doc).text);
    expect(scripts.map((x) => x.origin)).toContain('write_files /usr/local/lib/linkgate/copy-certificates');
    expect(await shellcheck(scripts)).toEqual([]);
  });
});
