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
}

export interface ServicePrivateEndpointProps {
  readonly resourceGroupName: string;
  readonly location: string;
  /** Endpoint name (its NIC is `<name>-nic`). */
  readonly name: string;
  /** Subnet of the endpoint's NIC. */
  readonly subnetId: string;
  /** The service's resource ID (registry, storage account). */
  readonly resourceId: string;
  /** Private Link subresource ("group ID"): `registry`, `blob`, ... */
  readonly subresource: string;
  /** The private DNS zone name Azure documents for the subresource, e.g. privatelink.azurecr.io. */
  readonly zoneName: string;
  /** VNet the created zone is linked to (ignored with `zoneId`). */
  readonly virtualNetworkId: string;
  /**
   * An existing zone to register the endpoint's records in.
   * @default - a zone is created and linked to virtualNetworkId
   */
  readonly zoneId?: string;
  readonly tags?: Record<string, string>;
}

export class ServicePrivateEndpoint extends Construct {
  readonly resource: PrivateEndpoint;
  readonly zone?: PrivateDnsZone;
  readonly link?: PrivateDnsZoneVirtualNetworkLink;
  /** The zone the endpoint's A records go into. */
  readonly zoneId: string;

  constructor(scope: Construct, id: string, props: ServicePrivateEndpointProps) {
    super(scope, id);
    if (props.zoneId === undefined) {
      this.zone = new PrivateDnsZone(this, 'Zone', {
        name: props.zoneName,
        resourceGroupName: props.resourceGroupName,
        tags: props.tags,
      });
      this.link = new PrivateDnsZoneVirtualNetworkLink(this, 'ZoneLink', {
        name: `${props.name}-vnet`,
        resourceGroupName: props.resourceGroupName,
        privateDnsZoneName: this.zone.name,
        virtualNetworkId: props.virtualNetworkId,
        registrationEnabled: false,
        tags: props.tags,
      });
    }
    this.zoneId = props.zoneId ?? this.zone!.id;
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
      // Azure writes (and removes) the endpoint's A records in the zone, including the registry's
      // regional data endpoints.
      privateDnsZoneGroup: { name: 'default', privateDnsZoneIds: [this.zoneId] },
      tags: props.tags,
      dependsOn: this.link ? [this.link] : undefined,
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
