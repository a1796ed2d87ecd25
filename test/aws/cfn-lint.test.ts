/**
 * cfn-lint over the CloudFormation templates the project synthesizes: the example app (the app of
 * cdk.json, as `npx cdk synth` writes it) and the AWS constructs in the shapes users deploy them.
 * One cfn-lint process lints them all (it takes seconds to start). Errors must be none; a warning
 * is either fixed or listed with its reason in cfn-lint-ignore.json.
 *
 * A deliberately broken template rides along in the same run, so a harness that stopped reading
 * cfn-lint's findings would fail here rather than pass with nothing to report.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as sns from 'aws-cdk-lib/aws-sns';
import { buildExampleApp } from '../../examples/aws/build';
import { LinkgateConsumerEndpoint, LinkgateProvider } from '../../lib/aws';
import { describeWithPeer, runPeer } from '../helpers/peers';
import { CONSUMER_ENV, TENANTS, UPSTREAMS, cdkContext, newStack, newVpc, testImage } from './support';

interface Finding {
  Filename: string;
  Level: 'Error' | 'Warning' | 'Informational';
  Message: string;
  Location: { Path: (string | number)[]; Start: { LineNumber: number } };
  Rule: { Id: string };
}
interface IgnoreEntry {
  rule: string;
  /** Regular expression on the logical ID of the resource the finding is in. */
  resources: string;
  reason: string;
}

const IGNORE_FILE = join(__dirname, 'cfn-lint-ignore.json');
const ignoreList = (JSON.parse(readFileSync(IGNORE_FILE, 'utf8')) as { ignore: IgnoreEntry[] }).ignore;
const CANARY = 'canary-broken.template.json';
const SERVICE_NAME = 'com.amazonaws.vpce.eu-west-1.vpce-svc-0123456789abcdef0';

const logicalIdOf = (f: Finding) => (f.Location.Path[0] === 'Resources' ? String(f.Location.Path[1]) : '');
const ignoredBy = (f: Finding) =>
  ignoreList.find((e) => f.Level !== 'Error' && e.rule === f.Rule.Id && new RegExp(e.resources).test(logicalIdOf(f)));
const describeFinding = (f: Finding) =>
  `${f.Filename}:${f.Location.Start.LineNumber} ${f.Level} ${f.Rule.Id} at ${f.Location.Path.join('/')}: ${f.Message}`;

/** Writes the template of each stack to `dir` as <name>.template.json (what cdk synth writes). */
function writeTemplates(dir: string, named: Record<string, Stack>): string[] {
  return Object.entries(named).map(([name, stack]) => {
    const assembly = (stack.node.root as App).synth();
    const file = `${name}.template.json`;
    copyFileSync(assembly.getStackArtifact(stack.artifactId).templateFullPath, join(dir, file));
    return file;
  });
}

function providerStack(props: { publicPath: boolean; privateDns: boolean }): Stack {
  const stack = newStack();
  const vpc = newVpc(stack);
  const zone = route53.PublicHostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId: 'Z0123456789EXAMPLEZONE', zoneName: 'example.com' });
  new LinkgateProvider(stack, 'Linkgate', {
    vpc,
    tenants: TENANTS,
    upstreams: UPSTREAMS,
    image: testImage(),
    publicPath: props.publicPath,
    ...(props.privateDns ? { privateDnsName: 'api.example.com', publicHostedZone: zone } : {}),
  });
  return stack;
}

/** Every production option at once: dual-stack, a second port, the config in S3, alarms to a topic. */
function productionStack(): Stack {
  const stack = newStack();
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
    natGateways: 1,
    ipProtocol: ec2.IpProtocol.DUAL_STACK,
    subnetConfiguration: [
      { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
      { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
    ],
  });
  new LinkgateProvider(stack, 'Linkgate', {
    vpc,
    tenants: TENANTS,
    upstreams: { ...UPSTREAMS, db: { host: 'db.internal.example.com', port: 5432 } },
    image: testImage(),
    publicPath: true,
    ipAddressType: 'dualstack',
    configDelivery: 'objectStore',
    additionalPrivateLinkPorts: [{ name: 'postgres', port: 5432, upstream: 'db' }],
    observability: { alarmTopic: new sns.Topic(stack, 'Pager') },
  });
  return stack;
}

