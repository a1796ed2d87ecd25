/**
 * The filtering gateway on Azure: a VM scale set running the gateway container (Private Link
 * requires a NIC-based backend pool, which rules out Container Instances and Container Apps).
 */
import { LinuxVirtualMachineScaleSet } from '@cdktf/provider-azurerm/lib/linux-virtual-machine-scale-set';
import { MonitorAutoscaleSetting } from '@cdktf/provider-azurerm/lib/monitor-autoscale-setting';
import {
  NetworkSecurityGroup,
  type NetworkSecurityGroupSecurityRule,
} from '@cdktf/provider-azurerm/lib/network-security-group';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { addAzureHttpResources, azureHttpMode, checkAzureHttpMode, type AzureHttpModeProps } from './http-mode';
import { UserAssignedIdentity } from '@cdktf/provider-azurerm/lib/user-assigned-identity';
import { Annotations, Fn, Token } from 'cdktf';
import { Construct } from 'constructs';
import {
  MAX_DRAIN_DELAY_SEC,
  isOpenTenant,
  parseTenantDeclarations,
  renderGatewayConfig,
  resolveGatewaySettings,
  showValue,
  type GatewaySettingsProps,
  type RenderedGatewayConfig,
  type TenantDeclarations,
  type ValidationIssue,
} from '../tenants';
import {
  GatewayBootNetwork,
  bootNetworkWarnings,
  resolveBootNetwork,
  sourceImageOf,
  validateBootNetwork,
  type GatewayBootNetworkProps,
  type ResolvedBootNetwork,
} from './boot-network';
import {
  CUSTOM_DATA_LIMIT_BYTES,
  IMAGE_REFERENCE_PATTERN,
  USER_DATA_LIMIT_BYTES,
  imageRegistry,
  isAcrLoginServer,
  renderGatewayCloudInit,
  type RenderedCloudInit,
} from './cloud-init';
import {
  AUTO_INLINE_LIMIT_BYTES,
  CONFIG_DELIVERY_VALUES,
  GatewayConfigStore,
  defaultStorageAccountName,
  type ConfigDelivery,
} from './config-store';
import type { PrivateLinkLoadBalancer } from './load-balancer';
import { OwnershipRole, resolveAzureOwnership, type AzureOwnershipSource } from './ownership';
import { GatewayObservability, METRICS_LOG_INTERVAL_SEC, type GatewayObservabilityProps } from './observability';
import type { GatewayPublicLoadBalancer } from './public-load-balancer';
import { resolveSubnet, sameSubnet, type SubnetLike } from './subnets';
import { PropIssues, defaultName, isUnresolved } from './validation';

/**
 * The gateway settings of every cloud (`GatewaySettingsProps`: upstreams, defaultTenant, limits,
 * log, drainDelaySec, drainTimeoutSec) and the scale set's own.
 */
