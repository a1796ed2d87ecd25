/** What both passthrough load balancers share: options, resources, the readiness check, validation, and the two schemes. */
import { ComputeAddress, type ComputeAddressConfig } from '@cdktf/provider-google/lib/compute-address';
import { ComputeForwardingRule, type ComputeForwardingRuleConfig } from '@cdktf/provider-google/lib/compute-forwarding-rule';
import { ComputeRegionBackendService, type ComputeRegionBackendServiceConfig } from '@cdktf/provider-google/lib/compute-region-backend-service';
import { ComputeRegionHealthCheck } from '@cdktf/provider-google/lib/compute-region-health-check';
import { Construct } from 'constructs';
import { DEFAULT_LISTENER_PORTS } from '../tenants';
import { MAX_CONNECTION_DRAINING_SEC, PropValidator, defaultName, isToken, resourceName, warn } from './common';

/** Health check and draining settings shared by both load balancers. */
export interface LoadBalancerOptions {
  /**
   * Port consumers (or clients) connect to. A passthrough load balancer keeps it: the gateway VMs
   * receive this port.
   * @default 443
   */
  readonly frontendPort?: number;
  /**
   * The gateway's health port; the check asks `/readyz`, which fails as soon as a gateway drains.
   * @default 8080
   */
  readonly healthPort?: number;
  /**
   * Seconds a VM leaving the group (rolling update, scale-in, autohealing) keeps serving its
   * established connections before the load balancer stops sending it their packets.
   * @default 300
   */
  readonly connectionDrainingTimeoutSec?: number;
  /**
   * Resource name prefix.
   * @default - the construct ID, lowercased and cut to 20 characters
   */
  readonly name?: string;
  /**
   * More frontend ports on the same forwarding rule (the gateway's additional private-link ports).
   * A forwarding rule lists at most 5 ports; with more, it forwards all ports (`allPorts`), and the
   * VPC firewall still admits only the listed ones.
   * @default - none
   */
  readonly additionalFrontendPorts?: readonly number[];
  /**
   * Labels for the address and the forwarding rule.
   * @default - none
   */
  readonly labels?: Readonly<Record<string, string>>;
}

/** The most ports one forwarding rule can list (https://cloud.google.com/load-balancing/docs/forwarding-rule-concepts#port_specifications). */
export const MAX_FORWARDING_RULE_PORTS = 5;

/** How the internal and the external load balancer differ. */
export interface PassthroughScheme {
  /** Names the construct in errors: `PrivateLinkLoadBalancer`, `PublicLoadBalancer`. */
  readonly kind: string;
  /** Resource name suffix: `<name>-<suffix>`. */
  readonly suffix: string;
  readonly loadBalancingScheme: 'INTERNAL' | 'EXTERNAL';
  readonly address: Pick<ComputeAddressConfig, 'addressType' | 'subnetwork' | 'networkTier'>;
  readonly backendService: Pick<ComputeRegionBackendServiceConfig, 'network'>;
  readonly forwardingRule: Pick<ComputeForwardingRuleConfig, 'network' | 'subnetwork' | 'networkTier'>;
}

export interface PassthroughProps extends LoadBalancerOptions {
  readonly project: string;
  readonly region: string;
  readonly network?: string;
  readonly instanceGroup: string;
  readonly ipAddress?: string;
}

/**
 * A passthrough Network Load Balancer in front of the gateway's instance group: an address (unless
 * given), the readiness check, a TCP backend service balancing by connection, and the forwarding rule.
 */
export abstract class PassthroughLoadBalancer extends Construct {
  readonly name: string;
  readonly frontendPort: number;
  /** Every frontend port (the first, then the additional ones). */
  readonly frontendPorts: readonly number[];
  /** True when more than 5 ports made the forwarding rule forward all ports. */
  readonly allPorts: boolean;
  readonly healthPort: number;
  readonly connectionDrainingTimeoutSec: number;
  /** Reserved here unless `ipAddress` was given. */
  readonly address?: ComputeAddress;
  readonly healthCheck: ComputeRegionHealthCheck;
  readonly backendService: ComputeRegionBackendService;
  /** The forwarding rule. */
  readonly resource: ComputeForwardingRule;

