/**
 * Everything a provider needs on Azure, from a resource group, three subnets and a tenant list:
 * the dedicated internal load balancer, the gateway scale set behind it, the Private Link Service
 * on it, and optionally a separate public load balancer for the public path.
 */
import { Construct } from 'constructs';
import { parseTenantDeclarations, showValue, type AdditionalPrivateLinkPort, type TenantDeclarations } from '../tenants';
import { GatewayScaleSet, type GatewayScaleSetProps } from './gateway';
import { sharedFqdns } from './http-mode';
import { PrivateLinkLoadBalancer, type GatewayProbeProps } from './load-balancer';
import { GatewayPrivateLinkService } from './private-link-service';
import { GatewayPublicLoadBalancer } from './public-load-balancer';
import { resolveSubnet, sameSubnet, type SubnetLike } from './subnets';
import { PropIssues, slug } from './validation';

type ScaleSetOptions = Omit<
  GatewayScaleSetProps,
  | 'resourceGroupName'
  | 'location'
  | 'subnet'
  | 'privateLinkLoadBalancer'
  | 'natSubnets'
  | 'publicLoadBalancer'
  | 'name'
  | 'tenants'
  | 'tags'
  | 'zones'
>;

export interface PrivateLinkGatewayProps extends ScaleSetOptions, GatewayProbeProps {
  readonly resourceGroupName: string;
  readonly location: string;
  /** Subnet of the internal load balancer's frontend IP. */
  readonly frontendSubnet: SubnetLike;
  /**
   * Subnet of the gateway VMs. With outboundAccess `none` (the default) it needs no outbound access:
   * the registry and the config store are reached through private endpoints.
   */
  readonly gatewaySubnet: SubnetLike;
  /** Subnet of the Private Link Service NAT IPs, with its network policies disabled (see PrivateLinkNatSubnet). */
  readonly natSubnet: SubnetLike;
  /** The tenants: rendered into the gateway config and into the service's visibility and auto-approval. */
  readonly tenants: TenantDeclarations;
  /**
   * Prefix of every resource name: `<prefix>-ilb`, `<prefix>-gw`, `<prefix>-pls`, `<prefix>-plb`.
   * @default - the construct ID, lowercased
   */
  readonly namePrefix?: string;
  /**
   * Port customers connect to through their private endpoints.
   * @default 443
   */
  readonly frontendPort?: number;
  /**
   * The gateway's private-link listener (PROXY v2 required).
   * @default 8443
   */
  readonly privateLinkPort?: number;
  /**
   * The gateway's health listener.
   * @default 8080
   */
  readonly healthPort?: number;
  /**
   * More ports customers reach through their endpoint, each to its own gateway listener and
   * upstream, all with PROXY v2 (one rule, probe and NSG rule each).
   * @default - none
   */
  readonly additionalPrivateLinkPorts?: readonly AdditionalPrivateLinkPort[];
  /**
   * IP versions customers connect with. Azure Private Link Service "supports IPv4 traffic only"
   * (learn.microsoft.com/azure/private-link/private-link-service-overview#limitations): `dualstack`
   * fails synth.
   * @default 'ipv4'
   */
  readonly ipAddressType?: 'ipv4' | 'dualstack';
  /**
   * Static private IP of the internal frontend.
   * @default - dynamically allocated
   */
  readonly frontendPrivateIpAddress?: string;
  /**
   * Deploy the public path: a separate public Standard load balancer to the gateways' public listener.
   * @default false
   */
  readonly publicPath?: boolean;
  /**
   * Port the internet connects to on the public load balancer.
   * @default 443
   */
  readonly publicFrontendPort?: number;
  /**
   * The gateway's public listener (PROXY headers refused).
   * @default 9443
   */
  readonly publicPort?: number;
  /**
   * Number of Private Link Service NAT IPs (1 to 8).
   * @default 1
   */
  readonly natIpAddressCount?: number;
  /**
   * Private Link Service FQDNs.
   * @default - none
   */
  readonly fqdns?: string[];
  /**
   * Prefix of the Terraform outputs' names, for a stack holding two gateways (`eu_` gives
   * `eu_service_alias`, ...).
   * @default - none: the outputs are named `service_alias` and `service_id`
   */
  readonly outputPrefix?: string;
  /**
   * Availability zones for the gateways and the frontends.
   * @default - Azure's default for the region
   */
  readonly zones?: string[];
  /**
   * Tags for every resource.
   * @default - none
   */
  readonly tags?: Record<string, string>;
}

export class PrivateLinkGateway extends Construct {
  readonly namePrefix: string;
  readonly publicPath: boolean;