export interface GatewayScaleSetProps extends GatewaySettingsProps, GatewayBootNetworkProps {
  /**
   * The Private Link Service whose connections owner rules (`allow.azureSubscriptions`) are read
   * from; the scale set's identity gets a custom role on it (lib/azure/ownership.ts).
   *
   * @default - none: owner rules are refused
   */
  readonly ownershipSource?: AzureOwnershipSource;
  readonly resourceGroupName: string;
  readonly location: string;
  /**
   * Subnet of the gateway NICs. With outboundAccess `none` (the default) it needs no outbound
   * access; the private endpoints go here too unless privateEndpointSubnet says otherwise.
   */
  readonly subnet: SubnetLike;
  /** The dedicated load balancer of the Private Link Service; its ports are the gateway's ports. */
  readonly privateLinkLoadBalancer: PrivateLinkLoadBalancer;
  /**
   * The Private Link Service's NAT subnets: the only sources allowed on the private-link port, since
   * the gateway trusts a PROXY header only when Azure wrote it. Their address prefixes must be known.
   */
  readonly natSubnets: SubnetLike[];
  /** The tenants; rendered into the gateway config on every synth. */
  readonly tenants: TenantDeclarations;
  /**
   * The gateway image, pushed by you, e.g. myregistry.azurecr.io/linkgate:0.1.0. Written into the
   * VMs' cloud-init and user data, so it must be known at synth time. Pin a tag or digest: a new
   * reference rolls out to running gateways (each restarts, draining first); a new push under the
   * same reference does not.
   */
  readonly image: string;
  /** SSH public key of the admin user (no inbound SSH is opened; use Bastion or serial console). */
  readonly adminSshPublicKey: string;
  /**
   * Scale set name; the NSG and autoscale setting are named after it.
   * @default - derived from the construct ID and path
   */
  readonly name?: string;
  /**
   * Resource ID of the Azure Container Registry that holds `image`. The scale set's managed identity
   * gets AcrPull on it, and the VMs log in to the registry with that identity.
   * @default - no role assignment; if `image` is in an ACR the VMs still log in with their identity,
   * and you grant it AcrPull yourself (`identityPrincipalId`)
   */
  readonly acrId?: string;
  /**
   * A public path: the gateways join this (separate) load balancer's pool with their public listener.
   * @default - no public path
   */
  readonly publicLoadBalancer?: GatewayPublicLoadBalancer;
  /**
   * Sources allowed to reach the public listener (NSG); the tenants' `allow.cidrs` still apply.
   * @default ['Internet']
   */
  readonly publicSourceAddressPrefixes?: string[];
  /**
   * After SIGTERM, seconds during which the gateway's /readyz fails while its listeners still
   * accept (0 to 600). Azure's probe needs interval × threshold to take it out of rotation.
   * @default - long enough for the private-link load balancer's probe to notice, plus one interval:
   * probeIntervalSec × (probeThreshold + 1), 15 s with the probe's defaults
   */
  readonly drainDelaySec?: number;
  /**
   * VM size.
   * @default 'Standard_D2s_v5'
   */
  readonly vmSize?: string;
  /**
   * Admin user name.
   * @default 'linkgate'
   */
  readonly adminUsername?: string;
  /**
   * OS disk storage type.
   * @default 'StandardSSD_LRS'
   */
  readonly osDiskType?: string;
  /**
   * Fewest gateways (also the initial count).
   * @default 2
   */
  readonly minInstances?: number;
  /**
   * Most gateways.
   * @default 10
   */
  readonly maxInstances?: number;
  /**
   * Average CPU percentage over 5 minutes above which one gateway is added.
   * @default 70
   */
  readonly scaleOutCpuPercent?: number;
  /**
   * Average CPU percentage over 10 minutes below which one gateway is removed.
   * @default 30
   */
  readonly scaleInCpuPercent?: number;
  /**
   * Rolling upgrades: largest share of gateways upgraded in one batch.
   * @default 20
   */
  readonly rollingMaxBatchPercent?: number;
  /**
   * Rolling upgrades: share of unhealthy gateways (overall, and among upgraded ones) at which the
   * upgrade stops.
   * @default 20
   */
  readonly rollingMaxUnhealthyPercent?: number;
  /**
   * Rolling upgrades: seconds between batches. A config change applies live, but a new image or
   * listener change restarts each gateway of a batch (agent interval + drain + pull + start), and
   * the next batch should not begin before those are back.
   * @default 90
   */
  readonly rollingPauseSec?: number;
  /**
   * Reimage gateways onto new Ubuntu images as they are published, in rolling batches gated by the
   * health probe. Reimaged VMs also pick up the current image reference and cloud-init.
   * @default true
   */
  readonly automaticOsUpgrade?: boolean;
  /**
   * Minutes a gateway may fail its probe before automatic repair replaces it (10 to 90). The first
   * boot installs Docker and pulls the image within this time.
   * @default 10
   */
  readonly repairGracePeriodMin?: number;
  /**
   * Minutes Azure announces a deletion (scale-in, repair) in scheduled events before it happens
   * (5 to 15); the agent drains the gateway and acknowledges earlier.
   * @default 5
   */
  readonly terminationNotificationMin?: number;
  /**
   * Seconds between agent runs on each VM (config from user data, scheduled events).
   * @default 10
   */
  readonly agentIntervalSec?: number;
  /**
   * Availability zones of the gateways.
   * @default - no zone pinning
   */
  readonly zones?: string[];
  /**
   * How the gateway config reaches the VMs: `inline` in custom data and user data (64 KB each),
   * `objectStore` as a blob the gateways poll (any size; a tenant change touches no VM), or `auto`:
   * inline while both stay within 32,768 bytes (half of Azure's limit), the blob above.
   * @default 'auto'
   */
  readonly configDelivery?: ConfigDelivery;
  /**
   * Name of the storage account of the config blob (3 to 24 lowercase letters and digits, unique in
   * Azure).
   * @default - from the scale set's name and the construct path
   */
  readonly configStorageAccountName?: string;
  /**
   * Public CIDRs allowed to the config storage account, for a deployer outside the VNet (Terraform
   * writes the blob through the data plane).
   * @default - public network access off: deploy from where the private endpoint resolves
   */
  readonly configDeployerIpRanges?: string[];
  /**
   * Metrics lines to Log Analytics (Azure Monitor Agent), alert rules, a workbook. On by default.
   * @default - enabled, a workspace created, alerts notify no action group
   */
  readonly observability?: GatewayObservabilityProps;
  /**
   * Grant the deploying principal Storage Blob Data Contributor on the config container, so
   * Terraform can write the blob.
   * @default true
   */
  readonly grantDeployerBlobAccess?: boolean;
  /**
   * Tags for every resource.
   * @default - none
   */
  readonly tags?: Record<string, string>;
  /**
   * Run the private-link listener in http mode with certificates from Azure Key Vault
   * (lib/azure/http-mode.ts).
   * @default - tcp mode
   */
  readonly httpMode?: AzureHttpModeProps;
}

/** NSG rule priorities: allows first, then one deny that overrides Azure's default allow rules. */
const PRIORITY = { privateLink: 100, health: 110, public: 120, denyAll: 4096 } as const;

