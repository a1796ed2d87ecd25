/**
 * cdk-nag (AWS Solutions) findings acknowledged in the example app, each with its reason. The
 * checks run on every synth of the example (build.ts); anything not acknowledged here fails it.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { ConsumerStack } from './consumer-stack';
import type { ProviderStack } from './provider-stack';

const ack = (scope: IConstruct, id: string, reason: string) => Validations.of(scope).acknowledge({ id, reason });

export function acknowledgeNagFindings(provider: ProviderStack, consumer: ConsumerStack): void {
  const { loadBalancer, gateway, privateDns } = provider.linkgate;

  const noAccessLogs =
    'NLB access logs are written only for TLS listeners; these listeners are TCP pass-through (TLS stays ' +
    "end to end to the upstream), so there is nothing to log. The gateway logs every connection's decision instead.";
  ack(loadBalancer.loadBalancer, 'AwsSolutions::AwsSolutions-ELB2', noAccessLogs);
  ack(gateway.publicLoadBalancer!, 'AwsSolutions::AwsSolutions-ELB2', noAccessLogs);

  ack(
    gateway.taskDefinition,
    'AwsSolutions::AwsSolutions-ECS2',
    'The environment carries the gateway config (tenant hostnames, endpoint IDs, upstream hosts): no secrets. It is ' +
      'in the task definition on purpose, so that a tenant change is a new revision rolled out by cdk deploy.',
  );
  ack(
    gateway.taskDefinition.executionRole!,
    'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
    'ecr:GetAuthorizationToken supports no resource-level permissions; image pulls themselves are limited to the ' +
      'CDK asset repository.',
  );
  ack(
    gateway.publicSecurityGroup!,
    'AwsSolutions::AwsSolutions-EC23',
    "The public path is internet-facing by design, on the listener port only; each tenant's allow.cidrs is enforced " +
      'by the gateway. Narrow publicSourceCidrs to restrict it further.',
  );

  for (const id of ['ReadChallenge', 'ReadState']) {
    ack(
      privateDns!.node.findChild(id),
      'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      'ec2:DescribeVpcEndpointServiceConfigurations supports no resource-level permissions (read-only).',
    );
  }
  // The single Lambda function behind every AwsCustomResource in the stack (aws-cdk-lib's).
  ack(
    Stack.of(provider).node.findChild('AWS679f53fac002430cb0da5b7982bd2287'),
    'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    "aws-cdk-lib's AwsCustomResource function uses the AWS managed basic execution policy for its own logs; the " +
      'EC2 calls it makes are granted per resource by separate inline policies.',
  );

  ack(
    consumer.endpoint.securityGroup,
    'AwsSolutions::AwsSolutions-EC23',
    "The only inbound rule admits the VPC's own CIDR block on the service port; cdk-nag cannot resolve the block " +
      '(a CloudFormation attribute) and so cannot tell it from 0.0.0.0/0.',
  );
}
