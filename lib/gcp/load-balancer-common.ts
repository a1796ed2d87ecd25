/** What both passthrough load balancers share: options, resources, the readiness check, validation. */
import { ComputeAddress, type ComputeAddressConfig } from '@cdktf/provider-google/lib/compute-address';
import { ComputeForwardingRule, type ComputeForwardingRuleConfig } from '@cdktf/provider-google/lib/compute-forwarding-rule';
import { ComputeRegionBackendService, type ComputeRegionBackendServiceConfig } from '@cdktf/provider-google/lib/compute-region-backend-service';
import { ComputeRegionHealthCheck } from '@cdktf/provider-google/lib/compute-region-health-check';
import { Construct } from 'constructs';
import {
  MAX_CONNECTION_DRAINING_SEC,
  NAME_PATTERN,
  NAME_RULE,
  PROJECT_ID_PATTERN,
  PropValidator,
  REGION_PATTERN,
  defaultName,
  isToken,
  resourceName,
  warn,
} from './common';

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
}

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
    this.healthPort = props.healthPort ?? 8080;
    this.connectionDrainingTimeoutSec = props.connectionDrainingTimeoutSec ?? 300;
    validateLoadBalancer(this, scheme.kind, props, this);

    const name = resourceName(this.name, scheme.suffix);
    if (props.ipAddress === undefined) {
      this.address = new ComputeAddress(this, 'Address', { project: props.project, region: props.region, name, ...scheme.address });
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
      ports: [String(this.frontendPort)],
      ...scheme.forwardingRule,
    });
  }

  /** The forwarding rule's IP address. */
  get ipAddress(): string {
    return this.resource.ipAddress;
  }
}

/** A regional HTTP readiness check of the gateway, for a passthrough load balancer. */
export function readinessCheck(
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

function validateLoadBalancer(
  scope: Construct,
  kind: string,
  props: { project: string; region: string; network?: string; instanceGroup: string },
  resolved: { name: string; frontendPort: number; healthPort: number; connectionDrainingTimeoutSec: number },
): void {
  const v = new PropValidator(scope, kind);
  v.pattern('name', resolved.name, NAME_PATTERN, NAME_RULE);
  v.pattern('project', props.project, PROJECT_ID_PATTERN, 'a GCP project ID (6-30 lowercase letters, digits and hyphens, starting with a letter)');
  v.pattern('region', props.region, REGION_PATTERN, 'a GCP region like europe-west1');
  v.nonEmpty('network', props.network);
  v.nonEmpty('instanceGroup', props.instanceGroup);
  v.port('frontendPort', resolved.frontendPort);
  v.port('healthPort', resolved.healthPort);
  if (!isToken(resolved.frontendPort) && resolved.frontendPort === resolved.healthPort) {
    v.fail('frontendPort', `must differ from healthPort (${resolved.healthPort}): the health listener is not for clients`);
  }
  v.integer('connectionDrainingTimeoutSec', resolved.connectionDrainingTimeoutSec, 0, MAX_CONNECTION_DRAINING_SEC, ' s');
  v.throwIfInvalid();
  if (resolved.connectionDrainingTimeoutSec === 0) {
    warn(scope, 'connectionDrainingTimeoutSec is 0: every rolling update, scale-in and autohealing cuts the connections of the VMs it removes.');
  }
}
