import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { LinkgateEndpointService, PrivateLinkLoadBalancer, type LinkgateEndpointServiceProps } from '../../lib/aws';
import type { TenantDeclarations } from '../../lib/tenants';
import { TENANTS, expectWarning, logicalIdOf, newStack, newVpc, realisticTenants, sdkCalls, snapshotTemplate } from './support';

function given(props: Partial<LinkgateEndpointServiceProps> = {}) {
  const stack = newStack();
  const lb = new PrivateLinkLoadBalancer(stack, 'LoadBalancer', { vpc: newVpc(stack) });
  const service = new LinkgateEndpointService(stack, 'EndpointService', { loadBalancer: lb.loadBalancer, tenants: TENANTS, ...props });
  return { stack, lb, service, template: () => Template.fromStack(stack) };
}

const endpointServiceLogicalId = (service: LinkgateEndpointService) => logicalIdOf(service.endpointService);

describe('LinkgateEndpointService', () => {
  test('snapshot', () => {
    expect(snapshotTemplate(given().stack)).toMatchSnapshot();
  });

  describe('GIVEN tenants with principals and endpoint IDs', () => {
    test('THEN the service publishes the load balancer with acceptance required and IPv4', () => {
      const { template, lb } = given();
      template().hasResourceProperties('AWS::EC2::VPCEndpointService', {
        AcceptanceRequired: true,
        NetworkLoadBalancerArns: [{ Ref: logicalIdOf(lb.loadBalancer) }],
        SupportedIpAddressTypes: ['ipv4'],
        ContributorInsightsEnabled: false,
        SupportedRegions: Match.absent(),
      });
    });

    test("THEN the allowed principals are the tenants' principals, sorted, each once", () => {
      const { template, service } = given();
      template().hasResourceProperties('AWS::EC2::VPCEndpointServicePermissions', {
        ServiceId: { Ref: endpointServiceLogicalId(service) },
        AllowedPrincipals: ['arn:aws:iam::222233334444:root', 'arn:aws:iam::555566667777:root'],
      });
    });

    test('THEN the listed endpoints are accepted at deploy, and only those', () => {
      const { template, service } = given();
      const calls = sdkCalls(template());
      expect(calls.map((c) => c.create)).toEqual([
        expect.objectContaining({
          service: 'EC2',
          action: 'AcceptVpcEndpointConnections',
          parameters: {
            ServiceId: `<Ref ${endpointServiceLogicalId(service)}>`,
            VpcEndpointIds: ['vpce-08d2bf15fac5001c9', 'vpce-0a1b2c3d4e5f60718'],
          },
        }),
      ]);
      template().hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: [
            {
              Action: 'ec2:AcceptVpcEndpointConnections',
              Effect: 'Allow',
              Resource: { 'Fn::Join': ['', [Match.stringLikeRegexp(':vpc-endpoint-service/$'), { Ref: endpointServiceLogicalId(service) }]] },
            },
          ],
        },
      });
    });

    test('THEN no warning is raised', () => {
      Annotations.fromStack(given().stack).hasNoWarning('*', Match.anyValue());
    });
  });

  test('GIVEN allowed Regions, IPv6 and Contributor Insights WHEN created THEN the service carries them', () => {
    given({
      allowedRegions: ['us-east-1', 'eu-central-1'],
      supportedIpAddressTypes: [ec2.IpAddressType.IPV4, ec2.IpAddressType.IPV6],
      contributorInsights: true,
    })
      .template()
      .hasResourceProperties('AWS::EC2::VPCEndpointService', {
        SupportedRegions: ['us-east-1', 'eu-central-1'],
        SupportedIpAddressTypes: ['ipv4', 'ipv6'],
        ContributorInsightsEnabled: true,
      });
  });

  test('GIVEN 250 endpoint IDs WHEN created THEN they are accepted in batches of 100', () => {
    const { template } = given({ tenants: realisticTenants(250) });
    template().resourceCountIs('Custom::AWS', 3);
    const sizes = sdkCalls(template()).map((c) => (c.create.parameters as { VpcEndpointIds: string[] }).VpcEndpointIds.length);
    expect(sizes.sort((a, b) => a - b)).toEqual([50, 100, 100]);
  });

  test('GIVEN acceptance turned off WHEN created THEN nothing is accepted by deploy', () => {
    const { template } = given({ acceptanceRequired: false });
    template().hasResourceProperties('AWS::EC2::VPCEndpointService', { AcceptanceRequired: false });
    template().resourceCountIs('Custom::AWS', 0);
  });

  test('GIVEN acceptAllowedEndpoints off WHEN created THEN acceptance stays manual', () => {
    given({ acceptAllowedEndpoints: false }).template().resourceCountIs('Custom::AWS', 0);
  });

  test('GIVEN tenants without principals WHEN created THEN no permissions resource is written', () => {
    const tenants: TenantDeclarations = [{ name: 'open', hostnames: ['open.example.com'], open: true }];
    given({ tenants }).template().resourceCountIs('AWS::EC2::VPCEndpointServicePermissions', 0);
  });

  describe('warnings', () => {
    test('GIVEN acceptance off and no principals THEN it warns that later principals connect without review', () => {
      const { stack } = given({ acceptanceRequired: false, tenants: [{ name: 'a', hostnames: ['a.example.com'], open: true }] });
      expectWarning(stack, '/Provider/EndpointService', 'acceptanceRequired is false and no tenant lists consumers.aws.principals');
    });

    test('GIVEN acceptance off and principal "*" THEN it warns that any account connects without review', () => {
      const tenants: TenantDeclarations = [{ name: 'a', hostnames: ['a.example.com'], open: true, consumers: { aws: { principals: ['*'] } } }];
      const { stack } = given({ acceptanceRequired: false, tenants });
      expectWarning(stack, '/Provider/EndpointService', 'any AWS account can connect without review');
    });
  });

  describe('validation', () => {
    test('GIVEN a Region that is not a Region code THEN synth fails showing it and the expected form', () => {
      expect(() => given({ allowedRegions: ['Frankfurt'] })).toThrow(
        'Provider/EndpointService: allowedRegions has "Frankfurt", which is not a Region code; expected e.g. "us-east-1" or "eu-west-1"',
      );
    });

    test('GIVEN no IP address type THEN synth fails listing the allowed ones', () => {
      expect(() => given({ supportedIpAddressTypes: [] })).toThrow(
        'Provider/EndpointService: supportedIpAddressTypes is empty; list at least one of "ipv4", "ipv6"',
      );
    });

    test('GIVEN a principal that is not an ARN THEN synth fails naming the construct and the tenant path', () => {
      const tenants: TenantDeclarations = [
        { name: 'a', hostnames: ['a.example.com'], open: true, consumers: { aws: { principals: ['111122223333'] } } },
      ];
      expect(() => given({ tenants })).toThrow(
        'Provider/EndpointService: invalid tenant declarations:\n  tenants[0].consumers.aws.principals[0]: expected an IAM principal ARN like arn:aws:iam::111122223333:root (or "*"), got "111122223333"',
      );
    });

    test('GIVEN one endpoint ID claimed by two tenants THEN synth fails naming both tenants', () => {
      const tenants: TenantDeclarations = [
        { name: 'a', hostnames: ['a.example.com'], allow: { aws: ['vpce-08d2bf15fac5001c9'] } },
        { name: 'b', hostnames: ['b.example.com'], allow: { aws: ['vpce-08d2bf15fac5001c9'] } },
      ];
      expect(() => given({ tenants })).toThrow(
        'Provider/EndpointService: invalid tenant declarations:\n  tenants[1].allow.aws[0]: aws link ID "vpce-08d2bf15fac5001c9" is claimed by tenants "a" (tenants[0].allow.aws[0]) and "b"; it must belong to one',
      );
    });

    test('GIVEN an endpoint ID listed twice in one tenant THEN synth fails', () => {
      const tenants: TenantDeclarations = [
        { name: 'a', hostnames: ['a.example.com'], allow: { aws: ['vpce-08d2bf15fac5001c9', 'vpce-08d2bf15fac5001c9'] } },
      ];
      expect(() => given({ tenants })).toThrow(
        'tenants[0].allow.aws[1]: aws link ID "vpce-08d2bf15fac5001c9" is listed twice in tenant "a" (first at tenants[0].allow.aws[0])',
      );
    });
  });
});
