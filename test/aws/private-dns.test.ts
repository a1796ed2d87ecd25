import { Template } from 'aws-cdk-lib/assertions';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { EndpointServicePrivateDns, LinkgateEndpointService, PrivateLinkLoadBalancer } from '../../lib/aws';
import { TENANTS, logicalIdOf, newStack, newVpc, sdkCallOf, sdkCalls, snapshotTemplate } from './support';

function given(domainName = 'api.example.com', zoneName = 'example.com') {
  const stack = newStack();
  const lb = new PrivateLinkLoadBalancer(stack, 'LoadBalancer', { vpc: newVpc(stack) });
  const service = new LinkgateEndpointService(stack, 'EndpointService', {
    loadBalancer: lb.loadBalancer,
    tenants: TENANTS,
    acceptAllowedEndpoints: false,
  });
  const zone = route53.PublicHostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId: 'Z0123456789EXAMPLEZONE', zoneName });
  const create = () =>
    new EndpointServicePrivateDns(stack, 'PrivateDns', { endpointService: service.endpointService, domainName, publicHostedZone: zone });
  return { stack, service, zone, create, template: () => Template.fromStack(stack) };
}

/** The Custom::AWS resource whose logical ID starts with `prefix`. */
function call(template: Template, prefix: string) {
  const found = sdkCalls(template).find((c) => c.id.startsWith(prefix));
  if (!found) throw new Error(`no Custom::AWS resource ${prefix}*`);
  return found;
}

describe('EndpointServicePrivateDns', () => {
  test('snapshot', () => {
    const { stack, create } = given();
    create();
    expect(snapshotTemplate(stack)).toMatchSnapshot();
  });

  describe('GIVEN a name inside the public zone', () => {
    test('THEN the name is set on the service, and removed when the construct is deleted', () => {
      const { template, create, service } = given();
      create();
      const setName = call(template(), 'PrivateDnsSetName');
      const serviceRef = `<Ref ${logicalIdOf(service.endpointService)}>`;
      expect(setName.create).toMatchObject({
        service: 'EC2',
        action: 'ModifyVpcEndpointServiceConfiguration',
        parameters: { ServiceId: serviceRef, PrivateDnsName: 'api.example.com' },
      });
      expect(sdkCallOf(setName.resource, 'Delete')).toMatchObject({
        action: 'ModifyVpcEndpointServiceConfiguration',
        parameters: { ServiceId: serviceRef, RemovePrivateDnsName: true },
      });
    });

    test('THEN the ownership TXT record AWS asks for is written into the public zone', () => {
      const { template, create } = given();
      create();
      const challenge = call(template(), 'PrivateDnsReadChallenge');
      expect(challenge.create).toMatchObject({ action: 'DescribeVpcEndpointServiceConfigurations' });
      template().hasResourceProperties('AWS::Route53::RecordSet', {
        Type: 'TXT',
        HostedZoneId: 'Z0123456789EXAMPLEZONE',
        Name: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [challenge.id, 'ServiceConfigurations.0.PrivateDnsNameConfiguration.Name'] }, '.example.com.']] },
        ResourceRecords: [
          { 'Fn::Join': ['', ['"', { 'Fn::GetAtt': [challenge.id, 'ServiceConfigurations.0.PrivateDnsNameConfiguration.Value'] }, '"']] },
        ],
      });
    });

    test('THEN verification starts only after the record exists, and its state is read afterwards', () => {
      const { template, create, stack } = given();
      const dns = create();
      const start = call(template(), 'PrivateDnsStartVerification');
      expect(start.create).toMatchObject({ action: 'StartVpcEndpointServicePrivateDnsVerification' });
      expect(start.resource.DependsOn).toContain(logicalIdOf(dns.verificationRecord));
      const state = call(template(), 'PrivateDnsReadState');
      expect(state.create).toMatchObject({ action: 'DescribeVpcEndpointServiceConfigurations' });
      expect(state.resource.DependsOn).toContain(start.id);
      expect(stack.resolve(dns.verificationState)).toEqual({
        'Fn::GetAtt': [state.id, 'ServiceConfigurations.0.PrivateDnsNameConfiguration.State'],
      });
    });

    test('THEN the calls are allowed on this endpoint service only, except the read-only describe', () => {
      const { template, create } = given();
      create();
      const policies = Object.values(template().findResources('AWS::IAM::Policy')).map(
        (p) => (p as { Properties: { PolicyDocument: { Statement: { Action: string; Resource: unknown }[] } } }).Properties.PolicyDocument.Statement[0]!,
      );
      for (const statement of policies) {
        if (statement.Action === 'ec2:DescribeVpcEndpointServiceConfigurations') expect(statement.Resource).toBe('*');
        else expect(JSON.stringify(statement.Resource)).toContain(':vpc-endpoint-service/');
      }
      expect(policies.map((p) => p.Action).sort()).toEqual([
        'ec2:DescribeVpcEndpointServiceConfigurations',
        'ec2:DescribeVpcEndpointServiceConfigurations',
        'ec2:ModifyVpcEndpointServiceConfiguration',
        'ec2:StartVpcEndpointServicePrivateDnsVerification',
      ]);
    });
  });

  test('GIVEN the zone apex as the name WHEN created THEN it is accepted', () => {
    const { create } = given('example.com');
    expect(create().domainName).toBe('example.com');
  });

  describe('validation', () => {
    test('GIVEN a name outside the zone THEN synth fails naming both', () => {
      const { create } = given('api.example.org');
      expect(create).toThrow(
        'Provider/PrivateDns: private DNS name "api.example.org" is not inside the public hosted zone "example.com"; use a name under example.com or the zone that holds api.example.org',
      );
    });

    test.each(['*.example.com', 'api_example.com', 'localhost'])('GIVEN the name %s THEN synth fails: not a host name', (name) => {
      const { create } = given(name);
      expect(create).toThrow(`Provider/PrivateDns: private DNS name "${name}" is not a host name; expected DNS labels like api.example.com (no wildcard)`);
    });

    test('GIVEN no public zone THEN synth fails saying where the TXT record would go', () => {
      const { stack, service } = given();
      expect(
        () =>
          new EndpointServicePrivateDns(stack, 'PrivateDns', {
            endpointService: service.endpointService,
            domainName: 'api.example.com',
            publicHostedZone: undefined as unknown as route53.IPublicHostedZone,
          }),
      ).toThrow('Provider/PrivateDns: private DNS name "api.example.com" needs publicHostedZone: the public hosted zone that holds the ownership TXT record');
    });
  });
});
