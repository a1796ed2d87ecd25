/**
 * The Azure example behind `npx cdktf deploy linkgate-azure`: a provider side (network, gateway
 * scale set, dedicated load balancers, Private Link Service) and, in its own resource group and
 * VNet, a consumer side as a customer would deploy it (private endpoint + private DNS).
 *
 * Before deploying: push the gateway image to your registry (docker build -t <registry>/linkgate:0.1.0 .
 * && docker push ...), build a VM image that ships Docker into an Azure Compute Gallery (README:
 * "Running in production — Azure"), and replace the constants below with your registry, image, key
 * and tenants. The gateways get no path to the internet: the registry (Premium) is reached through a
 * private endpoint, and nothing is downloaded at boot.
 */
import { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider';
import { ResourceGroup } from '@cdktf/provider-azurerm/lib/resource-group';
import { Subnet } from '@cdktf/provider-azurerm/lib/subnet';
import { VirtualNetwork } from '@cdktf/provider-azurerm/lib/virtual-network';
import { TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { PrivateLinkConsumer, PrivateLinkGateway, PrivateLinkNatSubnet } from 'linkgate/azure';
import type { TenantDeclarations } from 'linkgate/tenants';

const LOCATION = 'westeurope';
/** Your registry and the image you pushed to it (pin a tag or digest). */
const REGISTRY = 'linkgateexample.azurecr.io';
const IMAGE = `${REGISTRY}/linkgate:0.1.0`;
const ACR_ID =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/linkgate-images/providers/Microsoft.ContainerRegistry/registries/linkgateexample';
/**
 * A gallery image definition whose versions ship Docker; automatic OS upgrades roll out each new
 * version. (For a first try without one: outboundAccess: 'natGateway' and no sourceImageId.)
 */
const SOURCE_IMAGE_ID =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/linkgate-images/providers/Microsoft.Compute/galleries/linkgate/images/ubuntu-docker';
/** The action group your alerts go to (on-call e-mail, webhook, ...). */
const ACTION_GROUP_ID =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ops/providers/Microsoft.Insights/actionGroups/linkgate-oncall';
/** No SSH port is opened; the key is for Azure Bastion or the serial console. Replace it with yours. */
const ADMIN_SSH_PUBLIC_KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDG85aPbZhhzwfW4DPNqKhoQFQTKmFo05hB2yAE+qmJa linkgate-example (replace with yours)';

/**
 * Each tenant: its hostnames, the LinkIDs of its private endpoints (allow.azure), and the
 * subscriptions that may see the service and request a connection (consumers.azure).
 */
export const EXAMPLE_TENANTS: TenantDeclarations = [
  {
    name: 'megacorp',
    hostnames: ['megacorp.api.example.com', '*.megacorp.example.com'],
    allow: { azure: ['553665985'] },
    consumers: { azure: { subscriptions: ['11111111-2222-3333-4444-555555555555'] } },
  },
  {
    name: 'initech',
    hostnames: ['initech.api.example.com'],
    allow: { azure: ['1203456789'], cidrs: ['203.0.113.0/24'] },
    consumers: { azure: { subscriptions: ['66666666-7777-8888-9999-000000000000'], autoApprove: true } },
  },
];

export class AzureExampleStack extends TerraformStack {
  readonly gateway: PrivateLinkGateway;
  readonly consumer: PrivateLinkConsumer;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    // The stack owns the provider; the constructs never create one. Credentials and the
    // subscription come from the environment at deploy time (az login, ARM_SUBSCRIPTION_ID).
    new AzurermProvider(this, 'azurerm', { features: [{}] });

    // ---- Provider side -------------------------------------------------------------------------
    const rg = new ResourceGroup(this, 'ProviderGroup', { name: 'linkgate-provider', location: LOCATION });
    const vnet = new VirtualNetwork(this, 'ProviderNetwork', {
      name: 'linkgate-provider',
      resourceGroupName: rg.name,
      location: LOCATION,
      addressSpace: ['10.20.0.0/16'],
    });
    const frontendSubnet = new Subnet(this, 'FrontendSubnet', {
      name: 'frontend',
      resourceGroupName: rg.name,
      virtualNetworkName: vnet.name,
      addressPrefixes: ['10.20.1.0/24'],
    });
    const gatewaySubnet = new Subnet(this, 'GatewaySubnet', {
      name: 'gateways',
      resourceGroupName: rg.name,
      virtualNetworkName: vnet.name,
      addressPrefixes: ['10.20.2.0/24'],
    });
    const natSubnet = new PrivateLinkNatSubnet(this, 'NatSubnet', {
      name: 'private-link-nat',
      resourceGroupName: rg.name,
      virtualNetworkName: vnet.name,
      addressPrefixes: ['10.20.3.0/27'],
    });

    this.gateway = new PrivateLinkGateway(this, 'linkgate', {
      resourceGroupName: rg.name,
      location: LOCATION,
      frontendSubnet,
      gatewaySubnet,
      natSubnet,
      tenants: EXAMPLE_TENANTS,
      // The gateway settings have the same names on every cloud (GatewaySettingsProps): upstreams, and
      // optionally defaultTenant, limits, log, drainDelaySec and drainTimeoutSec.
      upstreams: { default: { host: 'app.internal.example.com', port: 443 } },
      image: IMAGE,
      acrId: ACR_ID,
      sourceImageId: SOURCE_IMAGE_ID,
      // The default: no path to the internet; the registry through a private endpoint.
      outboundAccess: 'none',
      // Metrics lines to Log Analytics, alert rules to this action group, a workbook.
      observability: { actionGroupId: ACTION_GROUP_ID },
      adminSshPublicKey: ADMIN_SSH_PUBLIC_KEY,
      publicPath: true,
      fqdns: ['api.example.com'],
    });
    // Outputs service_alias and service_id: the alias is what customers connect to.

    // ---- Consumer side (what a customer deploys in their own subscription) -----------------------
    const consumerRg = new ResourceGroup(this, 'ConsumerGroup', { name: 'linkgate-consumer', location: LOCATION });
    const consumerVnet = new VirtualNetwork(this, 'ConsumerNetwork', {
      name: 'megacorp-app',
      resourceGroupName: consumerRg.name,
      location: LOCATION,
      addressSpace: ['10.30.0.0/16'],
    });
    const endpointSubnet = new Subnet(this, 'EndpointSubnet', {
      name: 'endpoints',
      resourceGroupName: consumerRg.name,
      virtualNetworkName: consumerVnet.name,
      addressPrefixes: ['10.30.1.0/24'],
    });
    this.consumer = new PrivateLinkConsumer(this, 'megacorp', {
      name: 'megacorp-linkgate',
      resourceGroupName: consumerRg.name,
      location: LOCATION,
      subnet: endpointSubnet,
      virtualNetworkId: consumerVnet.id,
      // A customer writes the alias the provider gave them; here it comes from the same stack.
      serviceAlias: this.gateway.alias,
      hostnames: ['megacorp.api.example.com', '*.megacorp.example.com'],
      // Outputs consumer_private_endpoint_id: what the customer sends to the provider.
      outputPrefix: 'consumer_',
    });
  }
}
