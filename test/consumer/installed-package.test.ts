/**
 * linkgate as an npm user gets it: packed from a fresh copy of the repository, installed from the
 * tarball into a new AWS CDK app (the tsconfig `cdk init app --language typescript` writes) and a
 * new CDKTF app (the one `cdktf init --template typescript` writes), where every README block
 * marked `<!-- example: NAME -->` is written verbatim and synthesized with the real CLI, with no
 * credentials and no network. Then the Dockerfile's steps run, without Docker, on the image asset
 * `cdk synth` staged from the installed package, and the result serves a connection.
 *
 * Set LINKGATE_CONSUMER_REPORT=FILE to get the figures (tarball, timings, steps) as JSON.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProc, type Proc } from '../../bench/harness';
import { startDemoUpstream, type DemoUpstream } from '../../examples/demo/upstream';
import { closedPort, httpsThrough } from '../helpers/sockets';
import { buildWithoutDocker, type BuiltImage } from './dockerfile';
import { REPO_MODULES, REPO_ROOT, installApp, limiter, packFreshCopy, readme, readmeExamples, run, runAsync, type Packed, type ReadmeExample, type RunResult } from './support';

jest.setTimeout(300_000);

const work = mkdtempSync(join(tmpdir(), 'linkgate-consumer-'));
// The image steps end with the gateway running as `nobody`, which must reach its files: outside
// the test run's private temp folder.
const imageWork = mkdtempSync('/tmp/linkgate-image-');
chmodSync(imageWork, 0o755);
const report: Record<string, unknown> = {};
const started = Date.now();

/** What `cdk init app --language typescript` (aws-cdk 2.1148) writes as tsconfig.json. */
const CDK_INIT_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['es2022'],
    declaration: true,
    strict: true,
    noImplicitAny: true,
    strictNullChecks: true,
    noImplicitThis: true,
    alwaysStrict: true,
    noUnusedLocals: false,
    noUnusedParameters: false,
    noImplicitReturns: true,
    noFallthroughCasesInSwitch: false,
    inlineSourceMap: true,
    inlineSources: true,
    experimentalDecorators: true,
    strictPropertyInitialization: false,
    skipLibCheck: true,
    typeRoots: ['./node_modules/@types'],
    noEmit: true,
    isolatedModules: true,
    types: ['jest', 'node'],
  },
  exclude: ['node_modules', 'cdk.out'],
};

/** What `cdktf init --template typescript` (cdktf-cli 0.21) writes: CommonJS, node10 resolution. */
const CDKTF_INIT_TSCONFIG = {
  compilerOptions: {
    alwaysStrict: true,
    declaration: true,
    experimentalDecorators: true,
    inlineSourceMap: true,
    inlineSources: true,
    lib: ['es2018'],
    module: 'CommonJS',
    noEmitOnError: true,
    noFallthroughCasesInSwitch: true,
    noImplicitAny: true,
    noImplicitReturns: true,
    noImplicitThis: true,
    noUnusedLocals: true,
    noUnusedParameters: true,
    resolveJsonModule: true,
    strict: true,
    strictNullChecks: true,
    strictPropertyInitialization: true,
    stripInternal: true,
    target: 'ES2018',
    incremental: true,
    skipLibCheck: true,
  },
  include: ['**/*.ts'],
  exclude: ['node_modules', 'cdktf.out'],
};

/** No credentials, no network: anything that tried AWS or the registry would fail. */
const offlineEnv = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: mkdtempSync(join(work, 'home-')),
  CDK_DISABLE_VERSION_CHECK: '1',
  CHECKPOINT_DISABLE: '1',
  CI: 'true',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  HTTPS_PROXY: 'http://127.0.0.1:9',
  HTTP_PROXY: 'http://127.0.0.1:9',
  npm_config_offline: 'true',
});

const node = process.execPath;
const TSC = join(REPO_MODULES, 'typescript', 'bin', 'tsc');
const TSX = join(REPO_MODULES, 'tsx', 'dist', 'cli.mjs');
const CDK = join(REPO_MODULES, 'aws-cdk', 'bin', 'cdk');
const CDKTF = join(REPO_MODULES, 'cdktf-cli', 'bundle', 'bin', 'cdktf');

const examples = readmeExamples(readme());
const byPrefix = (prefix: string): ReadmeExample[] => examples.filter((e) => e.name.startsWith(prefix) && e.lang === 'ts');
const time = (name: string, ms: number) => (report[`${name}Ms`] = ms);

