/**
 * http mode on AWS: certificates from Secrets Manager injected by ECS (only the execution role may
 * read them), and a shared hostname published as the endpoint service's private DNS name.
 */
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { LinkgateProvider, type AwsHttpModeProps, type LinkgateProviderProps } from '../../lib/aws';
import { TENANTS, UPSTREAMS, gatewayConfigFrom, newStack, newVpc, sdkCallOf, snapshotTemplate, testImage } from './support';

const CERT_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:linkgate/api-cert-AbCdEf';
const OTHER_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:linkgate/legacy-cert-GhIjKl';
const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555';

function given(httpMode: (stack: Stack) => AwsHttpModeProps, props: Partial<LinkgateProviderProps> = {}) {
  const stack = newStack();
  const vpc = newVpc(stack);
  const zone = route53.PublicHostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId: 'Z0123456789EXAMPLEZONE', zoneName: 'example.com' });
  const create = () =>
    new LinkgateProvider(stack, 'Linkgate', {
      vpc,
      tenants: TENANTS,
      upstreams: UPSTREAMS,
      image: testImage(),
      ...withZone(httpMode(stack)),
      ...props,
    });
  // The zone only where a private DNS name is set (else the provider warns it is unused).
  const withZone = (h: AwsHttpModeProps) => ({ httpMode: h, ...(h.sharedHostname || props.privateDnsName ? { publicHostedZone: zone } : {}) });
  return { stack, create, template: () => Template.fromStack(stack) };
}

const certificate = (stack: Stack, arn = CERT_ARN, id = 'Cert') => ({
  secret: (stack.node.tryFindChild(id) as secretsmanager.ISecret | undefined) ?? secretsmanager.Secret.fromSecretCompleteArn(stack, id, arn),
  names: ['api.example.com'],
});

const sharedHostname = (stack: Stack): AwsHttpModeProps => ({
  certificates: [certificate(stack)],
  tenantFrom: { header: 'x-tenant' },
  sharedHostname: 'api.example.com',
});

/** The IAM policy statements attached to the role whose logical ID starts with `prefix`. */
function statementsOf(template: Template, rolePrefix: string): Record<string, unknown>[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as {
    Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: Record<string, unknown>[] } };
  }[];
  return policies.filter((p) => p.Properties.Roles.some((r) => r.Ref.startsWith(rolePrefix))).flatMap((p) => p.Properties.PolicyDocument.Statement);
}

