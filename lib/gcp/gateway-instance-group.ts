/**
 * The filtering gateway on GCP: a regional managed instance group of Container-Optimized OS VMs
 * that run the gateway container from cloud-init, with its own service account, autoscaler,
 * autohealing and the only firewall rules its VMs need.
 */
import { createHash } from 'node:crypto';
import { ArtifactRegistryRepositoryIamMember } from '@cdktf/provider-google/lib/artifact-registry-repository-iam-member';
import type { ComputeFirewall } from '@cdktf/provider-google/lib/compute-firewall';
import { ComputeHealthCheck } from '@cdktf/provider-google/lib/compute-health-check';
import { ComputeInstanceTemplate } from '@cdktf/provider-google/lib/compute-instance-template';
import { ComputeRegionAutoscaler } from '@cdktf/provider-google/lib/compute-region-autoscaler';
import { ComputeRegionInstanceGroupManager } from '@cdktf/provider-google/lib/compute-region-instance-group-manager';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account';
import { Annotations } from 'cdktf';
import { Construct } from 'constructs';
import {
  encodeInlineConfig,
  resolveAdditionalPrivateLinkPorts,
  DEFAULT_LISTENER_PORTS,
  type AdditionalPrivateLinkPort,
  type ResolvedPrivateLinkPort,
  isOpenTenant,
  parseTenantDeclarations,
  renderGatewayConfig,
  resolveGatewaySettings,
  type GatewaySettingsProps,
  type RenderedGatewayConfig,
  type TenantDeclaration,
  type TenantDeclarations,
  type ValidationIssue,
} from '../tenants';
import { renderGatewayUserData, type HostPortRule, type PortRedirect } from './cloud-init';
import { CONFIG_DELIVERIES, GatewayConfigBucket, INLINE_USER_DATA_MAX_BYTES, type ConfigDelivery } from './config-delivery';
import { createFirewallRules, gatewayFirewallRules, type FirewallRuleSpec } from './gateway-firewall';
import { networkProjectOf, validateSharedVpc, type SharedVpcOptions } from './shared-vpc';
import { OwnershipReader, resolveGcpOwnership, type GcpOwnershipSource } from './ownership';
import {
  EXTERNAL_HEALTH_CHECK_RANGES,
  GCE_SHUTDOWN_WINDOW_SEC,
  IMAGE_PATTERN,
  INTERNAL_HEALTH_CHECK_RANGES,
  METADATA_VALUE_MAX_BYTES,
  PropValidator,
  REGION_PATTERN,
  defaultName,
  isToken,
  parseArtifactRegistryImage,
  resourceName,
  warn,
} from './common';
import { gcpHttpMode, grantHttpCertificateSecrets, type GcpHttpModeProps } from './http-mode';

/**
 * The gateway's own settings, shared by the composite construct: those of every cloud
 * (`GatewaySettingsProps`: upstreams, defaultTenant, limits, log, drainDelaySec, drainTimeoutSec;
 * the drain also sets the `docker stop` grace) and the VMs' below.
 */
