/**
 * The provider: a VPC, and linkgate in front of the SaaS — PrivateLink for customers, plus the
 * optional public path. Copy this stack and replace the tenants, upstream and DNS names.
 */
import { Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import type { Construct } from 'constructs';
import { LinkgateProvider } from 'linkgate/aws';
import type { TenantDeclarations } from 'linkgate/tenants';

/** One entry per customer; onboarding a customer is adding their endpoint ID here and deploying. */
export const exampleTenants: TenantDeclarations = [
  {
    name: 'megacorp',
    hostnames: ['megacorp.api.example.com', '*.megacorp.example.com'],
    // Only connections through this endpoint reach megacorp's hostnames.
    allow: { aws: ['vpce-08d2bf15fac5001c9'] },
    // Who may create an endpoint to the service at all (the endpoint service's allow-list).
    consumers: { aws: { principals: ['arn:aws:iam::222233334444:root'] } },
  },
  {
    name: 'initech',
    hostnames: ['initech.api.example.com'],
    // Through its endpoint, or over the public path from its office range.
    allow: { aws: ['vpce-0a1b2c3d4e5f60718'], cidrs: ['198.51.100.0/24'] },
    consumers: { aws: { principals: ['arn:aws:iam::555566667777:root'] } },
  },
];

export class ProviderStack extends Stack {
  readonly vpc: ec2.Vpc;
  readonly linkgate: LinkgateProvider;

  constructor(scope: Construct, id: string, props: StackProps) {
    super(scope, id, props);

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      // Fixed zones: synth needs no AWS credentials or lookups.
      availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
      natGateways: 1,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
      ],
      flowLogs: { rejected: { trafficType: ec2.FlowLogTrafficType.REJECT } },
    });

    this.linkgate = new LinkgateProvider(this, 'Linkgate', {
      vpc: this.vpc,
      tenants: exampleTenants,
      // The gateway settings have the same names on every cloud (GatewaySettingsProps): upstreams, and
      // optionally defaultTenant, limits, log, drainDelaySec and drainTimeoutSec.
      upstreams: { default: { host: 'app.internal.example.com', port: 443 } },
      privateDnsName: 'api.example.com',
      publicHostedZone: route53.PublicHostedZone.fromHostedZoneAttributes(this, 'Zone', {
        hostedZoneId: 'Z0123456789EXAMPLEZONE',
        zoneName: 'example.com',
      }),
      publicPath: true,
    });
  }
}