/**
 * A VM scale set running the gateway container from cloud-init, with an NSG that admits the
 * private-link port only from the NAT subnets, CPU autoscaling, rolling upgrades gated by the
 * private-link load balancer's probe, probe-driven automatic repair, and (optionally) the public
 * listener behind a separate public load balancer.
 */
export class GatewayScaleSet extends Construct {
  readonly name: string;
  readonly image: string;
  readonly privateLinkPort: number;
  readonly healthPort: number;
  readonly publicPort?: number;
  readonly drainDelaySec: number;
  readonly drainTimeoutSec: number;
  readonly vmSize: string;
  readonly adminUsername: string;
  readonly osDiskType: string;
  readonly minInstances: number;
  readonly maxInstances: number;
  readonly scaleOutCpuPercent: number;
  readonly scaleInCpuPercent: number;
  readonly rollingMaxBatchPercent: number;
  readonly rollingMaxUnhealthyPercent: number;
  readonly rollingPauseSec: number;
  readonly automaticOsUpgrade: boolean;
  readonly repairGracePeriodMin: number;
  readonly terminationNotificationMin: number;
  readonly agentIntervalSec: number;
  readonly publicSourceAddressPrefixes: string[];
  /** The registry the VMs log in to with their managed identity, when the image is in an ACR. */
  readonly acrLoginServer?: string;
  /** Outbound access, registry endpoint, and whether Docker is installed at boot. */
  readonly boot: ResolvedBootNetwork;
  /** NAT gateway and registry private endpoint, as chosen. */
  readonly bootNetwork: GatewayBootNetwork;

  /** The prop as given (default 'auto'). */
  readonly configDelivery: ConfigDelivery;
  /** What `configDelivery` resolved to for this tenant list. */
  readonly effectiveConfigDelivery: 'inline' | 'objectStore';
  /** The blob store of the config (object-store delivery). */
  readonly configStore?: GatewayConfigStore;
  /** The identity the gateways read the config blob with (object-store delivery). */
  readonly configReader?: UserAssignedIdentity;
  /** Azure Monitor Agent, data collection, alerts and workbook (unless observability.enabled is false). */
  readonly observability?: GatewayObservability;
  /** The rendered gateway config (validated). */
  readonly config: RenderedGatewayConfig;
  /** The cloud-init (custom data) and config (user data) the VMs receive. */
  readonly cloudInit: RenderedCloudInit;

  readonly resource: LinuxVirtualMachineScaleSet;
  readonly securityGroup: NetworkSecurityGroup;
  readonly autoscale: MonitorAutoscaleSetting;
  readonly acrPull?: RoleAssignment;
  /** Principal ID of the scale set's system-assigned identity (grant it AcrPull on your registry). */
  readonly identityPrincipalId: string;

