import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { PrivateLinkLoadBalancer } from '../../lib/aws';
import { expectWarning, importedVpc, ingressRulesOf, logicalIdOf, newStack, newVpc, snapshotTemplate } from './support';

function given(props: Partial<ConstructorParameters<typeof PrivateLinkLoadBalancer>[2]> = {}, zones?: string[]) {
  const stack = newStack();
  const vpc = newVpc(stack, zones);
  const lb = new PrivateLinkLoadBalancer(stack, 'LoadBalancer', { vpc, ...props });
  return { stack, vpc, lb, template: () => Template.fromStack(stack) };
}

describe('PrivateLinkLoadBalancer', () => {
  test('snapshot', () => {
    const { stack } = given();
    expect(snapshotTemplate(stack)).toMatchSnapshot();
  });

  describe('GIVEN a VPC with private subnets in three zones', () => {
    test('THEN the NLB is internal, in one private subnet per zone, with its own security group', () => {
      const { template, vpc } = given();
      template().hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
        Type: 'network',
        Scheme: 'internal',
        Subnets: vpc.privateSubnets.map((s) => ({ Ref: logicalIdOf(s) })),
        SecurityGroups: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^LoadBalancerSecurityGroup'), 'GroupId'] }],
        // Private Link traffic is not checked against inbound rules (the sources are consumers' addresses).
        EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: 'off',
        LoadBalancerAttributes: Match.arrayWith([{ Key: 'load_balancing.cross_zone.enabled', Value: 'true' }]),
      });
    });

    test('THEN one TCP listener forwards to an IP target group with PROXY protocol v2 on', () => {
      const { template, lb } = given();
      template().hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
        Port: 443,
        Protocol: 'TCP',
        DefaultActions: [{ Type: 'forward', TargetGroupArn: { Ref: logicalIdOf(lb.targetGroup) } }],
      });
      template().hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
        Port: 8443,
        Protocol: 'TCP',
        TargetType: 'ip',
        // (arrayWith keeps order: the attributes in the order CDK writes them)
        TargetGroupAttributes: Match.arrayWith([
          // the gateway's drain bound (5 s + 25 s), not the NLB's 300 s
          { Key: 'deregistration_delay.timeout_seconds', Value: '30' },
          { Key: 'proxy_protocol_v2.enabled', Value: 'true' },
          { Key: 'deregistration_delay.connection_termination.enabled', Value: 'false' },
        ]),
      });
    });

    test("THEN health checks ask the gateway's health port for /readyz", () => {
      given().template().hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
        HealthCheckEnabled: true,
        HealthCheckProtocol: 'HTTP',
        HealthCheckPort: '8080',
        HealthCheckPath: '/readyz',
        HealthCheckIntervalSeconds: 10,
        Matcher: { HttpCode: '200' },
      });
    });

    test('THEN the load balancer security group admits nothing directly and sends nothing by itself', () => {
      const { template, lb } = given();
      expect(ingressRulesOf(template(), logicalIdOf(lb.securityGroup))).toEqual([]);
      template().hasResourceProperties('AWS::EC2::SecurityGroup', {
        GroupDescription: Match.stringLikeRegexp('private-link NLB'),
        SecurityGroupEgress: [Match.objectLike({ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic' })],
      });
    });

    test('THEN it publishes the Availability Zone IDs of its subnets, read from CloudFormation', () => {
      const { stack, lb, vpc } = given();
      expect(lb.availabilityZones).toEqual(['eu-west-1a', 'eu-west-1b', 'eu-west-1c']);
      expect(stack.resolve(lb.availabilityZoneIds)).toEqual(
        vpc.privateSubnets.map((s) => ({ 'Fn::GetAtt': [logicalIdOf(s), 'AvailabilityZoneId'] })),
      );
    });

    test('THEN no warning is raised', () => {
      const { stack } = given();
      Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
    });
  });

  test('GIVEN imported subnets WHEN it is created THEN their zone IDs are looked up at deploy time', () => {
    const stack = newStack();
    const vpc = importedVpc(stack, 'Imported', ['subnet-0aaaaaaaaaaaaaaaa', 'subnet-0bbbbbbbbbbbbbbbb']);
    const lb = new PrivateLinkLoadBalancer(stack, 'LoadBalancer', { vpc });
    const template = Template.fromStack(stack);
    template.resourceCountIs('Custom::AWS', 2);
    template.hasResourceProperties('Custom::AWS', {
      Create: Match.serializedJson(
        Match.objectLike({
          service: 'EC2',
          action: 'DescribeSubnets',
          parameters: { SubnetIds: ['subnet-0aaaaaaaaaaaaaaaa'] },
          outputPaths: ['Subnets.0.AvailabilityZoneId'],
        }),
      ),
    });
    expect(stack.resolve(lb.availabilityZoneIds[1])).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^LoadBalancerAvailabilityZoneIdLookupSubnet1/), 'Subnets.0.AvailabilityZoneId'],
    });
  });

  test('GIVEN the gateway drain WHEN no delay is given THEN the deregistration delay is the drain bound, and an explicit one wins', () => {
    const attribute = (template: Template) => {
      const [tg] = Object.values(template.findResources('AWS::ElasticLoadBalancingV2::TargetGroup')) as { Properties: { TargetGroupAttributes: { Key: string; Value: string }[] } }[];
      return tg!.Properties.TargetGroupAttributes.find((a) => a.Key === 'deregistration_delay.timeout_seconds')!.Value;
    };
    expect(attribute(given({ drainDelaySec: 10, drainTimeoutSec: 50 }).template())).toBe('60');
    expect(given({ drainDelaySec: 10, drainTimeoutSec: 50 }).lb.deregistrationDelaySec).toBe(60);
    expect(attribute(given({ drainDelaySec: 10, deregistrationDelaySec: 300 }).template())).toBe('300');
  });

  test('GIVEN non-default ports WHEN it is created THEN the listener, targets and health check use them', () => {
    const { template } = given({ listenerPort: 8883, targetPort: 9000, healthCheckPort: 9001, deregistrationDelaySec: 900 });
    template().hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 8883 });
    template().hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Port: 9000,
      HealthCheckPort: '9001',
      TargetGroupAttributes: Match.arrayWith([{ Key: 'deregistration_delay.timeout_seconds', Value: '900' }]),
    });
  });

  describe('validation', () => {
    test('GIVEN subnets in one zone WHEN it is created THEN it warns that consumers lose the service with that zone', () => {
      const { stack } = given({}, ['eu-west-1a']);
      expectWarning(stack, '/Provider/LoadBalancer', 'is in 1 Availability Zone \\(eu-west-1a\\).*two or more zones');
    });

    test('GIVEN two selected subnets in the same zone THEN synth fails naming the zone and the fix', () => {
      const stack = newStack();
      const vpc = new ec2.Vpc(stack, 'Vpc', {
        availabilityZones: ['eu-west-1a', 'eu-west-1b'],
        natGateways: 1,
        subnetConfiguration: [
          { name: 'public', subnetType: ec2.SubnetType.PUBLIC },
          { name: 'app', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
          { name: 'data', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        ],
      });
      expect(
        () => new PrivateLinkLoadBalancer(stack, 'LoadBalancer', { vpc, loadBalancerSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } }),
      ).toThrow(
        /^Provider\/LoadBalancer: loadBalancerSubnets selects 2 subnets in Availability Zone eu-west-1a \(.*\); a load balancer or endpoint takes at most one subnet per zone: narrow the selection \(for example \{ subnetType, onePerAz: true \}\)$/,
      );
    });

    test('GIVEN a selection that matches no subnet THEN synth fails', () => {
      const stack = newStack();
      const vpc = newVpc(stack);
      expect(
        () => new PrivateLinkLoadBalancer(stack, 'LoadBalancer', { vpc, loadBalancerSubnets: { subnets: [] } }),
      ).toThrow('Provider/LoadBalancer: loadBalancerSubnets selects no subnets; select at least one subnet');
    });

    test.each([
      [{ listenerPort: 0 }, 'listenerPort must be a whole number from 1 to 65535, got 0'],
      [{ targetPort: 70000 }, 'targetPort must be a whole number from 1 to 65535, got 70000'],
      [{ healthCheckPort: 80.5 }, 'healthCheckPort must be a whole number from 1 to 65535, got 80.5'],
      [{ deregistrationDelaySec: 3601 }, 'deregistrationDelaySec must be a whole number from 0 s to 3600 s, got 3601'],
      [{ healthCheckIntervalSec: 2 }, 'healthCheckIntervalSec must be a whole number from 5 s to 300 s, got 2'],
    ])('GIVEN %j THEN synth fails with the allowed range', (props, message) => {
      expect(() => given(props)).toThrow(`Provider/LoadBalancer: ${message}`);
    });

    test('GIVEN the same port for traffic and health checks THEN synth fails naming both props', () => {
      expect(() => given({ targetPort: 8080 })).toThrow(
        'Provider/LoadBalancer: healthCheckPort and targetPort are both 8080; each gateway listener needs its own port',
      );
    });
  });
});