export interface GatewayOptions extends GatewaySettingsProps {
  /**
   * Container image of the gateway, pushed by you (the repository's `Dockerfile`), e.g.
   * `europe-west1-docker.pkg.dev/my-project/linkgate/gateway@sha256:...`. Pin a digest: the
   * reference is part of the instance template, so a new digest rolls the VMs; a re-pushed tag
   * does not.
   */
  readonly image: string;
  /** The tenants: rendered into the gateway config (and, by the composite, the PSC accept list). */
  readonly tenants: TenantDeclarations;
  /**
   * Listener for Private Service Connect traffic inside the VM (PROXY v2 header required).
   * @default 8443
   */
  readonly privateLinkPort?: number;
  /**
   * Port consumers connect to: the internal load balancer's forwarding rule port. The VM
   * redirects it to `privateLinkPort` (a passthrough load balancer keeps the port).
   * @default 443
   */
  readonly privateLinkFrontendPort?: number;
  /**
   * Health listener (/healthz for autohealing, /readyz for the load balancers).
   * @default 8080
   */
  readonly healthPort?: number;
  /**
   * Listener for the public path inside the VM (PROXY header forbidden, tenants' CIDR rules apply).
   * @default 9443
   */
  readonly publicPort?: number;
  /**
   * Port internet clients connect to on the external load balancer; redirected to `publicPort`.
   * @default 443
   */
  readonly publicFrontendPort?: number;
  /**
   * Source ranges the public port is open to in the VPC firewall. The gateway still applies each
   * tenant's `allow.cidrs`.
   * @default ['0.0.0.0/0']
   */
  readonly publicSourceRanges?: readonly string[];
  /**
   * Resource name prefix.
   * @default - the construct ID, lowercased and cut to 20 characters
   */
  readonly name?: string;
  /** @default 'e2-standard-2' */
  readonly machineType?: string;
  /**
   * Boot image: Container-Optimized OS (it runs cloud-init and ships Docker).
   * @default 'cos-cloud/cos-stable'
   */
  readonly sourceImage?: string;
  /** @default 20 */
  readonly bootDiskSizeGb?: number;
  /**
   * Zones of the region to spread the VMs over.
   * @default - chosen by GCP in the region
   */
  readonly zones?: readonly string[];
  /** @default 3 */
  readonly minInstances?: number;
  /** @default 9 */
  readonly maxInstances?: number;
  /**
   * Average CPU utilization (0 to 1) the autoscaler keeps the group at.
   * @default 0.6
   */
  readonly targetCpuUtilization?: number;
  /**
   * Seconds a new VM needs before its CPU counts for autoscaling (boot, image pull, start).
   * @default 120
   */
  readonly autoscalingCooldownSec?: number;
  /**
   * Seconds after a VM's creation before autohealing may recreate it.
   * @default 300
   */
  readonly autohealingInitialDelaySec?: number;
  /**
   * VMs created above the target size during a rolling update (new VMs come up before old ones
   * go; none is taken away first). Must be at least the number of zones.
   * @default - the number of `zones`, or 4 (no region has more zones) when GCP chooses the zones
   */
  readonly maxSurgeInstances?: number;
  /**
   * Make `cdktf deploy` wait until every VM runs the new instance template, so a failed rollout
   * fails the deploy.
   * @default true
   */
  readonly waitForRollout?: boolean;
  /**
   * Labels for every labelable resource: the instance template, and so the VMs and their boot
   * disks, the addresses, forwarding rules, config bucket and alert policies.
   * @default - none
   */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * More ports consumers reach through the same PSC endpoint (e.g. 5432 next to 443), each with
   * PROXY v2 and its own upstream. Each gets a gateway listener, a host firewall rule and port
   * redirect, and is added to the private-link firewall rule and the forwarding rule's ports (a
   * forwarding rule lists at most 5 ports; beyond that it forwards all ports, and the firewall
   * still admits only these).
   * @default - none
   */
  readonly additionalPrivateLinkPorts?: readonly AdditionalPrivateLinkPort[];
  /**
   * How the tenant config reaches the VMs: inline in the instance template's user-data, or as a
   * Cloud Storage object the gateway polls (`LINKGATE_CONFIG_URL=gs://...`; a tenant change then
   * rewrites the object and replaces no VM). `auto` picks inline while the user-data is at most
   * 64 KiB (about 2,000 tenants), the object store above.
   * @default 'auto'
   */
  readonly configDelivery?: ConfigDelivery;
  /**
   * Name of the config bucket (object store delivery), globally unique.
   * @default - `<project>-<name>-linkgate-config` (hashed past 63 characters)
   */
  readonly configBucketName?: string;
  /**
   * Seconds between the gateway's metrics lines on stdout (`LINKGATE_METRICS_LOG_INTERVAL_SEC`),
   * which Cloud Logging receives and the log-based metrics count; 0 turns them off.
   * @default 60
   */
  readonly metricsLogIntervalSec?: number;
  /**
   * Run the private-link listener in http mode: terminate TLS with certificates fetched from
   * Secret Manager into a tmpfs on each VM (only the gateway's service account may read them),
   * decide per request, and optionally name the tenant by a header or path prefix under one
   * `sharedHostname` (the service attachment's `domain_names`).
   *
   * @default - tcp mode: the TLS stream is forwarded untouched
   */
  readonly httpMode?: GcpHttpModeProps;
}

