/**
 * Shared fixtures for the AWS construct tests: apps with the same context as cdk.json (feature
 * flags, the example accounts' zones), VPCs with fixed zones, tenants, and a template normalizer
 * for snapshots (asset hashes replaced, the inline gateway config shown decoded).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack, type CfnElement } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type { IConstruct } from 'constructs';
import { FilteringGateway, PrivateLinkLoadBalancer, type FilteringGatewayProps, type PrivateLinkLoadBalancerProps } from '../../lib/aws';
import { parseConfigText, type TenantDeclarations } from '../../lib/tenants';

// Synthesizing aws-cdk-lib stacks takes seconds on a cold start; jest.config.js sets testTimeout
// inside `projects`, where Jest ignores it, so every AWS test file gets its timeout from here.
jest.setTimeout(60_000);

export const REPO_ROOT = join(__dirname, '..', '..');
export const PROVIDER_ENV = { account: '111122223333', region: 'eu-west-1' };
export const CONSUMER_ENV = { account: '222233334444', region: 'eu-west-1' };
export const ZONES = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'];

/**
 * The context `cdk synth` runs with: cdk.json (feature flags) and cdk.context.json (the example
 * accounts' Availability Zones, so that no lookup needs credentials).
 */
export function cdkContext(): Record<string, unknown> {
  const read = (file: string) => JSON.parse(readFileSync(join(REPO_ROOT, file), 'utf8')) as Record<string, unknown>;
  return { ...(read('cdk.json').context as Record<string, unknown>), ...read('cdk.context.json') };
}

/**
 * Synth warnings are asserted, not printed. These apps stand where the cdk CLI stands in
 * `cdk validate` (failSynthOnValidationErrors off): synth writes its validation report (annotations
 * and CloudFormation checks) instead of printing it to the console or throwing. After each test,
 * every warning in the report of every app it synthesized must have been expected with
 * expectWarning, and no error may be there: either fails the test, naming the finding.
 */
const apps = new Map<App, { path: string; message: RegExp }[]>();

export function newApp(): App {
  const app = new App({ context: { ...cdkContext(), '@aws-cdk/core:failSynthOnValidationErrors': false }, analyticsReporting: false });
  apps.set(app, []);
  return app;
}