describe('LinkgateProvider httpMode', () => {
  test('snapshot (certificate from Secrets Manager, tenant from a header, shared hostname)', () => {
    const { stack, create } = given(sharedHostname);
    create();
    expect(snapshotTemplate(stack)).toMatchSnapshot();
  });

  test('GIVEN a certificate secret THEN ECS injects its two JSON fields into the gateway container, and the config reads them by variable in http mode', () => {
    const { create, template } = given(sharedHostname);
    create();
    template().hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          Name: 'gateway',
          Secrets: [
            { Name: 'LINKGATE_HTTP_CERT_0', ValueFrom: `${CERT_ARN}:certificate::` },
            { Name: 'LINKGATE_HTTP_KEY_0', ValueFrom: `${CERT_ARN}:privateKey::` },
          ],
        }),
      ],
    });
    const config = gatewayConfigFrom(template());
    expect(config.listeners.privateLink.mode).toBe('http');
    expect(config.http).toMatchObject({
      certificates: [{ certEnv: 'LINKGATE_HTTP_CERT_0', keyEnv: 'LINKGATE_HTTP_KEY_0' }],
      tenantFrom: { header: 'x-tenant' },
    });
  });

  test('GIVEN two certificates THEN only the execution role may read them, on exactly their ARNs; the task role gets nothing', () => {
    const { create, template } = given((stack) => ({
      certificates: [certificate(stack), { ...certificate(stack, OTHER_ARN, 'Other'), certificateField: 'chain', privateKeyField: 'key' }],
      tenantFrom: 'pathPrefix',
    }));
    create();
    const execution = statementsOf(template(), 'LinkgateGatewayTaskDefinitionExecutionRole');
    const secretStatements = execution.filter((s) => JSON.stringify(s.Action).includes('secretsmanager'));
    expect(secretStatements).toEqual([
      { Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], Effect: 'Allow', Resource: [CERT_ARN, OTHER_ARN] },
    ]);
    const taskRole = statementsOf(template(), 'LinkgateGatewayTaskDefinitionTaskRole');
    expect(JSON.stringify(taskRole)).not.toContain('secretsmanager');
    template().hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({ Secrets: Match.arrayWith([{ Name: 'LINKGATE_HTTP_KEY_1', ValueFrom: `${OTHER_ARN}:key::` }]) }),
      ],
    });
  });

  test('GIVEN a secret encrypted with a customer managed key THEN the execution role may decrypt with exactly that key, through Secrets Manager only', () => {
    const { create, template } = given((stack) => ({
      certificates: [
        {
          secret: secretsmanager.Secret.fromSecretAttributes(stack, 'Cert', {
            secretCompleteArn: CERT_ARN,
            encryptionKey: kms.Key.fromKeyArn(stack, 'Key', KEY_ARN),
          }),
        },
      ],
    }));
    create();
    const execution = statementsOf(template(), 'LinkgateGatewayTaskDefinitionExecutionRole');
    expect(execution).toContainEqual({
      Action: 'kms:Decrypt',
      Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
      Effect: 'Allow',
      Resource: KEY_ARN,
    });
  });

  test('GIVEN sharedHostname THEN it becomes the endpoint service private DNS name (consumers resolve it with private DNS on)', () => {
    const { stack, create } = given(sharedHostname);
    const provider = create();
    expect(provider.privateDns?.domainName).toBe('api.example.com');
    const calls = Object.values(Template.fromStack(stack).findResources('Custom::AWS')).map((r) => sdkCallOf(r));
    expect(calls).toContainEqual(expect.objectContaining({ action: 'ModifyVpcEndpointServiceConfiguration', parameters: expect.objectContaining({ PrivateDnsName: 'api.example.com' }) }));
  });

  describe('synth-time checks', () => {
    test('GIVEN no certificate THEN synth fails saying http mode needs one', () => {
      const { create } = given(() => ({ certificates: [] }));
      expect(create).toThrow(/^Provider\/Linkgate\/Gateway: httpMode\.certificates http mode terminates TLS and needs at least one certificate from the secret store, got none$/);
    });

    test('GIVEN sharedHostname with tenantFrom host (the default) THEN synth fails naming the contradiction', () => {
      const { create } = given((stack) => ({ certificates: [certificate(stack)], sharedHostname: 'api.example.com' }));
      expect(create).toThrow(/httpMode\.tenantFrom is "host" \(the default\) with sharedHostname "api\.example\.com": .*set tenantFrom to \{ header: "x-tenant" \} or "pathPrefix"/);
    });

    test('GIVEN sharedHostname outside every declared certificate name THEN synth fails listing the names', () => {
      const { create } = given((stack) => ({ ...sharedHostname(stack), sharedHostname: 'gateway.example.com' }));
      expect(create).toThrow(/httpMode\.sharedHostname "gateway\.example\.com" is covered by no certificate's names \("api\.example\.com"\); clients would refuse the handshake/);
    });

    test('GIVEN a wildcard certificate name one label above THEN the shared hostname is covered', () => {
      const { create } = given((stack) => ({ ...sharedHostname(stack), certificates: [{ ...certificate(stack), names: ['*.example.com'] }] }));
      expect(create).not.toThrow();
    });

    test('GIVEN a wildcard sharedHostname THEN synth fails: private DNS takes no wildcard', () => {
      const { create } = given((stack) => ({ ...sharedHostname(stack), sharedHostname: '*.example.com' }));
      expect(create).toThrow(/httpMode\.sharedHostname "\*\.example\.com" is not a host name; .*no wildcard/);
    });

    test('GIVEN sharedHostname and a different privateDnsName THEN synth fails: one private DNS name per endpoint service', () => {
      const { create } = given(sharedHostname, { privateDnsName: 'other.example.com' });
      expect(create).toThrow(/^Provider\/Linkgate: httpMode\.sharedHostname "api\.example\.com" differs from privateDnsName "other\.example\.com"/);
    });
  });
});
