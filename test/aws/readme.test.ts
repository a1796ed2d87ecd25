/**
 * The README's AWS examples are meant to be copied: run them as written (TypeScript transpiled,
 * `linkgate/aws` resolved to this checkout) and check what they synthesize.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ts from 'typescript';
import * as linkgateAws from '../../lib/aws';
import { REPO_ROOT } from './support';

const requireFromHere = createRequire(__filename);

function awsSnippets(): string[] {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('<!-- aws:start -->'), readme.indexOf('<!-- aws:end -->'));
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** Runs a snippet and returns its `app`. */
function run(snippet: string): App {
  const js = ts.transpileModule(`${snippet}\nexports.app = app;\n`, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  }).outputText;
  const exports: { app?: App } = {};
  const load = (name: string): unknown => (name === 'linkgate/aws' ? linkgateAws : requireFromHere(name));
  new Function('require', 'exports', js)(load, exports);
  return exports.app!;
}

describe('README (AWS section)', () => {
  test('GIVEN the provider example WHEN it runs THEN it synthesizes the endpoint service, the gateway and private DNS', () => {
    const [provider] = awsSnippets();
    const app = run(provider!);
    const stack = app.node.findChild('SaasPrivateLink') as import('aws-cdk-lib').Stack;
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::EC2::VPCEndpointService', 1);
    template.hasResourceProperties('AWS::EC2::VPCEndpointServicePermissions', { AllowedPrincipals: ['arn:aws:iam::222233334444:root'] });
    template.resourceCountIs('AWS::ECS::Service', 1);
    template.hasResourceProperties('AWS::Route53::RecordSet', { Type: 'TXT' });
  });

  test('GIVEN the consumer example WHEN it runs THEN it synthesizes the endpoint and the private zones', () => {
    const [, consumer] = awsSnippets();
    const app = run(consumer!);
    const template = Template.fromStack(app.node.findChild('SaasEndpoint') as import('aws-cdk-lib').Stack);
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Interface',
      ServiceName: 'com.amazonaws.vpce.eu-west-1.vpce-svc-0123456789abcdef0',
    });
    template.resourceCountIs('AWS::Route53::HostedZone', 2);
  });
});
