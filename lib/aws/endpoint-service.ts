/**
 * The VPC endpoint service that publishes the private-link load balancer. Who may *create* an
 * endpoint comes from the tenants (`consumers.aws.principals`); which endpoints the gateway then
 * lets through comes from the same tenants (`allow.aws`).
 */
import { Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { collectConsumers, parseTenantDeclarations, type TenantDeclarations } from '../tenants';
import { fail, show, warn } from './internal/validate';

/** The endpoint service settings the top-level construct passes through. */
export interface LinkgateEndpointServiceOptions {
  /**
   * Every endpoint connection must be accepted by the provider before traffic flows. With
   * `acceptAllowedEndpoints`, the endpoints the tenants list are accepted by `cdk deploy`.
   *
   * @default true
   */
  readonly acceptanceRequired?: boolean;
  /**
   * At deploy, accept pending connections from the endpoint IDs listed in the tenants'
   * `allow.aws` (after the gateways run the new tenant list). Endpoints nobody listed stay pending.
   *
   * @default true
   */
  readonly acceptAllowedEndpoints?: boolean;
  /**
   * Other Regions whose consumers may connect (cross-Region PrivateLink), e.g. `['us-east-1']`.
   *
   * @default - consumers in this stack's Region only
   */
  readonly allowedRegions?: string[];
  /**
   * IP address types the service supports for consumers' endpoints.
   *
   * @default - IPv4 only
   */
  readonly supportedIpAddressTypes?: ec2.IpAddressType[];
  /**
   * Turn on PrivateLink's Contributor Insights rules for the service.
   *
   * @default false
   */
  readonly contributorInsights?: boolean;
}

export interface LinkgateEndpointServiceProps extends LinkgateEndpointServiceOptions {
  /** The load balancer to publish (a `PrivateLinkLoadBalancer`'s `loadBalancer`). */
  readonly loadBalancer: ec2.IVpcEndpointServiceLoadBalancer;
  /** Tenants: their `consumers.aws.principals` become the allowed principals. */
  readonly tenants: TenantDeclarations;
}

const REGION_PATTERN = /^[a-z]{2}(?:-[a-z]+)+-\d+$/;
/** Endpoint IDs per AcceptVpcEndpointConnections call. */
const ACCEPT_BATCH = 100;

/**
 * A `VpcEndpointService` for the private-link load balancer: acceptance required by default,
 * allowed principals taken from the tenants, allowed Regions, IP address types.
 */
export class LinkgateEndpointService extends Construct {
  readonly endpointService: ec2.VpcEndpointService;
  /** `com.amazonaws.vpce.<region>.vpce-svc-…`: what consumers create their endpoint to. */
  readonly serviceName: string;
  readonly serviceId: string;
  /** Allowed principals, sorted and without duplicates. */
  readonly allowedPrincipals: readonly string[];
  /** Endpoint IDs the tenants allow, sorted and without duplicates. */
  readonly allowedEndpointIds: readonly string[];
  /** The deploy-time acceptance of `allowedEndpointIds`, when it runs. */
  readonly endpointAcceptance?: Construct;

  readonly acceptanceRequired: boolean;
  readonly acceptAllowedEndpoints: boolean;
  readonly allowedRegions?: readonly string[];
  readonly supportedIpAddressTypes: readonly ec2.IpAddressType[];
  readonly contributorInsights: boolean;

  constructor(scope: Construct, id: string, props: LinkgateEndpointServiceProps) {
    super(scope, id);
    this.acceptanceRequired = props.acceptanceRequired ?? true;
    this.acceptAllowedEndpoints = props.acceptAllowedEndpoints ?? true;
    this.allowedRegions = props.allowedRegions;
    this.supportedIpAddressTypes = props.supportedIpAddressTypes ?? [ec2.IpAddressType.IPV4];
    this.contributorInsights = props.contributorInsights ?? false;

    for (const region of this.allowedRegions ?? []) {
      if (!Token.isUnresolved(region) && !REGION_PATTERN.test(region)) {
        fail(this, `allowedRegions has ${show(region)}, which is not a Region code; expected e.g. "us-east-1" or "eu-west-1"`);
      }
    }
    if (this.supportedIpAddressTypes.length === 0) {
      fail(this, 'supportedIpAddressTypes is empty; list at least one of "ipv4", "ipv6"');
    }

    const tenants = parseTenantDeclarations(props.tenants, this.node.path);
    this.allowedPrincipals = collectConsumers(tenants).awsPrincipals;
    this.allowedEndpointIds = [...new Set(tenants.flatMap((t) => t.allow?.aws ?? []))].sort();

    if (!this.acceptanceRequired) {
      if (this.allowedPrincipals.includes('*')) {
        warn(
          this,
          'openToEveryAccount',
          'acceptanceRequired is false and a tenant allows principal "*": any AWS account can connect without review, ' +
            'and open tenants (open: true) accept those connections',
        );
      } else if (this.allowedPrincipals.length === 0) {
        warn(
          this,
          'acceptanceOffNoPrincipals',
          'acceptanceRequired is false and no tenant lists consumers.aws.principals: nobody can connect yet, and every ' +
            'principal added later will connect without review; keep acceptance on unless every principal is vetted',
        );
      }
    }

    this.endpointService = new ec2.VpcEndpointService(this, 'Resource', {
      vpcEndpointServiceLoadBalancers: [props.loadBalancer],
      acceptanceRequired: this.acceptanceRequired,
      allowedPrincipals: this.allowedPrincipals.map((arn) => new iam.ArnPrincipal(arn)),
      allowedRegions: this.allowedRegions ? [...this.allowedRegions] : undefined,
      supportedIpAddressTypes: [...this.supportedIpAddressTypes],
      contributorInsights: this.contributorInsights,
    });
    this.serviceId = this.endpointService.vpcEndpointServiceId;
    this.serviceName = this.endpointService.vpcEndpointServiceName;

    if (this.acceptanceRequired && this.acceptAllowedEndpoints && this.allowedEndpointIds.length > 0) {
      this.endpointAcceptance = this.acceptEndpoints();
    }
  }

  private acceptEndpoints(): Construct {
    const acceptance = new Construct(this, 'Acceptance');
    const serviceArn = Stack.of(this).formatArn({
      service: 'ec2',
      resource: 'vpc-endpoint-service',
      resourceName: this.serviceId,
    });
    for (let i = 0; i * ACCEPT_BATCH < this.allowedEndpointIds.length; i++) {
      const call: cr.AwsSdkCall = {
        service: 'EC2',
        action: 'AcceptVpcEndpointConnections',
        parameters: { ServiceId: this.serviceId, VpcEndpointIds: this.allowedEndpointIds.slice(i * ACCEPT_BATCH, (i + 1) * ACCEPT_BATCH) },
        physicalResourceId: cr.PhysicalResourceId.of(`accept-${i}`),
        // Already-accepted and unknown IDs come back as per-item "Unsuccessful" entries, not as an
        // error; none of it is needed, and the response must stay under the 4 KB limit.
        outputPaths: [],
      };
      new cr.AwsCustomResource(acceptance, `Batch${i}`, {
        onCreate: call,
        onUpdate: call,
        installLatestAwsSdk: false,
        policy: cr.AwsCustomResourcePolicy.fromStatements([
          new iam.PolicyStatement({ actions: ['ec2:AcceptVpcEndpointConnections'], resources: [serviceArn] }),
        ]),
      });
    }
    return acceptance;
  }
}
