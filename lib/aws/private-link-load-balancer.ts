/**
 * The load balancer dedicated to Private Link: an internal NLB whose only traffic is what AWS
 * PrivateLink delivers from consumers' endpoints, with PROXY protocol v2 on its target group so
 * the gateway learns which endpoint (vpce-…) each connection came through.
 */
import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';
import { DEFAULT_HEALTH_PORT, DEFAULT_PRIVATE_LINK_PORT } from './defaults';
import { availabilityZoneIds } from './internal/az-ids';
import {
  resolveAdditionalPrivateLinkPorts,
  resolveGatewaySettings,
  type AdditionalPrivateLinkPort,
  type ResolvedPrivateLinkPort,
} from '../tenants';
import {
  checkDistinctPorts,
  checkIpv6Subnets,
  checkOneSubnetPerAz,
  checkPort,
  checkRange,
  fail,
  isUnresolved,
  show,
  warnIfSingleAz,
} from './internal/validate';

/** drainDelaySec + drainTimeoutSec at their defaults (5 + 25). */
const DEFAULT_DRAIN_BOUND_SEC = 30;

/** The load balancer settings the top-level construct passes through. */
export interface PrivateLinkLoadBalancerOptions {
  /**
   * Subnets of the load balancer: at most one per Availability Zone. Consumers can only place
   * endpoints in zones the load balancer serves, so cover every zone your customers use.
   *
   * @default - the VPC's default subnet selection (private subnets if there are any), one per
   * Availability Zone
   */
  readonly loadBalancerSubnets?: ec2.SubnetSelection;
  /**
   * Port consumers connect to on their endpoint.
   *
   * @default 443
   */
  readonly listenerPort?: number;
  /**
   * How long a target that is being replaced keeps its established connections before ECS stops
   * it (the NLB target group's deregistration delay). ECS sends SIGTERM only after it, and the
   * gateway then drains for `drainDelaySec` + `drainTimeoutSec`, so a connection on an old task —
   * one of an endpoint the new tenant list revoked included — lives at most this delay plus the
   * drain plus 5 s after a deploy starts replacing the task. Longer keeps long-lived connections
   * of allowed tenants alive through deploys; shorter makes every task replacement (and every
   * revocation) quicker.
   *
   * @default - the gateway's drain bound, `drainDelaySec` + `drainTimeoutSec` (30 s by default):
   * a task replacement takes about a minute instead of five
   */
  readonly deregistrationDelaySec?: number;
  /**
   * Spread connections over targets in every Availability Zone, not only the endpoint's zone.
   * Keeps the service up in a zone that has no healthy task (fewer tasks than zones, a zone's
   * tasks being replaced), at the cost of cross-zone data transfer.
   *
   * @default true
   */
  readonly crossZoneEnabled?: boolean;
  /**
   * Seconds between health checks of each target.
   *
   * @default 10
   */
  readonly healthCheckIntervalSec?: number;
  /**
   * Protect the load balancer from deletion (a deleted NLB takes the endpoint service with it).
   *
   * @default false
   */
  readonly deletionProtection?: boolean;
  /**
   * More ports customers reach through their endpoint (e.g. 5432 next to 443), each with its own
   * listener and PROXY v2 target group on the same load balancer (so the same endpoint service),
   * and each sending every allowed connection to one upstream.
   *
   * @default - only `listenerPort`
   */
  readonly additionalPrivateLinkPorts?: readonly AdditionalPrivateLinkPort[];
  /**
   * `dualstack`: the NLB gets IPv6 addresses too, so the endpoint service can offer IPv6 and
   * dual-stack endpoints to consumers (`LinkgateProvider` then lists both IP address types). Its
   * subnets need IPv6 CIDR blocks (checked at synth for subnets defined in the app). The targets
   * stay IPv4: PrivateLink traffic reaches them from the NLB's own addresses, and the consumer's
   * IPv6 address arrives in the PROXY v2 header (AF_INET6), which the gateway decodes.
   *
   * @default "ipv4"
   */
  readonly ipAddressType?: 'ipv4' | 'dualstack';
}

/** A further private-link port with its listener and target group. */
export interface PrivateLinkPortTarget {
  readonly port: ResolvedPrivateLinkPort;
  readonly listener: elbv2.NetworkListener;
  readonly targetGroup: elbv2.NetworkTargetGroup;
}