let packed: Packed;
const awsApp = join(work, 'aws-app');
const cdktfApp = join(work, 'cdktf-app');
/** The slow steps (tsc, synth), started together once both apps are installed; tests await theirs. */
const jobs = new Map<string, Promise<RunResult>>();
const job = (name: string): Promise<RunResult> => jobs.get(name)!;
const AWS_EXAMPLES = ['aws-provider', 'aws-consumer', 'aws-production', 'aws-http-mode'];
const CDKTF_EXAMPLES = ['azure-provider', 'azure-consumer', 'gcp-provider', 'gcp-consumer', 'gcp-shared-vpc', 'gcp-http-mode', 'azure-http-mode'];

beforeAll(() => {
  packed = packFreshCopy(work);
  time('pack', packed.ms);
  report.tarball = { file: packed.filename, bytes: packed.size, unpackedBytes: packed.unpackedSize, files: packed.files.length };
  time('awsInstall', installAwsApp().ms);
  time('cdktfInstall', installCdktfApp().ms);

  const slot = limiter();
  const timed = (name: string, start: () => Promise<RunResult>) => {
    const promise = start().then((r) => (time(name, r.ms), r));
    promise.catch(() => undefined); // failures are reported by the test that awaits it
    jobs.set(name, promise);
    return promise;
  };
  timed('awsTsc', () => slot(() => runAsync(node, [TSC, '-p', 'tsconfig.json'], { cwd: awsApp })));
  for (const name of AWS_EXAMPLES) {
    const out = join(awsApp, 'cdk.out', name);
    timed(`synth:${name}`, () =>
      slot(() => runAsync(node, [CDK, 'synth', '--app', `${node} ${TSX} bin/${name}.ts`, '--output', out, '--quiet', '--no-notices'], { cwd: awsApp, env: offlineEnv() })),
    );
  }
  // cdktf synth runs the JavaScript tsc emits.
  const cdktfTsc = timed('cdktfTsc', () => slot(() => runAsync(node, [TSC, '-p', 'tsconfig.json'], { cwd: cdktfApp })));
  for (const name of CDKTF_EXAMPLES) {
    const out = join(cdktfApp, 'cdktf.out', name);
    mkdirSync(out, { recursive: true });
    timed(`synth:${name}`, () => cdktfTsc.then(() => slot(() => runAsync(node, [CDKTF, 'synth', '--app', `${node} ${name}.js`, '--output', out], { cwd: cdktfApp, env: offlineEnv() }))));
  }
}, 600_000);

