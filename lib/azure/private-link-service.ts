/**
 * The Private Link Service customers connect their private endpoints to. Its two gates come from
 * the tenant declarations: visibility and auto-approval here (who may create an endpoint at all,
 * enforced by Azure), and the LinkIDs the gateway allows (what the endpoint may reach).
 */
import { PrivateLinkService } from '@cdktf/provider-azurerm/lib/private-link-service';
import { Annotations, Token, type TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';
import { isIP } from 'node:net';
import { collectConsumers, hostnameSchema, parseTenantDeclarations, showValue, type TenantDeclarations } from '../tenants';
import type { PrivateLinkLoadBalancer } from './load-balancer';
import { checkOutputPrefix, stableOutput } from './outputs';
import { resolveSubnet, type SubnetLike } from './subnets';
import { PropIssues, defaultName } from './validation';

export interface GatewayPrivateLinkServiceProps {
  readonly resourceGroupName: string;
  readonly location: string;
  /** The dedicated internal load balancer; the service attaches to its frontend. */
  readonly loadBalancer: PrivateLinkLoadBalancer;
  /** Subnet of the NAT IPs; Private Link Service network policies must be disabled on it. */
  readonly natSubnet: SubnetLike;
  /** The tenants: their `consumers.azure` subscriptions become visibility and auto-approval. */
  readonly tenants: TenantDeclarations;
  /**
   * Service name; consumers see it as the first label of the alias.
   * @default - derived from the construct ID and path
   */
  readonly name?: string;
  /**
   * Number of NAT IP configurations (1 to 8). Each NAT IP gives every gateway about 64,000 source
   * ports for Private Link flows.
   * @default 1
   */
  readonly natIpAddressCount?: number;
  /**
   * Static NAT IP addresses inside natSubnet, one per NAT IP configuration (overrides the count).
   * @default - dynamically allocated
   */
  readonly natPrivateIpAddresses?: string[];
  /**
   * Fully qualified domain names of the service, shown to consumers (e.g. for their DNS setup).
   * @default - none
   */
  readonly fqdns?: string[];
  /**
   * Prefix of the Terraform outputs' names, for a stack holding two services (`eu_` gives
   * `eu_service_alias`, ...).
   * @default - none: the outputs are named `service_alias` and `service_id`
   */
  readonly outputPrefix?: string;
  /**
   * Tags.
   * @default - none
   */
  readonly tags?: Record<string, string>;
}

/**
 * A Private Link Service with PROXY protocol v2 on (so the gateway learns each flow's LinkID), NAT
 * IPs in a subnet with Private Link Service network policies disabled, and visibility and
 * auto-approval from the tenants. Outputs its alias (what consumers connect to) and ID as
 * `service_alias` and `service_id`.
 */
export class GatewayPrivateLinkService extends Construct {
  readonly name: string;
  readonly natIpAddressCount: number;
  readonly visibilitySubscriptionIds: string[];
  readonly autoApprovalSubscriptionIds: string[];
  readonly fqdns: string[];

  readonly resource: PrivateLinkService;
  /** The alias consumers give their private endpoint. */
  readonly alias: string;
  readonly serviceId: string;
  readonly aliasOutput: TerraformOutput;
  readonly idOutput: TerraformOutput;

  constructor(scope: Construct, id: string, props: GatewayPrivateLinkServiceProps) {
    super(scope, id);
    this.name = props.name ?? defaultName(this, 'pls');
    this.natIpAddressCount = props.natPrivateIpAddresses?.length ?? props.natIpAddressCount ?? 1;
    this.fqdns = props.fqdns ?? [];

    const natSubnet = resolveSubnet(props.natSubnet);
    const issues = new PropIssues();
    issues.resourceName('name', props.name);
    issues.intRange(props.natPrivateIpAddresses ? 'natPrivateIpAddresses.length' : 'natIpAddressCount', this.natIpAddressCount, 1, 8);
    props.natPrivateIpAddresses?.forEach((ip, i) => {
      if (!Token.isUnresolved(ip) && isIP(ip) !== 4) {
        issues.add(`natPrivateIpAddresses[${i}]`, `must be an IPv4 address inside natSubnet, got ${showValue(ip)}`);
      }
    });
    if (natSubnet.privateLinkServiceNetworkPoliciesEnabled === true) {
      issues.add(
        'natSubnet',
        'has Private Link Service network policies enabled (privateLinkServiceNetworkPoliciesEnabled is true, the provider default); Azure places NAT IPs only in a subnet where they are disabled: set it to false, or use PrivateLinkNatSubnet (is the gateway or frontend subnet passed as natSubnet?)',
      );
    }
    this.fqdns.forEach((fqdn, i) => {
      if (Token.isUnresolved(fqdn)) return;
      const parsed = hostnameSchema.safeParse(fqdn);
      if (!parsed.success || fqdn.startsWith('*.')) {
        issues.add(`fqdns[${i}]`, `must be a fully qualified domain name like api.example.com, got ${showValue(fqdn)}`);
      }
    });
    const outputPrefix = checkOutputPrefix(issues, props.outputPrefix);
    issues.throwIfAny(this, 'GatewayPrivateLinkService');

    const consumers = collectConsumers(parseTenantDeclarations(props.tenants, this.node.path));
    this.visibilitySubscriptionIds = consumers.azureVisibility;
    this.autoApprovalSubscriptionIds = consumers.azureAutoApproval;
    if (this.visibilitySubscriptionIds.length === 0) {
      Annotations.of(this).addWarning(
        'no tenant lists consumers.azure.subscriptions, so the visibility list is empty and every Azure subscription can find this service by its alias and request a connection; the requests still need approval and the gateway still checks LinkIDs',
      );
    }

    const ips = props.natPrivateIpAddresses;
    this.resource = new PrivateLinkService(this, 'Resource', {
      name: this.name,
      resourceGroupName: props.resourceGroupName,
      location: props.location,
      loadBalancerFrontendIpConfigurationIds: [props.loadBalancer.frontendIpConfigurationId],
      // PROXY protocol v2: each flow starts with a header whose TLV carries the endpoint's LinkID.
      enableProxyProtocol: true,
      natIpConfiguration: Array.from({ length: this.natIpAddressCount }, (_, i) => ({
        name: `nat-${i}`,
        subnetId: natSubnet.id,
        primary: i === 0,
        privateIpAddress: ips?.[i],
        privateIpAddressVersion: 'IPv4',
      })),
      visibilitySubscriptionIds: this.visibilitySubscriptionIds,
      autoApprovalSubscriptionIds: this.autoApprovalSubscriptionIds,
      fqdns: this.fqdns.length ? this.fqdns : undefined,
      tags: props.tags,
    });
    this.alias = this.resource.alias;
    this.serviceId = this.resource.id;
    this.aliasOutput = stableOutput(this, 'Alias', outputPrefix, 'service_alias', {
      value: this.alias,
      description: 'Private Link Service alias: what customers give their private endpoint',
    });
    this.idOutput = stableOutput(this, 'Id', outputPrefix, 'service_id', {
      value: this.serviceId,
      description: 'Private Link Service resource ID: find endpoint LinkIDs under its private endpoint connections',
    });
  }
}
