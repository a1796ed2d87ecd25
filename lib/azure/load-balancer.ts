/**
 * The load balancer a Private Link Service sits on. It is dedicated: once the service turns PROXY
 * protocol v2 on, Azure puts a header in front of every flow and every probe of this load balancer,
 * so nothing else (least of all public traffic) may share it.
 */
import { Lb } from '@cdktf/provider-azurerm/lib/lb';
import { LbBackendAddressPool } from '@cdktf/provider-azurerm/lib/lb-backend-address-pool';
import { LbProbe } from '@cdktf/provider-azurerm/lib/lb-probe';
import { LbRule } from '@cdktf/provider-azurerm/lib/lb-rule';
import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { isIP } from 'node:net';
import {
  DEFAULT_LISTENER_PORTS,
  resolveAdditionalPrivateLinkPorts,
  showValue,
  type AdditionalPrivateLinkPort,
  type ResolvedPrivateLinkPort,
} from '../tenants';
import { resolveSubnet, type SubnetLike } from './subnets';
import { PropIssues, defaultName } from './validation';

/** Probe and rule settings shared by the private-link and the public load balancer. */
export interface GatewayProbeProps {
  /**
   * Gateway health listener port (HTTP /healthz, /readyz, /metrics).
   * @default 8080
   */
  readonly healthPort?: number;
  /**
   * HTTP path the probe requests. /readyz fails as soon as a gateway starts draining, so the load
   * balancer stops sending new flows before the gateway stops accepting them.
   * @default '/readyz'
   */
  readonly healthProbePath?: string;
  /**
   * Seconds between probes (Azure's minimum is 5).
   * @default 5
   */
  readonly probeIntervalSec?: number;
  /**
   * Consecutive failed (or successful) probes that take a gateway out of (or back into) rotation.
   * @default 2
   */
  readonly probeThreshold?: number;
  /**
   * Idle timeout of flows through the load balancer rule, in minutes (4 to 100). Private Link has
   * its own idle timeout of about 5 minutes; the gateway's TCP keepalive (60 s) keeps flows alive
   * through both.
   * @default 4
   */
  readonly idleTimeoutMin?: number;
}

export interface PrivateLinkLoadBalancerProps extends GatewayProbeProps {
  readonly resourceGroupName: string;
  readonly location: string;
  /** Subnet of the internal frontend IP (the Private Link Service points at this frontend). */
  readonly frontendSubnet: SubnetLike;
  /**
   * Load balancer name.
   * @default - derived from the construct ID and path
   */
  readonly name?: string;
  /**
   * Static private IP address of the frontend, inside frontendSubnet.
   * @default - dynamically allocated
   */
  readonly frontendPrivateIpAddress?: string;
  /**
   * Frontend port: what customers connect to through their private endpoint (TLS).
   * @default 443
   */
  readonly frontendPort?: number;
  /**
   * Backend port: the gateway's private-link listener, which requires a PROXY v2 header.
   * @default 8443
   */
  readonly privateLinkPort?: number;
  /**
   * More ports customers reach through their endpoint (e.g. 5432 next to 443), each to its own
   * gateway listener and upstream: one rule and one TCP probe per port on the same frontend, so the
   * one Private Link Service (PROXY v2 on) covers them all.
   * @default - none
   */
  readonly additionalPrivateLinkPorts?: readonly AdditionalPrivateLinkPort[];
  /**
   * Availability zones of the frontend IP.
   * @default - Azure's default for the region
   */
  readonly zones?: string[];
  /**
   * Tags for every resource.
   * @default - none
   */
  readonly tags?: Record<string, string>;
}

/** Name of the frontend IP configuration; the load balancer rule refers to it by name. */
export const PRIVATE_LINK_FRONTEND_NAME = 'private-link';

/**
 * An internal Standard load balancer used only by a Private Link Service: one internal frontend,
 * a NIC-based backend pool (Private Link does not support IP-based pools), an HTTP probe on the
 * gateway's health listener, and one TCP rule from the frontend port to the private-link listener.
 */
