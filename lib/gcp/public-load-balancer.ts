/**
 * The optional public path: a separate external passthrough Network Load Balancer in front of the
 * same gateway VMs, on the gateway's public listener (no PROXY header; tenants' CIDR rules apply).
 * It is separate so that the Private Service Connect load balancer carries PSC traffic only.
 */
import type { Construct } from 'constructs';
import { PassthroughLoadBalancer, PUBLIC_SCHEME, type LoadBalancerOptions } from './load-balancer-common';

export interface PublicLoadBalancerProps extends LoadBalancerOptions {
  readonly project: string;
  readonly region: string;
  /** The gateway's instance group (`GatewayInstanceGroup.instanceGroup`). */
  readonly instanceGroup: string;
  /**
   * External IP address for the forwarding rule (give the gateway the same one as `publicAddress`).
   * @default - a new external address is reserved
   */
  readonly ipAddress?: string;
}

/** Its EXTERNAL forwarding rule (`resource`) takes the clients' connections. */
export class PublicLoadBalancer extends PassthroughLoadBalancer {
  constructor(scope: Construct, id: string, props: PublicLoadBalancerProps) {
    super(scope, id, props, PUBLIC_SCHEME);
  }
}
