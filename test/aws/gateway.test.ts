import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Lazy } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { FilteringGateway, PrivateLinkLoadBalancer, type FilteringGatewayProps, type PrivateLinkLoadBalancerProps } from '../../lib/aws';
import { linkgatePackageRoot } from '../../lib/aws/internal/package-root';
import { freePorts, httpGet, until as waitFor } from '../../bench/harness';
import { parseConfigText } from '../../lib/tenants';
import {
  REPO_ROOT,
  TENANTS,
  gatewayConfigFrom,
  expectWarning,
  filteringGateway,
  ingressRulesOf,
  logicalIdOf,
  newStack,
  newVpc,
  realisticTenants,
  snapshotTemplate,
  testImage,
} from './support';

const given = (props: Partial<FilteringGatewayProps> = {}, lb: Partial<PrivateLinkLoadBalancerProps> = {}) => filteringGateway(props, { lb });

type Env = { Name: string; Value: unknown }[];
function containerEnvironment(template: Template): Record<string, unknown> {
  const [def] = Object.values(template.findResources('AWS::ECS::TaskDefinition')) as {
    Properties: { ContainerDefinitions: { Environment: Env }[] };
  }[];
  return Object.fromEntries(def!.Properties.ContainerDefinitions[0]!.Environment.map((e) => [e.Name, e.Value]));
}

