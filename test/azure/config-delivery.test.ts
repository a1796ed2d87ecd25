/**
 * Contract A on Azure: the tenant config as a blob the gateways poll, once it outgrows boot data.
 * Shows the figures (custom data as sent) for 1,000 and 100,000 tenants.
 */
import { LinuxVirtualMachineScaleSet } from '@cdktf/provider-azurerm/lib/linux-virtual-machine-scale-set';
import { PrivateDnsZone } from '@cdktf/provider-azurerm/lib/private-dns-zone';
import { PrivateEndpoint } from '@cdktf/provider-azurerm/lib/private-endpoint';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { StorageAccount } from '@cdktf/provider-azurerm/lib/storage-account';
import { StorageBlob } from '@cdktf/provider-azurerm/lib/storage-blob';
import { StorageContainer } from '@cdktf/provider-azurerm/lib/storage-container';
import { AUTO_INLINE_LIMIT_BYTES, CONFIG_PATH, CUSTOM_DATA_LIMIT_BYTES, type GatewayScaleSetProps } from '../../lib/azure';
import { TENANTS, decodeCustomData, gatewayScaleSet, manyTenants, onlyResource, resources, synth } from './fixtures';

jest.setTimeout(600_000);

const build = (props: Partial<GatewayScaleSetProps> = {}) => synth((scope) => gatewayScaleSet(scope, { props: { name: 'lg-gw', ...props } }));

describe('GIVEN 2 tenants and the default configDelivery (auto)', () => {
  const { doc, value } = build();

  it('THEN the config rides inline (small lists need no store)', () => {
    expect(value.effectiveConfigDelivery).toBe('inline');
    expect(resources(doc, 'azurerm_storage_account')).toHaveLength(0);
    expect(value.cloudInit.customData.length).toBeLessThanOrEqual(AUTO_INLINE_LIMIT_BYTES);
  });
});

