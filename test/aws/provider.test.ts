import { Template } from 'aws-cdk-lib/assertions';
import * as route53 from 'aws-cdk-lib/aws-route53';
import type { Stack } from 'aws-cdk-lib';
import {
  EndpointServicePrivateDns,
  FilteringGateway,
  LinkgateEndpointService,
  LinkgateProvider,
  PrivateLinkLoadBalancer,
  type LinkgateProviderProps,
} from '../../lib/aws';
import { TENANTS, UPSTREAMS, expectWarning, gatewayConfigFrom, logicalIdOf, newStack, newVpc, sdkCalls, snapshotTemplate, testImage } from './support';

function given(props: Partial<LinkgateProviderProps> = {}, build: (stack: Stack) => Partial<LinkgateProviderProps> = () => ({})) {
  const stack = newStack();
  const vpc = newVpc(stack);
  const create = () =>
    new LinkgateProvider(stack, 'Linkgate', { vpc, tenants: TENANTS, upstreams: UPSTREAMS, image: testImage(), ...props, ...build(stack) });
  return { stack, vpc, create, template: () => Template.fromStack(stack) };
}

const zone = (stack: Stack) =>
  route53.PublicHostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId: 'Z0123456789EXAMPLEZONE', zoneName: 'example.com' });
const withPrivateDns = (stack: Stack) => ({ privateDnsName: 'api.example.com', publicHostedZone: zone(stack) });