afterAll(async () => {
  await Promise.allSettled(jobs.values());
  rmSync(imageWork, { recursive: true, force: true });
  report.totalMs = Date.now() - started;
  if (process.env.LINKGATE_CONSUMER_REPORT) writeFileSync(process.env.LINKGATE_CONSUMER_REPORT, `${JSON.stringify(report, null, 2)}\n`);
  if (!process.env.LINKGATE_KEEP_CONSUMER) rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  test('GIVEN a fresh clone (no dist/) WHEN packed THEN prepack built dist/, and every entry point package.json names is in the tarball', () => {
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      main: string;
      types: string;
      bin: Record<string, string>;
      exports: Record<string, string | Record<string, string>>;
      typesVersions: Record<string, Record<string, string[]>>;
    };
    const targets = [
      manifest.main,
      manifest.types,
      ...Object.values(manifest.bin),
      ...Object.values(manifest.exports).flatMap((e) => (typeof e === 'string' ? [e] : Object.values(e))),
      ...Object.values(manifest.typesVersions['*']!).flat(),
    ].map((p) => p.replace(/^\.\//, ''));
    for (const target of targets) expect({ target, packed: packed.files.includes(target) }).toEqual({ target, packed: true });
  });

  test('THEN it holds what the image build needs (npm never packs package-lock.json) and nothing of the tests or examples', () => {
    expect(packed.files).toEqual(
      expect.arrayContaining(['Dockerfile', '.dockerignore', 'image.lock.json', 'tsconfig.json', 'tsconfig.image.json', 'lib/gateway/cli.ts', 'lib/index.ts']),
    );
    expect(packed.files.filter((f) => /^(test|examples|bench|scripts|dist\/(test|examples|bench))\/|^package-lock\.json$/.test(f))).toEqual([]);
  });
});

describe('the README examples', () => {
  test('GIVEN the README THEN every TypeScript block is a marked example, and the examples of each cloud are there', () => {
    const tsBlocks = [...readme().matchAll(/```ts\n/g)].length;
    expect(examples.filter((e) => e.lang === 'ts').length).toBe(tsBlocks);
    expect(examples.map((e) => e.name)).toEqual(
      expect.arrayContaining(['aws-provider', 'aws-consumer', 'aws-context', 'azure-provider', 'azure-consumer', 'gcp-provider', 'gcp-consumer', 'upstream-service']),
    );
  });
});

describe('an AWS CDK app (cdk init tsconfig: NodeNext) with the tarball installed', () => {
  const app = awsApp;
  let providerAsset: string;

  test('GIVEN the cdk init tsconfig WHEN tsc checks the examples (and the linkgate/upstream service) THEN they compile', async () => {
    await job('awsTsc');
  });

  test.each(AWS_EXAMPLES)('GIVEN the README block %s WHEN cdk synth runs offline THEN it synthesizes, outputs under fixed names', async (name) => {
    const out = join(app, 'cdk.out', name);
    await job(`synth:${name}`);
    const templates = readdirSync(out).filter((f) => f.endsWith('.template.json'));
    const template = JSON.parse(readFileSync(join(out, templates[0]!), 'utf8')) as {
      Resources: Record<string, { Type: string }>;
      Outputs: Record<string, unknown>;
    };
    const types = Object.values(template.Resources).map((r) => r.Type);
    if (name === 'aws-provider') {
      expect(templates).toEqual(['SaasPrivateLink.template.json']);
      expect(types).toEqual(expect.arrayContaining(['AWS::EC2::VPCEndpointService', 'AWS::ECS::Service', 'AWS::Route53::RecordSet']));
      expect(Object.keys(template.Outputs).sort()).toEqual(['AvailabilityZoneIds', 'PrivateDnsName', 'PrivateDnsVerificationState', 'ServiceName']);
      const assets = JSON.parse(readFileSync(join(out, 'SaasPrivateLink.assets.json'), 'utf8')) as {
        dockerImages: Record<string, { source: { directory: string } }>;
      };
      providerAsset = join(out, Object.values(assets.dockerImages)[0]!.source.directory);
    } else if (name === 'aws-production') {
      expect(templates).toEqual(['SaasPrivateLinkProd.template.json']);
      expect(types).toEqual(expect.arrayContaining(['AWS::EC2::VPCEndpointService', 'AWS::CloudWatch::Alarm', 'AWS::CloudWatch::Dashboard', 'AWS::CloudWatch::InsightRule']));
    } else if (name === 'aws-http-mode') {
      expect(templates).toEqual(['SaasHttp.template.json']);
      expect(JSON.stringify(template.Resources)).toContain('LINKGATE_HTTP_CERT_0');
      expect(Object.keys(template.Outputs).sort()).toEqual(['AvailabilityZoneIds', 'PrivateDnsName', 'PrivateDnsVerificationState', 'ServiceName']);
    } else {
      expect(templates).toEqual(['SaasEndpoint.template.json']);
      expect(types.filter((t) => t === 'AWS::EC2::VPCEndpoint' || t === 'AWS::Route53::HostedZone').sort()).toEqual([
        'AWS::EC2::VPCEndpoint',
        'AWS::Route53::HostedZone',
        'AWS::Route53::HostedZone',
      ]);
      expect(Object.keys(template.Outputs)).toEqual(['EndpointId', 'DoctorCommand']);
    }
  });

  describe('and the gateway image built from the asset cdk synth staged, without Docker', () => {
    let image: BuiltImage;
    let upstream: DemoUpstream | undefined;
    const procs: Proc[] = [];
    afterAll(async () => {
      for (const p of procs) await p.stop();
      await upstream?.close();
    });

    test('GIVEN the staged asset folder WHEN the Dockerfile steps run (npm ci offline from the cache) THEN the image holds the compiled gateway and runtime dependencies only', () => {
      expect(providerAsset).toBeDefined();
      const t0 = Date.now();
      image = buildWithoutDocker(providerAsset, imageWork, { runEnv: { npm_config_offline: 'true' } });
      time('imageSteps', Date.now() - t0);
      report.imageSteps = image.steps.map((s) => `${s.step} (${s.ms} ms)`);
      const appDir = image.path(image.stage.workdir);
      expect(existsSync(join(appDir, 'dist/lib/gateway/cli.js'))).toBe(true);
      // The compiler and Node.js types were pruned after the build.
      const packages = (dir: string): string[] =>
        readdirSync(dir)
          .filter((n) => !n.startsWith('.'))
          .flatMap((n) => (n.startsWith('@') ? readdirSync(join(dir, n)).map((m) => `${n}/${m}`) : [n]))
          .sort();
      // Exactly the runtime entries image.lock.json locks at the top level, none of its build tools.
      const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'image.lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
      const runtime = Object.entries(lock.packages)
        .filter(([path, entry]) => /^node_modules\/(@[^/]+\/)?[^/@]+$/.test(path) && !entry.dev)
        .map(([path]) => path.slice('node_modules/'.length))
        .sort();
      expect(runtime).toEqual(expect.arrayContaining(['prom-client', 'undici', 'yaml', 'zod', '@aws-sdk/client-s3', '@aws-sdk/client-ec2']));
      expect(runtime).not.toContain('typescript');
      expect(packages(join(appDir, 'node_modules'))).toEqual(runtime);
      expect(image.entrypoint).toEqual(['node', 'dist/lib/gateway/cli.js']);
    });

    test('WHEN started with its ENTRYPOINT as an unprivileged user and a real config THEN the HEALTHCHECK passes and a connection goes through to the upstream', async () => {
      upstream = await startDemoUpstream();
      const [privateLinkPort, healthPort, edgePort] = [await closedPort(), await closedPort(), await closedPort()];
      // Where `docker run -v gateway.json:/etc/linkgate/config.yaml` would put it.
      const configFile = image.path(image.stage.env.LINKGATE_CONFIG_FILE!);
      mkdirSync(join(configFile, '..'), { recursive: true });
      writeFileSync(
        configFile,
        JSON.stringify({
          listeners: { privateLink: { port: privateLinkPort, host: '127.0.0.1' }, health: { port: healthPort, host: '127.0.0.1' } },
          upstreams: { default: { host: '127.0.0.1', port: upstream.port } },
          tenants: [{ name: 'megacorp', hostnames: ['megacorp.api.example.com'], allow: { aws: ['vpce-08d2bf15fac5001c9'] } }],
        }),
      );
      chmodSync(configFile, 0o644);
      const env = { ...image.stage.env, LINKGATE_CONFIG_FILE: configFile, LINKGATE_HEALTH_PORT: String(healthPort), LINKGATE_WORKERS: '1' };
      const cwd = image.path(image.stage.workdir);
      // The image's USER is `node`; this machine has no such user, `nobody` stands in (unprivileged either way).
      const asUser = (argv: string[]): [string, string[]] =>
        process.getuid?.() === 0 ? ['setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '--', ...argv]] : [argv[0]!, argv.slice(1)];
      const withNode = (argv: string[]) => (argv[0] === 'node' ? [node, ...argv.slice(1)] : argv);

      const [cmd, args] = asUser(withNode([...image.entrypoint, ...image.cmd]));
      const gateway = startProc(cmd, args, { env: { ...env }, cwd });
      procs.push(gateway);
      await gateway.waitForLine((l) => l.msg === 'listening', 60_000);
      const uid = run('ps', ['-o', 'user=', '-p', String(gateway.child.pid)]).stdout.trim();
      report.gatewayUser = uid;

      const [hcCmd, hcArgs] = asUser(withNode(image.healthcheck));
      const health = run(hcCmd, hcArgs, { cwd, env: { PATH: process.env.PATH, ...env }, timeoutMs: 30_000 });
      report.healthcheck = { command: image.healthcheck.join(' '), exit: 0, ms: health.ms };

      const edge = startProc(node, [join(cwd, 'dist/lib/gateway/cli.js'), 'simulate', '--cloud', 'aws', '--link-id', 'vpce-08d2bf15fac5001c9', '--listen', `127.0.0.1:${edgePort}`, '--to', `127.0.0.1:${privateLinkPort}`]);
      procs.push(edge);
      await edge.waitForLine((l) => l.msg === 'simulating', 30_000);
      const outcome = await httpsThrough(edgePort, 'megacorp.api.example.com');
      expect(outcome).toMatchObject({ ok: true });
      expect(JSON.parse(outcome.body!)).toMatchObject({ upstream: 'demo', servername: 'megacorp.api.example.com' });
      const decision = await gateway.waitForLine((l) => l.msg === 'forward', 10_000);
      expect(decision).toMatchObject({ verdict: 'forward', tenant: 'megacorp', cloud: 'aws', linkId: 'vpce-08d2bf15fac5001c9' });
      expect(uid).toBe(process.getuid?.() === 0 ? 'nobody' : expect.any(String));
    });
  });
});

describe('a CDKTF app (cdktf init tsconfig: CommonJS, node10 resolution) with the tarball installed', () => {

  test('GIVEN the cdktf init tsconfig WHEN tsc compiles the examples THEN linkgate/azure and linkgate/gcp resolve and they compile', async () => {
    await job('cdktfTsc');
  });

  const expected: Record<string, { stack: string; resource: string; outputs: string[] }> = {
    'gcp-shared-vpc': { stack: 'linkgate-gcp-shared-vpc', resource: 'google_compute_service_attachment', outputs: ['service_attachment'] },
    'azure-provider': { stack: 'saas-private-link', resource: 'azurerm_private_link_service', outputs: ['service_alias', 'service_id'] },
    'azure-consumer': { stack: 'megacorp-linkgate', resource: 'azurerm_private_endpoint', outputs: ['doctor_command', 'private_endpoint_id', 'private_ip_address'] },
    'gcp-provider': { stack: 'linkgate-gcp', resource: 'google_compute_service_attachment', outputs: ['service_attachment'] },
    'gcp-consumer': { stack: 'megacorp-linkgate', resource: 'google_compute_forwarding_rule', outputs: ['doctor_command', 'psc_connection_id'] },
    'gcp-http-mode': { stack: 'linkgate-gcp-http', resource: 'google_secret_manager_secret_iam_member', outputs: [] },
    'azure-http-mode': { stack: 'linkgate-azure-http', resource: 'azurerm_virtual_machine_scale_set_extension', outputs: ['service_alias', 'service_id'] },
  };

  test.each(CDKTF_EXAMPLES)('GIVEN the README block %s WHEN cdktf synth runs offline THEN it synthesizes, outputs under fixed names', async (name) => {
    const out = join(cdktfApp, 'cdktf.out', name);
    await job(`synth:${name}`);
    const { stack, resource, outputs } = expected[name]!;
    const doc = JSON.parse(readFileSync(join(out, 'stacks', stack, 'cdk.tf.json'), 'utf8')) as {
      resource: Record<string, unknown>;
      output?: Record<string, unknown>;
    };
    expect(Object.keys(doc.resource)).toContain(resource);
    expect(Object.keys(doc.output ?? {}).sort()).toEqual(outputs);
  });
});

function installAwsApp(): RunResult {
  const files: Record<string, string> = {
    'tsconfig.json': JSON.stringify(CDK_INIT_TSCONFIG, null, 2),
    'cdk.json': JSON.stringify({ app: 'echo "pass --app"' }),
    'cdk.context.json': examples.find((e) => e.name === 'aws-context')!.code,
    // Every subpath an AWS user may import resolves, with its types.
    'bin/imports.ts': [
      "import * as linkgate from 'linkgate';",
      "import type { TenantDeclarations } from 'linkgate/tenants';",
      "import { Gateway } from 'linkgate/gateway';",
      "import { LinkgateProvider } from 'linkgate/aws';",
      "import { LinkgateUpstream } from 'linkgate/upstream';",
      'const tenants: TenantDeclarations = [];',
      'export const loaded = [linkgate, Gateway, LinkgateProvider, LinkgateUpstream, tenants];',
      '',
    ].join('\n'),
  };
  for (const example of byPrefix('aws-')) files[`bin/${example.name}.ts`] = example.code;
  // The service example is no app to synth: tsc checks it against the installed linkgate/upstream.
  for (const example of byPrefix('upstream-')) files[`service/${example.name}.ts`] = example.code;
  return installApp(awsApp, packed, ['aws-cdk-lib', 'constructs', '@types/node', '@types/jest'], files);
}

function installCdktfApp(): RunResult {
  const files: Record<string, string> = {
    'tsconfig.json': JSON.stringify(CDKTF_INIT_TSCONFIG, null, 2),
    'cdktf.json': JSON.stringify({ language: 'typescript', app: 'echo "pass --app"', terraformProviders: [], terraformModules: [], context: {} }),
    // node10 resolution ignores `exports`: these resolve through typesVersions.
    'imports.ts': [
      "import * as linkgate from 'linkgate';",
      "import type { TenantDeclarations } from 'linkgate/tenants';",
      "import { Gateway } from 'linkgate/gateway';",
      "import { PrivateLinkGateway } from 'linkgate/azure';",
      "import { PrivateServiceConnectGateway } from 'linkgate/gcp';",
      "import { LinkgateUpstream } from 'linkgate/upstream';",
      'const tenants: TenantDeclarations = [];',
      'export const loaded = [linkgate, Gateway, PrivateLinkGateway, PrivateServiceConnectGateway, LinkgateUpstream, tenants];',
      '',
    ].join('\n'),
  };
  for (const example of [...byPrefix('azure-'), ...byPrefix('gcp-')]) files[`${example.name}.ts`] = example.code;
  return installApp(cdktfApp, packed, ['cdktf', 'constructs', '@cdktf/provider-azurerm', '@cdktf/provider-google', '@types/node'], files);
}
