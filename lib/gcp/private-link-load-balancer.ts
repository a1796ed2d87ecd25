/**
 * The load balancer dedicated to Private Service Connect: an internal passthrough Network Load
 * Balancer (regional health check, INTERNAL TCP backend service, INTERNAL forwarding rule). The
 * service attachment targets its forwarding rule and turns PROXY protocol v2 on for it; public
 * traffic never shares it.
 */
import type { Construct } from 'constructs';
import { PassthroughLoadBalancer, privateLinkScheme, type LoadBalancerOptions } from './load-balancer-common';

export interface PrivateLinkLoadBalancerProps extends LoadBalancerOptions {
  readonly project: string;
  readonly region: string;
  /** VPC network (ID or self link) of the forwarding rule. */
  readonly network: string;
  /** Subnetwork the forwarding rule's internal address comes from. */
  readonly subnetwork: string;
  /** The gateway's instance group (`GatewayInstanceGroup.instanceGroup`). */
  readonly instanceGroup: string;
  /**
   * Internal IP address for the forwarding rule.
   * @default - a new internal address is reserved in `subnetwork`
   */
  readonly ipAddress?: string;
}

/** The INTERNAL forwarding rule (`resource`) is the service attachment's target. */
export class PrivateLinkLoadBalancer extends PassthroughLoadBalancer {
  constructor(scope: Construct, id: string, props: PrivateLinkLoadBalancerProps) {
    super(scope, id, props, privateLinkScheme(props.network, props.subnetwork));
  }
}