  constructor(scope: Construct, id: string, props: GatewayScaleSetProps) {
    super(scope, id);
    const pl = props.privateLinkLoadBalancer;
    const pub = props.publicLoadBalancer;
    this.name = props.name ?? defaultName(this, 'gw');
    this.image = props.image;
    this.privateLinkPort = pl.privateLinkPort;
    this.healthPort = pl.healthPort;
    this.publicPort = pub?.publicPort;
    // The probe needs interval x threshold to notice a failing /readyz; by default the gateway
    // keeps accepting that long (plus one interval) after SIGTERM, so no new flow meets a closed
    // listener.
    const settings = resolveGatewaySettings(
      props,
      {
        privateLinkPort: this.privateLinkPort,
        healthPort: this.healthPort,
        publicPort: this.publicPort,
        additionalPrivateLink: pl.additionalPorts.length ? pl.additionalPorts : undefined,
      },
      { drainDelaySec: Math.min(pl.probeIntervalSec * (pl.probeThreshold + 1), MAX_DRAIN_DELAY_SEC), isUnresolved },
    );
    this.drainDelaySec = settings.drainDelaySec;
    this.drainTimeoutSec = settings.drainTimeoutSec;
    this.vmSize = props.vmSize ?? 'Standard_D2s_v5';
    this.adminUsername = props.adminUsername ?? 'linkgate';
    this.osDiskType = props.osDiskType ?? 'StandardSSD_LRS';
    this.minInstances = props.minInstances ?? 2;
    this.maxInstances = props.maxInstances ?? 10;
    this.scaleOutCpuPercent = props.scaleOutCpuPercent ?? 70;
    this.scaleInCpuPercent = props.scaleInCpuPercent ?? 30;
    this.rollingMaxBatchPercent = props.rollingMaxBatchPercent ?? 20;
    this.rollingMaxUnhealthyPercent = props.rollingMaxUnhealthyPercent ?? 20;
    this.rollingPauseSec = props.rollingPauseSec ?? 90;
    this.automaticOsUpgrade = props.automaticOsUpgrade ?? true;
    this.repairGracePeriodMin = props.repairGracePeriodMin ?? 10;
    this.terminationNotificationMin = props.terminationNotificationMin ?? 5;
    this.agentIntervalSec = props.agentIntervalSec ?? 10;
    this.publicSourceAddressPrefixes = props.publicSourceAddressPrefixes ?? ['Internet'];
    const registry = Token.isUnresolved(props.image) ? undefined : imageRegistry(props.image);
    this.acrLoginServer = isAcrLoginServer(registry) ? registry : undefined;
    this.boot = resolveBootNetwork(props);
    this.configDelivery = props.configDelivery ?? 'auto';

    const issues = new PropIssues();
    this.validate(issues, props, settings.issues);
    validateBootNetwork(issues, props, this.boot, {
      image: props.image,
      acrLoginServer: this.acrLoginServer,
      acrId: props.acrId,
      automaticOsUpgrade: this.automaticOsUpgrade,
    });
    if (props.httpMode) for (const [path, message] of checkAzureHttpMode(props.httpMode)) issues.add(path, message);
    issues.throwIfAny(this, 'GatewayScaleSet');

    const tenants = parseTenantDeclarations(props.tenants, this.node.path);
    const owners = resolveAzureOwnership(tenants, props.ownership, props.ownershipSource);
    if (owners.problem) issues.add('ownershipSource', owners.problem);
    issues.throwIfAny(this, 'GatewayScaleSet');
    const httpMode = props.httpMode && azureHttpMode(props.httpMode);
    this.config = renderGatewayConfig(tenants, { ...settings.configOptions, ownership: owners.ownership, http: httpMode?.http }, this.node.path);
    const observe = props.observability?.enabled ?? true;
    const render = (configDelivery: 'inline' | 'objectStore') =>
      renderGatewayCloudInit({
        image: this.image,
        configJson: this.config.json,
        // docker stop outlasts the gateway's own bound by 5 s, so the gateway always ends itself.
        stopTimeoutSec: settings.stopTimeoutSec + 5,
        agentIntervalSec: this.agentIntervalSec,
        installDocker: this.boot.installDocker,
        configDelivery,
        extras: httpMode?.extras,
        // Contract B: one JSON line per tenant and outcome per minute, for the data collection rule.
        environment: observe
          ? {
              LINKGATE_METRICS_LOG_INTERVAL_SEC: String(METRICS_LOG_INTERVAL_SEC),
              LINKGATE_METRICS_LOG_SERVICE: this.name,
              LINKGATE_METRICS_LOG_TENANTS: props.observability?.metricsLogTenants ?? 'drops',
            }
          : undefined,
      });
    const inline = render('inline');
    const fitsInline = inline.customData.length <= AUTO_INLINE_LIMIT_BYTES && inline.userData.length <= AUTO_INLINE_LIMIT_BYTES;
    this.effectiveConfigDelivery =
      this.configDelivery === 'inline' || (this.configDelivery === 'auto' && fitsInline) ? 'inline' : 'objectStore';
    this.cloudInit = this.effectiveConfigDelivery === 'inline' ? inline : render('objectStore');
    this.checkSizes(tenants.length);
    this.warn(props, tenants);
    for (const w of bootNetworkWarnings(props, this.boot, this.automaticOsUpgrade)) Annotations.of(this).addWarning(w);

    this.bootNetwork = new GatewayBootNetwork(
      this,
      'Network',
      { ...props, name: this.name, acrId: props.acrId, zones: props.zones, tags: props.tags },
      this.boot,
    );

    this.securityGroup = new NetworkSecurityGroup(this, 'SecurityGroup', {
      name: `${this.name}-nsg`,
      resourceGroupName: props.resourceGroupName,
      location: props.location,
      securityRule: this.securityRules(props),
      tags: props.tags,
    });

    if (this.effectiveConfigDelivery === 'objectStore') {
      // User-assigned: its client ID and principal exist before any VM, so the read grant is in
      // place at first boot and the VMs learn the ID from user data.
      this.configReader = new UserAssignedIdentity(this, 'ConfigReader', {
        name: `${this.name}-config-reader`,
        resourceGroupName: props.resourceGroupName,
        location: props.location,
        tags: props.tags,
      });
      this.configStore = new GatewayConfigStore(this, 'ConfigStore', {
        resourceGroupName: props.resourceGroupName,
        location: props.location,
        name: this.name,
        storageAccountName: props.configStorageAccountName ?? defaultStorageAccountName(this.name, this.node.addr),
        configJson: this.config.json,
        readerPrincipalId: this.configReader.principalId,
        privateEndpointSubnetId: this.bootNetwork.privateEndpointSubnetId,
        dnsZones: this.bootNetwork.dnsZones,
        grantDeployerBlobAccess: props.grantDeployerBlobAccess,
        deployerIpRanges: props.configDeployerIpRanges,
        tags: props.tags,
      });
    }
    const store = this.configStore;
    const reader = this.configReader;

    const subnet = resolveSubnet(props.subnet);
    const rolling = this.rollingMaxUnhealthyPercent;
    this.resource = new LinuxVirtualMachineScaleSet(this, 'Resource', {
      name: this.name,
      computerNamePrefix: computerNamePrefix(this.name),
      resourceGroupName: props.resourceGroupName,
      location: props.location,
      sku: this.vmSize,
      instances: this.minInstances,
      zones: props.zones,
      adminUsername: this.adminUsername,
      adminSshKey: [{ username: this.adminUsername, publicKey: props.adminSshPublicKey }],
      disablePasswordAuthentication: true,
      ...sourceImageOf(props),
      osDisk: { caching: 'ReadWrite', storageAccountType: this.osDiskType },
      customData: this.cloudInit.customData,
      // User data follows the model to running VMs (custom data does not): a tenant or image change
      // reaches them through the rolling upgrade below, and the agent applies it.
      // With object-store delivery the model names the blob and the reading identity (known at
      // deploy only); it does not change with the tenants, so a tenant change touches no VM.
      userData:
        store && reader
          ? Fn.base64encode(Fn.jsonencode({ ...this.cloudInit.model, configUrl: store.url, clientId: reader.clientId }))
          : this.cloudInit.userData,
      identity: reader ? { type: 'SystemAssigned, UserAssigned', identityIds: [reader.id] } : { type: 'SystemAssigned' },
      // Overprovisioned extra VMs would join the pools and be deleted with connections on them.
      overprovision: false,
      upgradeMode: 'Rolling',
      rollingUpgradePolicy: {
        maxBatchInstancePercent: this.rollingMaxBatchPercent,
        maxUnhealthyInstancePercent: rolling,
        maxUnhealthyUpgradedInstancePercent: rolling,
        pauseTimeBetweenBatches: `PT${this.rollingPauseSec}S`,
        // Surge would replace VMs (and cut their connections) instead of updating them in place.
        maximumSurgeInstancesEnabled: false,
      },
      automaticOsUpgradePolicy: this.automaticOsUpgrade
        ? { enableAutomaticOsUpgrade: true, disableAutomaticRollback: false }
        : undefined,
      // Rolling upgrades, OS upgrades and repairs all judge health by the private-link LB's probe.
      healthProbeId: pl.probe.id,
      automaticInstanceRepair: { enabled: true, gracePeriod: `PT${this.repairGracePeriodMin}M`, action: 'Replace' },
      terminationNotification: { enabled: true, timeout: `PT${this.terminationNotificationMin}M` },
      networkInterface: [
        {
          name: 'gateway',
          primary: true,
          networkSecurityGroupId: this.securityGroup.id,
          ipConfiguration: [
            {
              name: 'gateway',
              primary: true,
              subnetId: subnet.id,
              // Joining the pools through the NIC is what makes them NIC-based.
              loadBalancerBackendAddressPoolIds: [pl.backendPool.id, ...(pub ? [pub.backendPool.id] : [])],
            },
          ],
        },
      ],
      tags: { ...props.tags, 'linkgate-config-sha256': this.cloudInit.configSha256.slice(0, 16) },
      // The autoscale setting owns the instance count after creation.
      lifecycle: { ignoreChanges: ['instances'] },
      // Azure requires the probe to be in use by a rule before a scale set refers to it. The first
      // boot pulls through the registry endpoint or the NAT gateway: both exist before any VM.
      dependsOn: [
        pl.rule,
        ...pl.additionalRules,
        ...(pub ? [pub.rule] : []),
        ...(this.bootNetwork.registryEndpoint ? [this.bootNetwork.registryEndpoint.resource] : []),
        ...(this.bootNetwork.natGateway ? [this.bootNetwork.natGateway.subnetAssociation] : []),
        // The first fetch finds the blob and the read grant in place.
        ...(store ? [store.blob, store.readerRole] : []),
      ],
    });
    this.identityPrincipalId = this.resource.identity.principalId;
    if (owners.ownership && props.ownershipSource) {
      new OwnershipRole(this, 'OwnershipReader', {
        source: props.ownershipSource,
        principalId: this.identityPrincipalId,
        accept: props.ownership?.accept,
        roleName: `${this.name}-ownership-reader`,
      });
    }

    if (props.httpMode) {
      const endpoint = props.httpMode.keyVaultPrivateEndpoint ?? this.boot.outboundAccess === 'none';
      addAzureHttpResources(this, props.httpMode, {
        resourceGroupName: props.resourceGroupName,
        location: props.location,
        name: this.name,
        scaleSetId: this.resource.id,
        principalId: this.identityPrincipalId,
        userAssigned: reader ? { clientId: reader.clientId, principalId: reader.principalId } : undefined,
        privateEndpoint: endpoint ? { subnetId: this.bootNetwork.privateEndpointSubnetId, zones: this.bootNetwork.dnsZones } : undefined,
        tags: props.tags,
      });
    }

    if (props.acrId !== undefined) {
      this.acrPull = new RoleAssignment(this, 'AcrPull', {
        scope: props.acrId,
        roleDefinitionName: 'AcrPull',
        principalId: this.identityPrincipalId,
        principalType: 'ServicePrincipal',
      });
    }

    if (observe) {
      this.observability = new GatewayObservability(this, 'Observability', {
        resourceGroupName: props.resourceGroupName,
        location: props.location,
        name: this.name,
        scaleSetId: this.resource.id,
        loadBalancerId: pl.resource.id,
        objectStore: this.effectiveConfigDelivery === 'objectStore',
        privateLink:
          this.boot.outboundAccess === 'none'
            ? { subnetId: this.bootNetwork.privateEndpointSubnetId, zones: this.bootNetwork.dnsZones }
            : undefined,
        settings: props.observability ?? {},
        tags: props.tags,
      });
      if (props.observability?.actionGroupId === undefined) {
        Annotations.of(this).addWarning('observability has no actionGroupId: the alert rules fire in Azure Monitor but notify no one');
      }
    }

    const cpu = (operator: string, threshold: number, window: string) => ({
      metricName: 'Percentage CPU',
      metricNamespace: 'microsoft.compute/virtualmachinescalesets',
      metricResourceId: this.resource.id,
      operator,
      threshold,
      statistic: 'Average',
      timeAggregation: 'Average',
      timeGrain: 'PT1M',
      timeWindow: window,
    });
    this.autoscale = new MonitorAutoscaleSetting(this, 'Autoscale', {
      name: `${this.name}-autoscale`,
      resourceGroupName: props.resourceGroupName,
      location: props.location,
      targetResourceId: this.resource.id,
      profile: [
        {
          name: 'cpu',
          capacity: { minimum: this.minInstances, maximum: this.maxInstances, default: this.minInstances },
          rule: [
            {
              metricTrigger: cpu('GreaterThan', this.scaleOutCpuPercent, 'PT5M'),
              scaleAction: { direction: 'Increase', type: 'ChangeCount', value: 1, cooldown: 'PT5M' },
            },
            {
              // Slower in than out: every scale-in drains one gateway's connections.
              metricTrigger: cpu('LessThan', this.scaleInCpuPercent, 'PT10M'),
              scaleAction: { direction: 'Decrease', type: 'ChangeCount', value: 1, cooldown: 'PT10M' },
            },
          ],
        },
      ],
      tags: props.tags,
    });
  }