describe('FilteringGateway', () => {
  test('snapshot (default image from the Dockerfile)', () => {
    const { stack } = given({ image: undefined });
    expect(snapshotTemplate(stack)).toMatchSnapshot();
  });

  describe('GIVEN the defaults', () => {
    test('THEN a Fargate service rolls out new tasks before draining old ones, with the circuit breaker on', () => {
      const { template } = given();
      template().hasResourceProperties('AWS::ECS::Service', {
        LaunchType: 'FARGATE',
        DeploymentConfiguration: {
          MinimumHealthyPercent: 100,
          MaximumPercent: 200,
          DeploymentCircuitBreaker: { Enable: true, Rollback: true },
        },
        NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'DISABLED' }) },
        // Not written: a deploy keeps the count autoscaling chose.
        DesiredCount: Match.absent(),
      });
    });

    test('THEN the tasks register by IP in the PROXY v2 target group on the private-link port', () => {
      const { template, lb } = given();
      template().hasResourceProperties('AWS::ECS::Service', {
        LoadBalancers: [{ ContainerName: 'gateway', ContainerPort: 8443, TargetGroupArn: { Ref: logicalIdOf(lb.targetGroup) } }],
      });
    });

    test('THEN the container runs read-only, with a stop timeout covering the drain, and logs kept a month', () => {
      const { template } = given();
      template().hasResourceProperties('AWS::ECS::TaskDefinition', {
        Cpu: '512',
        Memory: '1024',
        RequiresCompatibilities: ['FARGATE'],
        RuntimePlatform: { CpuArchitecture: 'X86_64', OperatingSystemFamily: 'LINUX' },
        ContainerDefinitions: [
          Match.objectLike({
            Name: 'gateway',
            ReadonlyRootFilesystem: true,
            // drainDelay 5 + drainTimeout 25 + 5 to exit
            StopTimeout: 35,
            PortMappings: [
              { ContainerPort: 8443, Name: 'private-link', Protocol: 'tcp' },
              { ContainerPort: 8080, Name: 'health', Protocol: 'tcp' },
            ],
            LogConfiguration: {
              LogDriver: 'awslogs',
              Options: Match.objectLike({ mode: 'non-blocking', 'awslogs-stream-prefix': 'gateway' }),
            },
          }),
        ],
      });
      template().hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    });

    test('THEN the container may open 1048576 files, as the Azure and GCP units allow (two per forwarded connection)', () => {
      const { template } = given();
      template().hasResourceProperties('AWS::ECS::TaskDefinition', {
        ContainerDefinitions: [
          Match.objectLike({ Name: 'gateway', Ulimits: [{ Name: 'nofile', SoftLimit: 1_048_576, HardLimit: 1_048_576 }] }),
        ],
      });
    });

    test('THEN the tenant list is rendered into $LINKGATE_CONFIG, with no cloud-side consumers in it', () => {
      const { template } = given();
      const config = gatewayConfigFrom(template());
      expect(config.listeners).toEqual({ privateLink: { port: 8443, host: '0.0.0.0', mode: 'tcp' }, health: { port: 8080, host: '0.0.0.0' } });
      expect(config.tenants).toEqual([
        {
          name: 'megacorp',
          hostnames: ['megacorp.api.example.com', '*.megacorp.example.com'],
          upstream: 'default',
          allow: { aws: ['vpce-08d2bf15fac5001c9'] },
        },
        {
          name: 'initech',
          hostnames: ['initech.api.example.com'],
          upstream: 'default',
          allow: { aws: ['vpce-0a1b2c3d4e5f60718'], cidrs: ['198.51.100.0/24'] },
        },
      ]);
      expect(config.shutdown).toEqual({ drainDelayMs: 5000, drainTimeoutMs: 25000 });
      expect(config.upstreams.default).toMatchObject({ host: 'app.internal.example.com', port: 443 });
    });

    test('THEN the config travels inline in the task environment, with metric lines every 60 s for this deployment', () => {
      const env = containerEnvironment(given().template());
      expect(env).toEqual({
        LINKGATE_CONFIG: expect.stringMatching(/^gzip\+base64:/),
        LINKGATE_WORKERS: '1',
        LINKGATE_HEALTH_PORT: '8080',
        LINKGATE_METRICS_LOG_INTERVAL_SEC: '60',
        LINKGATE_METRICS_LOG_NAMESPACE: 'Linkgate',
        LINKGATE_METRICS_LOG_SERVICE: 'Provider-Gateway',
        LINKGATE_METRICS_LOG_TENANTS: 'drops',
      });
    });

    test('THEN the task security group admits only the private-link and health ports, only from the NLB', () => {
      const { template, gateway, lb } = given();
      const rules = ingressRulesOf(template(), logicalIdOf(gateway.securityGroup));
      const fromNlb = { 'Fn::GetAtt': [logicalIdOf(lb.securityGroup), 'GroupId'] };
      expect(rules).toHaveLength(2);
      expect(rules).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ IpProtocol: 'tcp', FromPort: 8443, ToPort: 8443, SourceSecurityGroupId: fromNlb }),
          expect.objectContaining({ IpProtocol: 'tcp', FromPort: 8080, ToPort: 8080, SourceSecurityGroupId: fromNlb }),
        ]),
      );
      // and the NLB may send to exactly those ports
      template().hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
        GroupId: fromNlb,
        DestinationSecurityGroupId: { 'Fn::GetAtt': [logicalIdOf(gateway.securityGroup), 'GroupId'] },
        FromPort: 8443,
        ToPort: 8443,
      });
    });

    test('THEN autoscaling keeps 2 to 10 tasks, tracking 50% CPU', () => {
      const { template } = given();
      template().hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
        MinCapacity: 2,
        MaxCapacity: 10,
        ScalableDimension: 'ecs:service:DesiredCount',
      });
      template().hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: {
          PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
          TargetValue: 50,
          ScaleOutCooldown: 60,
          ScaleInCooldown: 300,
        },
      });
    });

    test('THEN a new cluster has Container Insights on', () => {
      given().template().hasResourceProperties('AWS::ECS::Cluster', {
        ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
      });
    });

    test('THEN no warning is raised', () => {
      Annotations.fromStack(given().stack).hasNoWarning('*', Match.anyValue());
    });
  });

  describe('GIVEN the default image', () => {
    test('THEN it is built from the Dockerfile for linux/amd64, and staging copies only what .dockerignore lets through', () => {
      const { stack } = given({ image: undefined });
      const assembly = stack.node.root as unknown as { synth(): { directory: string } };
      const outdir = assembly.synth().directory;
      const assets = JSON.parse(readFileSync(join(outdir, 'Provider.assets.json'), 'utf8')) as { dockerImages: Record<string, { source: { directory: string; platform?: string } }> };
      const [image] = Object.values(assets.dockerImages);
      expect(image!.source.platform).toBe('linux/amd64');

      const staged = join(outdir, image!.source.directory);
      const files = listFiles(staged).map((f) => relative(staged, f));
      expect(files).toEqual(expect.arrayContaining(['Dockerfile', 'package.json', 'image.lock.json', 'lib/gateway/cli.ts']));
      for (const f of files) {
        expect(f).toMatch(/^(Dockerfile|\.dockerignore|package\.json|image\.lock\.json|tsconfig(\.image)?\.json|lib\/index\.ts|lib\/(tenants|gateway)\/.+)$/);
      }
      expect(files.some((f) => f.startsWith('node_modules') || f.startsWith('test/') || f.startsWith('lib/aws'))).toBe(false);
      const bytes = files.reduce((sum, f) => sum + statSync(join(staged, f)).size, 0);
      expect(bytes).toBeLessThan(2 * 1024 * 1024);
    });

    test('WHEN the tasks are arm64 THEN the image is built for linux/arm64', () => {
      const { stack, template } = given({ image: undefined, cpuArchitecture: ecs.CpuArchitecture.ARM64 });
      template().hasResourceProperties('AWS::ECS::TaskDefinition', { RuntimePlatform: { CpuArchitecture: 'ARM64' } });
      const outdir = (stack.node.root as unknown as { synth(): { directory: string } }).synth().directory;
      expect(readFileSync(join(outdir, 'Provider.assets.json'), 'utf8')).toContain('"platform": "linux/arm64"');
    });
  });

  test('GIVEN an image WHEN the gateway is created THEN the task runs it', () => {
    given({ image: ecs.ContainerImage.fromRegistry('registry.example.com/linkgate:1.2.3') })
      .template()
      .hasResourceProperties('AWS::ECS::TaskDefinition', {
        ContainerDefinitions: [Match.objectLike({ Image: 'registry.example.com/linkgate:1.2.3' })],
      });
  });

  test('GIVEN task size, workers, scaling, drain and retention WHEN the gateway is created THEN each reaches the template', () => {
    const { template } = given({
      cpu: 2048,
      memoryLimitMiB: 4096,
      minCapacity: 3,
      maxCapacity: 30,
      targetCpuUtilizationPercent: 40,
      drainDelaySec: 10,
      drainTimeoutSec: 100,
      logRetention: logs.RetentionDays.ONE_YEAR,
      circuitBreakerRollback: false,
    });
    template().hasResourceProperties('AWS::ECS::TaskDefinition', {
      Cpu: '2048',
      Memory: '4096',
      ContainerDefinitions: [
        Match.objectLike({
          StopTimeout: 115,
          Environment: Match.arrayWith([{ Name: 'LINKGATE_WORKERS', Value: '2' }]),
        }),
      ],
    });
    template().hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 3, MaxCapacity: 30 });
    template().hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({ TargetValue: 40 }),
    });
    template().hasResourceProperties('AWS::ECS::Service', {
      DeploymentConfiguration: Match.objectLike({ DeploymentCircuitBreaker: { Enable: true, Rollback: false } }),
    });
    template().hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
    expect(gatewayConfigFrom(template()).shutdown).toEqual({ drainDelayMs: 10_000, drainTimeoutMs: 100_000 });
  });

  test('GIVEN a desired count WHEN the gateway is created THEN it is written and a warning says deploys reset it', () => {
    const { stack, template } = given({ desiredCount: 4 });
    template().hasResourceProperties('AWS::ECS::Service', { DesiredCount: 4 });
    expectWarning(stack, '/Provider/Gateway', 'desiredCount is 4: every deploy .* undoing autoscaling');
  });

  test('GIVEN an upstream host known only at deploy WHEN rendered THEN the config stays JSON for CloudFormation to fill in', () => {
    const { stack } = given();
    const internal = new elbv2.NetworkLoadBalancer(stack, 'Upstream', { vpc: newVpc(stack, undefined, 'UpstreamVpc') });
    const gateway = new FilteringGateway(stack, 'Gateway2', {
      vpc: internal.vpc!,
      loadBalancer: new PrivateLinkLoadBalancer(stack, 'LoadBalancer2', { vpc: internal.vpc! }),
      tenants: TENANTS,
      upstreams: { default: { host: internal.loadBalancerDnsName, port: 443 } },
      image: testImage(),
    });
    const value = stack.resolve(gateway.configValue) as { 'Fn::Join': [string, unknown[]] };
    expect(value['Fn::Join'][1]).toContainEqual({ 'Fn::GetAtt': [logicalIdOf(internal), 'DNSName'] });
    const text = value['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : 'upstream.example.com')).join('');
    const loaded = parseConfigText(text);
    expect(loaded.ok && loaded.value.upstreams.default!.host).toBe('upstream.example.com');
  });

  test('GIVEN public-path settings without publicPath WHEN created THEN it warns that nothing public is deployed', () => {
    const { stack, template } = given({ publicSourceCidrs: ['203.0.113.0/24'], publicListenerPort: 8443 });
    template().resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 1);
    expectWarning(stack, '/Provider/Gateway', '^publicListenerPort, publicSourceCidrs are set but publicPath is not: no public path is deployed');
  });

  describe('GIVEN the public path', () => {
    const withPublic = () => given({ publicPath: true });

    test('THEN a separate internet-facing NLB forwards to the public listener, without PROXY v2, keeping client addresses', () => {
      const { template, gateway } = withPublic();
      template().resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 2);
      template().hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
        Scheme: 'internet-facing',
        SecurityGroups: [{ 'Fn::GetAtt': [logicalIdOf(gateway.publicSecurityGroup!), 'GroupId'] }],
      });
      template().hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
        Port: 9443,
        TargetType: 'ip',
        HealthCheckPort: '8080',
        TargetGroupAttributes: Match.arrayWith([
          { Key: 'proxy_protocol_v2.enabled', Value: 'false' },
          { Key: 'preserve_client_ip.enabled', Value: 'true' },
        ]),
      });
      template().hasResourceProperties('AWS::ECS::Service', {
        LoadBalancers: Match.arrayWith([
          { ContainerName: 'gateway', ContainerPort: 9443, TargetGroupArn: { Ref: logicalIdOf(gateway.publicTargetGroup!) } },
        ]),
      });
      expect(gatewayConfigFrom(template()).listeners.public).toEqual({ port: 9443, host: '0.0.0.0', mode: 'tcp' });
    });

    test('THEN the public port is open only to the public NLB, and the public NLB only on its listener port', () => {
      const { template, gateway, lb } = withPublic();
      const rules = ingressRulesOf(template(), logicalIdOf(gateway.securityGroup));
      const from = (sg: { node: unknown }) => ({ 'Fn::GetAtt': [logicalIdOf(sg as never), 'GroupId'] });
      const byText = (a: unknown, b: unknown) => JSON.stringify(a).localeCompare(JSON.stringify(b));
      expect(rules.map((r) => [r.FromPort, r.SourceSecurityGroupId]).sort(byText)).toEqual(
        [
          [8080, from(gateway.publicSecurityGroup!)],
          [8080, from(lb.securityGroup)],
          [8443, from(lb.securityGroup)],
          [9443, from(gateway.publicSecurityGroup!)],
        ].sort(byText),
      );
      expect(ingressRulesOf(template(), logicalIdOf(gateway.publicSecurityGroup!))).toEqual([
        expect.objectContaining({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443, IpProtocol: 'tcp' }),
      ]);
    });

    test('WHEN source ranges are given THEN only they reach the public listener', () => {
      const { template, gateway } = given({ publicPath: true, publicSourceCidrs: ['203.0.113.0/24', '2001:db8::/32'], publicListenerPort: 8443 });
      expect(ingressRulesOf(template(), logicalIdOf(gateway.publicSecurityGroup!))).toEqual([
        expect.objectContaining({ CidrIp: '203.0.113.0/24', FromPort: 8443 }),
        expect.objectContaining({ CidrIpv6: '2001:db8::/32', FromPort: 8443 }),
      ]);
    });
  });

  describe('validation', () => {
    test.each([
      [{ healthPort: 8443 }, {}, 'healthPort and privateLinkPort are both 8443; each gateway listener needs its own port'],
      [{ publicPath: true, publicPort: 8080 }, {}, 'publicPort and healthPort are both 8080; each gateway listener needs its own port'],
    ])('GIVEN clashing listener ports %j THEN synth fails naming both', (props, lbProps, message) => {
      expect(() => given(props, lbProps)).toThrow(message);
    });

    test('GIVEN a private-link port the load balancer does not send to THEN synth fails naming both', () => {
      expect(() => given({ privateLinkPort: 9000 })).toThrow(
        "Provider/Gateway: privateLinkPort 9000 differs from the load balancer's targetPort 8443 (Provider/LoadBalancer); they must be equal",
      );
      expect(() => given({ healthPort: 9001 })).toThrow(
        "Provider/Gateway: healthPort 9001 differs from the load balancer's healthCheckPort 8080 (Provider/LoadBalancer); they must be equal",
      );
    });

    test.each([
      [{ cpu: 768 }, 'cpu must be one of 256, 512, 1024, 2048, 4096, 8192, 16384 (CPU units, 1024 = 1 vCPU), got 768'],
      [{ cpu: 256, memoryLimitMiB: 4096 }, 'memoryLimitMiB 4096 is not a Fargate size for cpu 256; allowed: 512, 1024, 2048 MiB'],
      [{ cpu: 1024, memoryLimitMiB: 1024 }, 'memoryLimitMiB 1024 is not a Fargate size for cpu 1024; allowed: 2048 to 8192 in steps of 1024 MiB'],
      [
        { drainDelaySec: 30, drainTimeoutSec: 90 },
        'drainDelaySec (30) + drainTimeoutSec (90) + 5 s to exit is 125 s; Fargate stops a container at most 120 s after SIGTERM, so the two may add up to 115 s',
      ],
      [{ drainDelaySec: 2.5 }, 'drainDelaySec must be a whole number from 0 to 600 seconds, got 2.5'],
      [{ drainTimeoutSec: -1 }, 'drainTimeoutSec must be a whole number from 0 to 3600 seconds, got -1'],
      [
        { drainTimeoutSec: Lazy.number({ produce: () => 25 }) },
        'drainTimeoutSec must be known at synth time (it is written into the gateway config), got an unresolved token',
      ],
      [{ minCapacity: 5, maxCapacity: 3 }, 'maxCapacity (3) is below minCapacity (5); it must be at least minCapacity'],
      [{ desiredCount: 20 }, 'desiredCount must be a whole number from 2 to 10, got 20'],
      [{ workers: 0 }, 'workers must be a whole number from 1 to 64, got 0'],
      [{ targetCpuUtilizationPercent: 95 }, 'targetCpuUtilizationPercent must be a whole number from 10% to 90%, got 95'],
      [
        { publicPath: true, publicSourceCidrs: ['203.0.113.7'] },
        'publicSourceCidrs has "203.0.113.7", which is not a CIDR block; expected e.g. 203.0.113.0/24 or 2001:db8::/56',
      ],
    ])('GIVEN %j THEN synth fails with the allowed values', (props, message) => {
      expect(() => given(props)).toThrow(`Provider/Gateway: ${message}`);
    });

    test('GIVEN a tenant that names an undefined upstream THEN synth fails with the config path and the defined upstreams', () => {
      expect(() => given({ tenants: [{ name: 'a', hostnames: ['a.example.com'], upstream: 'billing', open: true }] })).toThrow(
        /^Provider\/Gateway: the rendered gateway config is invalid:\n {2}tenants\[0\]\.upstream: upstream "billing" is not defined in upstreams \(defined: default\)$/,
      );
    });

    test('GIVEN a bad endpoint ID THEN synth fails naming the construct, the path and the expected form', () => {
      expect(() => given({ tenants: [{ name: 'a', hostnames: ['a.example.com'], allow: { aws: ['vpce-123'] } }] })).toThrow(
        'Provider/Gateway: invalid tenant declarations:\n  tenants[0].allow.aws[0]: expected a VPC endpoint ID: "vpce-" followed by 8 or 17 lowercase hex digits, got "vpce-123"',
      );
    });

    test('GIVEN a token upstream and more tenants than fit uncompressed THEN synth fails saying why it is uncompressed', () => {
      const stack = newStack();
      const vpc = newVpc(stack);
      const upstream = new elbv2.NetworkLoadBalancer(stack, 'Upstream', { vpc });
      expect(
        () =>
          new FilteringGateway(stack, 'Gateway', {
            vpc,
            loadBalancer: new PrivateLinkLoadBalancer(stack, 'LoadBalancer', { vpc }),
            tenants: realisticTenants(400),
            upstreams: { default: { host: upstream.loadBalancerDnsName, port: 443 } },
            image: testImage(),
          }),
      ).toThrow(/; an upstream host given as a token keeps it uncompressed: use a literal host name$/);
    });

    test('GIVEN no linkgate Dockerfile above a directory THEN the default image cannot be found, and the error says to pass one', () => {
      expect(() => linkgatePackageRoot(tmpdir())).toThrow(`cannot find linkgate's Dockerfile above ${tmpdir()}; pass an image to the gateway instead`);
      expect(linkgatePackageRoot(join(REPO_ROOT, 'lib', 'aws'))).toBe(REPO_ROOT);
    });

    test('GIVEN a tenant list too large for a task definition and configDelivery "inline" THEN synth fails with the size, the limit and the way out', () => {
      expect(() => given({ tenants: realisticTenants(2500), configDelivery: 'inline' })).toThrow(
        /^Provider\/Gateway: the gateway config for 2500 tenants is \d+ bytes in \$LINKGATE_CONFIG; at most 57344 fit in an ECS task definition \(65,536 bytes in all\); configDelivery "objectStore" \(or "auto"\) puts it in S3$/,
      );
    });
  });

  test(
    'GIVEN the rendered task environment WHEN the real gateway starts with it THEN it loads every tenant and reports ready',
    async () => {
      const [privateLinkPort, healthPort] = (await freePorts(2)) as [number, number];
      const { template } = given(
        { drainDelaySec: 0, drainTimeoutSec: 1 },
        { targetPort: privateLinkPort, healthCheckPort: healthPort },
      );
      const env = containerEnvironment(template()) as Record<string, string>;
      const child = spawn(join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), ['lib/gateway/cli.ts', 'serve'], {
        cwd: REPO_ROOT,
        // The image's own default (Dockerfile ENV) is in place, as in a real task; the task env overrides it.
        env: { ...process.env, LINKGATE_CONFIG_FILE: '/etc/linkgate/config.yaml', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      try {
        const listening = await waitFor(() => {
          const line = stdout.split('\n').find((l) => l.includes('"msg":"listening"'));
          return line ? (JSON.parse(line) as { tenants: number; privateLink: number; health: number }) : undefined;
        }, 20_000, () => `stdout: ${stdout.slice(-1000)}\nstderr: ${stderr.slice(-1000)}`);
        expect(listening).toMatchObject({ tenants: 2, privateLink: privateLinkPort, health: healthPort });
        expect(await httpStatus(healthPort, '/readyz')).toBe(200);
      } finally {
        child.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
        clearTimeout(timer);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    },
    60_000,
  );
});

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)],
  );
}

async function httpStatus(port: number, path: string): Promise<number> {
  return (await httpGet(port, path)).status;
}
