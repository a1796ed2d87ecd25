/**
 * How a gateway VM boots and reaches what it needs, without the public internet by default.
 *
 * The choice (see README "Running in production — Azure"): an image that ships Docker, built by
 * you into an Azure Compute Gallery (`sourceImageId`), and the registry (Premium: the tier with
 * private endpoints) through a private endpoint with the `privatelink.azurecr.io` zone linked to
 * the VNet. Nothing is downloaded at boot; automatic OS upgrades roll out new *gallery image
 * versions* (which ship Docker too), so they bring no downloads back. The VMs log in to the
 * registry as before (managed identity token from the Instance Metadata Service, exchanged at the
 * registry's /oauth2/exchange), now over the private endpoint.
 */
import { DataAzurermContainerRegistry } from '@cdktf/provider-azurerm/lib/data-azurerm-container-registry';
import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { showValue } from '../tenants';
import { DEFAULT_SOURCE_IMAGE } from './cloud-init';
import { GatewayNatGateway, OUTBOUND_ACCESS_VALUES, type OutboundAccess } from './egress';
import { PRIVATE_DNS_ZONE, PrivateDnsZones, ServicePrivateEndpoint, virtualNetworkIdOf, type PrivateDnsZoneIds } from './private-endpoint';
import { resolveSubnet, type SubnetLike } from './subnets';
import type { PropIssues } from './validation';

/** The boot and network props of the gateway scale set. */
export interface GatewayBootNetworkProps {
  /**
   * The gateways' path to the internet. `none`: nothing is downloaded at boot, and the registry,
   * the config store and Azure Monitor are reached through private endpoints (needs `sourceImageId`
   * and an image in a Premium ACR with `acrId`). `natGateway`: a NAT gateway on the gateway subnet.
   * `existing`: the subnet already has a path (your NAT gateway or firewall).
   * @default 'none'
   */
  readonly outboundAccess?: OutboundAccess;
  /**
   * The VM image: an image that ships Docker (and python3, curl), as an Azure Compute Gallery image
   * definition ID (automatic OS upgrades then roll out each new version you publish), a gallery
   * image version ID, or a community/shared gallery image. Nothing is installed at boot.
   * @default - Canonical Ubuntu 22.04, which installs Docker from the Ubuntu archive at every boot and
   * reimage: only with outboundAccess `natGateway` or `existing`
   */
  readonly sourceImageId?: string;
  /**
   * Reach the registry (`acrId`) through a private endpoint. The registry must be Premium (checked
   * at plan time: Terraform refuses to continue otherwise).
   * @default - true with outboundAccess `none`, else false
   */
  readonly registryPrivateEndpoint?: boolean;
  /**
   * Subnet of the private endpoints (registry, config store, Azure Monitor).
   * @default - the gateway subnet
   */
  readonly privateEndpointSubnet?: SubnetLike;
  /**
   * The VNet the created private DNS zones are linked to.
   * @default - the gateway subnet's VNet (from its resource ID)
   */
  readonly virtualNetworkId?: string;
  /**
   * Existing private DNS zones (e.g. in a hub) to register the private endpoints in, instead of
   * creating zones in the gateway's resource group. Pass them for a second gateway in the same
   * resource group: a zone name exists once per group.
   * @default - zones are created and linked to the VNet
   */
  readonly privateDnsZoneIds?: PrivateDnsZoneIds;
}

export interface ResolvedBootNetwork {
  readonly outboundAccess: OutboundAccess;
  readonly registryPrivateEndpoint: boolean;
  /** Docker comes from the Ubuntu archive at boot (no sourceImageId). */
  readonly installDocker: boolean;
}

export function resolveBootNetwork(props: GatewayBootNetworkProps): ResolvedBootNetwork {
  const outboundAccess = props.outboundAccess ?? 'none';
  return {
    outboundAccess,
    registryPrivateEndpoint: props.registryPrivateEndpoint ?? outboundAccess === 'none',
    installDocker: props.sourceImageId === undefined,
  };
}

const GALLERY_IMAGE = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Compute\/galleries\/[^/]+\/images\/[^/]+(\/versions\/[^/]+)?$/i;
const SHARED_IMAGE = /^\/(?:communityGalleries|sharedGalleries)\/[^/]+\/images\/[^/]+(\/versions\/[^/]+)?$/i;
const MANAGED_IMAGE = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Compute\/images\/[^/]+$/i;

