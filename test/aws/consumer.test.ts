import { Lazy } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { LinkgateConsumerEndpoint, type LinkgateConsumerEndpointProps } from '../../lib/aws';
import { CONSUMER_ENV, expectWarning, ingressRulesOf, logicalIdOf, newStack, snapshotTemplate } from './support';

const SERVICE_NAME = 'com.amazonaws.vpce.eu-west-1.vpce-svc-0123456789abcdef0';

function given(props: Partial<LinkgateConsumerEndpointProps> = {}, zones = ['eu-west-1a', 'eu-west-1b']) {
  const stack = newStack('Consumer', CONSUMER_ENV);
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    availabilityZones: zones,
    natGateways: 0,
    subnetConfiguration: [{ name: 'workloads', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
  });
  const create = () =>
    new LinkgateConsumerEndpoint(stack, 'Linkgate', {
      vpc,
      serviceName: SERVICE_NAME,
      hostnames: ['megacorp.api.example.com', '*.megacorp.example.com'],
      ...props,
    });
  return { stack, vpc, create, template: () => Template.fromStack(stack) };
}

describe('LinkgateConsumerEndpoint', () => {
  test('snapshot', () => {
    const { stack, create } = given();
    create();
    expect(snapshotTemplate(stack)).toMatchSnapshot();
  });

  describe("GIVEN the provider's service name and the tenant hostnames", () => {
    test('THEN an interface endpoint to the service is placed in one subnet per zone, behind its own security group', () => {
      const { create, template, vpc } = given();
      const endpoint = create();
      template().hasResourceProperties('AWS::EC2::VPCEndpoint', {
        VpcEndpointType: 'Interface',
        ServiceName: SERVICE_NAME,
        VpcId: { Ref: logicalIdOf(vpc) },
        SubnetIds: vpc.isolatedSubnets.map((s) => ({ Ref: logicalIdOf(s) })),
        SecurityGroupIds: [{ 'Fn::GetAtt': [logicalIdOf(endpoint.securityGroup), 'GroupId'] }],
        PrivateDnsEnabled: false,
        ServiceRegion: Match.absent(),
      });
    });

    test('THEN only the VPC reaches the endpoint, only on the service port, and the endpoint opens nothing outward', () => {
      const { create, template, vpc } = given();
      const endpoint = create();
      expect(ingressRulesOf(template(), logicalIdOf(endpoint.securityGroup))).toEqual([
        expect.objectContaining({ CidrIp: { 'Fn::GetAtt': [logicalIdOf(vpc), 'CidrBlock'] }, IpProtocol: 'tcp', FromPort: 443, ToPort: 443 }),
      ]);
      template().hasResourceProperties('AWS::EC2::SecurityGroup', {
        GroupDescription: Match.stringLikeRegexp('consumer endpoint'),
        SecurityGroupEgress: [Match.objectLike({ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic' })],
      });
    });

    test('THEN each hostname resolves to the endpoint in the VPC: an exact name at a zone apex, a wildcard in its parent zone', () => {
      const { create, template, vpc } = given();
      const endpoint = create();
      expect([...endpoint.hostedZones.keys()]).toEqual(['megacorp.api.example.com', 'megacorp.example.com']);
      for (const name of ['megacorp.api.example.com.', 'megacorp.example.com.']) {
        template().hasResourceProperties('AWS::Route53::HostedZone', { Name: name, VPCs: [{ VPCId: { Ref: logicalIdOf(vpc) }, VPCRegion: 'eu-west-1' }] });
      }
      const alias = {
        DNSName: { 'Fn::Select': [1, { 'Fn::Split': [':', { 'Fn::Select': [0, { 'Fn::GetAtt': [logicalIdOf(endpoint.endpoint), 'DnsEntries'] }] }] }] },
        HostedZoneId: { 'Fn::Select': [0, { 'Fn::Split': [':', { 'Fn::Select': [0, { 'Fn::GetAtt': [logicalIdOf(endpoint.endpoint), 'DnsEntries'] }] }] }] },
      };
      template().hasResourceProperties('AWS::Route53::RecordSet', {
        Name: 'megacorp.api.example.com.',
        Type: 'A',
        HostedZoneId: { Ref: logicalIdOf(endpoint.hostedZones.get('megacorp.api.example.com')!) },
        AliasTarget: alias,
      });
      template().hasResourceProperties('AWS::Route53::RecordSet', {
        Name: '*.megacorp.example.com.',
        Type: 'A',
        HostedZoneId: { Ref: logicalIdOf(endpoint.hostedZones.get('megacorp.example.com')!) },
        AliasTarget: alias,
      });
    });

    test('THEN the endpoint ID to send to the provider is the output EndpointId, and DoctorCommand checks the setup', () => {
      const { create, template } = given();
      const endpoint = create();
      expect(Object.keys(template().findOutputs('*'))).toEqual(['EndpointId', 'DoctorCommand']);
      template().hasOutput('EndpointId', {
        Description: Match.stringLikeRegexp('Send this endpoint ID to the provider'),
        Value: { Ref: logicalIdOf(endpoint.endpoint) },
      });
      template().hasOutput('DoctorCommand', { Value: 'linkgate doctor megacorp.api.example.com --port 443' });
    });

    test('THEN no warning is raised', () => {
      const { create, stack } = given();
      create();
      Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
    });
  });

  test('GIVEN an exact name and a wildcard of the same zone WHEN created THEN they share one zone', () => {
    const { create, template } = given({ hostnames: ['megacorp.example.com', '*.megacorp.example.com'] });
    create();
    template().resourceCountIs('AWS::Route53::HostedZone', 1);
    template().resourceCountIs('AWS::Route53::RecordSet', 2);
  });

  test('GIVEN a service in another Region, private DNS, a port and client ranges WHEN created THEN the endpoint uses them', () => {
    const { create, template } = given({
      serviceRegion: 'us-east-1',
      privateDnsEnabled: true,
      port: 8443,
      allowedCidrs: ['10.20.0.0/16', '2001:db8::/56'],
    });
    const endpoint = create();
    template().hasResourceProperties('AWS::EC2::VPCEndpoint', { ServiceRegion: 'us-east-1', PrivateDnsEnabled: true });
    expect(ingressRulesOf(template(), logicalIdOf(endpoint.securityGroup))).toEqual([
      expect.objectContaining({ CidrIp: '10.20.0.0/16', FromPort: 8443 }),
      expect.objectContaining({ CidrIpv6: '2001:db8::/56', FromPort: 8443 }),
    ]);
  });

  test('GIVEN a VPC in one zone WHEN created THEN it warns', () => {
    const { create, stack } = given({}, ['eu-west-1a']);
    create();
    expectWarning(stack, '/Consumer/Linkgate', 'The endpoint is in 1 Availability Zone');
  });

  describe('validation', () => {
    test.each([
      [{ serviceName: 'vpce-svc-0123456789abcdef0' }, 'serviceName "vpce-svc-0123456789abcdef0" is not an endpoint service name; expected com.amazonaws.vpce.<region>.vpce-svc-<17 hex digits>'],
      [{ hostnames: [] }, 'hostnames is empty; list the tenant hostnames that should resolve to the endpoint'],
      [{ hostnames: ['not a host'] }, 'hostnames: "not a host" is not a hostname (expected DNS labels like api.example.com, optionally starting with "*.")'],
      [{ hostnames: ['a.example.com', 'A.example.com.'] }, 'hostnames lists "a.example.com" twice'],
      [{ port: 65536 }, 'port must be a whole number from 1 to 65535, got 65536'],
      [{ allowedCidrs: ['10.0.0.0/33'] }, 'allowedCidrs has "10.0.0.0/33", which is not a CIDR block'],
    ])('GIVEN %j THEN synth fails saying what is expected', (props, message) => {
      const { create } = given(props as Partial<LinkgateConsumerEndpointProps>);
      expect(create).toThrow(`Consumer/Linkgate: ${message}`);
    });

    test('GIVEN a hostname known only at deploy THEN synth fails: each hostname names a zone', () => {
      const { create } = given({ hostnames: [Lazy.string({ produce: () => 'a.example.com' })] });
      expect(create).toThrow('Consumer/Linkgate: hostnames must be known at synth time (each one names a private hosted zone), got a token');
    });

    test('GIVEN subnets that put two in one zone THEN synth fails', () => {
      const stack = newStack('Consumer', CONSUMER_ENV);
      const vpc = new ec2.Vpc(stack, 'Vpc', {
        availabilityZones: ['eu-west-1a', 'eu-west-1b'],
        natGateways: 0,
        subnetConfiguration: [
          { name: 'a', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
          { name: 'b', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
        ],
      });
      expect(
        () =>
          new LinkgateConsumerEndpoint(stack, 'Linkgate', {
            vpc,
            serviceName: SERVICE_NAME,
            hostnames: ['a.example.com'],
            subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
          }),
      ).toThrow(/^Consumer\/Linkgate: subnets selects 2 subnets in Availability Zone eu-west-1a/);
    });
  });
});
