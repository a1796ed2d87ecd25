/**
 * The filtering gateway on ECS Fargate, registered as IP targets behind the private-link load
 * balancer (and optionally behind a separate internet-facing one). Its config — tenants included —
 * is rendered at synth time into the task definition, or for large tenant lists into an S3 object
 * the task definition names (config-delivery.ts), so `cdk deploy` alone rolls a tenant change out:
 * a new task definition revision, new tasks started and healthy before old ones drain.
 */
import { Duration, Size, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  encodeInlineConfig,
  parseTenantDeclarations,
  renderGatewayConfig,
  resolveGatewaySettings,
  type GatewayConfig,
  type GatewaySettingsProps,
  type TenantDeclarations,
} from '../tenants';
import {
  DEFAULT_PUBLIC_PORT,
  FARGATE_CPU_OPTIONS,
  FARGATE_MAX_STOP_TIMEOUT_SEC,
  MAX_INLINE_CONFIG_BYTES,
  STOP_TIMEOUT_MARGIN_SEC,
  fargateMemoryOptionsMiB,
} from './defaults';
import { linkgatePackageRoot } from './internal/package-root';
import {
  checkDistinctPorts,
  checkIpv6Subnets,
  checkOneSubnetPerAz,
  checkPort,
  checkRange,
  cidrPeer,
  fail,
  isUnresolved,
  show,
  warn,
  warnIfSingleAz,
} from './internal/validate';
import { grantOwnership, resolveAwsOwnership, type AwsOwnershipSource } from './ownership';
import { GatewayConfigObject, chooseConfigDelivery, type ConfigDelivery } from './config-delivery';
import { GatewayObservability, metricsEnvironment, resolveObservability, type GatewayObservabilityOptions } from './observability';
import { addHttpCertificateSecrets, awsHttpSettings, type AwsHttpModeProps } from './http-mode';
import type { PrivateLinkLoadBalancer } from './private-link-load-balancer';

/** Name of the gateway container in the task definition. */

/** Where the image lets the gateway keep the last good fetched config (Dockerfile VOLUME). */
const CONFIG_CACHE_DIR = '/var/cache/linkgate';
export const GATEWAY_CONTAINER_NAME = 'gateway';
/** `nofile` of the gateway container, soft and hard (as the Azure and GCP units run it). */
const GATEWAY_OPEN_FILES = 1_048_576;

/**
 * The gateway settings the top-level construct passes through: those of every cloud
 * (`GatewaySettingsProps`: upstreams, defaultTenant, limits, log, drainDelaySec, drainTimeoutSec;
 * the drain must fit Fargate's 120 s stop timeout with 5 s to exit), and the Fargate ones below.
 */