/** Kinds of `sourceImageId`, as far as known at synth time. */
export function sourceImageKind(id: string | undefined): 'platform' | 'definition' | 'version' | 'managed' | 'unknown' | 'invalid' {
  if (id === undefined) return 'platform';
  if (Token.isUnresolved(id)) return 'unknown';
  const gallery = GALLERY_IMAGE.exec(id) ?? SHARED_IMAGE.exec(id);
  if (gallery) return gallery[1] ? 'version' : 'definition';
  return MANAGED_IMAGE.test(id) ? 'managed' : 'invalid';
}

export interface BootNetworkContext {
  readonly image: string;
  /** The image's registry when it is an ACR login server. */
  readonly acrLoginServer?: string;
  readonly acrId?: string;
  readonly automaticOsUpgrade: boolean;
}

export function validateBootNetwork(issues: PropIssues, props: GatewayBootNetworkProps, boot: ResolvedBootNetwork, ctx: BootNetworkContext): void {
  if (!OUTBOUND_ACCESS_VALUES.includes(boot.outboundAccess)) {
    issues.add('outboundAccess', `must be one of ${OUTBOUND_ACCESS_VALUES.map((v) => `'${v}'`).join(', ')}, got ${showValue(boot.outboundAccess)}`);
    return;
  }
  const kind = sourceImageKind(props.sourceImageId);
  if (kind === 'invalid') {
    issues.add(
      'sourceImageId',
      `must be an Azure Compute Gallery image (/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Compute/galleries/<gallery>/images/<definition>[/versions/<version>], or a /communityGalleries/ or /sharedGalleries/ image) or a managed image ID, got ${showValue(props.sourceImageId)}`,
    );
  }
  if (kind === 'managed' && ctx.automaticOsUpgrade) {
    issues.add(
      'sourceImageId',
      'is a managed image, and automatic OS image upgrades need a platform or Azure Compute Gallery image: publish it to a gallery, or set automaticOsUpgrade: false',
    );
  }
  const none = boot.outboundAccess === 'none';
  if (none && kind === 'platform') {
    issues.add(
      'sourceImageId',
      "is required with outboundAccess 'none': the default Ubuntu platform image would install Docker from the Ubuntu archive at every boot and reimage, which needs the internet. Build an image that ships Docker into an Azure Compute Gallery (README: Running in production — Azure), or set outboundAccess: 'natGateway'",
    );
  }
  if (none && !boot.registryPrivateEndpoint) {
    issues.add('registryPrivateEndpoint', "cannot be false with outboundAccess 'none': without the internet the VMs reach the registry only through a private endpoint");
  }
  if (boot.registryPrivateEndpoint && !Token.isUnresolved(ctx.image)) {
    if (ctx.acrLoginServer === undefined) {
      issues.add(
        'image',
        `${showValue(ctx.image)} is not in an Azure Container Registry (<name>.azurecr.io), and ${none ? "with outboundAccess 'none' " : 'with registryPrivateEndpoint '}the VMs reach the registry only through a private endpoint to an ACR: push the image to a Premium ACR${none ? ", or set outboundAccess: 'natGateway'" : ''}`,
      );
    } else if (ctx.acrId === undefined) {
      issues.add('acrId', `is required ${none ? "with outboundAccess 'none'" : 'with registryPrivateEndpoint'}: the private endpoint to ${ctx.acrLoginServer} is created on that registry`);
    } else if (!Token.isUnresolved(ctx.acrId)) {
      const name = /\/registries\/([^/]+)$/i.exec(ctx.acrId)?.[1]?.toLowerCase();
      if (name !== undefined && name !== ctx.acrLoginServer.split('.')[0]) {
        issues.add('acrId', `names registry ${showValue(name)}, but the image is in ${ctx.acrLoginServer}: the private endpoint would lead to another registry`);
      }
    }
  }
  const zones = props.privateDnsZoneIds;
  if (zones?.registry !== undefined) issues.resourceId('privateDnsZoneIds.registry', zones.registry, 'Microsoft.Network/privateDnsZones');
  if (zones?.blob !== undefined) issues.resourceId('privateDnsZoneIds.blob', zones.blob, 'Microsoft.Network/privateDnsZones');
}

/** Warnings for legal but surprising boot settings. */
export function bootNetworkWarnings(props: GatewayBootNetworkProps, boot: ResolvedBootNetwork, automaticOsUpgrade: boolean): string[] {
  const warnings: string[] = [];
  if (sourceImageKind(props.sourceImageId) === 'version' && automaticOsUpgrade) {
    warnings.push(
      'sourceImageId pins a gallery image version: automatic OS image upgrades have nothing newer to roll out; pass the image definition ID (without /versions/...) to follow the latest version',
    );
  }
  if (boot.installDocker && boot.outboundAccess !== 'none') {
    warnings.push(
      `no sourceImageId: every boot and every automatic OS upgrade installs Docker from the Ubuntu archive through the ${boot.outboundAccess === 'natGateway' ? 'NAT gateway' : "subnet's outbound path"}; an image that ships Docker boots without it`,
    );
  }
  return warnings;
}