describe('LinkgateProvider', () => {
  test('snapshot (private DNS, public path, default image)', () => {
    const { stack, create } = given({ image: undefined, publicPath: true }, withPrivateDns);
    create();
    expect(snapshotTemplate(stack)).toMatchSnapshot();
  });

  test('GIVEN a VPC and tenants WHEN created THEN it is made of the four parts under stable IDs, the endpoint service as Resource', () => {
    const { create } = given({}, withPrivateDns);
    const linkgate = create();
    expect(linkgate.node.findChild('LoadBalancer')).toBeInstanceOf(PrivateLinkLoadBalancer);
    expect(linkgate.node.findChild('Gateway')).toBeInstanceOf(FilteringGateway);
    expect(linkgate.node.findChild('Resource')).toBeInstanceOf(LinkgateEndpointService);
    expect(linkgate.node.findChild('PrivateDns')).toBeInstanceOf(EndpointServicePrivateDns);
    expect(linkgate.node.defaultChild).toBe(linkgate.endpointService);
  });

  test('GIVEN private DNS WHEN created THEN it outputs the service name, AZ IDs, the DNS name and its verification state under fixed names', () => {
    const { create, template, vpc } = given({}, withPrivateDns);
    const linkgate = create();
    const outputs = template().findOutputs('*');
    expect(Object.keys(outputs).sort()).toEqual(['AvailabilityZoneIds', 'PrivateDnsName', 'PrivateDnsVerificationState', 'ServiceName']);
    const byName = (name: string) => outputs[name] as { Value: unknown };
    expect(byName('ServiceName').Value).toEqual({
      'Fn::Join': ['.', ['com.amazonaws.vpce', { Ref: 'AWS::Region' }, { Ref: logicalIdOf(linkgate.endpointService.endpointService) }]],
    });
    expect(byName('AvailabilityZoneIds').Value).toEqual({
      'Fn::Join': [',', vpc.privateSubnets.map((s) => ({ 'Fn::GetAtt': [logicalIdOf(s), 'AvailabilityZoneId'] }))],
    });
    expect(byName('PrivateDnsName').Value).toBe('api.example.com');
    expect(byName('PrivateDnsVerificationState').Value).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^LinkgatePrivateDnsReadState/), 'ServiceConfigurations.0.PrivateDnsNameConfiguration.State'],
    });
  });

  test('GIVEN no private DNS WHEN created THEN no DNS resources or outputs exist', () => {
    const { create, template } = given();
    create();
    expect(Object.keys(template().findOutputs('*'))).toEqual(['ServiceName', 'AvailabilityZoneIds']);
    template().resourceCountIs('AWS::Route53::RecordSet', 0);
  });

  test('GIVEN the public path WHEN created THEN the public DNS name is an output', () => {
    const { create, template } = given({ publicPath: true });
    const linkgate = create();
    template().hasOutput('PublicDnsName', { Value: { 'Fn::GetAtt': [logicalIdOf(linkgate.gateway.publicLoadBalancer!), 'DNSName'] } });
  });

  test('GIVEN two providers in one stack WHEN each has an outputPrefix THEN their outputs are prefixed, and without one the second is refused', () => {
    const { stack, vpc } = given();
    const props = { vpc, tenants: TENANTS, upstreams: UPSTREAMS, image: testImage() };
    new LinkgateProvider(stack, 'Eu', { ...props, outputPrefix: 'Eu' });
    new LinkgateProvider(stack, 'Us', { ...props, outputPrefix: 'Us' });
    expect(Object.keys(Template.fromStack(stack).findOutputs('*')).sort()).toEqual([
      'EuAvailabilityZoneIds',
      'EuServiceName',
      'UsAvailabilityZoneIds',
      'UsServiceName',
    ]);
    new LinkgateProvider(stack, 'First', props);
    expect(() => new LinkgateProvider(stack, 'Second', props)).toThrow(
      /Second.*the stack already has an output named ServiceName; give each linkgate construct in a stack its own outputPrefix/,
    );
  });

  test('GIVEN an outputPrefix that is not alphanumeric WHEN created THEN synth fails naming it', () => {
    const { create } = given({ outputPrefix: 'eu-west' });
    expect(create).toThrow(/outputPrefix "eu-west" must be letters and digits/);
  });

  test('GIVEN listed endpoints WHEN deployed THEN they are accepted only after the gateways run the new tenant list', () => {
    const { create, template } = given();
    const linkgate = create();
    const accept = sdkCalls(template()).find((c) => c.create.action === 'AcceptVpcEndpointConnections')!;
    expect(accept.resource.DependsOn).toContain(logicalIdOf(linkgate.gateway.service));
  });

  test('GIVEN custom gateway ports WHEN created THEN the load balancer targets and checks the same ports', () => {
    const { create, template } = given({ privateLinkPort: 9000, healthPort: 9001, listenerPort: 8883 });
    create();
    template().hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { Port: 9000, HealthCheckPort: '9001' });
    template().hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 8883 });
    expect(gatewayConfigFrom(template()).listeners).toMatchObject({ privateLink: { port: 9000 }, health: { port: 9001 } });
  });

  test('GIVEN the gateway settings every cloud shares WHEN created THEN they reach the gateway config, the drain in milliseconds', () => {
    const { create, template } = given({ defaultTenant: 'initech', drainDelaySec: 3, drainTimeoutSec: 40, log: { decisions: 'drops' } });
    const linkgate = create();
    // and the NLB keeps a replaced task's connections for that drain bound, not 300 s
    expect(linkgate.loadBalancer.deregistrationDelaySec).toBe(43);
    expect(gatewayConfigFrom(template())).toMatchObject({
      defaultTenant: 'initech',
      shutdown: { drainDelayMs: 3_000, drainTimeoutMs: 40_000 },
      log: { decisions: 'drops' },
    });
  });

  test('GIVEN a zone but no name WHEN created THEN it warns that no private DNS name is configured', () => {
    const { create, stack } = given({}, (s) => ({ publicHostedZone: zone(s) }));
    create();
    expectWarning(stack, '/Provider/Linkgate', 'publicHostedZone is set but privateDnsName is not');
  });

  describe('validation', () => {
    test('GIVEN a private DNS name without a public zone THEN synth fails saying what the zone is for', () => {
      const { create } = given({ privateDnsName: 'api.example.com' });
      expect(create).toThrow(
        'Provider/Linkgate: privateDnsName "api.example.com" needs publicHostedZone: the public hosted zone (in this account) where the ownership TXT record is written',
      );
    });

    test('GIVEN invalid tenants THEN synth fails once, naming this construct and every issue', () => {
      const { create } = given({
        tenants: [
          { name: 'a', hostnames: ['a.example.com'], allow: { aws: ['vpce-XYZ'] }, consumers: { aws: { principals: ['root'] } } },
          { name: 'b', hostnames: ['a.example.com'], open: true },
        ],
      });
      expect(create).toThrow(
        [
          'Provider/Linkgate: invalid tenant declarations:',
          '  tenants[0].allow.aws[0]: expected a VPC endpoint ID: "vpce-" followed by 8 or 17 lowercase hex digits, got "vpce-XYZ"',
          '  tenants[0].consumers.aws.principals[0]: expected an IAM principal ARN like arn:aws:iam::111122223333:root (or "*"), got "root"',
        ].join('\n'),
      );
    });

    test('GIVEN a hostname claimed by two tenants THEN synth fails naming both', () => {
      const { create } = given({ tenants: [{ name: 'a', hostnames: ['x.example.com'], open: true }, { name: 'b', hostnames: ['X.example.com.'], open: true }] });
      expect(create).toThrow('tenants[1].hostnames[0]: hostname "x.example.com" is claimed by tenants "a" (tenants[0].hostnames[0]) and "b"; it must belong to one');
    });

    test('GIVEN clashing listener ports THEN synth fails naming them', () => {
      const { create } = given({ publicPath: true, privateLinkPort: 9443 });
      expect(create).toThrow('Provider/Linkgate/Gateway: publicPort and privateLinkPort are both 9443; each gateway listener needs its own port');
    });
  });
});