export interface FilteringGatewayOptions extends GatewaySettingsProps {
  /**
   * Container port of the private-link listener (PROXY v2 required).
   *
   * @default - the load balancer's target port (8443 unless changed there)
   */
  readonly privateLinkPort?: number;
  /**
   * Container port of the HTTP health listener (/healthz, /readyz, /metrics).
   *
   * @default - the load balancer's health check port (8080 unless changed there)
   */
  readonly healthPort?: number;
  /**
   * Container port of the public listener (PROXY header forbidden; tenants' `allow.cidrs` apply).
   * Used only with `publicPath`.
   *
   * @default 9443
   */
  readonly publicPort?: number;
  /**
   * The gateway image.
   *
   * @default - built from linkgate's Dockerfile as a container image asset (only what the
   * `.dockerignore` whitelists is staged), for `cpuArchitecture`
   */
  readonly image?: ecs.ContainerImage;
  /**
   * CPU architecture of the tasks (and of the default image build).
   *
   * @default ecs.CpuArchitecture.X86_64
   */
  readonly cpuArchitecture?: ecs.CpuArchitecture;
  /**
   * ECS cluster to run in.
   *
   * @default - a new cluster in the VPC with Container Insights on
   */
  readonly cluster?: ecs.ICluster;
  /**
   * Subnets of the tasks. They need a route to the image registry and CloudWatch Logs (NAT or
   * VPC endpoints) and to the upstreams.
   *
   * @default - the VPC's private subnets with egress
   */
  readonly taskSubnets?: ec2.SubnetSelection;
  /**
   * Task CPU units (1024 = 1 vCPU): 256, 512, 1024, 2048, 4096, 8192 or 16384.
   *
   * @default 512
   */
  readonly cpu?: number;
  /**
   * Task memory in MiB; must be a size Fargate allows for `cpu`.
   *
   * @default 1024
   */
  readonly memoryLimitMiB?: number;
  /**
   * Gateway worker processes per task.
   *
   * @default - one per whole vCPU of `cpu`, at least one (Fargate shows tasks below 1 vCPU more
   * cores than they may use, so "one per core" would oversubscribe them)
   */
  readonly workers?: number;
  /**
   * Task count written into the service. Every deploy that touches the service resets the running
   * count to it, undoing autoscaling.
   *
   * @default - not set: a new service starts one task and autoscaling raises it to `minCapacity`;
   * deploys keep whatever count autoscaling chose
   */
  readonly desiredCount?: number;
  /**
   * Fewest tasks autoscaling keeps.
   *
   * @default 2
   */
  readonly minCapacity?: number;
  /**
   * Most tasks autoscaling starts.
   *
   * @default 10
   */
  readonly maxCapacity?: number;
  /**
   * Average service CPU utilization autoscaling steers to.
   *
   * @default 50
   */
  readonly targetCpuUtilizationPercent?: number;
  /**
   * Seconds after a scale-out before another.
   *
   * @default 60
   */
  readonly scaleOutCooldownSec?: number;
  /**
   * Seconds after a scale-in before another (scale-in drains connections, so it is slower).
   *
   * @default 300
   */
  readonly scaleInCooldownSec?: number;
  /**
   * How long the gateway's logs (one line per decision) are kept in CloudWatch Logs.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Roll back to the last working task definition when a deployment's tasks keep failing.
   *
   * @default true
   */
  readonly circuitBreakerRollback?: boolean;
  /**
   * Also deploy the public path: a separate internet-facing NLB to the gateway's public listener.
   *
   * @default false
   */
  readonly publicPath?: boolean;
  /**
   * Port of the public load balancer's listener.
   *
   * @default 443
   */
  readonly publicListenerPort?: number;
  /**
   * Source ranges the public load balancer admits. The gateway still applies each tenant's
   * `allow.cidrs` (tenants with rules and no matching range are dropped).
   *
   * @default ['0.0.0.0/0'], and '::/0' too when the load balancer's ipAddressType is "dualstack"
   */
  readonly publicSourceCidrs?: string[];
  /**
   * Subnets of the public load balancer, one per Availability Zone.
   *
   * @default - the VPC's public subnets, one per Availability Zone
   */
  readonly publicSubnets?: ec2.SubnetSelection;
  /**
   * Metrics (CloudWatch Embedded Metric Format lines from the gateway's log stream), alarms with an
   * optional SNS topic, and a dashboard. `{ enabled: false }` turns all of it off.
   *
   * @default - on, without a notification target
   */
  readonly observability?: GatewayObservabilityOptions;
  /**
   * How the tenant config reaches the tasks: `inline` in the task definition
   * (`$LINKGATE_CONFIG`, at most 57,344 bytes encoded), `objectStore` as an S3 object the gateway
   * fetches with its task role (`$LINKGATE_CONFIG_URL`, any size the gateway loads), or `auto`.
   *
   * @default "auto": inline up to 32 KiB encoded (about 1,150 tenants), S3 above
   */
  readonly configDelivery?: ConfigDelivery;
  /**
   * With the config in S3: add an S3 gateway endpoint to the tasks' subnets (no NAT or internet
   * path to the config).
   *
   * @default - added when the VPC is defined in this app and has none; not for an imported VPC
   */
  readonly s3GatewayEndpoint?: boolean;
  /**
   * Your security group for the tasks. linkgate adds the same rules to it as to its own (the
   * private-link, additional and health ports from the NLB only); give it no other inbound rule on
   * those ports, since a PROXY header is trusted only when nothing but the NLB can send one. It
   * needs outbound access to the upstreams, the image registry, CloudWatch Logs and S3.
   *
   * @default - a new group that admits only the load balancers
   */
  readonly securityGroup?: ec2.ISecurityGroup;
  /**
   * Run the private-link listener in http mode: terminate TLS with certificates from Secrets
   * Manager (injected by ECS; only the execution role may read them), decide per request, and
   * optionally name the tenant by a header or path prefix under one `sharedHostname`.
   *
   * @default - tcp mode: the TLS stream is forwarded untouched
   */
  readonly httpMode?: AwsHttpModeProps;
}