  protected constructor(scope: Construct, id: string, props: PassthroughProps, scheme: PassthroughScheme) {
    super(scope, id);
    this.name = props.name ?? defaultName(this);
    this.frontendPort = props.frontendPort ?? 443;
    this.healthPort = props.healthPort ?? DEFAULT_LISTENER_PORTS.health;
    this.connectionDrainingTimeoutSec = props.connectionDrainingTimeoutSec ?? 300;
    this.frontendPorts = [this.frontendPort, ...(props.additionalFrontendPorts ?? [])];
    this.allPorts = this.frontendPorts.length > MAX_FORWARDING_RULE_PORTS;
    validateLoadBalancer(this, scheme.kind, props);

    const name = resourceName(this.name, scheme.suffix);
    if (props.ipAddress === undefined) {
      this.address = reserveAddress(this, 'Address', props, this.name, scheme, props.labels);
    }
    this.healthCheck = readinessCheck(this, props, resourceName(this.name, `${scheme.suffix}-ready`), this.healthPort);
    this.backendService = new ComputeRegionBackendService(this, 'BackendService', {
      project: props.project,
      region: props.region,
      name,
      loadBalancingScheme: scheme.loadBalancingScheme,
      protocol: 'TCP',
      ...scheme.backendService,
      healthChecks: [this.healthCheck.id],
      backend: [{ group: props.instanceGroup, balancingMode: 'CONNECTION' }],
      sessionAffinity: 'NONE',
      connectionDrainingTimeoutSec: this.connectionDrainingTimeoutSec,
    });
    this.resource = new ComputeForwardingRule(this, 'Resource', {
      project: props.project,
      region: props.region,
      name,
      loadBalancingScheme: scheme.loadBalancingScheme,
      backendService: this.backendService.id,
      ipProtocol: 'TCP',
      ipAddress: props.ipAddress ?? this.address!.address,
      ports: this.allPorts ? undefined : this.frontendPorts.map(String),
      allPorts: this.allPorts ? true : undefined,
      labels: props.labels ? { ...props.labels } : undefined,
      ...scheme.forwardingRule,
    });
  }

  /** The forwarding rule's IP address. */
  get ipAddress(): string {
    return this.resource.ipAddress;
  }
}

/** The internal load balancer dedicated to Private Service Connect (`PrivateLinkLoadBalancer`). */
export function privateLinkScheme(network: string, subnetwork: string): PassthroughScheme {
  return {
    kind: 'PrivateLinkLoadBalancer',
    suffix: 'private-link',
    loadBalancingScheme: 'INTERNAL',
    address: { addressType: 'INTERNAL', subnetwork },
    backendService: { network },
    forwardingRule: { network, subnetwork },
  };
}

/** The external load balancer of the public path (`PublicLoadBalancer`). */
export const PUBLIC_SCHEME: PassthroughScheme = {
  kind: 'PublicLoadBalancer',
  suffix: 'public',
  loadBalancingScheme: 'EXTERNAL',
  address: { addressType: 'EXTERNAL', networkTier: 'PREMIUM' },
  backendService: {},
  forwardingRule: { networkTier: 'PREMIUM' },
};

/**
 * The address a load balancer of `scheme` reserves for its forwarding rule, named `<name>-<suffix>`
 * like its other resources. `PrivateServiceConnectGateway` reserves them itself, before the load
 * balancers, because the gateway VMs need them.
 */
export function reserveAddress(
  scope: Construct,
  id: string,
  props: { project: string; region: string },
  name: string,
  scheme: PassthroughScheme,
  labels?: Readonly<Record<string, string>>,
): ComputeAddress {
  return new ComputeAddress(scope, id, {
    project: props.project,
    region: props.region,
    name: resourceName(name, scheme.suffix),
    labels: labels ? { ...labels } : undefined,
    ...scheme.address,
  });
}

/** A regional HTTP readiness check of the gateway, for a passthrough load balancer. */
function readinessCheck(
  scope: Construct,
  props: { project: string; region: string },
  name: string,
  healthPort: number,
): ComputeRegionHealthCheck {
  return new ComputeRegionHealthCheck(scope, 'HealthCheck', {
    project: props.project,
    region: props.region,
    name,
    checkIntervalSec: 5,
    timeoutSec: 5,
    healthyThreshold: 2,
    unhealthyThreshold: 2,
    // Google's probes carry no PROXY header; the health listener answers plain HTTP.
    httpHealthCheck: { port: healthPort, requestPath: '/readyz' },
  });
}

/** `lb` holds the resolved values (defaults applied), `props` the rest. */
function validateLoadBalancer(lb: PassthroughLoadBalancer, kind: string, props: PassthroughProps): void {
  const v = new PropValidator(lb, kind);
  v.name(lb.name);
  v.project(props.project);
  v.region(props.region);
  v.nonEmpty('network', props.network);
  v.nonEmpty('instanceGroup', props.instanceGroup);
  v.port('frontendPort', lb.frontendPort);
  v.port('healthPort', lb.healthPort);
  if (!isToken(lb.frontendPort) && lb.frontendPort === lb.healthPort) {
    v.fail('frontendPort', `must differ from healthPort (${lb.healthPort}): the health listener is not for clients`);
  }
  (props.additionalFrontendPorts ?? []).forEach((port, i) => {
    const prop = `additionalFrontendPorts[${i}]`;
    v.port(prop, port);
    if (isToken(port)) return;
    if (port === lb.healthPort) v.fail(prop, `must differ from healthPort (${lb.healthPort}): the health listener is not for clients`);
    if (lb.frontendPorts.indexOf(port) !== i + 1) v.fail(prop, `port ${port} is listed twice`);
  });
  v.integer('connectionDrainingTimeoutSec', lb.connectionDrainingTimeoutSec, 0, MAX_CONNECTION_DRAINING_SEC, ' s');
  v.throwIfInvalid();
  if (lb.connectionDrainingTimeoutSec === 0) {
    warn(lb, 'connectionDrainingTimeoutSec is 0: every rolling update, scale-in and autohealing cuts the connections of the VMs it removes.');
  }
}
