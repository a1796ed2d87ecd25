/**
 * linkgate on GCP in one construct: give it a network, a subnetwork, a NAT range and the tenants.
 * It wires the pieces (each usable alone) so that a connection goes
 *
 *   consumer PSC endpoint → service attachment (adds PP2 with the PSC connection ID)
 *     → internal passthrough NLB (dedicated) → gateway VMs (filter) → upstream
 *
 * and, with `publicAccess`, internet → external passthrough NLB → the same VMs' public listener.
 */
import type { ComputeAddress } from '@cdktf/provider-google/lib/compute-address';
import { Construct } from 'constructs';
import { PropValidator, defaultName } from './common';
import { GatewayInstanceGroup, type GatewayOptions } from './gateway-instance-group';
import { PUBLIC_SCHEME, privateLinkScheme, reserveAddress } from './load-balancer-common';
import { PrivateLinkLoadBalancer } from './private-link-load-balancer';
import { PublicLoadBalancer } from './public-load-balancer';
import { GatewayObservability, validateObservability, type GatewayObservabilityOptions } from './observability';
import { sharedDomainName } from './http-mode';
import { PscServiceAttachment, type ServiceAttachmentOptions } from './service-attachment';
import { validateSharedVpc, type SharedVpcOptions } from './shared-vpc';

export interface PrivateServiceConnectGatewayProps extends GatewayOptions, ServiceAttachmentOptions, SharedVpcOptions {
  /** The project of the gateway: with Shared VPC, the service project. */
  readonly project: string;
  readonly region: string;
  /** VPC network (ID or self link) of the gateway and the load balancers. */
  readonly network: string;
  /**
   * Subnetwork of the gateway VMs and the internal load balancer. Turn on Private Google Access
   * on it (the VMs have no external IP and pull the image from Artifact Registry).
   */
  readonly subnetwork: string;
  /**
   * Range of the PSC NAT subnet created for the service attachment (e.g. 10.100.0.0/24): the
   * sources the gateway sees, and the only ones allowed to its private-link port. One address
   * per consumer endpoint.
   */
  readonly pscNatSubnetCidr: string;
  /**
   * Also serve internet clients through a separate external passthrough load balancer.
   * @default false
   */
  readonly publicAccess?: boolean;
  /**
   * Seconds a VM leaving the group keeps serving its established connections (both load
   * balancers).
   * @default 300
   */
  readonly connectionDrainingTimeoutSec?: number;
  /**
   * Log-based metrics from the gateway's metrics lines, alert policies (attacks, refused
   * endpoints per tenant, capacity, config reloads / fetches / age, autohealing, no gateway) to
   * your notification channels, and a Cloud Monitoring dashboard. On by default.
   * @default - enabled, no notification channels (synth warns)
   */
  readonly observability?: GatewayObservabilityOptions;
}

export class PrivateServiceConnectGateway extends Construct {
  readonly name: string;
  readonly publicAccess: boolean;
  /** Internal address of the private-link load balancer (reserved first: the VMs redirect for it). */
  readonly privateLinkAddress: ComputeAddress;
  readonly publicAddress?: ComputeAddress;
  readonly gateway: GatewayInstanceGroup;
  readonly privateLinkLoadBalancer: PrivateLinkLoadBalancer;
  readonly serviceAttachment: PscServiceAttachment;
  readonly publicLoadBalancer?: PublicLoadBalancer;
  /** Undefined with `observability: { enabled: false }`. */
  readonly observability?: GatewayObservability;

  constructor(scope: Construct, id: string, props: PrivateServiceConnectGatewayProps) {
    super(scope, id);
    this.name = props.name ?? defaultName(this);
    this.publicAccess = props.publicAccess ?? false;
    const v = new PropValidator(this, 'PrivateServiceConnectGateway');
    v.name(this.name);
    v.ipv4Cidr('pscNatSubnetCidr', props.pscNatSubnetCidr, 8, 29);
    validateSharedVpc(v, props, { network: props.network, subnetwork: props.subnetwork });
    validateObservability(v, props.observability, props.metricsLogIntervalSec ?? 60);
    v.throwIfInvalid();

    const { project, region, network, subnetwork, labels } = props;
    // Addresses, load balancers and the attachment stay in the service project, even on a shared subnet.
    this.privateLinkAddress = reserveAddress(this, 'PrivateLinkAddress', props, this.name, privateLinkScheme(network, subnetwork), labels);
    this.publicAddress = this.publicAccess ? reserveAddress(this, 'PublicAddress', props, this.name, PUBLIC_SCHEME, labels) : undefined;

    this.gateway = new GatewayInstanceGroup(this, 'Gateway', {
      ...props,
      name: this.name,
      privateLinkSourceRanges: [props.pscNatSubnetCidr],
      privateLinkAddress: this.privateLinkAddress.address,
      publicAccess: this.publicAccess,
      publicAddress: this.publicAddress?.address,
    });
    this.privateLinkLoadBalancer = new PrivateLinkLoadBalancer(this, 'PrivateLinkLoadBalancer', {
      project,
      region,
      network,
      subnetwork,
      name: this.name,
      instanceGroup: this.gateway.instanceGroup,
      ipAddress: this.privateLinkAddress.address,
      frontendPort: this.gateway.privateLinkFrontendPort,
      healthPort: this.gateway.healthPort,
      connectionDrainingTimeoutSec: props.connectionDrainingTimeoutSec,
      additionalFrontendPorts: this.gateway.additionalPrivateLinkPorts.map((p) => p.port),
      labels,
    });
    this.serviceAttachment = new PscServiceAttachment(this, 'ServiceAttachment', {
      project,
      region,
      network,
      name: this.name,
      targetService: this.privateLinkLoadBalancer.resource.id,
      tenants: props.tenants,
      natSubnetCidr: props.pscNatSubnetCidr,
      domainName: sharedDomainName(this, props),
      reconcileConnections: props.reconcileConnections,
      connectionPreference: props.connectionPreference,
      consumerRejectLists: props.consumerRejectLists,
      propagatedConnectionLimit: props.propagatedConnectionLimit,
      networkProject: props.networkProject,
      ipv6: props.ipv6,
    });
    if (this.publicAccess) {
      this.publicLoadBalancer = new PublicLoadBalancer(this, 'PublicLoadBalancer', {
        project,
        region,
        name: this.name,
        instanceGroup: this.gateway.instanceGroup,
        ipAddress: this.publicAddress!.address,
        frontendPort: this.gateway.publicFrontendPort,
        healthPort: this.gateway.healthPort,
        connectionDrainingTimeoutSec: props.connectionDrainingTimeoutSec,
        labels,
      });
    }
    this.observability = this.observe(props);
  }

  private observe(props: PrivateServiceConnectGatewayProps): GatewayObservability | undefined {
    if (props.observability?.enabled === false) return undefined;
    return new GatewayObservability(this, 'Observability', {
      ...props.observability,
      project: props.project,
      name: this.name,
      metricsService: this.gateway.metricsService,
      baseInstanceName: this.gateway.baseInstanceName,
      objectStore: this.gateway.configDelivery === 'objectStore',
      labels: props.labels,
    });
  }

  /** What consumers point their PSC endpoint at. */
  get serviceAttachmentId(): string {
    return this.serviceAttachment.resource.id;
  }
}