export interface FilteringGatewayProps extends FilteringGatewayOptions {
  readonly vpc: ec2.IVpc;
  /**
   * The endpoint service whose connections owner rules (`allow.awsAccounts`) are read from; the
   * task role gets the read (and, with `ownership.accept`, accept) permission. Needed when a tenant
   * has owner rules.
   *
   * @default - none: owner rules are refused (LinkgateProvider passes its endpoint service)
   */
  readonly ownershipSource?: AwsOwnershipSource;
  /** Tenants: rendered into the gateway config (hostnames, upstream, allow lists). */
  readonly tenants: TenantDeclarations;
  /** The private-link load balancer the tasks register behind. */
  readonly loadBalancer: PrivateLinkLoadBalancer;
}

/**
 * ECS on Fargate running the linkgate gateway container behind a `PrivateLinkLoadBalancer`:
 * task size, autoscaling on CPU, deployment circuit breaker, logs with a retention, a read-only
 * root filesystem, and security groups that admit the private-link and health ports only from the
 * load balancer (a PROXY v2 header is trusted only when the NLB wrote it).
 */
export class FilteringGateway extends Construct {
  readonly service: ecs.FargateService;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly container: ecs.ContainerDefinition;
  readonly cluster: ecs.ICluster;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly logGroup: logs.LogGroup;
  readonly scaling: ecs.ScalableTaskCount;
  /** The rendered, validated gateway config the tasks run with. */
  readonly config: GatewayConfig;
  /** The config as inline text: what the tasks receive in `$LINKGATE_CONFIG` when it is delivered inline. */
  readonly configValue: string;
  /** Bytes of `configValue` (`gzip+base64:` text, or JSON when an upstream is a token). */
  readonly configBytes: number;
  /** How the config reaches the tasks, `configDelivery` resolved. */
  readonly configDelivery: 'inline' | 'objectStore';
  /** The S3 object the tasks fetch (`$LINKGATE_CONFIG_URL`), with `configDelivery` objectStore. */
  readonly configObject?: GatewayConfigObject;

  /** Alarms and dashboard; absent with `observability: { enabled: false }`. */
  readonly observability?: GatewayObservability;

  /** Set when `publicPath` is on. */
  readonly publicLoadBalancer?: elbv2.NetworkLoadBalancer;
  readonly publicListener?: elbv2.NetworkListener;
  readonly publicTargetGroup?: elbv2.NetworkTargetGroup;
  readonly publicSecurityGroup?: ec2.SecurityGroup;

  readonly privateLinkPort: number;
  readonly healthPort: number;
  readonly publicPort?: number;
  readonly cpuArchitecture: ecs.CpuArchitecture;
  readonly cpu: number;
  readonly memoryLimitMiB: number;
  readonly workers: number;
  readonly desiredCount?: number;
  readonly minCapacity: number;
  readonly maxCapacity: number;
  readonly targetCpuUtilizationPercent: number;
  readonly scaleOutCooldownSec: number;
  readonly scaleInCooldownSec: number;
  readonly logRetention: logs.RetentionDays;
  readonly drainDelaySec: number;
  readonly drainTimeoutSec: number;
  /** Container stop timeout: the drain plus time to exit. */
  readonly stopTimeoutSec: number;
  readonly circuitBreakerRollback: boolean;
  readonly publicPath: boolean;
  readonly publicListenerPort?: number;
  readonly publicSourceCidrs?: readonly string[];