/** Asserts the warning on `path` (as Annotations.hasWarning does) and lets it be in the report. */
export function expectWarning(stack: Stack, path: string, pattern: string): void {
  Annotations.fromStack(stack).hasWarning(path, Match.stringLikeRegexp(pattern));
  apps.get(stack.node.root as App)?.push({ path: path.replace(/^\//, ''), message: new RegExp(pattern) });
}

interface ValidationReport {
  pluginReports: {
    pluginName: string;
    violations: { description: string; severity: string; violatingConstructs: { constructPath: string }[] }[];
  }[];
}

afterEach(() => {
  const unexpected: string[] = [];
  for (const [app, expected] of apps) {
    const file = join(app.outdir, 'validation-report.json');
    if (!existsSync(file)) continue; // never synthesized: nothing would have been printed
    const report = JSON.parse(readFileSync(file, 'utf8')) as ValidationReport;
    for (const plugin of report.pluginReports) {
      for (const v of plugin.violations) {
        for (const { constructPath } of v.violatingConstructs) {
          const isExpected = v.severity === 'warning' && expected.some((e) => e.path === constructPath && e.message.test(v.description));
          if (!isExpected) unexpected.push(`${v.severity.toUpperCase()} ${v.description} (${plugin.pluginName}) at ${constructPath}`);
        }
      }
    }
  }
  apps.clear();
  if (unexpected.length > 0) {
    throw new Error(`synth reported what the test did not expect (fix the cause, or assert it with expectWarning):\n${unexpected.join('\n')}`);
  }
});

export function newStack(id = 'Provider', env = PROVIDER_ENV): Stack {
  return new Stack(newApp(), id, { env });
}

/** A VPC with public and private (egress) subnets in `zones`. */
export function newVpc(stack: Stack, zones: readonly string[] = ZONES, id = 'Vpc'): ec2.Vpc {
  return new ec2.Vpc(stack, id, {
    availabilityZones: [...zones],
    natGateways: 1,
    subnetConfiguration: [
      { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
      { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
    ],
  });
}

/**
 * An existing VPC imported by ID in eu-west-1a/b, with one private subnet per given ID and its route
 * table `rtb-…` of the same suffix (without route tables CDK warns).
 */
export function importedVpc(stack: Stack, id: string, privateSubnetIds: readonly [string, string]): ec2.IVpc {
  return ec2.Vpc.fromVpcAttributes(stack, id, {
    vpcId: 'vpc-0123456789abcdef0',
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    privateSubnetIds: [...privateSubnetIds],
    privateSubnetRouteTableIds: privateSubnetIds.map((subnet) => subnet.replace(/^subnet-/, 'rtb-')),
  });
}

/** Most tests use a registry image: no asset to stage. The image tests use the default asset. */
export const testImage = (): ecs.ContainerImage => ecs.ContainerImage.fromRegistry('public.ecr.aws/example/linkgate:test');

export const UPSTREAMS = { default: { host: 'app.internal.example.com', port: 443 } } as const;

export const TENANTS: TenantDeclarations = [
  {
    name: 'megacorp',
    hostnames: ['megacorp.api.example.com', '*.megacorp.example.com'],
    allow: { aws: ['vpce-08d2bf15fac5001c9'] },
    consumers: { aws: { principals: ['arn:aws:iam::222233334444:root'] } },
  },
  {
    name: 'initech',
    hostnames: ['initech.api.example.com'],
    allow: { aws: ['vpce-0a1b2c3d4e5f60718'], cidrs: ['198.51.100.0/24'] },
    consumers: { aws: { principals: ['arn:aws:iam::555566667777:root', 'arn:aws:iam::222233334444:root'] } },
  },
];

export interface GatewayFixture {
  /** Builds the VPC. @default newVpc(stack) */
  readonly vpc?: (stack: Stack) => ec2.IVpc;
  /** Overrides of the load balancer's props. */
  readonly lb?: Partial<PrivateLinkLoadBalancerProps>;
}

/**
 * A FilteringGateway `Gateway` behind a PrivateLinkLoadBalancer `LoadBalancer` in a new provider
 * stack, every required prop filled in (TENANTS, UPSTREAMS, the test image); `props` go on top.
 */
export function filteringGateway(props: Partial<FilteringGatewayProps> = {}, fixture: GatewayFixture = {}) {
  const stack = newStack();
  const vpc = fixture.vpc ? fixture.vpc(stack) : newVpc(stack);
  const lb = new PrivateLinkLoadBalancer(stack, 'LoadBalancer', { vpc, ...fixture.lb });
  const gateway = new FilteringGateway(stack, 'Gateway', { vpc, loadBalancer: lb, tenants: TENANTS, upstreams: UPSTREAMS, image: testImage(), ...props });
  return { stack, vpc, lb, gateway, template: () => Template.fromStack(stack) };
}

/** `count` tenants shaped like real ones: 17-hex-digit endpoint IDs, two hostnames, a principal. */
export function realisticTenants(count: number, seed = 1): TenantDeclarations {
  let state = seed >>> 0;
  const hex = (digits: number) => {
    let out = '';
    for (let i = 0; i < digits; i++) {
      // xorshift32: deterministic, so sizes measured in tests are stable.
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      out += ((state >>> 0) % 16).toString(16);
    }
    return out;
  };
  return Array.from({ length: count }, (_, i) => {
    const name = `customer-${String(i).padStart(4, '0')}`;
    return {
      name,
      hostnames: [`${name}.api.example.com`, `*.${name}.example.com`],
      allow: { aws: [`vpce-${hex(17)}`] },
      consumers: { aws: { principals: [`arn:aws:iam::${String(100_000_000_000 + i * 7919)}:root`] } },
    };
  });
}

/** The gateway config a template's task definition passes in $LINKGATE_CONFIG, decoded and validated. */
export function gatewayConfigFrom(template: Template) {
  const defs = template.findResources('AWS::ECS::TaskDefinition');
  const [def] = Object.values(defs) as { Properties: { ContainerDefinitions: { Environment: { Name: string; Value: unknown }[] }[] } }[];
  const value = def!.Properties.ContainerDefinitions[0]!.Environment.find((e) => e.Name === 'LINKGATE_CONFIG')!.Value;
  if (typeof value !== 'string') throw new Error(`LINKGATE_CONFIG is not a literal: ${JSON.stringify(value)}`);
  const loaded = parseConfigText(value);
  if (!loaded.ok) throw new Error(`LINKGATE_CONFIG does not load: ${JSON.stringify(loaded.issues)}`);
  return loaded.value;
}

/**
 * A template for a snapshot: asset hashes (which change with every edit of the gateway sources)
 * become [HASH], and the compressed gateway config is shown decoded, so the snapshot records
 * what the tasks run with rather than gzip bytes (whose exact form depends on the zlib build).
 */
export function snapshotTemplate(stack: Stack): unknown {
  const json = Template.fromStack(stack).toJSON();
  return JSON.parse(JSON.stringify(json), (_key, value: unknown) => {
    if (typeof value !== 'string') return value;
    if (value.startsWith('gzip+base64:')) {
      const loaded = parseConfigText(value);
      return loaded.ok ? { decodedGatewayConfig: loaded.value } : value;
    }
    return value.replace(/[0-9a-f]{64}/g, '[HASH]');
  });
}

/** Every ingress rule (inline or separate resource) whose target group is `groupLogicalId`. */
export function ingressRulesOf(template: Template, groupLogicalId: string): Record<string, unknown>[] {
  const rules: Record<string, unknown>[] = [];
  const groups = template.findResources('AWS::EC2::SecurityGroup') as Record<string, { Properties: { SecurityGroupIngress?: Record<string, unknown>[] } }>;
  rules.push(...(groups[groupLogicalId]?.Properties.SecurityGroupIngress ?? []));
  const separate = template.findResources('AWS::EC2::SecurityGroupIngress') as Record<string, { Properties: Record<string, unknown> }>;
  for (const rule of Object.values(separate)) {
    if (JSON.stringify(rule.Properties.GroupId) === JSON.stringify({ 'Fn::GetAtt': [groupLogicalId, 'GroupId'] })) {
      rules.push(rule.Properties);
    }
  }
  return rules;
}

/** Logical ID of a construct's CloudFormation resource (its default child). */
export function logicalIdOf(construct: IConstruct): string {
  return Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);
}

/**
 * The SDK call of a Custom::AWS resource (its `Create`, `Update` or `Delete` property), parsed.
 * Calls that mention other resources are Fn::Join strings; each reference becomes `<Ref Id>` or
 * `<GetAtt Id.Attr>` so the call can be compared as plain JSON.
 */
export function sdkCallOf(resource: unknown, phase: 'Create' | 'Update' | 'Delete' = 'Create'): Record<string, unknown> | undefined {
  const value = (resource as { Properties: Record<string, unknown> }).Properties[phase];
  if (value === undefined) return undefined;
  if (typeof value === 'string') return JSON.parse(value) as Record<string, unknown>;
  const [sep, parts] = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  const text = parts
    .map((p) => {
      if (typeof p === 'string') return p;
      const ref = (p as { Ref?: string }).Ref;
      if (ref) return `<Ref ${ref}>`;
      const att = (p as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
      if (att) return `<GetAtt ${att[0]}.${att[1]}>`;
      throw new Error(`unexpected part in an SDK call: ${JSON.stringify(p)}`);
    })
    .join(sep);
  return JSON.parse(text) as Record<string, unknown>;
}

/** Every Custom::AWS resource with its parsed create call, keyed by logical ID. */
export function sdkCalls(template: Template): { id: string; create: Record<string, unknown>; resource: { DependsOn?: string[] } & Record<string, unknown> }[] {
  return Object.entries(template.findResources('Custom::AWS')).map(([id, resource]) => ({
    id,
    create: sdkCallOf(resource)!,
    resource: resource as { DependsOn?: string[] } & Record<string, unknown>,
  }));
}