export interface GatewayInstanceGroupProps extends GatewayOptions, SharedVpcOptions {
  /**
   * The service attachment whose connected endpoints owner rules (`allow.gcpProjects`,
   * `allow.gcpNetworks`) are read from; the VMs' service account gets a custom role with only
   * `compute.serviceAttachments.get`, conditioned on that attachment (lib/gcp/ownership.ts).
   *
   * @default - none: owner rules are refused
   */
  readonly ownershipSource?: GcpOwnershipSource;
  /** Project of the gateway (IAM grants are made in it). */
  readonly project: string;
  readonly region: string;
  /** VPC network (ID or self link) the firewall rules apply to. */
  readonly network: string;
  /**
   * Subnetwork of the VMs. They get no external IP: turn on Private Google Access on it (or
   * Cloud NAT) so they can pull the image from Artifact Registry.
   */
  readonly subnetwork: string;
  /**
   * Sources of Private Service Connect traffic: the service attachment's NAT subnet range(s).
   * The only sources that can reach the private-link port.
   */
  readonly privateLinkSourceRanges: readonly string[];
  /**
   * IP address of the internal load balancer, to redirect `privateLinkFrontendPort` to
   * `privateLinkPort` for it alone.
   * @default - none; then `privateLinkFrontendPort` must equal `privateLinkPort`
   */
  readonly privateLinkAddress?: string;
  /**
   * Serve the public path (a separate external passthrough load balancer at `publicAddress`).
   * @default false
   */
  readonly publicAccess?: boolean;
  /**
   * IP address of the external load balancer. Required with `publicAccess`: the public port is
   * opened for that destination only, so it never reaches the private-link listener.
   * @default - none
   */
  readonly publicAddress?: string;
}

export class GatewayInstanceGroup extends Construct {
  /** Resource name prefix. */
  readonly name: string;
  readonly privateLinkPort: number;
  readonly privateLinkFrontendPort: number;
  readonly healthPort: number;
  /** Undefined without `publicAccess`. */
  readonly publicPort?: number;
  readonly publicFrontendPort?: number;
  readonly publicSourceRanges: readonly string[];
  readonly machineType: string;
  readonly sourceImage: string;
  readonly bootDiskSizeGb: number;
  readonly zones?: readonly string[];
  readonly minInstances: number;
  readonly maxInstances: number;
  readonly targetCpuUtilization: number;
  readonly autoscalingCooldownSec: number;
  readonly autohealingInitialDelaySec: number;
  readonly maxSurgeInstances: number;
  readonly waitForRollout: boolean;
  readonly drainDelaySec: number;
  readonly drainTimeoutSec: number;
  /** `docker stop` grace: the gateway's whole drain plus a margin. */
  readonly stopTimeoutSec: number;
  /** Further private-link ports, gateway ports resolved. */
  readonly additionalPrivateLinkPorts: readonly ResolvedPrivateLinkPort[];
  /** The frontend ports of the internal load balancer: the first private-link port, then the additional ones. */
  readonly privateLinkFrontendPorts: readonly number[];
  /** How the config is delivered, `auto` resolved. */
  readonly configDelivery: 'inline' | 'objectStore';
  /** With object store delivery: the bucket, its object and the gateway's read grant. */
  readonly configBucket?: GatewayConfigBucket;
  /** Project of the network, its firewall rules (and the PSC NAT subnet): the host project with Shared VPC. */
  readonly networkProject: string;
  readonly manageFirewallRules: boolean;
  /** The firewall rules the gateway needs, created here unless `manageFirewallRules` is false. */
  readonly requiredFirewallRules: readonly FirewallRuleSpec[];
  readonly metricsLogIntervalSec: number;
  /** The MIG's base instance name: its VMs are named `<base>-xxxx`. */
  readonly baseInstanceName: string;
  /** `LINKGATE_METRICS_LOG_SERVICE`: the `Service` of every metrics line (the name prefix). */
  readonly metricsService: string;
  readonly labels?: Readonly<Record<string, string>>;

  /** The rendered gateway config (validated; GCP IDs as decimal strings). */
  readonly config: RenderedGatewayConfig;
  /** The cloud-init text in the template's `user-data` metadata. */
  readonly userData: string;
  /** Sizes of the config as JSON, as delivered (`gzip+base64:`), and of the whole user-data. */
  readonly configBytes: number;
  readonly encodedConfigBytes: number;
  readonly userDataBytes: number;

  readonly serviceAccount: ServiceAccount;
  readonly template: ComputeInstanceTemplate;
  readonly autohealingHealthCheck: ComputeHealthCheck;
  /** The managed instance group. */
  readonly resource: ComputeRegionInstanceGroupManager;
  readonly autoscaler: ComputeRegionAutoscaler;
  /** Undefined with `manageFirewallRules: false`. */
  readonly healthCheckFirewall?: ComputeFirewall;
  readonly privateLinkFirewall?: ComputeFirewall;
  readonly publicFirewall?: ComputeFirewall;

