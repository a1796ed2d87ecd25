/**
 * Tenant config from Blob Storage (contract A): when the rendered config outgrows the VMs' boot data
 * (Azure caps custom data and user data at 64 KB; 1,000 tenants take about 42 KB), the config goes
 * to a blob the gateways fetch and poll with a user-assigned managed identity, through a private
 * endpoint. A tenant change then rewrites the blob only: the scale-set model does not change, no VM
 * is upgraded or restarted, and each gateway applies the new config at its next poll (30 s).
 *
 * Who can read the blob: the gateways' user-assigned identity (Storage Blob Data Reader on the
 * container), the deploying principal (Storage Blob Data Contributor on the container, granted here
 * so Terraform can write the blob; `grantDeployerBlobAccess: false` to manage that yourself), and
 * whoever can grant themselves a data role or turn shared keys back on (Owner, User Access
 * Administrator, or Contributor on the account). Shared keys are off, so no key or SAS reads it.
 */
import { DataAzurermClientConfig } from '@cdktf/provider-azurerm/lib/data-azurerm-client-config';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { StorageAccount } from '@cdktf/provider-azurerm/lib/storage-account';
import { StorageBlob } from '@cdktf/provider-azurerm/lib/storage-blob';
import { StorageContainer } from '@cdktf/provider-azurerm/lib/storage-container';
import { Construct } from 'constructs';
import { PRIVATE_DNS_ZONE, ServicePrivateEndpoint, type PrivateDnsZones } from './private-endpoint';

/**
 * - `inline`: the config rides in custom data and user data (followed by an agent on each VM).
 * - `objectStore`: the config is a blob; the gateways poll it.
 * - `auto`: inline while custom data and user data both stay within AUTO_INLINE_LIMIT_BYTES, the
 *   blob above.
 */
export type ConfigDelivery = 'auto' | 'inline' | 'objectStore';
export const CONFIG_DELIVERY_VALUES: readonly ConfigDelivery[] = ['auto', 'inline', 'objectStore'];

/**
 * `auto` keeps the config inline up to half of Azure's 65,535-byte limit (base64 as sent): about
 * 750 tenants of two hostnames and one LinkID each. Half leaves room for a list that doubles before
 * the next deploy, and the switch comes long before the hard limit.
 */
export const AUTO_INLINE_LIMIT_BYTES = 32_768;

export const CONFIG_CONTAINER_NAME = 'linkgate-config';
export const CONFIG_BLOB_NAME = 'config.json';

export interface GatewayConfigStoreProps {
  readonly resourceGroupName: string;
  readonly location: string;
  /** Storage account name (3 to 24 lowercase letters and digits, globally unique). */
  readonly storageAccountName: string;
  /** The rendered gateway config (JSON). */
  readonly configJson: string;
  /** Principal ID of the identity the gateways read with. */
  readonly readerPrincipalId: string;
  /** Subnet of the blob private endpoint. */
  readonly privateEndpointSubnetId: string;
  /** The gateway's private DNS zones (privatelink.blob.core.windows.net is taken from here). */
  readonly dnsZones: PrivateDnsZones;
  /** Grant the deploying principal Storage Blob Data Contributor on the container. @default true */
  readonly grantDeployerBlobAccess?: boolean;
  /**
   * Public addresses (CIDRs) allowed to the account's public endpoint, for a deployer outside the
   * VNet. Without them public network access is off, and the deploy must run where the private
   * endpoint resolves (a runner in the VNet or a peered one).
   * @default - public network access off
   */
  readonly deployerIpRanges?: string[];
  /** Name prefix of the private endpoint. */
  readonly name: string;
  readonly tags?: Record<string, string>;
}

/** A storage account (no shared keys, TLS 1.2, private), a container and the config blob. */
export class GatewayConfigStore extends Construct {
  readonly account: StorageAccount;
  readonly container: StorageContainer;
  readonly blob: StorageBlob;
  readonly endpoint: ServicePrivateEndpoint;
  readonly readerRole: RoleAssignment;
  readonly deployerRole?: RoleAssignment;
  /** https://<account>.blob.core.windows.net/linkgate-config/config.json */
  readonly url: string;

  constructor(scope: Construct, id: string, props: GatewayConfigStoreProps) {
    super(scope, id);
    const ipRanges = props.deployerIpRanges ?? [];
    this.account = new StorageAccount(this, 'Account', {
      name: props.storageAccountName,
      resourceGroupName: props.resourceGroupName,
      location: props.location,
      accountTier: 'Standard',
      // The gateways keep their last good config through an outage: locally redundant is enough.
      accountReplicationType: 'LRS',
      accountKind: 'StorageV2',
      minTlsVersion: 'TLS1_2',
      httpsTrafficOnlyEnabled: true,
      // Entra ID only: no account key or SAS can read the config.
      sharedAccessKeyEnabled: false,
      defaultToOauthAuthentication: true,
      allowNestedItemsToBePublic: false,
      crossTenantReplicationEnabled: false,
      publicNetworkAccessEnabled: ipRanges.length > 0,
      networkRules: ipRanges.length ? { defaultAction: 'Deny', ipRules: ipRanges, bypass: ['None'] } : undefined,
      tags: props.tags,
    });
    // Through Resource Manager (storage_account_id), not the data plane: no network path needed.
    this.container = new StorageContainer(this, 'Container', {
      name: CONFIG_CONTAINER_NAME,
      storageAccountId: this.account.id,
      containerAccessType: 'private',
    });
    this.readerRole = new RoleAssignment(this, 'GatewayRead', {
      scope: this.container.resourceManagerId,
      roleDefinitionName: 'Storage Blob Data Reader',
      principalId: props.readerPrincipalId,
      principalType: 'ServicePrincipal',
    });
    if (props.grantDeployerBlobAccess ?? true) {
      const deployer = new DataAzurermClientConfig(this, 'Deployer', {});
      this.deployerRole = new RoleAssignment(this, 'DeployerWrite', {
        scope: this.container.resourceManagerId,
        roleDefinitionName: 'Storage Blob Data Contributor',
        principalId: deployer.objectId,
      });
    }
    this.endpoint = new ServicePrivateEndpoint(this, 'Endpoint', {
      resourceGroupName: props.resourceGroupName,
      location: props.location,
      name: `${props.name}-config`,
      subnetId: props.privateEndpointSubnetId,
      resourceId: this.account.id,
      subresource: 'blob',
      zoneNames: [PRIVATE_DNS_ZONE.blob],
      zones: props.dnsZones,
      tags: props.tags,
    });
    // A data-plane write: the provider needs storage_use_azuread = true (shared keys are off).
    this.blob = new StorageBlob(this, 'Config', {
      name: CONFIG_BLOB_NAME,
      storageAccountName: this.account.name,
      storageContainerName: this.container.name,
      type: 'Block',
      contentType: 'application/json',
      sourceContent: props.configJson,
      dependsOn: [this.endpoint.resource, ...(this.deployerRole ? [this.deployerRole] : [])],
    });
    this.url = this.blob.url;
  }
}

/** A default storage account name: letters and digits of the scale set's name plus a hash of the path. */
export function defaultStorageAccountName(name: string, addr: string): string {
  const letters = name.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 14) || 'linkgate';
  return `${letters}${addr.slice(-10)}`.slice(0, 24);
}