  private validate(issues: PropIssues, props: GatewayScaleSetProps, drainIssues: readonly ValidationIssue[]): void {
    const pl = props.privateLinkLoadBalancer;
    const pub = props.publicLoadBalancer;
    issues.resourceName('name', props.name);

    if (Token.isUnresolved(props.image)) {
      issues.add(
        'image',
        'must be known at synth time (it is written into the VMs\' cloud-init), got an unresolved token; write the registry host literally, e.g. "myregistry.azurecr.io/linkgate:0.1.0"',
      );
    } else if (!IMAGE_REFERENCE_PATTERN.test(props.image)) {
      issues.add(
        'image',
        `must be a container image reference like myregistry.azurecr.io/linkgate:0.1.0 (lowercase repository, optional :tag and @sha256:digest), got ${showValue(props.image)}`,
      );
    }
    if (props.acrId !== undefined) {
      issues.resourceId('acrId', props.acrId, 'Microsoft.ContainerRegistry/registries');
      if (!Token.isUnresolved(props.image) && IMAGE_REFERENCE_PATTERN.test(props.image) && this.acrLoginServer === undefined) {
        issues.add(
          'acrId',
          `is set, but image ${showValue(props.image)} is not in an Azure Container Registry (a <name>.azurecr.io registry host)`,
        );
      }
    }
    const key = props.adminSshPublicKey;
    if (!Token.isUnresolved(key) && !/^(?:ssh-rsa|ssh-ed25519|ecdsa-sha2-nistp(?:256|384|521)) [A-Za-z0-9+/]+=*(?: \S.*)?$/.test(key.trim())) {
      issues.add('adminSshPublicKey', `must be an OpenSSH public key ("ssh-ed25519 AAAA..." or "ssh-rsa AAAA..."), got ${showValue(key)}`);
    }

    if (props.natSubnets.length === 0) {
      issues.add('natSubnets', 'must name at least one subnet: the private-link port is open only to the Private Link Service NAT subnets');
    }
    props.natSubnets.forEach((nat, i) => {
      if (resolveSubnet(nat).addressPrefixes === undefined) {
        issues.add(
          `natSubnets[${i}].addressPrefixes`,
          'is required: the NSG admits the private-link port only from the NAT subnet\'s address prefixes',
        );
      }
      if (sameSubnet(props.subnet, nat)) {
        issues.add(
          'subnet',
          `is also natSubnets[${i}]; the gateways need a subnet of their own, because whatever shares the NAT subnet could reach the private-link port and forge PROXY headers`,
        );
      }
    });

    if (pub) {
      if (pub.publicPort === pl.privateLinkPort) {
        issues.add(
          'publicLoadBalancer.publicPort',
          `port ${pub.publicPort} is also the private-link listener's port; the public listener refuses PROXY headers and needs its own port`,
        );
      }
      if (pub.publicPort === pl.healthPort) {
        issues.add('publicLoadBalancer.publicPort', `port ${pub.publicPort} is also the health listener's port`);
      }
      if (pub.healthPort !== pl.healthPort) {
        issues.add(
          'publicLoadBalancer.healthPort',
          `is ${pub.healthPort} but the gateway's health listener is on ${pl.healthPort} (privateLinkLoadBalancer.healthPort); both probes must use the same port`,
        );
      }
    }
    if (this.publicSourceAddressPrefixes.length === 0) {
      issues.add('publicSourceAddressPrefixes', 'must not be empty (use ["Internet"] for every source)');
    }

    for (const issue of drainIssues) issues.add(issue.path, issue.message);
    issues.intRange('minInstances', this.minInstances, 1, 1000);
    issues.intRange('maxInstances', this.maxInstances, 1, 1000);
    if (this.maxInstances < this.minInstances) {
      issues.add('maxInstances', `must be at least minInstances (${this.minInstances}), got ${this.maxInstances}`);
    }
    issues.intRange('scaleOutCpuPercent', this.scaleOutCpuPercent, 1, 100, 'percent');
    issues.intRange('scaleInCpuPercent', this.scaleInCpuPercent, 0, 99, 'percent');
    if (this.scaleInCpuPercent >= this.scaleOutCpuPercent) {
      issues.add(
        'scaleInCpuPercent',
        `must be below scaleOutCpuPercent (${this.scaleOutCpuPercent}), got ${this.scaleInCpuPercent}; otherwise the scale set flaps`,
      );
    }
    issues.intRange('rollingMaxBatchPercent', this.rollingMaxBatchPercent, 5, 100, 'percent');
    issues.intRange('rollingMaxUnhealthyPercent', this.rollingMaxUnhealthyPercent, 5, 100, 'percent');
    issues.intRange('rollingPauseSec', this.rollingPauseSec, 0, 3600, 'seconds');
    issues.intRange('repairGracePeriodMin', this.repairGracePeriodMin, 10, 90, 'minutes');
    issues.intRange('terminationNotificationMin', this.terminationNotificationMin, 5, 15, 'minutes');
    issues.intRange('agentIntervalSec', this.agentIntervalSec, 5, 300, 'seconds');
    const o = props.observability;
    if (o?.actionGroupId !== undefined) issues.resourceId('observability.actionGroupId', o.actionGroupId, 'Microsoft.Insights/actionGroups');
    if (o?.logAnalyticsWorkspaceId !== undefined) {
      issues.resourceId('observability.logAnalyticsWorkspaceId', o.logAnalyticsWorkspaceId, 'Microsoft.OperationalInsights/workspaces');
    }
    issues.intRange('observability.linkIdNotAllowedThreshold', o?.linkIdNotAllowedThreshold, 1, 1_000_000);
    issues.intRange('observability.configAgeAlertSec', o?.configAgeAlertSec, 60, 86_400, 'seconds');
    if (o?.metricsLogTenants !== undefined && !['drops', 'all'].includes(o.metricsLogTenants)) {
      issues.add('observability.metricsLogTenants', `must be 'drops' or 'all', got ${showValue(o.metricsLogTenants)}`);
    }
    if (!CONFIG_DELIVERY_VALUES.includes(this.configDelivery)) {
      issues.add('configDelivery', `must be one of ${CONFIG_DELIVERY_VALUES.map((v) => `'${v}'`).join(', ')}, got ${showValue(this.configDelivery)}`);
    }
    const account = props.configStorageAccountName;
    if (account !== undefined && !Token.isUnresolved(account) && !/^[a-z0-9]{3,24}$/.test(account)) {
      issues.add('configStorageAccountName', `must be 3 to 24 lowercase letters and digits (a storage account name), got ${showValue(account)}`);
    }
    (props.configDeployerIpRanges ?? []).forEach((range, i) => {
      if (!Token.isUnresolved(range) && !/^(?:\d{1,3}\.){3}\d{1,3}(?:\/\d{1,2})?$/.test(range)) {
        issues.add(`configDeployerIpRanges[${i}]`, `must be a public IPv4 address or CIDR (storage firewall rules take no IPv6), got ${showValue(range)}`);
      }
    });
  }

