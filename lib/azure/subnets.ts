/**
 * Subnets play three roles here: the internal load balancer's frontend, the gateways' NICs, and the
 * Private Link Service's NAT IPs. Constructs take either an azurerm `Subnet` from the same app (then
 * its settings can be checked at synth time) or a plain reference to an existing subnet.
 */
import { Subnet } from '@cdktf/provider-azurerm/lib/subnet';
import { Token, type IResolvable } from 'cdktf';
import { Construct } from 'constructs';
import { defaultName } from './validation';

/** An existing subnet, e.g. from a data source or another stack. */
export interface SubnetReference {
  /** Resource ID of the subnet. */
  readonly id: string;
  /**
   * The subnet's address prefixes (CIDRs).
   * @default - unknown; required where a construct turns them into NSG rules (NAT subnets)
   */
  readonly addressPrefixes?: string[];
  /**
   * Whether Private Link Service network policies are enabled on the subnet.
   * @default - unknown; not checked at synth time
   */
  readonly privateLinkServiceNetworkPoliciesEnabled?: boolean | IResolvable;
}

export type SubnetLike = Subnet | SubnetReference;

/** What the constructs need to know about a subnet. */
export interface ResolvedSubnet {
  readonly id: string;
  readonly addressPrefixes?: string[];
  /** true/false when known at synth time, undefined when not (token, or not given). */
  readonly privateLinkServiceNetworkPoliciesEnabled?: boolean;
}

export function resolveSubnet(subnet: SubnetLike): ResolvedSubnet {
  if (subnet instanceof Subnet) {
    // The *Input getters return what the app set; absent means the provider default, which is
    // `true` for private_link_service_network_policies_enabled.
    const policies = subnet.privateLinkServiceNetworkPoliciesEnabledInput;
    return {
      id: subnet.id,
      addressPrefixes: subnet.addressPrefixesInput ?? subnet.addressPrefixes,
      privateLinkServiceNetworkPoliciesEnabled: policies === undefined ? true : typeof policies === 'boolean' ? policies : undefined,
    };
  }
  const policies = subnet.privateLinkServiceNetworkPoliciesEnabled;
  return {
    id: subnet.id,
    addressPrefixes: subnet.addressPrefixes,
    privateLinkServiceNetworkPoliciesEnabled: typeof policies === 'boolean' ? policies : undefined,
  };
}

/**
 * Whether two subnet props name the same subnet, when that can be known at synth time: the same
 * object, or the same literal resource ID (IDs compare case-insensitively in Azure).
 */
export function sameSubnet(a: SubnetLike, b: SubnetLike): boolean {
  if (a === b) return true;
  const literal = (s: SubnetLike) => (Token.isUnresolved(s.id) ? undefined : s.id.toLowerCase());
  const [x, y] = [literal(a), literal(b)];
  return x !== undefined && x === y;
}

export interface PrivateLinkNatSubnetProps {
  readonly resourceGroupName: string;
  readonly virtualNetworkName: string;
  /** Address prefixes of the subnet, e.g. ["10.20.3.0/27"]; NAT IPs are taken from here. */
  readonly addressPrefixes: string[];
  /**
   * Subnet name.
   * @default - derived from the construct ID and path
   */
  readonly name?: string;
}

/**
 * A subnet for a Private Link Service's NAT IPs: Private Link Service network policies disabled,
 * as Azure requires, and nothing else in it (the gateways trust PROXY headers only from here).
 */
export class PrivateLinkNatSubnet extends Construct implements SubnetReference {
  readonly resource: Subnet;
  readonly id: string;
  readonly addressPrefixes: string[];
  readonly privateLinkServiceNetworkPoliciesEnabled = false;
  readonly name: string;

  constructor(scope: Construct, id: string, props: PrivateLinkNatSubnetProps) {
    super(scope, id);
    this.name = props.name ?? defaultName(this, 'nat');
    this.addressPrefixes = props.addressPrefixes;
    this.resource = new Subnet(this, 'Resource', {
      name: this.name,
      resourceGroupName: props.resourceGroupName,
      virtualNetworkName: props.virtualNetworkName,
      addressPrefixes: props.addressPrefixes,
      privateLinkServiceNetworkPoliciesEnabled: false,
    });
    this.id = this.resource.id;
  }
}
