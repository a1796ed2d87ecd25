import { CfnResource, Stack, TagManager, Tags } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as sns from 'aws-cdk-lib/aws-sns';
import { LinkgateProvider } from '../../lib/aws';
import { TENANTS, UPSTREAMS, importedVpc, logicalIdOf, newStack, newVpc, realisticTenants, testImage } from './support';

describe('bring your own', () => {
  test('GIVEN an existing VPC, subnets and task security group WHEN created THEN the tasks use them, with the NLB-only rules added', () => {
    const stack = newStack();
    const vpc = importedVpc(stack, 'Existing', ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1']);
    const securityGroup = ec2.SecurityGroup.fromSecurityGroupId(stack, 'TaskSg', 'sg-0123456789abcdef0');
    const linkgate = new LinkgateProvider(stack, 'Linkgate', {
      vpc,
      tenants: TENANTS,
      upstreams: UPSTREAMS,
      image: testImage(),
      securityGroup,
      taskSubnets: { subnetFilters: [ec2.SubnetFilter.byIds(['subnet-0123456789abcdef1'])] },
    });
    const template = Template.fromStack(stack);
    expect(linkgate.gateway.securityGroup).toBe(securityGroup);
    template.hasResourceProperties('AWS::ECS::Service', {
      NetworkConfiguration: { AwsvpcConfiguration: { AssignPublicIp: 'DISABLED', SecurityGroups: ['sg-0123456789abcdef0'], Subnets: ['subnet-0123456789abcdef1'] } },
    });
    // One group for the NLB (ours), none for the tasks: theirs gets the rules.
    template.resourceCountIs('AWS::EC2::SecurityGroup', 1);
    for (const port of [8443, 8080]) {
      template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
        GroupId: 'sg-0123456789abcdef0',
        FromPort: port,
        SourceSecurityGroupId: { 'Fn::GetAtt': [logicalIdOf(linkgate.loadBalancer.securityGroup), 'GroupId'] },
      });
    }
  });

  test('GIVEN Tags.of(stack) WHEN the provider is created (public path, S3 config, alarms with a topic) THEN every taggable resource carries the tags', () => {
    const stack = newStack();
    const vpc = newVpc(stack);
    new LinkgateProvider(stack, 'Linkgate', {
      vpc,
      tenants: [...TENANTS, ...realisticTenants(5)],
      upstreams: UPSTREAMS,
      image: testImage(),
      publicPath: true,
      configDelivery: 'objectStore',
      additionalPrivateLinkPorts: [{ name: 'postgres', port: 5432, upstream: 'default' }],
      observability: { alarmTopic: new sns.Topic(stack, 'Pager') },
    });
    Tags.of(stack).add('team', 'payments');
    Tags.of(stack).add('cost-center', 'cc-1234');
    const template = Template.fromStack(stack).toJSON() as { Resources: Record<string, { Type: string; Properties?: { Tags?: unknown } }> };

    const taggable = stack.node.findAll().filter((c): c is CfnResource => c instanceof CfnResource && (TagManager.isTaggable(c) || TagManager.isTaggableV2(c)));
    const ids = taggable.map((c) => Stack.of(c).resolve(c.logicalId) as string);
    const types = new Set(ids.map((id) => template.Resources[id]!.Type));
    // The resources a platform team pays for and audits are among them.
    for (const type of ['AWS::ElasticLoadBalancingV2::LoadBalancer', 'AWS::ElasticLoadBalancingV2::TargetGroup', 'AWS::ECS::Service', 'AWS::ECS::TaskDefinition', 'AWS::ECS::Cluster', 'AWS::EC2::SecurityGroup', 'AWS::EC2::VPCEndpointService', 'AWS::Logs::LogGroup', 'AWS::CloudWatch::Alarm', 'AWS::CloudWatch::InsightRule', 'AWS::IAM::Role']) {
      expect(types).toContain(type);
    }
    const untagged = ids.filter((id) => {
      const tags = template.Resources[id]!.Properties?.Tags;
      const text = JSON.stringify(tags ?? null);
      return !(text.includes('"team"') && text.includes('"payments"') && text.includes('"cost-center"'));
    });
    expect(untagged.map((id) => `${id} (${template.Resources[id]!.Type})`)).toEqual([]);
  });
});