  private checkSizes(tenantCount: number): void {
    const configBytes = this.cloudInit.inlineConfig.length;
    const sizes = [
      { what: 'custom data (cloud-init)', bytes: this.cloudInit.customData.length, limit: CUSTOM_DATA_LIMIT_BYTES },
      { what: 'user data (gateway config)', bytes: this.cloudInit.userData.length, limit: USER_DATA_LIMIT_BYTES },
    ];
    const over = sizes.filter((s) => s.bytes > s.limit);
    if (over.length) {
      throw new Error(
        `${this.node.path}: ${over.map((s) => `${s.what} is ${s.bytes} bytes as base64, over Azure's limit of ${s.limit}`).join('; ')}. ` +
          `The gateway config of ${tenantCount} tenants compresses to ${configBytes} bytes; use configDelivery: 'objectStore' (or 'auto'), which puts the config in a blob the gateways poll.`,
      );
    }
    for (const s of sizes) {
      if (s.bytes > s.limit * 0.8) {
        Annotations.of(this).addWarning(
          `${s.what} is ${s.bytes} of ${s.limit} bytes (${Math.round((100 * s.bytes) / s.limit)}%) with ${tenantCount} tenants; switch to configDelivery: 'objectStore' (or 'auto') before it runs out`,
        );
      }
    }
  }