export class PrivateLinkLoadBalancer extends Construct {
  readonly name: string;
  readonly frontendPort: number;
  readonly privateLinkPort: number;
  readonly healthPort: number;
  readonly healthProbePath: string;
  readonly probeIntervalSec: number;
  readonly probeThreshold: number;
  readonly idleTimeoutMin: number;

  readonly resource: Lb;
  readonly backendPool: LbBackendAddressPool;
  readonly probe: LbProbe;
  readonly rule: LbRule;
  /** The additional private-link ports, gateway ports resolved. */
  readonly additionalPorts: ResolvedPrivateLinkPort[];
  /** One rule per additional port. */
  readonly additionalRules: LbRule[] = [];
  /** ID of the internal frontend IP configuration (what the Private Link Service attaches to). */
  readonly frontendIpConfigurationId: string;

  constructor(scope: Construct, id: string, props: PrivateLinkLoadBalancerProps) {
    super(scope, id);
    this.name = props.name ?? defaultName(this, 'lb');
    this.frontendPort = props.frontendPort ?? 443;
    this.privateLinkPort = props.privateLinkPort ?? DEFAULT_LISTENER_PORTS.privateLink;
    const probe = resolveProbeProps(props);
    this.healthPort = probe.healthPort;
    this.healthProbePath = probe.healthProbePath;
    this.probeIntervalSec = probe.probeIntervalSec;
    this.probeThreshold = probe.probeThreshold;
    this.idleTimeoutMin = probe.idleTimeoutMin;

    const issues = new PropIssues();
    issues.resourceName('name', props.name);
    issues.port('frontendPort', this.frontendPort);
    issues.port('privateLinkPort', this.privateLinkPort);
    validateProbeProps(issues, probe);
    const extra = resolveAdditionalPrivateLinkPorts(
      props.additionalPrivateLinkPorts,
      { port: this.frontendPort, gatewayPort: this.privateLinkPort },
      [this.healthPort],
    );
    this.additionalPorts = extra.ports;
    for (const issue of extra.issues) issues.add(issue.path, issue.message);
    if (this.privateLinkPort === this.healthPort && !Token.isUnresolved(this.healthPort)) {
      issues.add(
        'healthPort',
        `port ${this.healthPort} is also privateLinkPort; the health listener and the private-link listener need their own ports`,
      );
    }
    const ip = props.frontendPrivateIpAddress;
    if (ip !== undefined && !Token.isUnresolved(ip) && isIP(ip) !== 4) {
      issues.add('frontendPrivateIpAddress', `must be an IPv4 address inside frontendSubnet, got ${showValue(ip)}`);
    }
    issues.throwIfAny(this, 'PrivateLinkLoadBalancer');

    const frontendSubnet = resolveSubnet(props.frontendSubnet);
    this.resource = new Lb(this, 'Resource', {
      name: this.name,
      resourceGroupName: props.resourceGroupName,
      location: props.location,
      sku: 'Standard', // Private Link Services attach only to Standard load balancers
      frontendIpConfiguration: [
        {
          name: PRIVATE_LINK_FRONTEND_NAME,
          // A subnet and no public IP: an internal frontend.
          subnetId: frontendSubnet.id,
          privateIpAddressAllocation: ip === undefined ? 'Dynamic' : 'Static',
          privateIpAddress: ip,
          privateIpAddressVersion: 'IPv4',
          zones: props.zones,
        },
      ],
      tags: props.tags,
    });
    this.frontendIpConfigurationId = this.resource.frontendIpConfiguration.get(0).id;

    // No virtual_network_id: the pool is NIC-based, filled by the scale set's IP configuration.
    this.backendPool = new LbBackendAddressPool(this, 'BackendPool', {
      name: 'gateways',
      loadbalancerId: this.resource.id,
    });
    this.probe = gatewayProbe(this, this.resource, probe);
    this.rule = new LbRule(this, 'Rule', {
      name: 'private-link',
      loadbalancerId: this.resource.id,
      frontendIpConfigurationName: PRIVATE_LINK_FRONTEND_NAME,
      protocol: 'Tcp',
      frontendPort: this.frontendPort,
      backendPort: this.privateLinkPort,
      backendAddressPoolIds: [this.backendPool.id],
      probeId: this.probe.id,
      idleTimeoutInMinutes: this.idleTimeoutMin,
      // Reset idle flows instead of dropping them silently, so clients learn of it at once.
      tcpResetEnabled: true,
      floatingIpEnabled: false,
    });
    for (const port of this.additionalPorts) {
      // A TCP probe of the port's own listener: a connect, no bytes (the listener requires PROXY v2).
      const portProbe = new LbProbe(this, `Probe-${port.name}`, {
        name: `gateway-${port.name}`,
        loadbalancerId: this.resource.id,
        protocol: 'Tcp',
        port: port.gatewayPort,
        intervalInSeconds: this.probeIntervalSec,
        probeThreshold: this.probeThreshold,
      });
      this.additionalRules.push(
        new LbRule(this, `Rule-${port.name}`, {
          name: `private-link-${port.name}`,
          loadbalancerId: this.resource.id,
          frontendIpConfigurationName: PRIVATE_LINK_FRONTEND_NAME,
          protocol: 'Tcp',
          frontendPort: port.port,
          backendPort: port.gatewayPort,
          backendAddressPoolIds: [this.backendPool.id],
          probeId: portProbe.id,
          idleTimeoutInMinutes: this.idleTimeoutMin,
          tcpResetEnabled: true,
          floatingIpEnabled: false,
        }),
      );
    }
  }
}