  constructor(scope: Construct, id: string, props: GatewayInstanceGroupProps) {
    super(scope, id);
    const publicAccess = props.publicAccess ?? false;
    this.name = props.name ?? defaultName(this);
    this.privateLinkPort = props.privateLinkPort ?? DEFAULT_LISTENER_PORTS.privateLink;
    this.privateLinkFrontendPort = props.privateLinkFrontendPort ?? 443;
    this.healthPort = props.healthPort ?? DEFAULT_LISTENER_PORTS.health;
    this.publicPort = publicAccess ? (props.publicPort ?? DEFAULT_LISTENER_PORTS.public) : undefined;
    this.publicFrontendPort = publicAccess ? (props.publicFrontendPort ?? 443) : undefined;
    this.publicSourceRanges = props.publicSourceRanges ?? ['0.0.0.0/0'];
    this.machineType = props.machineType ?? 'e2-standard-2';
    this.sourceImage = props.sourceImage ?? 'cos-cloud/cos-stable';
    this.bootDiskSizeGb = props.bootDiskSizeGb ?? 20;
    this.zones = props.zones;
    this.minInstances = props.minInstances ?? 3;
    this.maxInstances = props.maxInstances ?? 9;
    this.targetCpuUtilization = props.targetCpuUtilization ?? 0.6;
    this.autoscalingCooldownSec = props.autoscalingCooldownSec ?? 120;
    this.autohealingInitialDelaySec = props.autohealingInitialDelaySec ?? 300;
    this.maxSurgeInstances = props.maxSurgeInstances ?? props.zones?.length ?? 4;
    this.waitForRollout = props.waitForRollout ?? true;
    this.networkProject = networkProjectOf(props);
    this.manageFirewallRules = props.manageFirewallRules ?? true;
    this.metricsLogIntervalSec = props.metricsLogIntervalSec ?? 60;
    this.metricsService = this.name;
    this.baseInstanceName = resourceName(this.name, 'gw');
    this.labels = props.labels;
    const extraPorts = resolveAdditionalPrivateLinkPorts(
      props.additionalPrivateLinkPorts,
      { port: this.privateLinkFrontendPort, gatewayPort: this.privateLinkPort },
      [this.healthPort, ...(this.publicPort !== undefined ? [this.publicPort] : [])],
    );
    this.additionalPrivateLinkPorts = extraPorts.ports;
    this.privateLinkFrontendPorts = [this.privateLinkFrontendPort, ...extraPorts.ports.map((p) => p.port)];
    const settings = resolveGatewaySettings(
      props,
      {
        privateLinkPort: this.privateLinkPort,
        healthPort: this.healthPort,
        publicPort: this.publicPort,
        additionalPrivateLink: extraPorts.ports,
      },
      { isUnresolved: isToken },
    );
    this.drainDelaySec = settings.drainDelaySec;
    this.drainTimeoutSec = settings.drainTimeoutSec;
    this.stopTimeoutSec = settings.stopTimeoutSec;

    this.validate(props, publicAccess, [...settings.issues, ...extraPorts.issues]);

    // The one tenant model: validation (errors name this construct) and rendering.
    const tenants = parseTenantDeclarations(props.tenants, this.node.path);
    const owners = resolveGcpOwnership(tenants, props.ownership, props.ownershipSource);
    if (owners.problem) throw new Error(`GatewayInstanceGroup at ${this.node.path}: invalid props:\n  ownershipSource: ${owners.problem}`);
    const httpMode = props.httpMode && gcpHttpMode(this, props.project, props.httpMode);
    this.config = renderGatewayConfig(tenants, { ...settings.configOptions, ownership: owners.ownership, http: httpMode?.http }, this.node.path);
    const configText = encodeInlineConfig(this.config.json);
    this.configBytes = Buffer.byteLength(this.config.json);
    this.encodedConfigBytes = Buffer.byteLength(configText);

    const registry = parseArtifactRegistryImage(props.image);
    const openPorts: HostPortRule[] = [{ port: this.healthPort, sources: [] }];
    const redirects: PortRedirect[] = [];
    const privateLinkListeners = [
      { port: this.privateLinkFrontendPort, gatewayPort: this.privateLinkPort },
      ...this.additionalPrivateLinkPorts,
    ];
    for (const listener of privateLinkListeners) {
      openPorts.push({ port: listener.gatewayPort, sources: props.privateLinkSourceRanges });
      if (listener.port !== listener.gatewayPort && props.privateLinkAddress !== undefined) {
        redirects.push({
          destination: props.privateLinkAddress,
          sources: props.privateLinkSourceRanges,
          fromPort: listener.port,
          toPort: listener.gatewayPort,
        });
      }
    }
    if (this.publicPort !== undefined && this.publicFrontendPort !== undefined) {
      openPorts.push({ port: this.publicPort, sources: this.publicSourceRanges });
      if (this.publicFrontendPort !== this.publicPort) {
        redirects.push({ destination: props.publicAddress!, sources: [], fromPort: this.publicFrontendPort, toPort: this.publicPort });
      }
    }
    const environment: Record<string, string> =
      this.metricsLogIntervalSec > 0
        ? { LINKGATE_METRICS_LOG_INTERVAL_SEC: String(this.metricsLogIntervalSec), LINKGATE_METRICS_LOG_SERVICE: this.metricsService }
        : {};
    const userData = (delivery: { configText: string } | { configUrl: string }) =>
      renderGatewayUserData({
        image: props.image,
        ...delivery,
        healthPort: this.healthPort,
        openPorts,
        redirects,
        stopTimeoutSec: this.stopTimeoutSec,
        registryHost: registry?.host,
        environment,
        extras: httpMode?.extras,
      });
    const requested = props.configDelivery ?? 'auto';
    const inline = requested === 'inline' || requested === 'auto' ? userData({ configText }) : undefined;
    this.configDelivery =
      requested === 'objectStore' || (requested === 'auto' && Buffer.byteLength(inline!) > INLINE_USER_DATA_MAX_BYTES) ? 'objectStore' : 'inline';
    // The service account exists before the bucket grant that names it.
    this.serviceAccount = new ServiceAccount(this, 'ServiceAccount', {
      project: props.project,
      accountId: `${this.name}-gateway`,
      displayName: `linkgate gateway ${this.name}`,
      description: 'Runs the linkgate gateway VMs: writes logs and metrics, pulls the gateway image, reads its config.',
    });
    if (this.configDelivery === 'objectStore') {
      this.configBucket = new GatewayConfigBucket(this, 'ConfigBucket', {
        project: props.project,
        region: props.region,
        name: this.name,
        configJson: this.config.json,
        readerMember: this.serviceAccount.member,
        bucketName: props.configBucketName,
        labels: props.labels,
      });
      this.userData = userData({ configUrl: this.configBucket.url });
    } else {
      this.userData = inline!;
    }
    // Other metadata values are a few bytes each, so this per-value limit binds first.
    this.userDataBytes = Buffer.byteLength(this.userData);
    if (this.userDataBytes > METADATA_VALUE_MAX_BYTES) {
      throw new Error(
        `GatewayInstanceGroup at ${this.node.path}: the rendered user-data is ${this.userDataBytes} bytes ` +
          `(${tenants.length} tenants; config ${this.configBytes} bytes as JSON, ${this.encodedConfigBytes} as delivered); ` +
          `a GCE metadata value holds at most ${METADATA_VALUE_MAX_BYTES} bytes (256 KiB). Use configDelivery 'auto' or 'objectStore'.`,
      );
    }
    this.warnRisky(props, tenants, registry !== undefined);
    if (this.configDelivery === 'objectStore') {
      // A subnetwork given by ID cannot be inspected at synth time.
      Annotations.of(this).addInfo(
        `${this.node.path}: the gateway fetches its config from Cloud Storage; turn on Private Google Access on ${props.subnetwork} ` +
          '(the VMs have no external IP) or give them another path to storage.googleapis.com.',
      );
    }

    // Least privilege: logs and metrics in the project, read access to the image's repository only.
    new ProjectIamMember(this, 'LogWriter', { project: props.project, role: 'roles/logging.logWriter', member: this.serviceAccount.member });
    new ProjectIamMember(this, 'MetricWriter', { project: props.project, role: 'roles/monitoring.metricWriter', member: this.serviceAccount.member });
    if (owners.ownership && props.ownershipSource) {
      new OwnershipReader(this, 'OwnershipReader', {
        project: props.project,
        source: props.ownershipSource,
        member: this.serviceAccount.member,
        roleId: `${this.name.replace(/-/g, '_')}_ownership_reader`,
      });
    }
    if (registry) {
      new ArtifactRegistryRepositoryIamMember(this, 'ImagePull', {
        project: registry.project,
        location: registry.location,
        repository: registry.repository,
        role: 'roles/artifactregistry.reader',
        member: this.serviceAccount.member,
      });
    }

    if (props.httpMode) grantHttpCertificateSecrets(this, props.project, this.serviceAccount.member, props.httpMode);

    this.template = new ComputeInstanceTemplate(this, 'Template', {
      project: props.project,
      // Templates are immutable: every change (tenants, image, ports) creates a new one under a
      // fresh name before the old one goes, and the MIG rolls its VMs onto it.
      namePrefix: `${this.name}-gw-`,
      lifecycle: { createBeforeDestroy: true },
      description: 'linkgate gateway (cloud-init on Container-Optimized OS)',
      machineType: this.machineType,
      labels: props.labels ? { ...props.labels } : undefined,
      disk: [
        {
          boot: true,
          autoDelete: true,
          sourceImage: this.sourceImage,
          diskSizeGb: this.bootDiskSizeGb,
          diskType: 'pd-balanced',
          labels: props.labels ? { ...props.labels } : undefined,
        },
      ],
      // No access_config: no external IP. Traffic arrives through the load balancers only.
      networkInterface: [{ subnetwork: props.subnetwork }],
      serviceAccount: { email: this.serviceAccount.email, scopes: ['cloud-platform'] },
      shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
      scheduling: { automaticRestart: true, onHostMaintenance: 'MIGRATE' },
      metadata: {
        'user-data': this.userData,
        'google-logging-enabled': 'true',
        'google-monitoring-enabled': 'true',
        'enable-oslogin': 'TRUE',
        // Which config a VM boots with, readable with `gcloud compute instances describe`. Not with
        // the object store: there a tenant change must not touch the template (no VM replaced).
        ...(this.configDelivery === 'inline' ? { 'linkgate-config-sha256': createHash('sha256').update(this.config.json).digest('hex') } : {}),
      },
    });

    // Liveness, deliberately looser than the load balancers' readiness check: a gateway that is
    // draining or briefly not ready leaves the load balancer but is not recreated. Global, the
    // kind MIG autohealing takes.
    this.autohealingHealthCheck = new ComputeHealthCheck(this, 'AutohealingHealthCheck', {
      project: props.project,
      name: resourceName(this.name, 'gw-liveness'),
      checkIntervalSec: 10,
      timeoutSec: 5,
      healthyThreshold: 2,
      unhealthyThreshold: 3,
      httpHealthCheck: { port: this.healthPort, requestPath: '/healthz' },
    });

    this.resource = new ComputeRegionInstanceGroupManager(this, 'Resource', {
      project: props.project,
      region: props.region,
      name: resourceName(this.name, 'gw'),
      baseInstanceName: this.baseInstanceName,
      version: [{ name: 'gateway', instanceTemplate: this.template.selfLinkUnique }],
      distributionPolicyZones: props.zones ? [...props.zones] : undefined,
      distributionPolicyTargetShape: 'EVEN',
      autoHealingPolicies: { healthCheck: this.autohealingHealthCheck.id, initialDelaySec: this.autohealingInitialDelaySec },
      updatePolicy: {
        // A new template replaces every VM at once the deploy applies it, without a manual step:
        // new VMs come up first (surge), no VM is taken down before its replacement is healthy,
        // and SUBSTITUTE gives the new VMs new names so old and new run side by side.
        type: 'PROACTIVE',
        minimalAction: 'REPLACE',
        mostDisruptiveAllowedAction: 'REPLACE',
        replacementMethod: 'SUBSTITUTE',
        maxSurgeFixed: this.maxSurgeInstances,
        maxUnavailableFixed: 0,
        instanceRedistributionType: 'PROACTIVE',
      },
      // A VM repaired by autohealing comes back on the current template, not a stale one.
      instanceLifecyclePolicy: { forceUpdateOnRepair: 'YES' },
      waitForInstances: this.waitForRollout,
      waitForInstancesStatus: this.waitForRollout ? 'UPDATED' : undefined,
    });

    this.autoscaler = new ComputeRegionAutoscaler(this, 'Autoscaler', {
      project: props.project,
      region: props.region,
      name: resourceName(this.name, 'gw'),
      target: this.resource.id,
      autoscalingPolicy: {
        minReplicas: this.minInstances,
        maxReplicas: this.maxInstances,
        cooldownPeriod: this.autoscalingCooldownSec,
        mode: 'ON',
        cpuUtilization: { target: this.targetCpuUtilization },
      },
    });

    // Firewall: health checks to the health port, PSC NAT to the private-link ports, and (with the
    // public path) the public port to the external load balancer's address. Nothing else. In the
    // network's project: the host project with Shared VPC.
    this.requiredFirewallRules = gatewayFirewallRules({
      name: this.name,
      healthSources: [...new Set([...INTERNAL_HEALTH_CHECK_RANGES, ...(publicAccess ? EXTERNAL_HEALTH_CHECK_RANGES : [])])],
      healthPort: this.healthPort,
      privateLinkSources: props.privateLinkSourceRanges,
      privateLinkAddress: props.privateLinkAddress,
      privateLinkPorts: this.privateLinkFrontendPorts,
      publicAccess,
      publicSources: this.publicSourceRanges,
      publicAddress: props.publicAddress,
      publicPort: this.publicFrontendPort,
    });
    if (this.manageFirewallRules) {
      const rules = createFirewallRules(this, this.requiredFirewallRules, {
        project: this.networkProject,
        network: props.network,
        serviceAccountEmail: this.serviceAccount.email,
      });
      this.healthCheckFirewall = rules.HealthCheckFirewall;
      this.privateLinkFirewall = rules.PrivateLinkFirewall;
      this.publicFirewall = rules.PublicFirewall;
    }
  }

