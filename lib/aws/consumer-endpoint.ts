/**
 * The consumer side: what a customer deploys in *their* account to reach the provider's service
 * privately, and whose endpoint ID they send to the provider.
 */
import { Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';
import { hostnameSchema, hostnameZones } from '../tenants';
import { doctorCommand } from '../tenants/doctor-command';
import { checkOutputPrefix, stableOutput } from './internal/outputs';
import { checkOneSubnetPerAz, checkPort, cidrPeer, fail, show, warnIfSingleAz } from './internal/validate';

export interface LinkgateConsumerEndpointProps {
  /** The consumer's VPC. */
  readonly vpc: ec2.IVpc;
  /** The provider's endpoint service name, `com.amazonaws.vpce.<region>.vpce-svc-…`. */
  readonly serviceName: string;
  /**
   * The tenant's hostnames (as in the provider's tenant list). Each resolves to this endpoint in
   * the VPC through a private hosted zone: `api.example.com` gets a zone of that name with an
   * apex alias, `*.example.com` a zone `example.com` with a wildcard alias.
   */
  readonly hostnames: string[];
  /**
   * Port of the provider's listener.
   *
   * @default 443
   */
  readonly port?: number;
  /**
   * Subnets of the endpoint, at most one per Availability Zone, in zones the provider serves
   * (compare Availability Zone IDs, not names).
   *
   * @default - the VPC's default subnet selection (private subnets if there are any), one per
   * Availability Zone
   */
  readonly subnets?: ec2.SubnetSelection;
  /**
   * Source ranges allowed to reach the endpoint on `port`.
   *
   * @default - the VPC's primary CIDR block
   */
  readonly allowedCidrs?: string[];
  /**
   * Region of the endpoint service when it is not this stack's Region (cross-Region PrivateLink;
   * the provider must list this Region in its allowed Regions).
   *
   * @default - the service is in this stack's Region
   */
  readonly serviceRegion?: string;
  /**
   * Turn on the endpoint's private DNS: the provider's private DNS name then resolves to this
   * endpoint in the VPC. Only when the provider has a verified private DNS name.
   *
   * @default false
   */
  readonly privateDnsEnabled?: boolean;
  /**
   * Prefix of the stack output's name, for a stack holding two endpoints (`Saas` gives
   * `SaasEndpointId`). Letters and digits.
   *
   * @default - none: the output is named `EndpointId`
   */
  readonly outputPrefix?: string;
}

const SERVICE_NAME_PATTERN = /^com\.amazonaws\.vpce\.[a-z]{2}(?:-[a-z]+)+-\d+\.vpce-svc-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

/**
 * An interface endpoint to the provider's service with its own security group, private hosted
 * zones so the tenant's hostnames resolve to the endpoint, and an output of the endpoint ID to
 * send to the provider.
 */
export class LinkgateConsumerEndpoint extends Construct {
  readonly endpoint: ec2.InterfaceVpcEndpoint;
  readonly securityGroup: ec2.SecurityGroup;
  /** One private hosted zone per distinct zone name, keyed by zone name. */
  readonly hostedZones: ReadonlyMap<string, route53.PrivateHostedZone>;
  /** The ID to send to the provider (`vpce-…`). */
  readonly endpointId: string;

  readonly serviceName: string;
  readonly hostnames: readonly string[];
  readonly port: number;
  readonly allowedCidrs: readonly string[];
  readonly privateDnsEnabled: boolean;

  constructor(scope: Construct, id: string, props: LinkgateConsumerEndpointProps) {
    super(scope, id);
    this.serviceName = props.serviceName;
    if (!Token.isUnresolved(this.serviceName) && !SERVICE_NAME_PATTERN.test(this.serviceName)) {
      fail(
        this,
        `serviceName ${show(this.serviceName)} is not an endpoint service name; expected ` +
          'com.amazonaws.vpce.<region>.vpce-svc-<17 hex digits>, as the provider\'s ServiceName output shows',
      );
    }
    this.hostnames = checkHostnames(this, props.hostnames);
    const outputPrefix = checkOutputPrefix(this, props.outputPrefix);
    this.port = checkPort(this, 'port', props.port ?? 443);
    this.allowedCidrs = props.allowedCidrs ?? [props.vpc.vpcCidrBlock];
    this.privateDnsEnabled = props.privateDnsEnabled ?? false;

    const placement = checkOneSubnetPerAz(this, 'subnets', props.vpc.selectSubnets(props.subnets ?? { onePerAz: true }).subnets);
    warnIfSingleAz(this, 'The endpoint', placement);

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `linkgate consumer endpoint: clients on port ${this.port}`,
      // An interface endpoint never opens connections itself.
      allowAllOutbound: false,
    });
    for (const cidr of this.allowedCidrs) {
      this.securityGroup.addIngressRule(cidrPeer(this, 'allowedCidrs', cidr), ec2.Port.tcp(this.port), 'clients of the provider service');
    }

    this.endpoint = new ec2.InterfaceVpcEndpoint(this, 'Resource', {
      vpc: props.vpc,
      service: new ec2.InterfaceVpcEndpointService(this.serviceName, this.port),
      subnets: { subnets: placement.subnets },
      securityGroups: [this.securityGroup],
      // The rules above are the whole policy; `open` would add the VPC CIDR on every port.
      open: false,
      privateDnsEnabled: this.privateDnsEnabled,
      // Zone support is checked at deploy; a lookup here would need credentials at synth.
      lookupSupportedAzs: false,
      serviceRegion: props.serviceRegion,
    });
    this.endpointId = this.endpoint.vpcEndpointId;

    const zones = new Map<string, route53.PrivateHostedZone>();
    const dns = new Construct(this, 'Dns');
    const target = route53.RecordTarget.fromAlias(new targets.InterfaceVpcEndpointTarget(this.endpoint));
    for (const { zone: zoneName, apex, wildcard } of hostnameZones(this.hostnames)) {
      const zone = new route53.PrivateHostedZone(dns, zoneName, {
        zoneName,
        vpc: props.vpc,
        comment: `linkgate: ${zoneName} resolves to the PrivateLink endpoint in this VPC`,
      });
      zones.set(zoneName, zone);
      if (apex) new route53.ARecord(zone, 'Apex', { zone, recordName: `${zoneName}.`, target });
      if (wildcard) new route53.ARecord(zone, 'Wildcard', { zone, recordName: `*.${zoneName}.`, target });
    }
    this.hostedZones = zones;

    stableOutput(this, outputPrefix, 'EndpointId', {
      description: "Send this endpoint ID to the provider: it goes into your tenant's allow.aws list",
      value: this.endpointId,
    });
    stableOutput(this, outputPrefix, 'DoctorCommand', {
      description: 'Run this from the VPC to check the endpoint, its DNS and its registration with the provider',
      value: doctorCommand(this.hostnames, this.port),
    });
  }
}

function checkHostnames(scope: Construct, hostnames: readonly string[]): string[] {
  if (!Array.isArray(hostnames) || hostnames.length === 0) {
    fail(scope, 'hostnames is empty; list the tenant hostnames that should resolve to the endpoint, e.g. ["megacorp.api.example.com"]');
  }
  const out: string[] = [];
  for (const hostname of hostnames) {
    if (Token.isUnresolved(hostname)) {
      fail(scope, 'hostnames must be known at synth time (each one names a private hosted zone), got a token');
    }
    const parsed = hostnameSchema.safeParse(hostname);
    if (!parsed.success) fail(scope, `hostnames: ${parsed.error.issues[0]?.message ?? `${show(hostname)} is not a hostname`}`);
    if (out.includes(parsed.data)) fail(scope, `hostnames lists ${show(parsed.data)} twice`);
    out.push(parsed.data);
  }
  return out;
}