export interface PrivateLinkLoadBalancerProps extends PrivateLinkLoadBalancerOptions {
  readonly vpc: ec2.IVpc;
  /**
   * Port of the targets' private-link listener (PROXY v2 required there).
   *
   * @default 8443
   */
  readonly targetPort?: number;
  /**
   * Port of the targets' HTTP health listener; the health check asks it for `/readyz`.
   *
   * @default 8080
   */
  readonly healthCheckPort?: number;
  /**
   * The gateway's drain (the same props of `FilteringGateway`), used for the default
   * `deregistrationDelaySec`.
   *
   * @default 5
   */
  readonly drainDelaySec?: number;
  /**
   * See `drainDelaySec`.
   *
   * @default 25
   */
  readonly drainTimeoutSec?: number;
}

/**
 * An internal Network Load Balancer used only for Private Link: in every Availability Zone of the
 * given subnets, one TCP listener, an IP target group with PROXY protocol v2 on, health checks
 * against the gateway's health port, and a security group that admits nothing directly (Private
 * Link traffic does not pass its inbound rules; see below).
 */
export class PrivateLinkLoadBalancer extends Construct {
  readonly loadBalancer: elbv2.NetworkLoadBalancer;
  readonly listener: elbv2.NetworkListener;
  readonly targetGroup: elbv2.NetworkTargetGroup;
  /** The load balancer's security group: targets admit traffic from it and from nothing else. */
  readonly securityGroup: ec2.SecurityGroup;
  readonly subnets: ec2.ISubnet[];
  /** Availability Zone names of `subnets` (account-specific). */
  readonly availabilityZones: string[];
  /**
   * Availability Zone IDs served, e.g. `euw1-az1` (tokens, resolved at deploy). Consumers compare
   * these, not zone names, which differ between accounts.
   */
  readonly availabilityZoneIds: string[];

  readonly listenerPort: number;
  readonly targetPort: number;
  readonly healthCheckPort: number;
  readonly deregistrationDelaySec: number;
  readonly crossZoneEnabled: boolean;
  readonly healthCheckIntervalSec: number;
  readonly deletionProtection: boolean;
  /** One per `additionalPrivateLinkPorts` entry, in order. */
  readonly additionalPorts: readonly PrivateLinkPortTarget[];
  readonly ipAddressType: 'ipv4' | 'dualstack';