describe('GIVEN 1,000 tenants and configDelivery auto', () => {
  const tenants = manyTenants(1000);
  const { json, doc, value } = build({ tenants });
  const vmss = onlyResource(doc, 'azurerm_linux_virtual_machine_scale_set');
  const account = Object.keys(doc.resource.azurerm_storage_account!)[0]!;
  const container = Object.keys(doc.resource.azurerm_storage_container!)[0]!;
  const identity = Object.keys(doc.resource.azurerm_user_assigned_identity!)[0]!;
  const blob = Object.keys(doc.resource.azurerm_storage_blob!)[0]!;

  it('THEN inline would pass half of the 64 KB, so the config goes to the blob store, and custom data shrinks', () => {
    expect(value.effectiveConfigDelivery).toBe('objectStore');
    const customData = vmss.custom_data as string;
    // Figure for the report: custom data as sent with the config in a blob.
    console.log(`1,000 tenants: custom data ${customData.length} bytes as sent; blob ${value.config.json.length} bytes`);
    expect(customData.length).toBeLessThan(AUTO_INLINE_LIMIT_BYTES);
    expect(decodeCustomData(customData).config.write_files.map((f) => f.path)).not.toContain(CONFIG_PATH);
  });

  it('THEN the storage account takes no shared keys, no public network, TLS 1.2 only', () => {
    expect(json).toHaveResourceWithProperties(StorageAccount, {
      shared_access_key_enabled: false,
      public_network_access_enabled: false,
      min_tls_version: 'TLS1_2',
      https_traffic_only_enabled: true,
      allow_nested_items_to_be_public: false,
    });
  });

  it('THEN the blob holds the rendered config, in a private container', () => {
    expect(json).toHaveResourceWithProperties(StorageContainer, { name: 'linkgate-config', container_access_type: 'private', storage_account_id: `\${azurerm_storage_account.${account}.id}` });
    expect(json).toHaveResourceWithProperties(StorageBlob, { name: 'config.json', type: 'Block', content_type: 'application/json', source_content: value.config.json });
  });

  it('THEN only the gateways\' user-assigned identity reads it (Storage Blob Data Reader on the container), and the deployer may write it', () => {
    const scope = `\${azurerm_storage_container.${container}.resource_manager_id}`;
    expect(json).toHaveResourceWithProperties(RoleAssignment, {
      scope,
      role_definition_name: 'Storage Blob Data Reader',
      principal_id: `\${azurerm_user_assigned_identity.${identity}.principal_id}`,
      principal_type: 'ServicePrincipal',
    });
    expect(json).toHaveResourceWithProperties(RoleAssignment, { scope, role_definition_name: 'Storage Blob Data Contributor', principal_id: expect.stringMatching(/^\$\{data\.azurerm_client_config\..*\.object_id\}$/) });
  });

  it('THEN the gateways reach blob storage through a private endpoint registered in privatelink.blob.core.windows.net', () => {
    expect(json).toHaveResourceWithProperties(PrivateDnsZone, { name: 'privatelink.blob.core.windows.net' });
    expect(json).toHaveResourceWithProperties(PrivateEndpoint, {
      name: 'lg-gw-config',
      private_service_connection: expect.objectContaining({ private_connection_resource_id: `\${azurerm_storage_account.${account}.id}`, subresource_names: ['blob'] }),
    });
  });

  it('THEN the VMs carry the identity, and user data names the blob URL and its client ID (LINKGATE_CONFIG_URL, LINKGATE_AZURE_CLIENT_ID)', () => {
    expect(json).toHaveResourceWithProperties(LinuxVirtualMachineScaleSet, {
      identity: { type: 'SystemAssigned, UserAssigned', identity_ids: [`\${azurerm_user_assigned_identity.${identity}.id}`] },
    });
    expect(vmss.user_data).toContain(`azurerm_storage_blob.${blob}.url`);
    expect(vmss.user_data).toContain(`azurerm_user_assigned_identity.${identity}.client_id`);
    expect(vmss.user_data).toMatch(/^\$\{base64encode\(jsonencode\(/);
    expect(vmss.depends_on).toEqual(expect.arrayContaining([`azurerm_storage_blob.${blob}`, expect.stringMatching(/^azurerm_role_assignment\..*GatewayRead/)]));
  });

  it('WHEN a tenant changes THEN only the blob changes: the scale-set model (custom data, user data) stays, so no VM is upgraded; the gateways poll the blob', () => {
    const changed = build({ tenants: [...tenants.slice(1), { name: 'globex', hostnames: ['globex.example.com'], allow: { azure: ['42'] } }] }).doc;
    const after = onlyResource(changed, 'azurerm_linux_virtual_machine_scale_set');
    expect([after.custom_data, after.user_data]).toEqual([vmss.custom_data, vmss.user_data]);
    expect(onlyResource(changed, 'azurerm_storage_blob').source_content).not.toEqual(onlyResource(doc, 'azurerm_storage_blob').source_content);
  });
});

describe('GIVEN 100,000 tenants', () => {
  const { doc, value } = build({ tenants: manyTenants(100_000) });
  const vmss = onlyResource(doc, 'azurerm_linux_virtual_machine_scale_set');

  it('THEN synth succeeds, custom data stays far below Azure\'s 64 KB (the same bytes as for 2 tenants), and the blob holds every tenant', () => {
    const customData = vmss.custom_data as string;
    console.log(`100,000 tenants: custom data ${customData.length} bytes as sent; blob ${value.config.json.length} bytes`);
    expect(value.effectiveConfigDelivery).toBe('objectStore');
    expect(customData.length).toBeLessThan(CUSTOM_DATA_LIMIT_BYTES / 2);
    const two = onlyResource(build({ configDelivery: 'objectStore' }).doc, 'azurerm_linux_virtual_machine_scale_set');
    expect(customData).toBe(two.custom_data);
    expect(JSON.parse(onlyResource(doc, 'azurerm_storage_blob').source_content as string).tenants).toHaveLength(100_000);
  });
});

describe('GIVEN deployer IP ranges', () => {
  const { json } = build({ configDelivery: 'objectStore', configDeployerIpRanges: ['198.51.100.7'] });

  it('THEN the account\'s public endpoint admits only them (deny by default, no service bypass)', () => {
    expect(json).toHaveResourceWithProperties(StorageAccount, {
      public_network_access_enabled: true,
      network_rules: { default_action: 'Deny', ip_rules: ['198.51.100.7'], bypass: ['None'] },
    });
  });
});

describe('GIVEN configDelivery inline with TENANTS', () => {
  it('THEN no store exists', () => {
    const { doc } = build({ configDelivery: 'inline', tenants: TENANTS });
    expect(resources(doc, 'azurerm_storage_account')).toHaveLength(0);
  });
});

describe('GIVEN invalid config delivery props', () => {
  it.each<[string, Partial<GatewayScaleSetProps>, RegExp]>([
    ['an unknown delivery', { configDelivery: 'etcd' as never }, /configDelivery: must be one of 'auto', 'inline', 'objectStore', got "etcd"/],
    ['an account name with capitals', { configStorageAccountName: 'LinkGate' }, /configStorageAccountName: must be 3 to 24 lowercase letters and digits/],
    ['an IPv6 deployer range', { configDeployerIpRanges: ['2001:db8::1'] }, /configDeployerIpRanges\[0\]: must be a public IPv4 address or CIDR/],
  ])('GIVEN %s THEN synth fails naming it', (_what, props, message) => {
    expect(() => build(props)).toThrow(message);
  });
});