  private warn(props: GatewayScaleSetProps, tenants: readonly { name: string; allow?: object }[]): void {
    const a = Annotations.of(this);
    const tag = /@sha256:/.test(props.image) ? 'digest' : /:[^/:]+$/.test(props.image) ? props.image.replace(/^.*:/, '') : undefined;
    if (tag === undefined || tag === 'latest') {
      a.addWarning(
        `image ${showValue(props.image)} has no pinned tag or digest: a push to it changes nothing in the scale-set model, so no rolling upgrade carries it, and VMs created later may run another version`,
      );
    }
    if (this.acrLoginServer !== undefined && props.acrId === undefined) {
      a.addWarning(
        `image is in ${this.acrLoginServer} but acrId is not set: grant the scale set's identity (identityPrincipalId) AcrPull on that registry yourself, or the VMs cannot pull`,
      );
    }
    if (this.minInstances < 2) {
      a.addWarning('minInstances is 1: every rolling upgrade, OS upgrade or repair takes the only gateway away');
    }
    const open = tenants.filter((t) => isOpenTenant(t));
    if (open.length) {
      const names = open.slice(0, 5).map((t) => t.name).join(', ');
      a.addWarning(
        `${open.length} tenant(s) are open (open: true) and accept connections from every source: ${names}${open.length > 5 ? ', ...' : ''}`,
      );
    }
  }

