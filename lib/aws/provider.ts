/**
 * The provider side in one construct: drop it into a stack with a VPC and a tenant list.
 */
import { Fn, Lazy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as route53 from 'aws-cdk-lib/aws-route53';
import { Construct } from 'constructs';
import { parseTenantDeclarations, type TenantDeclarations } from '../tenants';
import { LinkgateEndpointService, type LinkgateEndpointServiceOptions } from './endpoint-service';
import { FilteringGateway, type FilteringGatewayOptions } from './filtering-gateway';
import { checkOutputPrefix, stableOutput } from './internal/outputs';
import { fail, show, warn } from './internal/validate';
import { withSharedHostname } from './http-mode';
import { EndpointServicePrivateDns } from './private-dns';
import { PrivateLinkLoadBalancer, type PrivateLinkLoadBalancerOptions } from './private-link-load-balancer';

export interface LinkgateProviderProps
  extends PrivateLinkLoadBalancerOptions,
    FilteringGatewayOptions,
    LinkgateEndpointServiceOptions {
  readonly vpc: ec2.IVpc;
  /**
   * The tenants: hostnames, upstream, the endpoint IDs allowed in (`allow.aws`), and who may
   * create an endpoint (`consumers.aws.principals`).
   */
  readonly tenants: TenantDeclarations;
  /**
   * Private DNS name of the endpoint service, e.g. `api.example.com`; consumers who enable
   * private DNS on their endpoint resolve it to their endpoint.
   *
   * @default - no private DNS name
   */
  readonly privateDnsName?: string;
  /**
   * Public hosted zone (in this account) holding `privateDnsName`, where the ownership TXT
   * record is written. Required with `privateDnsName`.
   *
   * @default - none
   */
  readonly publicHostedZone?: route53.IPublicHostedZone;
  /**
   * Prefix of the stack outputs' names, for a stack holding two providers (`Eu` gives
   * `EuServiceName`, ...). Letters and digits.
   *
   * @default - none: the outputs are named `ServiceName`, `AvailabilityZoneIds`, `PublicDnsName`,
   * `PrivateDnsName` and `PrivateDnsVerificationState`
   */
  readonly outputPrefix?: string;
}

/**
 * A load balancer dedicated to Private Link, the filtering gateway behind it, the endpoint
 * service that publishes it, optional private DNS, and outputs: the service name, the
 * Availability Zone IDs it serves, and the private DNS name and its verification state.
 *
 * Children: `LoadBalancer` (PrivateLinkLoadBalancer), `Gateway` (FilteringGateway), `Resource`
 * (LinkgateEndpointService), `PrivateDns` (EndpointServicePrivateDns, with `privateDnsName`).
 */
export class LinkgateProvider extends Construct {
  readonly loadBalancer: PrivateLinkLoadBalancer;
  readonly gateway: FilteringGateway;
  readonly endpointService: LinkgateEndpointService;
  readonly privateDns?: EndpointServicePrivateDns;
  /** `com.amazonaws.vpce.<region>.vpce-svc-…` */
  readonly serviceName: string;
  readonly availabilityZoneIds: string[];

  constructor(scope: Construct, id: string, props: LinkgateProviderProps) {
    super(scope, id);
    // httpMode.sharedHostname is published as the endpoint service's private DNS name.
    props = withSharedHostname(this, props);
    if (props.privateDnsName !== undefined && !props.publicHostedZone) {
      fail(
        this,
        `privateDnsName ${show(props.privateDnsName)} needs publicHostedZone: the public hosted zone (in this account) ` +
          'where the ownership TXT record is written',
      );
    }
    if (props.publicHostedZone && props.privateDnsName === undefined) {
      warn(this, 'zoneWithoutName', 'publicHostedZone is set but privateDnsName is not: no private DNS name is configured');
    }
    const outputPrefix = checkOutputPrefix(this, props.outputPrefix);
    // Validated once here so that a bad tenant list names this construct; the parts re-check it.
    parseTenantDeclarations(props.tenants, this.node.path);

    this.loadBalancer = new PrivateLinkLoadBalancer(this, 'LoadBalancer', {
      ...props,
      targetPort: props.privateLinkPort,
      healthCheckPort: props.healthPort,
    });
    this.gateway = new FilteringGateway(this, 'Gateway', {
      ...props,
      loadBalancer: this.loadBalancer,
      // Owner rules read this provider's endpoint service, created below: its ID is filled in lazily.
      ownershipSource: { serviceId: Lazy.string({ produce: () => this.endpointService.serviceId }) },
    });
    // IPv6 endpoints need the dual-stack NLB; with it, consumers get both address types by default.
    const dualstack = this.loadBalancer.ipAddressType === 'dualstack';
    if (!dualstack && props.supportedIpAddressTypes?.includes(ec2.IpAddressType.IPV6)) {
      fail(this, 'supportedIpAddressTypes includes "ipv6", which needs ipAddressType "dualstack" on the load balancer (an IPv4 NLB cannot serve IPv6 endpoints)');
    }
    this.endpointService = new LinkgateEndpointService(this, 'Resource', {
      ...props,
      supportedIpAddressTypes: props.supportedIpAddressTypes ?? (dualstack ? [ec2.IpAddressType.IPV4, ec2.IpAddressType.IPV6] : undefined),
      loadBalancer: this.loadBalancer.loadBalancer,
    });
    // Accept newly listed endpoints only once the gateways run the list that allows them.
    this.endpointService.endpointAcceptance?.node.addDependency(this.gateway.service);
    this.serviceName = this.endpointService.serviceName;
    this.availabilityZoneIds = this.loadBalancer.availabilityZoneIds;

    stableOutput(this, outputPrefix, 'ServiceName', {
      description: 'Endpoint service name: consumers create their interface endpoint to it',
      value: this.serviceName,
    });
    stableOutput(this, outputPrefix, 'AvailabilityZoneIds', {
      description: 'Availability Zone IDs the service is in: consumers need subnets in at least one of them',
      value: Fn.join(',', this.availabilityZoneIds),
    });
    if (this.gateway.publicLoadBalancer) {
      stableOutput(this, outputPrefix, 'PublicDnsName', {
        description: 'DNS name of the public load balancer (the public path)',
        value: this.gateway.publicLoadBalancer.loadBalancerDnsName,
      });
    }
    if (props.privateDnsName !== undefined) {
      this.privateDns = new EndpointServicePrivateDns(this, 'PrivateDns', {
        endpointService: this.endpointService.endpointService,
        domainName: props.privateDnsName,
        publicHostedZone: props.publicHostedZone!,
      });
      stableOutput(this, outputPrefix, 'PrivateDnsName', {
        description: 'Private DNS name of the endpoint service',
        value: this.privateDns.domainName,
      });
      stableOutput(this, outputPrefix, 'PrivateDnsVerificationState', {
        description:
          'Domain verification state read when the name was last set (pendingVerification until AWS has checked the TXT record)',
        value: this.privateDns.verificationState,
      });
    }
  }
}