  readonly loadBalancer: PrivateLinkLoadBalancer;
  readonly publicLoadBalancer?: GatewayPublicLoadBalancer;
  readonly gateway: GatewayScaleSet;
  readonly privateLinkService: GatewayPrivateLinkService;
  /** The alias customers connect their private endpoints to. */
  readonly alias: string;
  readonly privateLinkServiceId: string;

  constructor(scope: Construct, id: string, props: PrivateLinkGatewayProps) {
    super(scope, id);
    // From the ID by default, shaped to what the check below asks of a given prefix.
    this.namePrefix = props.namePrefix ?? (slug(id).replace(/^[^a-z]+/, '').slice(0, 30).replace(/-+$/, '') || 'linkgate');
    this.publicPath = props.publicPath ?? false;

    const issues = new PropIssues();
    if (!/^[a-z][a-z0-9-]{0,29}$/.test(this.namePrefix)) {
      issues.add(
        'namePrefix',
        `must be 1 to 30 lowercase letters, digits or hyphens, starting with a letter, got ${showValue(this.namePrefix)}`,
      );
    }
    // The three subnets have three different jobs; mixing them up breaks either Azure's rules or the
    // trust the gateway places in PROXY headers.
    if (sameSubnet(props.gatewaySubnet, props.natSubnet)) {
      issues.add(
        'gatewaySubnet',
        'is the same subnet as natSubnet; the gateways need their own subnet, because whatever shares the NAT subnet could reach the private-link port and forge PROXY headers',
      );
    }
    if (resolveSubnet(props.gatewaySubnet).privateLinkServiceNetworkPoliciesEnabled === false &&
        resolveSubnet(props.natSubnet).privateLinkServiceNetworkPoliciesEnabled === true) {
      issues.add(
        'natSubnet',
        'has Private Link Service network policies enabled while gatewaySubnet has them disabled: are gatewaySubnet and natSubnet swapped?',
      );
    }
    if (props.ipAddressType !== undefined && props.ipAddressType !== 'ipv4') {
      issues.add(
        'ipAddressType',
        `must be 'ipv4', got ${showValue(props.ipAddressType)}: Azure Private Link Service supports IPv4 traffic only (learn.microsoft.com/azure/private-link/private-link-service-overview#limitations), so consumers reach the gateway over IPv4; the gateway itself decodes IPv6 PROXY headers`,
      );
    }
    const published = sharedFqdns(props);
    if (published.problem) issues.add('httpMode.sharedHostname', published.problem);
    issues.throwIfAny(this, 'PrivateLinkGateway');
    // Tenants first, so their errors name this construct rather than one of its parts.
    parseTenantDeclarations(props.tenants, this.node.path);

    // Both load balancers probe the same gateways the same way.
    const balancing = {
      resourceGroupName: props.resourceGroupName,
      location: props.location,
      healthPort: props.healthPort,
      healthProbePath: props.healthProbePath,
      probeIntervalSec: props.probeIntervalSec,
      probeThreshold: props.probeThreshold,
      idleTimeoutMin: props.idleTimeoutMin,
      zones: props.zones,
      tags: props.tags,
    };
    this.loadBalancer = new PrivateLinkLoadBalancer(this, 'LoadBalancer', {
      ...balancing,
      name: `${this.namePrefix}-ilb`,
      frontendSubnet: props.frontendSubnet,
      frontendPrivateIpAddress: props.frontendPrivateIpAddress,
      frontendPort: props.frontendPort,
      privateLinkPort: props.privateLinkPort,
      additionalPrivateLinkPorts: props.additionalPrivateLinkPorts,
    });
    if (this.publicPath) {
      this.publicLoadBalancer = new GatewayPublicLoadBalancer(this, 'PublicLoadBalancer', {
        ...balancing,
        name: `${this.namePrefix}-plb`,
        frontendPort: props.publicFrontendPort,
        publicPort: props.publicPort,
      });
    }
    this.gateway = new GatewayScaleSet(this, 'Gateway', {
      ...props,
      name: `${this.namePrefix}-gw`,
      subnet: props.gatewaySubnet,
      privateLinkLoadBalancer: this.loadBalancer,
      natSubnets: [props.natSubnet],
      publicLoadBalancer: this.publicLoadBalancer,
    });
    this.privateLinkService = new GatewayPrivateLinkService(this, 'PrivateLinkService', {
      name: `${this.namePrefix}-pls`,
      resourceGroupName: props.resourceGroupName,
      location: props.location,
      loadBalancer: this.loadBalancer,
      natSubnet: props.natSubnet,
      tenants: props.tenants,
      natIpAddressCount: props.natIpAddressCount,
      fqdns: published.fqdns,
      outputPrefix: props.outputPrefix,
      tags: props.tags,
    });
    this.alias = this.privateLinkService.alias;
    this.privateLinkServiceId = this.privateLinkService.serviceId;
  }
}