  constructor(scope: Construct, id: string, props: FilteringGatewayProps) {
    super(scope, id);
    const lb = props.loadBalancer;

    // ---- defaults, resolved once
    this.privateLinkPort = checkPort(this, 'privateLinkPort', props.privateLinkPort ?? lb.targetPort);
    this.healthPort = checkPort(this, 'healthPort', props.healthPort ?? lb.healthCheckPort);
    this.publicPath = props.publicPath ?? false;
    this.publicPort = this.publicPath ? checkPort(this, 'publicPort', props.publicPort ?? DEFAULT_PUBLIC_PORT) : undefined;
    this.publicListenerPort = this.publicPath
      ? checkPort(this, 'publicListenerPort', props.publicListenerPort ?? 443)
      : undefined;
    const dualstack = lb.ipAddressType === 'dualstack';
    this.publicSourceCidrs = this.publicPath ? (props.publicSourceCidrs ?? (dualstack ? ['0.0.0.0/0', '::/0'] : ['0.0.0.0/0'])) : undefined;
    this.cpuArchitecture = props.cpuArchitecture ?? ecs.CpuArchitecture.X86_64;
    this.cpu = props.cpu ?? 512;
    this.memoryLimitMiB = props.memoryLimitMiB ?? 1024;
    this.workers = checkRange(this, 'workers', props.workers ?? Math.max(1, Math.floor(this.cpu / 1024)), 1, 64);
    this.minCapacity = checkRange(this, 'minCapacity', props.minCapacity ?? 2, 1, 5000);
    this.maxCapacity = checkRange(this, 'maxCapacity', props.maxCapacity ?? Math.max(10, this.minCapacity), 1, 5000);
    this.desiredCount = props.desiredCount;
    this.targetCpuUtilizationPercent = checkRange(
      this,
      'targetCpuUtilizationPercent',
      props.targetCpuUtilizationPercent ?? 50,
      10,
      90,
      '%',
    );
    this.scaleOutCooldownSec = checkRange(this, 'scaleOutCooldownSec', props.scaleOutCooldownSec ?? 60, 0, 3600, ' s');
    this.scaleInCooldownSec = checkRange(this, 'scaleInCooldownSec', props.scaleInCooldownSec ?? 300, 0, 3600, ' s');
    this.logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const settings = resolveGatewaySettings(
      props,
      {
        privateLinkPort: this.privateLinkPort,
        healthPort: this.healthPort,
        publicPort: this.publicPort,
        additionalPrivateLink: lb.additionalPorts.map((p) => p.port),
      },
      // CloudFormation fills deploy-time upstreams into the task definition's environment.
      { isUnresolved, allowUnresolvedUpstreams: true },
    );
    for (const issue of settings.issues) fail(this, `${issue.path} ${issue.message}`);
    this.drainDelaySec = settings.drainDelaySec;
    this.drainTimeoutSec = settings.drainTimeoutSec;
    this.stopTimeoutSec = settings.stopTimeoutSec;
    this.circuitBreakerRollback = props.circuitBreakerRollback ?? true;
    const observability = resolveObservability(this, props.observability);

    // ---- checks that need several props
    checkDistinctPorts(this, {
      privateLinkPort: this.privateLinkPort,
      healthPort: this.healthPort,
      ...(this.publicPath ? { publicPort: this.publicPort } : {}),
      ...Object.fromEntries(lb.additionalPorts.map((p, i) => [`additionalPrivateLinkPorts[${i}].gatewayPort`, p.port.gatewayPort])),
    });
    if (this.privateLinkPort !== lb.targetPort) {
      fail(this, `privateLinkPort ${this.privateLinkPort} differs from the load balancer's targetPort ${lb.targetPort} (${lb.node.path}); they must be equal`);
    }
    if (this.healthPort !== lb.healthCheckPort) {
      fail(this, `healthPort ${this.healthPort} differs from the load balancer's healthCheckPort ${lb.healthCheckPort} (${lb.node.path}); they must be equal`);
    }
    checkTaskSize(this, this.cpu, this.memoryLimitMiB);
    if (this.stopTimeoutSec > FARGATE_MAX_STOP_TIMEOUT_SEC) {
      fail(
        this,
        `drainDelaySec (${this.drainDelaySec}) + drainTimeoutSec (${this.drainTimeoutSec}) + ${STOP_TIMEOUT_MARGIN_SEC} s to exit ` +
          `is ${this.stopTimeoutSec} s; Fargate stops a container at most ${FARGATE_MAX_STOP_TIMEOUT_SEC} s after SIGTERM, ` +
          `so the two may add up to ${FARGATE_MAX_STOP_TIMEOUT_SEC - STOP_TIMEOUT_MARGIN_SEC} s`,
      );
    }
    const publicOnly = (['publicPort', 'publicListenerPort', 'publicSourceCidrs', 'publicSubnets'] as const).filter(
      (prop) => props[prop] !== undefined,
    );
    if (!this.publicPath && publicOnly.length > 0) {
      warn(this, 'publicPropsWithoutPublicPath', `${publicOnly.join(', ')} ${publicOnly.length > 1 ? 'are' : 'is'} set but publicPath is not: no public path is deployed`);
    }
    if (this.maxCapacity < this.minCapacity) {
      fail(this, `maxCapacity (${this.maxCapacity}) is below minCapacity (${this.minCapacity}); it must be at least minCapacity`);
    }
    if (this.desiredCount !== undefined) {
      checkRange(this, 'desiredCount', this.desiredCount, this.minCapacity, this.maxCapacity);
      warn(
        this,
        'desiredCountResetsScaling',
        `desiredCount is ${this.desiredCount}: every deploy that updates the service sets the running count back to it, ` +
          'undoing autoscaling; leave it unset to keep the count autoscaling chose',
      );
    }

    // ---- the config the tasks run with
    const tenants = parseTenantDeclarations(props.tenants, this.node.path);
    const ownership = resolveAwsOwnership(this, tenants, props.ownership, props.ownershipSource);
    const http = props.httpMode && awsHttpSettings(this, props.httpMode);
    const rendered = renderGatewayConfig(tenants, { ...settings.configOptions, ownership, http }, this.node.path, { isUnresolved });
    this.config = rendered.config;
    if (Token.isUnresolved(rendered.json)) {
      // An upstream host known only at deploy (e.g. an internal load balancer's DNS name): the
      // text must stay readable for CloudFormation to substitute it, so it cannot be compressed.
      this.configValue = Stack.of(this).toJsonString(rendered.config);
      this.configBytes = Buffer.byteLength(rendered.json);
    } else {
      this.configValue = encodeInlineConfig(rendered.json);
      this.configBytes = Buffer.byteLength(this.configValue);
    }
    this.configDelivery = chooseConfigDelivery(this, props.configDelivery, this.configBytes, Token.isUnresolved(rendered.json));
    if (this.configDelivery === 'inline' && this.configBytes > MAX_INLINE_CONFIG_BYTES) {
      fail(
        this,
        `the gateway config for ${tenants.length} tenants is ${this.configBytes} bytes in $LINKGATE_CONFIG; at most ` +
          `${MAX_INLINE_CONFIG_BYTES} fit in an ECS task definition (65,536 bytes in all); configDelivery "objectStore" (or "auto") puts it in S3` +
          (Token.isUnresolved(rendered.json) ? '; an upstream host given as a token keeps it uncompressed: use a literal host name' : ''),
      );
    }

    // ---- network
    const taskSubnets = props.taskSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    this.securityGroup = props.securityGroup ?? new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'linkgate gateway tasks: inbound only from their load balancers',
      // Upstreams, the image registry and CloudWatch Logs are reached from here.
      allowAllOutbound: true,
    });
    this.securityGroup.connections.allowFrom(
      lb.securityGroup,
      ec2.Port.tcp(this.privateLinkPort),
      'PROXY v2 traffic from the private-link NLB only: a PP2 header is trusted only when the NLB wrote it',
    );
    this.securityGroup.connections.allowFrom(lb.securityGroup, ec2.Port.tcp(this.healthPort), 'health checks from the private-link NLB');
    for (const { port } of lb.additionalPorts) {
      this.securityGroup.connections.allowFrom(
        lb.securityGroup,
        ec2.Port.tcp(port.gatewayPort),
        `PROXY v2 traffic of private-link port ${port.port} (${port.name}) from the private-link NLB only`,
      );
    }

    // ---- task
    this.cluster =
      props.cluster ??
      new ecs.Cluster(this, 'Cluster', { vpc: props.vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: this.logRetention });
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: this.cpu,
      memoryLimitMiB: this.memoryLimitMiB,
      runtimePlatform: { cpuArchitecture: this.cpuArchitecture, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    // Owner rules: the task role reads the endpoint service's connections (lib/aws/ownership.ts).
    if (ownership && props.ownershipSource) grantOwnership(this, this.taskDefinition.taskRole, props.ownershipSource, props.ownership);
    if (this.configDelivery === 'objectStore') {
      this.configObject = new GatewayConfigObject(this, 'Config', {
        json: rendered.json,
        reader: this.taskDefinition.taskRole,
        vpc: props.vpc,
        taskSubnets,
        s3GatewayEndpoint: props.s3GatewayEndpoint,
      });
    }
    const configEnvironment: Record<string, string> = this.configObject
      ? // The gateway fetches it with the task role, polls it, and keeps the last good copy.
        { LINKGATE_CONFIG_URL: this.configObject.url, AWS_REGION: Stack.of(this).region }
      : // The CLI prefers this inline config to the image's default config file.
        { LINKGATE_CONFIG: this.configValue };
    const image =
      props.image ??
      ecs.ContainerImage.fromAsset(linkgatePackageRoot(), {
        // The .dockerignore at the root whitelists what the image build copies; asset staging
        // honours it too, so node_modules, tests and cdk.out never reach the staging directory.
        platform: this.cpuArchitecture === ecs.CpuArchitecture.ARM64 ? Platform.LINUX_ARM64 : Platform.LINUX_AMD64,
      });
    this.container = this.taskDefinition.addContainer('Gateway', {
      containerName: GATEWAY_CONTAINER_NAME,
      image,
      essential: true,
      // The gateway writes nothing to disk.
      readonlyRootFilesystem: true,
      stopTimeout: Duration.seconds(this.stopTimeoutSec),
      // Each forwarded connection holds two descriptors; Fargate's default (65535) is below what a
      // cluster of workers at their connection limit needs. The Azure and GCP units set the same.
      ulimits: [{ name: ecs.UlimitName.NOFILE, softLimit: GATEWAY_OPEN_FILES, hardLimit: GATEWAY_OPEN_FILES }],
      environment: {
        ...configEnvironment,
        LINKGATE_WORKERS: String(this.workers),
        LINKGATE_HEALTH_PORT: String(this.healthPort),
        ...(this.configObject ? { LINKGATE_CONFIG_CACHE_DIR: CONFIG_CACHE_DIR } : {}),
        ...(observability.enabled ? metricsEnvironment(observability) : {}),
      },
      portMappings: [
        { name: 'private-link', containerPort: this.privateLinkPort, protocol: ecs.Protocol.TCP },
        { name: 'health', containerPort: this.healthPort, protocol: ecs.Protocol.TCP },
        ...lb.additionalPorts.map(({ port }) => ({ name: `private-link-${port.name}`, containerPort: port.gatewayPort, protocol: ecs.Protocol.TCP })),
        ...(this.publicPort !== undefined ? [{ name: 'public', containerPort: this.publicPort, protocol: ecs.Protocol.TCP }] : []),
      ],
      logging: ecs.LogDrivers.awsLogs({
        logGroup: this.logGroup,
        streamPrefix: 'gateway',
        // A slow log pipeline must never stall traffic: buffer, and drop lines beyond 25 MiB.
        mode: ecs.AwsLogDriverMode.NON_BLOCKING,
        maxBufferSize: Size.mebibytes(25),
      }),
    });
    if (this.configObject) {
      // The root filesystem is read-only; with several workers the primary keeps the last good
      // fetched document for them in the image's /var/cache/linkgate (LINKGATE_CONFIG_CACHE_DIR),
      // a VOLUME Fargate backs with a bind mount owned by the gateway's user (see the Dockerfile).
      this.taskDefinition.addVolume({ name: 'config-cache' });
      this.container.addMountPoints({ sourceVolume: 'config-cache', containerPath: CONFIG_CACHE_DIR, readOnly: false });
    }

    if (props.httpMode) addHttpCertificateSecrets(this.container, props.httpMode);

    // ---- service
    this.service = new ecs.FargateService(this, 'Resource', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: this.desiredCount,
      // Rolling replacement: new tasks start and pass health checks before old ones are drained,
      // so capacity never drops and established connections finish on the old tasks.
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: this.circuitBreakerRollback },
      healthCheckGracePeriod: Duration.seconds(60),
      securityGroups: [this.securityGroup],
      vpcSubnets: taskSubnets,
      assignPublicIp: false,
      platformVersion: ecs.FargatePlatformVersion.LATEST,
      propagateTags: ecs.PropagatedTagSource.SERVICE,
      enableECSManagedTags: true,
    });
    lb.targetGroup.addTarget(
      this.service.loadBalancerTarget({ containerName: GATEWAY_CONTAINER_NAME, containerPort: this.privateLinkPort }),
    );
    for (const { port, targetGroup } of lb.additionalPorts) {
      targetGroup.addTarget(this.service.loadBalancerTarget({ containerName: GATEWAY_CONTAINER_NAME, containerPort: port.gatewayPort }));
    }

    this.scaling = this.service.autoScaleTaskCount({ minCapacity: this.minCapacity, maxCapacity: this.maxCapacity });
    this.scaling.scaleOnCpuUtilization('CpuScaling', {
      targetUtilizationPercent: this.targetCpuUtilizationPercent,
      scaleOutCooldown: Duration.seconds(this.scaleOutCooldownSec),
      scaleInCooldown: Duration.seconds(this.scaleInCooldownSec),
    });

    // ---- optional public path, on its own load balancer (never the private-link one: PP2 is a
    // target group setting there, and the public listener refuses PROXY headers)
    if (this.publicPath) {
      const pub = new Construct(this, 'Public');
      const placement = checkOneSubnetPerAz(
        this,
        'publicSubnets',
        props.vpc.selectSubnets(props.publicSubnets ?? { subnetType: ec2.SubnetType.PUBLIC, onePerAz: true }).subnets,
      );
      warnIfSingleAz(this, 'The public load balancer', placement);
      if (dualstack) checkIpv6Subnets(this, 'publicSubnets', placement.subnets);
      const publicSg = new ec2.SecurityGroup(pub, 'SecurityGroup', {
        vpc: props.vpc,
        description: 'linkgate public NLB: clients on the listener port; outbound only to the gateway',
        allowAllOutbound: false,
      });
      for (const cidr of this.publicSourceCidrs!) {
        publicSg.addIngressRule(
          cidrPeer(this, 'publicSourceCidrs', cidr),
          ec2.Port.tcp(this.publicListenerPort!),
          "internet clients; the gateway then applies each tenant's allow.cidrs",
        );
      }
      const publicLb = new elbv2.NetworkLoadBalancer(pub, 'LoadBalancer', {
        vpc: props.vpc,
        internetFacing: true,
        vpcSubnets: { subnets: placement.subnets },
        securityGroups: [publicSg],
        crossZoneEnabled: true,
        // Same address family as the private-link NLB: IPv6 clients too when it is dual-stack.
        ipAddressType: dualstack ? elbv2.IpAddressType.DUAL_STACK : elbv2.IpAddressType.IPV4,
      });
      const publicTg = new elbv2.NetworkTargetGroup(pub, 'TargetGroup', {
        vpc: props.vpc,
        port: this.publicPort!,
        protocol: elbv2.Protocol.TCP,
        targetType: elbv2.TargetType.IP,
        // The public listener forbids a PROXY header, and CIDR rules need the real client address.
        proxyProtocolV2: false,
        preserveClientIp: true,
        deregistrationDelay: Duration.seconds(lb.deregistrationDelaySec),
        connectionTermination: false,
        healthCheck: {
          enabled: true,
          protocol: elbv2.Protocol.HTTP,
          port: String(this.healthPort),
          path: '/readyz',
          healthyHttpCodes: '200',
          interval: Duration.seconds(lb.healthCheckIntervalSec),
          timeout: Duration.seconds(Math.min(5, lb.healthCheckIntervalSec - 1)),
          healthyThresholdCount: 2,
          unhealthyThresholdCount: 2,
        },
      });
      const publicListener = publicLb.addListener('Listener', {
        port: this.publicListenerPort!,
        protocol: elbv2.Protocol.TCP,
        defaultTargetGroups: [publicTg],
      });
      publicTg.addTarget(this.service.loadBalancerTarget({ containerName: GATEWAY_CONTAINER_NAME, containerPort: this.publicPort! }));
      this.securityGroup.connections.allowFrom(publicSg, ec2.Port.tcp(this.publicPort!), 'internet traffic via the public NLB only');
      this.securityGroup.connections.allowFrom(publicSg, ec2.Port.tcp(this.healthPort), 'health checks from the public NLB');
      this.publicLoadBalancer = publicLb;
      this.publicListener = publicListener;
      this.publicTargetGroup = publicTg;
      this.publicSecurityGroup = publicSg;
    }

    if (observability.enabled) {
      this.observability = new GatewayObservability(this, 'Observability', {
        ...props.observability,
        serviceName: observability.serviceName,
        namespace: observability.namespace,
        service: this.service,
        cluster: this.cluster,
        logGroup: this.logGroup,
        targetGroups: [
          { name: 'PrivateLink', targetGroup: lb.targetGroup },
          ...lb.additionalPorts.map(({ port, targetGroup }) => ({ name: `PrivateLink${pascalCase(port.name)}`, targetGroup })),
          ...(this.publicTargetGroup ? [{ name: 'Public', targetGroup: this.publicTargetGroup }] : []),
        ],
        minCapacity: this.minCapacity,
        configFromObjectStore: this.configDelivery === 'objectStore',
      });
    }
  }
}

function checkTaskSize(scope: Construct, cpu: number, memoryMiB: number): void {
  if (Token.isUnresolved(cpu) || Token.isUnresolved(memoryMiB)) return;
  if (!FARGATE_CPU_OPTIONS.includes(cpu)) {
    fail(scope, `cpu must be one of ${FARGATE_CPU_OPTIONS.join(', ')} (CPU units, 1024 = 1 vCPU), got ${show(cpu)}`);
  }
  const memory = fargateMemoryOptionsMiB(cpu);
  if (!memory.includes(memoryMiB)) {
    const allowed = memory.length > 6 ? `${memory[0]} to ${memory[memory.length - 1]} in steps of ${memory[1]! - memory[0]!}` : memory.join(', ');
    fail(scope, `memoryLimitMiB ${show(memoryMiB)} is not a Fargate size for cpu ${cpu}; allowed: ${allowed} MiB`);
  }
}

/** `postgres-ro` → `PostgresRo` (port names are lowercase letters, digits and "-"). */
function pascalCase(name: string): string {
  return name
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}
