/**
 * Availability Zone IDs of subnets. Zone *names* are shuffled per account (eu-west-1a is not the
 * same data centre for the provider and a customer); IDs (euw1-az1) are not, and a consumer can
 * only place an endpoint in zones the load balancer also serves. So we publish IDs.
 */
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';

/**
 * One ID per subnet, in subnet order. Subnets defined in this app read it from CloudFormation
 * (`AWS::EC2::Subnet.AvailabilityZoneId`); imported subnets have no resource to read from, so one
 * DescribeSubnets call per subnet answers at deploy time.
 */
export function availabilityZoneIds(scope: Construct, subnets: readonly ec2.ISubnet[]): string[] {
  let lookups: Construct | undefined;
  return subnets.map((subnet, i) => {
    const cfn = subnet.node.defaultChild;
    if (cfn instanceof ec2.CfnSubnet) return cfn.attrAvailabilityZoneId;
    lookups ??= new Construct(scope, 'AvailabilityZoneIdLookup');
    const call: cr.AwsSdkCall = {
      service: 'EC2',
      action: 'DescribeSubnets',
      parameters: { SubnetIds: [subnet.subnetId] },
      physicalResourceId: cr.PhysicalResourceId.of(`az-id-${i}`),
      // Custom resource responses are capped at 4 KB: keep only the one field.
      outputPaths: ['Subnets.0.AvailabilityZoneId'],
    };
    const lookup = new cr.AwsCustomResource(lookups, `Subnet${i}`, {
      onCreate: call,
      onUpdate: call,
      installLatestAwsSdk: false,
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        // DescribeSubnets supports no resource-level permissions.
        new iam.PolicyStatement({ actions: ['ec2:DescribeSubnets'], resources: ['*'] }),
      ]),
    });
    return lookup.getResponseField('Subnets.0.AvailabilityZoneId');
  });
}