/** The VM image of the scale set, as azurerm_linux_virtual_machine_scale_set takes it. */
export function sourceImageOf(props: GatewayBootNetworkProps): { sourceImageId: string } | { sourceImageReference: typeof DEFAULT_SOURCE_IMAGE } {
  return props.sourceImageId !== undefined ? { sourceImageId: props.sourceImageId } : { sourceImageReference: { ...DEFAULT_SOURCE_IMAGE } };
}

export interface GatewayBootNetworkResourcesProps extends GatewayBootNetworkProps {
  readonly resourceGroupName: string;
  readonly location: string;
  /** Prefix of the resources' names (the scale set's name). */
  readonly name: string;
  readonly subnet: SubnetLike;
  readonly acrId?: string;
  readonly zones?: string[];
  readonly tags?: Record<string, string>;
}

/**
 * The resources of the chosen outbound access: a NAT gateway (`natGateway`) and/or the registry's
 * private endpoint with its zone, and a plan-time check that the registry is Premium.
 */
export class GatewayBootNetwork extends Construct {
  readonly natGateway?: GatewayNatGateway;
  readonly registryEndpoint?: ServicePrivateEndpoint;
  readonly registry?: DataAzurermContainerRegistry;
  /** Subnet ID of the private endpoints. */
  readonly privateEndpointSubnetId: string;
  /** VNet the created private DNS zones are linked to. */
  readonly virtualNetworkId: string;
  /** The private DNS zones of every endpoint of this gateway (registry, config blob, Azure Monitor). */
  readonly dnsZones: PrivateDnsZones;

  constructor(scope: Construct, id: string, props: GatewayBootNetworkResourcesProps, boot: ResolvedBootNetwork) {
    super(scope, id);
    const subnetId = resolveSubnet(props.subnet).id;
    this.privateEndpointSubnetId = props.privateEndpointSubnet ? resolveSubnet(props.privateEndpointSubnet).id : subnetId;
    this.virtualNetworkId = props.virtualNetworkId ?? virtualNetworkIdOf(subnetId);
    const zones = props.privateDnsZoneIds;
    this.dnsZones = new PrivateDnsZones(this, 'Dns', {
      resourceGroupName: props.resourceGroupName,
      virtualNetworkId: this.virtualNetworkId,
      name: props.name,
      existing: {
        ...zones?.byZoneName,
        ...(zones?.registry !== undefined ? { [PRIVATE_DNS_ZONE.registry]: zones.registry } : {}),
        ...(zones?.blob !== undefined ? { [PRIVATE_DNS_ZONE.blob]: zones.blob } : {}),
      },
      tags: props.tags,
    });

    if (boot.outboundAccess === 'natGateway') {
      this.natGateway = new GatewayNatGateway(this, 'NatGateway', {
        resourceGroupName: props.resourceGroupName,
        location: props.location,
        name: `${props.name}-egress`,
        subnetId,
        // A NAT gateway lives in one zone at most.
        zones: props.zones?.length === 1 ? props.zones : undefined,
        tags: props.tags,
      });
    }
    if (boot.registryPrivateEndpoint && props.acrId !== undefined) {
      const acrId = props.acrId;
      const parts = /^\/subscriptions\/[^/]+\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ContainerRegistry\/registries\/([^/]+)$/i.exec(acrId);
      if (parts) {
        // Private endpoints exist on Premium registries only; Azure's own error comes late and
        // unclear, so the plan stops first, naming the fix.
        this.registry = new DataAzurermContainerRegistry(this, 'Registry', {
          name: parts[2]!,
          resourceGroupName: parts[1]!,
          lifecycle: {
            postcondition: [
              {
                condition: '${self.sku == "Premium"}',
                errorMessage: `linkgate: registry ${parts[2]} must be Premium to have a private endpoint (outboundAccess 'none' or registryPrivateEndpoint): az acr update -n ${parts[2]} --sku Premium, or use outboundAccess 'natGateway' with registryPrivateEndpoint false`,
              },
            ],
          },
        });
      }
      this.registryEndpoint = new ServicePrivateEndpoint(this, 'RegistryEndpoint', {
        resourceGroupName: props.resourceGroupName,
        location: props.location,
        name: `${props.name}-acr`,
        subnetId: this.privateEndpointSubnetId,
        resourceId: acrId,
        subresource: 'registry',
        zoneNames: [PRIVATE_DNS_ZONE.registry],
        zones: this.dnsZones,
        tags: props.tags,
      });
    }
  }
}
