/**
 * The optional public path: a separate external passthrough Network Load Balancer in front of the
 * same gateway VMs, on the gateway's public listener (no PROXY header; tenants' CIDR rules apply).
 * It is separate so that the Private Service Connect load balancer carries PSC traffic only.
 */
import { ComputeAddress } from '@cdktf/provider-google/lib/compute-address';
import { ComputeForwardingRule } from '@cdktf/provider-google/lib/compute-forwarding-rule';
import { ComputeRegionBackendService } from '@cdktf/provider-google/lib/compute-region-backend-service';
import type { ComputeRegionHealthCheck } from '@cdktf/provider-google/lib/compute-region-health-check';
import { Construct } from 'constructs';
import { defaultName, resourceName } from './common';
import { readinessCheck, validateLoadBalancer, type LoadBalancerOptions } from './load-balancer-common';

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

export class PublicLoadBalancer extends Construct {
  readonly name: string;
  readonly frontendPort: number;
  readonly healthPort: number;
  readonly connectionDrainingTimeoutSec: number;
  readonly address?: ComputeAddress;
  readonly healthCheck: ComputeRegionHealthCheck;
  readonly backendService: ComputeRegionBackendService;
  /** The EXTERNAL forwarding rule. */
  readonly resource: ComputeForwardingRule;

  constructor(scope: Construct, id: string, props: PublicLoadBalancerProps) {
    super(scope, id);
    this.name = props.name ?? defaultName(this);
    this.frontendPort = props.frontendPort ?? 443;
    this.healthPort = props.healthPort ?? 8080;
    this.connectionDrainingTimeoutSec = props.connectionDrainingTimeoutSec ?? 300;
    validateLoadBalancer(this, 'PublicLoadBalancer', props, this);

    const ipAddress =
      props.ipAddress ??
      (this.address = new ComputeAddress(this, 'Address', {
        project: props.project,
        region: props.region,
        name: resourceName(this.name, 'public'),
        addressType: 'EXTERNAL',
        networkTier: 'PREMIUM',
      })).address;

    this.healthCheck = readinessCheck(this, props, resourceName(this.name, 'public-ready'), this.healthPort);
    this.backendService = new ComputeRegionBackendService(this, 'BackendService', {
      project: props.project,
      region: props.region,
      name: resourceName(this.name, 'public'),
      loadBalancingScheme: 'EXTERNAL',
      protocol: 'TCP',
      healthChecks: [this.healthCheck.id],
      backend: [{ group: props.instanceGroup, balancingMode: 'CONNECTION' }],
      sessionAffinity: 'NONE',
      connectionDrainingTimeoutSec: this.connectionDrainingTimeoutSec,
    });
    this.resource = new ComputeForwardingRule(this, 'Resource', {
      project: props.project,
      region: props.region,
      name: resourceName(this.name, 'public'),
      loadBalancingScheme: 'EXTERNAL',
      backendService: this.backendService.id,
      ipProtocol: 'TCP',
      ipAddress,
      ports: [String(this.frontendPort)],
      networkTier: 'PREMIUM',
    });
  }

  get ipAddress(): string {
    return this.resource.ipAddress;
  }
}