export interface ResolvedProbeProps {
  readonly healthPort: number;
  readonly healthProbePath: string;
  readonly probeIntervalSec: number;
  readonly probeThreshold: number;
  readonly idleTimeoutMin: number;
}

export function resolveProbeProps(props: GatewayProbeProps): ResolvedProbeProps {
  return {
    healthPort: props.healthPort ?? DEFAULT_LISTENER_PORTS.health,
    healthProbePath: props.healthProbePath ?? '/readyz',
    probeIntervalSec: props.probeIntervalSec ?? 5,
    probeThreshold: props.probeThreshold ?? 2,
    idleTimeoutMin: props.idleTimeoutMin ?? 4,
  };
}

export function validateProbeProps(issues: PropIssues, probe: ResolvedProbeProps): void {
  issues.port('healthPort', probe.healthPort);
  if (!Token.isUnresolved(probe.healthProbePath) && !/^\/[\x21-\x7e]*$/.test(probe.healthProbePath)) {
    issues.add('healthProbePath', `must be an HTTP path starting with "/" (no spaces), got ${showValue(probe.healthProbePath)}`);
  }
  issues.intRange('probeIntervalSec', probe.probeIntervalSec, 5, 2147483646, 'seconds');
  issues.intRange('probeThreshold', probe.probeThreshold, 1, 100);
  issues.intRange('idleTimeoutMin', probe.idleTimeoutMin, 4, 100, 'minutes');
}

/**
 * An HTTP probe of the gateway's health listener. With PROXY protocol on (private-link load
 * balancer), each probe arrives behind a PROXY v2 header; the health listener skips it.
 */
export function gatewayProbe(scope: Construct, lb: Lb, probe: ResolvedProbeProps): LbProbe {
  return new LbProbe(scope, 'Probe', {
    name: 'gateway-ready',
    loadbalancerId: lb.id,
    protocol: 'Http',
    port: probe.healthPort,
    requestPath: probe.healthProbePath,
    intervalInSeconds: probe.probeIntervalSec,
    probeThreshold: probe.probeThreshold,
  });
}