function consumerStack(): Stack {
  const stack = newStack('Consumer', CONSUMER_ENV);
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    natGateways: 0,
    subnetConfiguration: [{ name: 'workloads', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
  });
  new LinkgateConsumerEndpoint(stack, 'Linkgate', { vpc, serviceName: SERVICE_NAME, hostnames: ['megacorp.api.example.com', '*.megacorp.example.com'] });
  return stack;
}

describeWithPeer('cfn-lint', 'cfn-lint over every synthesized CloudFormation template', () => {
  let dir: string;
  let templates: string[];
  let findings: Finding[];
  let lintSeconds: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'linkgate-cfn-lint-'));
    const example = buildExampleApp(new App({ context: cdkContext(), analyticsReporting: false }));
    templates = writeTemplates(dir, {
      'example-provider': example.provider,
      'example-consumer': example.consumer,
      'provider-private-only': providerStack({ publicPath: false, privateDns: false }),
      'provider-private-dns': providerStack({ publicPath: false, privateDns: true }),
      'provider-public-path-private-dns': providerStack({ publicPath: true, privateDns: true }),
      consumer: consumerStack(),
      'provider-production': productionStack(),
    });
    // A property name cfn-lint must reject (E3002): proves that its errors reach this test.
    writeFileSync(join(dir, CANARY), JSON.stringify({ Resources: { Broken: { Type: 'AWS::EC2::VPC', Properties: { CidrBlok: '10.0.0.0/16' } } } }));

    const started = Date.now();
    const result = await runPeer('sh', ['-c', `cd "$1" && shift && exec cfn-lint --format json -- "$@"`, 'cfn-lint', dir, ...templates, CANARY], {
      timeoutMs: 300_000,
    });
    lintSeconds = (Date.now() - started) / 1000;
    // Exit status is a bit mask of the levels found (2 error, 4 warning, 8 informational); 1 is a crash.
    if (result.status === null || (result.status & 1) !== 0) {
      throw new Error(`cfn-lint failed (status ${String(result.status)}): ${result.stderr.slice(-3000)}`);
    }
    findings = JSON.parse(result.stdout) as Finding[];
  }, 600_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('GIVEN a template with a misspelt property WHEN linted in the same run THEN cfn-lint reports the error (the check can fail)', () => {
    const canary = findings.filter((f) => f.Filename === CANARY && f.Level === 'Error').map((f) => f.Rule.Id);
    expect(canary).toContain('E3002');
  });

  test('GIVEN the example app and the provider and consumer constructs WHEN linted THEN there is no error', () => {
    const errors = findings.filter((f) => f.Filename !== CANARY && f.Level === 'Error');
    // One plain line, as the resilience figures are, rather than a Jest console block.
    process.stdout.write(`cfn-lint: ${templates.length} templates in ${lintSeconds.toFixed(1)} s, ${findings.length} findings (canary included)\n`);
    expect(errors.map(describeFinding)).toEqual([]);
  });

  test('WHEN linted THEN every warning is on the ignore list (cfn-lint-ignore.json), with its reason', () => {
    const open = findings.filter((f) => f.Filename !== CANARY && f.Level !== 'Error' && !ignoredBy(f));
    expect(open.map(describeFinding)).toEqual([]);
  });

  test('THEN every ignore entry is a warning rule, says why, and still matches a finding', () => {
    const linted = findings.filter((f) => f.Filename !== CANARY);
    for (const entry of ignoreList) {
      expect(entry.rule).toMatch(/^[WI]\d{4}$/);
      expect(entry.reason.length).toBeGreaterThan(40);
    }
    const unused = ignoreList.filter((entry) => !linted.some((f) => ignoredBy(f) === entry)).map((e) => e.rule);
    expect(unused).toEqual([]);
  });
});
