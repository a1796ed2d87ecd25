/**
 * A customer (megacorp) in its own account: an interface endpoint to the provider's service, and
 * private DNS so megacorp's hostnames resolve to it inside their VPC. Deploy, then send the
 * EndpointId output to the provider.
 */
import { Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';
import { LinkgateConsumerEndpoint } from 'linkgate/aws';

export interface ConsumerStackProps extends StackProps {
  /** The provider's ServiceName output. */
  readonly serviceName: string;
}

export class ConsumerStack extends Stack {
  readonly vpc: ec2.Vpc;
  readonly endpoint: LinkgateConsumerEndpoint;

  constructor(scope: Construct, id: string, props: ConsumerStackProps) {
    super(scope, id, props);

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      availabilityZones: ['eu-west-1a', 'eu-west-1b'],
      natGateways: 0,
      subnetConfiguration: [{ name: 'workloads', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
      flowLogs: { rejected: { trafficType: ec2.FlowLogTrafficType.REJECT } },
    });

    this.endpoint = new LinkgateConsumerEndpoint(this, 'Linkgate', {
      vpc: this.vpc,
      serviceName: props.serviceName,
      hostnames: ['megacorp.api.example.com', '*.megacorp.example.com'],
    });
  }
}
