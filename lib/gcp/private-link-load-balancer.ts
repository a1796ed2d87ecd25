/**
 * The load balancer dedicated to Private Service Connect: an internal passthrough Network Load
 * Balancer (regional health check, INTERNAL TCP backend service, INTERNAL forwarding rule). The
 * service attachment targets its forwarding rule and turns PROXY protocol v2 on for it; public
 * traffic never shares it.
 */
import { ComputeAddress } from '@cdktf/provider-google/lib/compute-address';
import { ComputeForwardingRule } from '@cdktf/provider-google/lib/compute-forwarding-rule';
import { ComputeRegionBackendService } from '@cdktf/provider-google/lib/compute-region-backend-service';
import type { ComputeRegionHealthCheck } from '@cdktf/provider-google/lib/compute-region-health-check';
import { Construct } from 'constructs';
import { defaultName, resourceName } from './common';
import { readinessCheck, validateLoadBalancer, type LoadBalancerOptions } from './load-balancer-common';

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

export class PrivateLinkLoadBalancer extends Construct {
  readonly name: string;
  readonly frontendPort: number;
  readonly healthPort: number;
  readonly connectionDrainingTimeoutSec: number;
  /** Reserved here unless `ipAddress` was given. */
  readonly address?: ComputeAddress;
  readonly healthCheck: ComputeRegionHealthCheck;
  readonly backendService: ComputeRegionBackendService;
  /** The INTERNAL forwarding rule: the service attachment's target. */
  readonly resource: ComputeForwardingRule;

  constructor(scope: Construct, id: string, props: PrivateLinkLoadBalancerProps) {
    super(scope, id);
    this.name = props.name ?? defaultName(this);
    this.frontendPort = props.frontendPort ?? 443;
    this.healthPort = props.healthPort ?? 8080;
    this.connectionDrainingTimeoutSec = props.connectionDrainingTimeoutSec ?? 300;
    validateLoadBalancer(this, 'PrivateLinkLoadBalancer', props, this);

    const ipAddress =
      props.ipAddress ??
      (this.address = new ComputeAddress(this, 'Address', {
        project: props.project,
        region: props.region,
        name: resourceName(this.name, 'private-link'),
        addressType: 'INTERNAL',
        subnetwork: props.subnetwork,
      })).address;

    this.healthCheck = readinessCheck(this, props, resourceName(this.name, 'private-link-ready'), this.healthPort);
    this.backendService = new ComputeRegionBackendService(this, 'BackendService', {
      project: props.project,
      region: props.region,
      name: resourceName(this.name, 'private-link'),
      loadBalancingScheme: 'INTERNAL',
      protocol: 'TCP',
      network: props.network,
      healthChecks: [this.healthCheck.id],
      backend: [{ group: props.instanceGroup, balancingMode: 'CONNECTION' }],
      sessionAffinity: 'NONE',
      connectionDrainingTimeoutSec: this.connectionDrainingTimeoutSec,
    });
    this.resource = new ComputeForwardingRule(this, 'Resource', {
      project: props.project,
      region: props.region,
      name: resourceName(this.name, 'private-link'),
      loadBalancingScheme: 'INTERNAL',
      backendService: this.backendService.id,
      ipProtocol: 'TCP',
      ipAddress,
      ports: [String(this.frontendPort)],
      network: props.network,
      subnetwork: props.subnetwork,
    });
  }

  /** The forwarding rule's IP address. */
  get ipAddress(): string {
    return this.resource.ipAddress;
  }
}