  /** The instance group URL, for load balancer backends. */
  get instanceGroup(): string {
    return this.resource.instanceGroup;
  }

  private validate(props: GatewayInstanceGroupProps, publicAccess: boolean, drainIssues: readonly ValidationIssue[]): void {
    const v = new PropValidator(this, 'GatewayInstanceGroup');
    v.name(this.name);
    v.project(props.project);
    v.region(props.region);
    v.nonEmpty('network', props.network);
    v.nonEmpty('subnetwork', props.subnetwork);
    validateSharedVpc(v, props, { network: props.network, subnetwork: props.subnetwork });
    if (!CONFIG_DELIVERIES.includes(props.configDelivery ?? 'auto')) {
      v.fail('configDelivery', `must be one of ${CONFIG_DELIVERIES.map((d) => JSON.stringify(d)).join(', ')}, got ${JSON.stringify(props.configDelivery)}`);
    }
    v.integer('metricsLogIntervalSec', this.metricsLogIntervalSec, 0, 3600, ' s');
    if (props.configBucketName !== undefined && props.configDelivery === 'inline') {
      v.fail('configBucketName', "has no effect with configDelivery 'inline'");
    }
    v.pattern('configBucketName', props.configBucketName, /^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$/, 'a bucket name of 3 to 63 lowercase letters, digits, "-" or "_"');
    v.pattern(
      'image',
      props.image,
      IMAGE_PATTERN,
      'a container image reference like europe-west1-docker.pkg.dev/my-project/linkgate/gateway@sha256:<64 hex digits>',
    );
    v.port('privateLinkPort', this.privateLinkPort);
    v.port('privateLinkFrontendPort', this.privateLinkFrontendPort);
    v.port('healthPort', this.healthPort);
    v.port('publicPort', this.publicPort);
    v.port('publicFrontendPort', this.publicFrontendPort);
    if (this.privateLinkFrontendPort === this.healthPort) {
      v.fail('privateLinkFrontendPort', `must differ from healthPort (${this.healthPort}): the health listener must not be reachable through Private Service Connect`);
    }
    if (publicAccess && this.publicFrontendPort === this.healthPort) {
      v.fail('publicFrontendPort', `must differ from healthPort (${this.healthPort}): the health listener must not be reachable from the internet`);
    }
    if (props.privateLinkSourceRanges.length === 0) {
      v.fail('privateLinkSourceRanges', 'must list the PSC NAT subnet range(s), got []');
    }
    props.privateLinkSourceRanges.forEach((r, i) => v.ipv4Cidr(`privateLinkSourceRanges[${i}]`, r, 8, 29));
    if (
      props.privateLinkAddress === undefined &&
      !isToken(this.privateLinkFrontendPort) &&
      this.privateLinkFrontendPort !== this.privateLinkPort
    ) {
      v.fail(
        'privateLinkAddress',
        `is required when privateLinkFrontendPort (${this.privateLinkFrontendPort}) differs from privateLinkPort (${this.privateLinkPort}): ` +
          'the VM redirects the port for the internal load balancer address only',
      );
    }
    if (publicAccess) {
      if (props.publicAddress === undefined) {
        v.fail('publicAddress', "is required with publicAccess: the public port is opened for the external load balancer's address only");
      }
      this.publicSourceRanges.forEach((r, i) => v.ipv4Cidr(`publicSourceRanges[${i}]`, r));
    } else {
      for (const prop of ['publicAddress', 'publicPort', 'publicFrontendPort', 'publicSourceRanges'] as const) {
        if (props[prop] !== undefined) v.fail(prop, 'has no effect without publicAccess: true');
      }
    }
    v.nonEmpty('machineType', this.machineType);
    v.nonEmpty('sourceImage', this.sourceImage);
    v.integer('bootDiskSizeGb', this.bootDiskSizeGb, 10, 65536, ' GB');
    const zones = props.zones ?? [];
    zones.forEach((zone, i) => {
      if (isToken(zone) || isToken(props.region) || !REGION_PATTERN.test(props.region)) return;
      if (!new RegExp(`^${props.region}-[a-z]$`).test(zone)) {
        v.fail(`zones[${i}]`, `must be a zone of region ${props.region} (like ${props.region}-b), got ${JSON.stringify(zone)}`);
      }
    });
    if (props.zones !== undefined && zones.length === 0) v.fail('zones', 'must list at least one zone, or be left out to let GCP choose');
    v.integer('minInstances', this.minInstances, 1, 2000);
    v.integer('maxInstances', this.maxInstances, 1, 2000);
    if (!isToken(this.minInstances) && !isToken(this.maxInstances) && this.maxInstances < this.minInstances) {
      v.fail('maxInstances', `must be at least minInstances (${this.minInstances}), got ${this.maxInstances}`);
    }
    if (!isToken(this.targetCpuUtilization) && !(this.targetCpuUtilization > 0 && this.targetCpuUtilization <= 1)) {
      v.fail('targetCpuUtilization', `must be a fraction above 0 and at most 1 (e.g. 0.6), got ${this.targetCpuUtilization}`);
    }
    v.integer('autoscalingCooldownSec', this.autoscalingCooldownSec, 15, 3600, ' s');
    v.integer('autohealingInitialDelaySec', this.autohealingInitialDelaySec, 0, 3600, ' s');
    for (const issue of drainIssues) v.fail(issue.path, issue.message);
    v.integer('maxSurgeInstances', this.maxSurgeInstances, 1, 2000);
    if (zones.length > 0 && !isToken(this.maxSurgeInstances) && this.maxSurgeInstances < zones.length) {
      v.fail(
        'maxSurgeInstances',
        `must be at least the number of zones (${zones.length}) for a regional managed instance group, got ${this.maxSurgeInstances}`,
      );
    }
    v.throwIfInvalid();
  }

