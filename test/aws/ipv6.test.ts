import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { LinkgateProvider, type LinkgateProviderProps } from '../../lib/aws';
import { TENANTS, UPSTREAMS, ZONES, ingressRulesOf, logicalIdOf, newStack, newVpc, testImage } from './support';

function given(props: Partial<LinkgateProviderProps> = {}, dualStackVpc = true) {
  const stack = newStack();
  const vpc = dualStackVpc
    ? new ec2.Vpc(stack, 'Vpc', {
        availabilityZones: ZONES,
        natGateways: 1,
        ipProtocol: ec2.IpProtocol.DUAL_STACK,
        subnetConfiguration: [
          { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
          { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
        ],
      })
    : newVpc(stack);
  const create = () => new LinkgateProvider(stack, 'Linkgate', { vpc, tenants: TENANTS, upstreams: UPSTREAMS, image: testImage(), ipAddressType: 'dualstack', ...props });
  return { stack, create, template: () => Template.fromStack(stack) };
}

describe('GIVEN ipAddressType "dualstack" in a dual-stack VPC', () => {
  test('THEN the NLB is dual-stack, its targets stay IPv4, and the endpoint service offers IPv4 and IPv6 endpoints', () => {
    const { create, template } = given();
    create();
    template().hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internal', IpAddressType: 'dualstack' });
    // (not written: a target group's IP address type defaults to ipv4)
    template().hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { Port: 8443, IpAddressType: Match.absent() });
    template().hasResourceProperties('AWS::EC2::VPCEndpointService', { SupportedIpAddressTypes: ['ipv4', 'ipv6'] });
  });

  test('WHEN the public path is on THEN its NLB is dual-stack and admits ::/0 as well as 0.0.0.0/0 on the listener port', () => {
    const { create, template } = given({ publicPath: true });
    const linkgate = create();
    template().hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internet-facing', IpAddressType: 'dualstack' });
    const rules = ingressRulesOf(template(), logicalIdOf(linkgate.gateway.publicSecurityGroup!));
    expect(rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ CidrIp: '0.0.0.0/0', FromPort: 443 }),
        expect.objectContaining({ CidrIpv6: '::/0', FromPort: 443 }),
      ]),
    );
  });
});

describe('validation', () => {
  test('GIVEN "dualstack" on subnets without IPv6 THEN synth fails naming the subnets and the fix', () => {
    const { create } = given({}, false);
    expect(create).toThrow(/ipAddressType "dualstack" needs an IPv6 CIDR block on every subnet of the load balancer, but loadBalancerSubnets selects Provider\/Vpc\/privateSubnet1.*ipProtocol: ec2.IpProtocol.DUAL_STACK/);
  });

  test('GIVEN IPv6 endpoint types on an IPv4 NLB THEN synth fails saying it needs "dualstack"', () => {
    const { create } = given({ ipAddressType: 'ipv4', supportedIpAddressTypes: [ec2.IpAddressType.IPV6] }, false);
    expect(create).toThrow(/supportedIpAddressTypes includes "ipv6", which needs ipAddressType "dualstack"/);
  });
});