  constructor(scope: Construct, id: string, props: PrivateLinkLoadBalancerProps) {
    super(scope, id);
    this.listenerPort = checkPort(this, 'listenerPort', props.listenerPort ?? 443);
    this.targetPort = checkPort(this, 'targetPort', props.targetPort ?? DEFAULT_PRIVATE_LINK_PORT);
    this.healthCheckPort = checkPort(this, 'healthCheckPort', props.healthCheckPort ?? DEFAULT_HEALTH_PORT);
    // The gateway's own drain bound, with the defaults FilteringGateway applies (its checks report
    // a bad drain; here a bad one only falls back to the defaults).
    const drain = resolveGatewaySettings(
      { upstreams: {}, drainDelaySec: props.drainDelaySec, drainTimeoutSec: props.drainTimeoutSec },
      { privateLinkPort: this.targetPort, healthPort: this.healthCheckPort },
      { isUnresolved },
    );
    const drainBoundSec = drain.issues.length === 0 ? drain.drainDelaySec + drain.drainTimeoutSec : DEFAULT_DRAIN_BOUND_SEC;
    // 3600 s is the NLB maximum for the deregistration delay.
    this.deregistrationDelaySec = checkRange(this, 'deregistrationDelaySec', props.deregistrationDelaySec ?? drainBoundSec, 0, 3600, ' s');
    this.crossZoneEnabled = props.crossZoneEnabled ?? true;
    this.healthCheckIntervalSec = checkRange(this, 'healthCheckIntervalSec', props.healthCheckIntervalSec ?? 10, 5, 300, ' s');
    this.deletionProtection = props.deletionProtection ?? false;
    this.ipAddressType = props.ipAddressType ?? 'ipv4';
    if (this.ipAddressType !== 'ipv4' && this.ipAddressType !== 'dualstack') {
      fail(this, `ipAddressType must be "ipv4" or "dualstack", got ${show(this.ipAddressType)}`);
    }
    checkDistinctPorts(this, { targetPort: this.targetPort, healthCheckPort: this.healthCheckPort });

    const placement = checkOneSubnetPerAz(
      this,
      'loadBalancerSubnets',
      props.vpc.selectSubnets(props.loadBalancerSubnets ?? { onePerAz: true }).subnets,
    );
    warnIfSingleAz(this, 'The private-link load balancer', placement);
    this.subnets = placement.subnets;
    if (this.ipAddressType === 'dualstack') checkIpv6Subnets(this, 'loadBalancerSubnets', this.subnets);
    this.availabilityZones = placement.availabilityZones;

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'linkgate private-link NLB: no direct inbound; outbound only to the gateway',
      // Egress is opened per target port by whoever registers targets (FilteringGateway).
      allowAllOutbound: false,
    });

    this.loadBalancer = new elbv2.NetworkLoadBalancer(this, 'Resource', {
      vpc: props.vpc,
      internetFacing: false,
      vpcSubnets: { subnets: this.subnets },
      securityGroups: [this.securityGroup],
      // With enforcement on, PrivateLink traffic is checked against inbound rules using the
      // consumers' own client addresses, which the provider cannot know. The endpoint service's
      // allowed principals and acceptance gate it instead, and the security group's empty inbound
      // rules keep everything inside the VPC from reaching the NLB directly.
      enforceSecurityGroupInboundRulesOnPrivateLinkTraffic: false,
      crossZoneEnabled: this.crossZoneEnabled,
      deletionProtection: this.deletionProtection,
      ipAddressType: this.ipAddressType === 'dualstack' ? elbv2.IpAddressType.DUAL_STACK : elbv2.IpAddressType.IPV4,
    });

    this.targetGroup = this.newTargetGroup('TargetGroup', props.vpc, this.targetPort);
    this.listener = this.loadBalancer.addListener('Listener', {
      port: this.listenerPort,
      protocol: elbv2.Protocol.TCP,
      defaultTargetGroups: [this.targetGroup],
    });

    const extra = resolveAdditionalPrivateLinkPorts(
      props.additionalPrivateLinkPorts,
      { port: this.listenerPort, gatewayPort: this.targetPort },
      [this.healthCheckPort],
    );
    if (extra.issues.length > 0) fail(this, extra.issues.map((i) => `${i.path} ${i.message}`).join('; '));
    this.additionalPorts = extra.ports.map((port) => {
      // PROXY v2 on every port: the gateway's listener behind it requires the header just the same.
      const targetGroup = this.newTargetGroup(`TargetGroup-${port.name}`, props.vpc, port.gatewayPort);
      const listener = this.loadBalancer.addListener(`Listener-${port.name}`, {
        port: port.port,
        protocol: elbv2.Protocol.TCP,
        defaultTargetGroups: [targetGroup],
      });
      return { port, listener, targetGroup };
    });

    this.availabilityZoneIds = availabilityZoneIds(this, this.subnets);
  }

  private newTargetGroup(id: string, vpc: ec2.IVpc, port: number): elbv2.NetworkTargetGroup {
    return new elbv2.NetworkTargetGroup(this, id, {
      vpc,
      port,
      protocol: elbv2.Protocol.TCP,
      // Fargate tasks register by IP (awsvpc networking).
      targetType: elbv2.TargetType.IP,
      // The header names the consumer's endpoint (TLV 0xEA): the gateway's whole decision rests on it.
      proxyProtocolV2: true,
      deregistrationDelay: Duration.seconds(this.deregistrationDelaySec),
      // Keep established flows to a deregistering target until ECS stops the task (false is the
      // TCP default; stated because the rolling update relies on it): the gateway's drain then
      // ends them itself, within the container's stop timeout. On, the NLB would reset them at the
      // end of the delay, cutting connections the drain would have let finish.
      connectionTermination: false,
      healthCheck: {
        enabled: true,
        protocol: elbv2.Protocol.HTTP,
        port: String(this.healthCheckPort),
        // /readyz fails as soon as a task starts draining, so the NLB stops choosing it.
        path: '/readyz',
        healthyHttpCodes: '200',
        interval: Duration.seconds(this.healthCheckIntervalSec),
        timeout: Duration.seconds(Math.min(5, this.healthCheckIntervalSec - 1)),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 2,
      },
    });
  }
}