  private warnRisky(
    props: GatewayInstanceGroupProps,
    tenants: readonly TenantDeclaration[],
    inArtifactRegistry: boolean,
  ): void {
    if (!props.image.includes('@sha256:')) {
      warn(
        this,
        `image ${props.image} is not pinned by digest: re-pushing the tag does not roll the VMs, and VMs created later ` +
          '(autoscaling, autohealing) pull whatever the tag names then. Use image@sha256:<digest>.',
      );
    }
    if (!inArtifactRegistry) {
      warn(
        this,
        `image ${props.image} is not in Artifact Registry (LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/...): no pull permission ` +
          "is granted to the gateway's service account and no registry credentials are configured on the VMs.",
      );
    }
    if (!isToken(this.minInstances) && this.minInstances < 2) {
      warn(this, `minInstances is ${this.minInstances}: one VM or zone failure takes the whole gateway down.`);
    }
    if (this.stopTimeoutSec > GCE_SHUTDOWN_WINDOW_SEC - 10) {
      warn(
        this,
        `the gateway drains for up to ${this.drainDelaySec + this.drainTimeoutSec} s on SIGTERM, but Compute Engine ` +
          `gives a deleted VM about ${GCE_SHUTDOWN_WINDOW_SEC} s to shut down: the rest is cut. Rely on the load balancer's ` +
          'connection draining for long connections.',
      );
    }
    // One warning per open tenant, up to a few: a whole tenant list declared open is one summary.
    const open = tenants.filter((t) => isOpenTenant(t));
    for (const tenant of open.slice(0, MAX_OPEN_TENANT_WARNINGS)) {
      warn(
        this,
        `tenant "${tenant.name}" is open (open: true): every endpoint the service attachment accepts (any tenant's) can reach ` +
          "its hostnames. Once its psc_connection_id is known, list it in allow.gcp instead.",
      );
    }
    if (open.length > MAX_OPEN_TENANT_WARNINGS) {
      warn(this, `${open.length - MAX_OPEN_TENANT_WARNINGS} more tenants are open too.`);
    }
  }
}

const MAX_OPEN_TENANT_WARNINGS = 5;