  private securityRules(props: GatewayScaleSetProps): NetworkSecurityGroupSecurityRule[] {
    const lists = props.natSubnets.map((s) => resolveSubnet(s).addressPrefixes!);
    // Prefixes known only at deploy (a token list) are joined by Terraform, not here.
    const natPrefixes = lists.some((l) => Token.isUnresolved(l)) ? Token.asList(Fn.concat(lists)) : lists.flat();
    const allow = (name: string, priority: number, port: number, sources: string[], description: string) => ({
      name,
      priority,
      direction: 'Inbound',
      access: 'Allow',
      protocol: 'Tcp',
      sourcePortRange: '*',
      destinationAddressPrefix: '*',
      destinationPortRange: String(port),
      ...(sources.length === 1 && !Token.isUnresolved(sources) ? { sourceAddressPrefix: sources[0] } : { sourceAddressPrefixes: sources }),
      description,
    });
    const rules: NetworkSecurityGroupSecurityRule[] = [
      allow(
        'allow-private-link-from-nat-subnets',
        PRIORITY.privateLink,
        this.privateLinkPort,
        natPrefixes,
        'PROXY v2 headers are trusted only from the Private Link Service NAT IPs',
      ),
      // Each additional private-link port: from the NAT subnets only, like the first.
      ...props.privateLinkLoadBalancer.additionalPorts.map((port, i) =>
        allow(
          `allow-private-link-${port.name}-from-nat-subnets`,
          PRIORITY.privateLink + 1 + i,
          port.gatewayPort,
          natPrefixes,
          `PROXY v2 headers on ${port.name} are trusted only from the Private Link Service NAT IPs`,
        ),
      ),
      allow(
        'allow-health-probes',
        PRIORITY.health,
        this.healthPort,
        ['AzureLoadBalancer'],
        'Load balancer probes of /readyz',
      ),
    ];
    if (this.publicPort !== undefined) {
      rules.push(
        allow(
          'allow-public-listener',
          PRIORITY.public,
          this.publicPort,
          this.publicSourceAddressPrefixes,
          'Public path; tenants\' CIDR rules apply in the gateway',
        ),
      );
    }
    rules.push({
      name: 'deny-all-other-inbound',
      priority: PRIORITY.denyAll,
      direction: 'Inbound',
      access: 'Deny',
      protocol: '*',
      sourcePortRange: '*',
      sourceAddressPrefix: '*',
      destinationPortRange: '*',
      destinationAddressPrefix: '*',
      // Azure's default rules allow the whole VNet (65000) and every LB port (65001) in.
      description: 'Overrides AllowVnetInBound and AllowAzureLoadBalancerInBound',
    });
    return rules;
  }
}

/** Linux computer names: at most 15 characters here (safe everywhere), letters, digits, hyphens. */
function computerNamePrefix(name: string): string {
  if (Token.isUnresolved(name)) return 'linkgate';
  const cleaned = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').slice(0, 15).replace(/^-+|-+$/g, '');
  return cleaned || 'linkgate';
}
