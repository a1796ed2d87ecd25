/**
 * Owner rules on AWS: LinkgateProvider renders `ownership` (its own endpoint service, filled in at
 * deploy) into the gateway config and grants the task role exactly the read, plus accept/reject on
 * this endpoint service only when acceptance is on. The account may also create endpoints.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { LinkgateProvider, type LinkgateProviderProps } from '../../lib/aws';
import { UPSTREAMS, filteringGateway, logicalIdOf, newStack, newVpc, testImage } from './support';

const OWNER_TENANTS = [{ name: 'megacorp', hostnames: ['megacorp.example.com'], allow: { awsAccounts: ['111122223333'] } }];

function given(props: Partial<LinkgateProviderProps> = {}) {
  const stack = newStack();
  const vpc = newVpc(stack);
  const linkgate = new LinkgateProvider(stack, 'Linkgate', { vpc, tenants: OWNER_TENANTS, upstreams: UPSTREAMS, image: testImage(), ...props });
  return { stack, linkgate, template: Template.fromStack(stack) };
}

/** The task definition's LINKGATE_CONFIG, with CloudFormation's Fn::Join flattened to text. */
function configText(template: Template): string {
  const [def] = Object.values(template.findResources('AWS::ECS::TaskDefinition')) as {
    Properties: { ContainerDefinitions: { Environment: { Name: string; Value: unknown }[] }[] };
  }[];
  return JSON.stringify(def!.Properties.ContainerDefinitions[0]!.Environment.find((e) => e.Name === 'LINKGATE_CONFIG')!.Value);
}

function taskRoleStatements(template: Template): unknown[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as {
    Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: unknown[] } };
  }[];
  const taskRole = Object.keys(template.findResources('AWS::IAM::Role')).find((id) => id.includes('TaskDefinitionTaskRole'))!;
  return policies.filter((p) => p.Properties.Roles.some((r) => r.Ref === taskRole)).flatMap((p) => p.Properties.PolicyDocument.Statement);
}

describe('owner rules on AWS', () => {
  test('GIVEN a tenant with allow.awsAccounts WHEN synthesized THEN the config reads the provider\'s endpoint service, and the task role may only describe connections', () => {
    const { linkgate, template } = given();
    const text = configText(template);
    expect(text).toContain('\\"ownership\\":');
    expect(text).toContain('\\"accept\\":\\"none\\"');
    // the endpoint service's ID, filled in by CloudFormation
    expect(text).toContain(JSON.stringify({ Ref: logicalIdOf(linkgate.endpointService.endpointService) }));
    expect(taskRoleStatements(template)).toEqual([
      { Sid: 'LinkgateReadEndpointOwners', Action: 'ec2:DescribeVpcEndpointConnections', Effect: 'Allow', Resource: '*' },
    ]);
    // AND the account may create an endpoint to the service
    template.hasResourceProperties('AWS::EC2::VPCEndpointServicePermissions', {
      AllowedPrincipals: Match.arrayWith(['arn:aws:iam::111122223333:root']),
    });
  });

  test('GIVEN accept: matching-reject-others THEN accept and reject are granted on this endpoint service\'s ARN only', () => {
    const { linkgate, template } = given({ ownership: { accept: 'matching-reject-others', intervalSec: 10 } });
    const statements = taskRoleStatements(template);
    expect(statements).toContainEqual({
      Sid: 'LinkgateSettleEndpointConnections',
      Action: ['ec2:AcceptVpcEndpointConnections', 'ec2:RejectVpcEndpointConnections'],
      Effect: 'Allow',
      // the test stack's environment: eu-west-1, 111122223333
      Resource: { 'Fn::Join': ['', ['arn:aws:ec2:eu-west-1:111122223333:vpc-endpoint-service/', { Ref: logicalIdOf(linkgate.endpointService.endpointService) }]] },
    });
    expect(configText(template)).toContain('\\"intervalSec\\":10');
  });

  test('GIVEN tenants without owner rules THEN no ownership is rendered and the task role gets nothing', () => {
    const { template } = given({ tenants: [{ name: 'megacorp', hostnames: ['megacorp.example.com'], allow: { aws: ['vpce-0aaaaaaaaaaaaaaaa'] } }] });
    expect(configText(template)).not.toContain('ownership');
    expect(taskRoleStatements(template)).toEqual([]);
  });

  test('GIVEN a standalone FilteringGateway with owner rules and no ownershipSource THEN synth fails saying what to pass', () => {
    expect(() => filteringGateway({ tenants: OWNER_TENANTS })).toThrow(
      /tenants use allow.awsAccounts .* no ownershipSource names the endpoint service to read: pass ownershipSource: \{ serviceId \}/,
    );
  });
});
