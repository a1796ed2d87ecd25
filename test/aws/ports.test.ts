import { Match, Template } from 'aws-cdk-lib/assertions';
import { LinkgateProvider, type LinkgateProviderProps } from '../../lib/aws';
import { TENANTS, gatewayConfigFrom, ingressRulesOf, logicalIdOf, newStack, newVpc, testImage } from './support';

const UPSTREAMS = { default: { host: 'app.internal.example.com', port: 443 }, db: { host: 'db.internal.example.com', port: 5432 } };

function given(props: Partial<LinkgateProviderProps> = {}) {
  const stack = newStack();
  const vpc = newVpc(stack);
  const linkgate = new LinkgateProvider(stack, 'Linkgate', {
    vpc,
    tenants: TENANTS,
    upstreams: UPSTREAMS,
    image: testImage(),
    additionalPrivateLinkPorts: [{ name: 'postgres', port: 5432, upstream: 'db' }],
    ...props,
  });
  return { stack, linkgate, template: Template.fromStack(stack) };
}

describe('GIVEN additional private-link ports (443 and 5432)', () => {
  test('THEN the one NLB has a TCP listener per port, each to its own PROXY v2 target group on its gateway port, under one endpoint service', () => {
    const { template, linkgate } = given();
    const [postgres] = linkgate.loadBalancer.additionalPorts;
    expect(postgres!.port).toEqual({ name: 'postgres', port: 5432, gatewayPort: 8444, upstream: 'db' });
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 1);
    template.resourceCountIs('AWS::EC2::VPCEndpointService', 1);
    for (const [port, tg, targetPort] of [
      [443, linkgate.loadBalancer.targetGroup, 8443],
      [5432, postgres!.targetGroup, 8444],
    ] as const) {
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
        Port: port,
        Protocol: 'TCP',
        LoadBalancerArn: { Ref: logicalIdOf(linkgate.loadBalancer.loadBalancer) },
        DefaultActions: [{ Type: 'forward', TargetGroupArn: { Ref: logicalIdOf(tg) } }],
      });
      template.hasResource('AWS::ElasticLoadBalancingV2::TargetGroup', {
        Properties: Match.objectLike({
          Port: targetPort,
          TargetType: 'ip',
          HealthCheckPath: '/readyz',
          HealthCheckPort: '8080',
          TargetGroupAttributes: Match.arrayWith([{ Key: 'proxy_protocol_v2.enabled', Value: 'true' }]),
        }),
      });
    }
  });

  test('THEN the tasks register on both ports, map both container ports, and admit the second only from the NLB', () => {
    const { template, linkgate } = given();
    const { gateway, loadBalancer } = linkgate;
    template.hasResourceProperties('AWS::ECS::Service', {
      LoadBalancers: Match.arrayWith([
        { ContainerName: 'gateway', ContainerPort: 8443, TargetGroupArn: { Ref: logicalIdOf(loadBalancer.targetGroup) } },
        { ContainerName: 'gateway', ContainerPort: 8444, TargetGroupArn: { Ref: logicalIdOf(loadBalancer.additionalPorts[0]!.targetGroup) } },
      ]),
    });
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [Match.objectLike({ PortMappings: Match.arrayWith([Match.objectLike({ Name: 'private-link-postgres', ContainerPort: 8444 })]) })],
    });
    const rules = ingressRulesOf(template, logicalIdOf(gateway.securityGroup));
    expect(rules).toHaveLength(3);
    expect(rules).toContainEqual(
      expect.objectContaining({ FromPort: 8444, ToPort: 8444, SourceSecurityGroupId: { 'Fn::GetAtt': [logicalIdOf(loadBalancer.securityGroup), 'GroupId'] } }),
    );
  });

  test('THEN the gateway config names the listener and its upstream, and its target group has health alarms', () => {
    const { template } = given();
    expect(gatewayConfigFrom(template).listeners.additionalPrivateLink).toEqual([{ name: 'postgres', port: 8444, upstream: 'db', host: '0.0.0.0' }]);
    const alarms = Object.keys(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.filter((id) => id.includes('PrivateLinkPostgres')).length).toBe(2);
  });

  test.each([
    [[{ name: 'again', port: 443, upstream: 'db' }], /additionalPrivateLinkPorts\[0\].port port 443 is already used by the private-link port/],
    [[{ name: 'health', port: 5432, upstream: 'db', gatewayPort: 8080 }], /additionalPrivateLinkPorts\[0\].gatewayPort gateway port 8080 is already used by another gateway listener/],
    [[{ name: 'nodb', port: 5432, upstream: 'missing' }], /missing/],
  ])('GIVEN %j THEN synth fails naming the entry', (additionalPrivateLinkPorts, message) => {
    expect(() => given({ additionalPrivateLinkPorts })).toThrow(message);
  });
});
