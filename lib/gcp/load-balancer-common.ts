/** What both passthrough load balancers share: options, the readiness check, validation. */
import { ComputeRegionHealthCheck } from '@cdktf/provider-google/lib/compute-region-health-check';
import type { Construct } from 'constructs';
import {
  MAX_CONNECTION_DRAINING_SEC,
  NAME_PATTERN,
  NAME_RULE,
  PROJECT_ID_PATTERN,
  PropValidator,
  REGION_PATTERN,
  isToken,
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

export function validateLoadBalancer(
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
