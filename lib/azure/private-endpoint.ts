/**
 * A private endpoint to an Azure service (the container registry, the config's storage account),
 * with the private DNS zone that makes the service's usual hostname resolve to it inside the VNet.
 * This is how gateways without outbound internet access reach Azure services: the traffic stays on
 * private IPs in the VNet.
 */
import { PrivateDnsZone } from '@cdktf/provider-azurerm/lib/private-dns-zone';
import { PrivateDnsZoneVirtualNetworkLink } from '@cdktf/provider-azurerm/lib/private-dns-zone-virtual-network-link';
import { PrivateEndpoint } from '@cdktf/provider-azurerm/lib/private-endpoint';
import { Fn, Token } from 'cdktf';
import { Construct } from 'constructs';

/** Private DNS zones you already have (e.g. central zones in a hub), by service. */
export interface PrivateDnsZoneIds {
  /**
   * Resource ID of your `privatelink.azurecr.io` zone.
   * @default - a zone is created in the gateway's resource group and linked to the VNet
   */
  readonly registry?: string;
  /**
   * Resource ID of your `privatelink.blob.core.windows.net` zone.
   * @default - a zone is created in the gateway's resource group and linked to the VNet
   */
  readonly blob?: string;
  /**
   * Other zones by name (e.g. Azure Monitor's privatelink.monitor.azure.com, ...oms..., ...ods...,
   * privatelink.agentsvc.azure-automation.net).
   * @default - created and linked to the VNet
   */
  readonly byZoneName?: Record<string, string>;
}

/** Zone names Azure documents for the private endpoints linkgate makes. */
export const PRIVATE_DNS_ZONE = {
  registry: 'privatelink.azurecr.io',
  blob: 'privatelink.blob.core.windows.net',
  /** Azure Monitor Private Link Scope (subresource azuremonitor) registers in all of these, and blob. */
  azureMonitor: [
    'privatelink.monitor.azure.com',
    'privatelink.oms.opinsights.azure.com',
    'privatelink.ods.opinsights.azure.com',
    'privatelink.agentsvc.azure-automation.net',
  ],
} as const;

export interface PrivateDnsZonesProps {
  readonly resourceGroupName: string;
  /** VNet the created zones are linked to. */
  readonly virtualNetworkId: string;
  /** Prefix of the VNet links' names. */
  readonly name: string;
  /** Zones you bring, by zone name. */
  readonly existing: Record<string, string>;
  readonly tags?: Record<string, string>;
}

/**
 * The private DNS zones of one gateway's endpoints: each zone once (the registry, the config blob and
 * Azure Monitor share privatelink.blob.core.windows.net), created and linked to the VNet on first
 * use unless you brought it.
 */
export class PrivateDnsZones extends Construct {
  private readonly created = new Map<string, { zone: PrivateDnsZone; link: PrivateDnsZoneVirtualNetworkLink }>();

  constructor(scope: Construct, id: string, private readonly props: PrivateDnsZonesProps) {
    super(scope, id);
  }

  /** The zone's ID, creating it and its VNet link on first use. */
  idOf(zoneName: string): string {
    const existing = this.props.existing[zoneName];
    if (existing !== undefined) return existing;
    let entry = this.created.get(zoneName);
    if (!entry) {
      const id = zoneName.replace(/^privatelink\./, '').replace(/[^a-z0-9]+/gi, '-');
      const zone = new PrivateDnsZone(this, id, { name: zoneName, resourceGroupName: this.props.resourceGroupName, tags: this.props.tags });
      const link = new PrivateDnsZoneVirtualNetworkLink(this, `${id}-link`, {
        name: `${this.props.name}-${id}`.slice(0, 80),
        resourceGroupName: this.props.resourceGroupName,
        privateDnsZoneName: zone.name,
        virtualNetworkId: this.props.virtualNetworkId,
        registrationEnabled: false,
        tags: this.props.tags,
      });
      entry = { zone, link };
      this.created.set(zoneName, entry);
    }
    return entry.zone.id;
  }

  /** The VNet links made so far (endpoints wait for them, so their records resolve at once). */
  get links(): PrivateDnsZoneVirtualNetworkLink[] {
    return [...this.created.values()].map((e) => e.link);
  }
}

export interface ServicePrivateEndpointProps {
  readonly resourceGroupName: string;
  readonly location: string;
  /** Endpoint name (its NIC is `<name>-nic`). */
  readonly name: string;
  /** Subnet of the endpoint's NIC. */
  readonly subnetId: string;
  /** The service's resource ID (registry, storage account, Azure Monitor Private Link Scope). */
  readonly resourceId: string;
  /** Private Link subresource ("group ID"): `registry`, `blob`, `azuremonitor`. */
  readonly subresource: string;
  /** The zones Azure documents for the subresource. */
  readonly zoneNames: readonly string[];
  readonly zones: PrivateDnsZones;
  readonly tags?: Record<string, string>;
}

export class ServicePrivateEndpoint extends Construct {
  readonly resource: PrivateEndpoint;
  /** The zones the endpoint's A records go into. */
  readonly zoneIds: string[];

  constructor(scope: Construct, id: string, props: ServicePrivateEndpointProps) {
    super(scope, id);
    this.zoneIds = props.zoneNames.map((z) => props.zones.idOf(z));
    this.resource = new PrivateEndpoint(this, 'Resource', {
      name: props.name,
      customNetworkInterfaceName: `${props.name}-nic`,
      resourceGroupName: props.resourceGroupName,
      location: props.location,
      subnetId: props.subnetId,
      privateServiceConnection: {
        name: props.name,
        privateConnectionResourceId: props.resourceId,
        subresourceNames: [props.subresource],
        // Auto-approved: the deployer holds rights on the service (manual would leave it pending).
        isManualConnection: false,
      },
      // Azure writes (and removes) the endpoint's A records in the zones, including the registry's
      // regional data endpoints.
      privateDnsZoneGroup: { name: 'default', privateDnsZoneIds: this.zoneIds },
      tags: props.tags,
      dependsOn: props.zones.links.length ? props.zones.links : undefined,
    });
  }
}

/**
 * The VNet of a subnet, from its resource ID
 * (`/subscriptions/S/resourceGroups/G/providers/Microsoft.Network/virtualNetworks/V/subnets/N`).
 * Works on a token too (Terraform computes it).
 */
export function virtualNetworkIdOf(subnetId: string): string {
  if (Token.isUnresolved(subnetId)) return Fn.join('/', Fn.slice(Fn.split('/', subnetId), 0, 9));
  const match = /^(\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Network\/virtualNetworks\/[^/]+)\/subnets\/[^/]+$/i.exec(subnetId);
  if (!match) throw new Error(`not a subnet resource ID: ${subnetId}`);
  return match[1]!;
}
