/**
 * The optional public path. It must be a separate load balancer: PROXY protocol on the Private Link
 * Service applies to every rule of the private-link load balancer, and the public listener refuses
 * PROXY headers (a client could forge one; here CIDR rules decide).
 */
import { Lb } from '@cdktf/provider-azurerm/lib/lb';
import { LbBackendAddressPool } from '@cdktf/provider-azurerm/lib/lb-backend-address-pool';
import type { LbProbe } from '@cdktf/provider-azurerm/lib/lb-probe';
import { LbRule } from '@cdktf/provider-azurerm/lib/lb-rule';
import { PublicIp } from '@cdktf/provider-azurerm/lib/public-ip';
import { Construct } from 'constructs';
import { DEFAULT_LISTENER_PORTS } from '../tenants';
import { gatewayProbe, resolveProbeProps, validateProbeProps, type GatewayProbeProps } from './load-balancer';
import { PropIssues, defaultName } from './validation';

export interface GatewayPublicLoadBalancerProps extends GatewayProbeProps {
  readonly resourceGroupName: string;
  readonly location: string;
  /**
   * Load balancer name; the public IP is named `<name>-ip`.
   * @default - derived from the construct ID and path
   */
  readonly name?: string;
  /**
   * Port the internet connects to.
   * @default 443
   */
  readonly frontendPort?: number;
  /**
   * The gateway's public listener (PROXY headers refused, tenants' CIDR rules apply).
   * @default 9443
   */
  readonly publicPort?: number;
  /**
   * Availability zones of the public IP.
   * @default - Azure's default for the region
   */
  readonly zones?: string[];
  /**
   * DNS label of the public IP (`<label>.<region>.cloudapp.azure.com`).
   * @default - none
   */
  readonly domainNameLabel?: string;
  /**
   * Tags for every resource.
   * @default - none
   */
  readonly tags?: Record<string, string>;
}

/** A public Standard load balancer in front of the gateways' public listener. */
export class GatewayPublicLoadBalancer extends Construct {
  readonly name: string;
  readonly frontendPort: number;
  readonly publicPort: number;
  readonly healthPort: number;

  readonly publicIp: PublicIp;
  readonly resource: Lb;
  readonly backendPool: LbBackendAddressPool;
  readonly probe: LbProbe;
  readonly rule: LbRule;

  constructor(scope: Construct, id: string, props: GatewayPublicLoadBalancerProps) {
    super(scope, id);
    this.name = props.name ?? defaultName(this, 'public-lb');
    this.frontendPort = props.frontendPort ?? 443;
    this.publicPort = props.publicPort ?? DEFAULT_LISTENER_PORTS.public;
    const probe = resolveProbeProps(props);
    this.healthPort = probe.healthPort;

    const issues = new PropIssues();
    issues.resourceName('name', props.name);
    issues.port('frontendPort', this.frontendPort);
    issues.port('publicPort', this.publicPort);
    validateProbeProps(issues, probe);
    if (this.publicPort === this.healthPort) {
      issues.add('healthPort', `port ${this.healthPort} is also publicPort; the health listener and the public listener need their own ports`);
    }
    issues.throwIfAny(this, 'GatewayPublicLoadBalancer');

    this.publicIp = new PublicIp(this, 'Address', {
      name: `${this.name}-ip`,
      resourceGroupName: props.resourceGroupName,
      location: props.location,
      sku: 'Standard',
      allocationMethod: 'Static',
      zones: props.zones,
      domainNameLabel: props.domainNameLabel,
      tags: props.tags,
    });
    this.resource = new Lb(this, 'Resource', {
      name: this.name,
      resourceGroupName: props.resourceGroupName,
      location: props.location,
      sku: 'Standard',
      frontendIpConfiguration: [{ name: 'public', publicIpAddressId: this.publicIp.id }],
      tags: props.tags,
    });
    this.backendPool = new LbBackendAddressPool(this, 'BackendPool', {
      name: 'gateways',
      loadbalancerId: this.resource.id,
    });
    this.probe = gatewayProbe(this, this.resource, probe);
    this.rule = new LbRule(this, 'Rule', {
      name: 'public',
      loadbalancerId: this.resource.id,
      frontendIpConfigurationName: 'public',
      protocol: 'Tcp',
      frontendPort: this.frontendPort,
      backendPort: this.publicPort,
      backendAddressPoolIds: [this.backendPool.id],
      probeId: this.probe.id,
      idleTimeoutInMinutes: probe.idleTimeoutMin,
      tcpResetEnabled: true,
      floatingIpEnabled: false,
      // Outbound traffic (image pulls, upstreams) belongs to the subnet's NAT gateway, not to
      // ports borrowed from this inbound frontend.
      disableOutboundSnat: true,
    });
  }
}
