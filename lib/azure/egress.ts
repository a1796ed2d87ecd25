/**
 * Outbound access of the gateway VMs. Azure gives VMs behind an internal Standard load balancer no
 * outbound SNAT, and new subnets no default outbound access: anything the gateways reach outside
 * the VNet needs an explicit path. linkgate needs none by default (`outboundAccess: 'none'`): the
 * image ships Docker, and the registry, the config store and Azure Monitor are reached through
 * private endpoints. For teams that allow egress, `natGateway` gives the gateway subnet a NAT
 * gateway, and `existing` trusts the path the subnet already has (a NAT gateway or a firewall).
 */
import { NatGateway } from '@cdktf/provider-azurerm/lib/nat-gateway';
import { NatGatewayPublicIpAssociation } from '@cdktf/provider-azurerm/lib/nat-gateway-public-ip-association';
import { PublicIp } from '@cdktf/provider-azurerm/lib/public-ip';
import { SubnetNatGatewayAssociation } from '@cdktf/provider-azurerm/lib/subnet-nat-gateway-association';
import { Construct } from 'constructs';

/**
 * - `none`: no path to the internet is needed or created; requires an image that ships Docker
 *   (`sourceImageId`) and an image in an Azure Container Registry (Premium) reached through a
 *   private endpoint.
 * - `natGateway`: a NAT gateway with one public IP on the gateway subnet (Docker may then be
 *   installed from the Ubuntu archive at boot, and the registry reached publicly).
 * - `existing`: the gateway subnet already has outbound access (your NAT gateway, firewall or
 *   route); nothing is created.
 */
export type OutboundAccess = 'none' | 'natGateway' | 'existing';
export const OUTBOUND_ACCESS_VALUES: readonly OutboundAccess[] = ['none', 'natGateway', 'existing'];

export interface GatewayNatGatewayProps {
  readonly resourceGroupName: string;
  readonly location: string;
  /** NAT gateway name; the public IP is `<name>-ip`. */
  readonly name: string;
  /** The gateway subnet's resource ID. */
  readonly subnetId: string;
  /** One zone at most (a NAT gateway is zonal). @default - no zone */
  readonly zones?: string[];
  readonly tags?: Record<string, string>;
}

/** A NAT gateway with one static public IP, associated with the gateway subnet. */
export class GatewayNatGateway extends Construct {
  readonly publicIp: PublicIp;
  readonly resource: NatGateway;
  readonly subnetAssociation: SubnetNatGatewayAssociation;

  constructor(scope: Construct, id: string, props: GatewayNatGatewayProps) {
    super(scope, id);
    this.publicIp = new PublicIp(this, 'Address', {
      name: `${props.name}-ip`,
      resourceGroupName: props.resourceGroupName,
      location: props.location,
      sku: 'Standard',
      allocationMethod: 'Static',
      zones: props.zones,
      tags: props.tags,
    });
    this.resource = new NatGateway(this, 'Resource', {
      name: props.name,
      resourceGroupName: props.resourceGroupName,
      location: props.location,
      skuName: 'Standard',
      zones: props.zones,
      tags: props.tags,
    });
    new NatGatewayPublicIpAssociation(this, 'AddressAssociation', {
      natGatewayId: this.resource.id,
      publicIpAddressId: this.publicIp.id,
    });
    this.subnetAssociation = new SubnetNatGatewayAssociation(this, 'SubnetAssociation', {
      subnetId: props.subnetId,
      natGatewayId: this.resource.id,
    });
  }
}
