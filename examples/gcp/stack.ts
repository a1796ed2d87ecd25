/**
 * linkgate on GCP, both sides in one stack so it can be read (and synthesized) in one place:
 *
 *  - provider side, in the SaaS provider's project: a VPC, the gateway and its Private Service
 *    Connect service attachment, from the tenant list;
 *  - consumer side, in a customer's project (an aliased provider): a PSC endpoint to that
 *    attachment, private DNS for the tenant's hostname, and the `psc_connection_id` output the
 *    customer sends back.
 *
 * In real use the two sides live in different stacks (and organizations). Onboarding a customer:
 * add the tenant with its project in `consumers.gcp.projects`, deploy; the customer deploys the
 * endpoint and reads `psc_connection_id`; add it to the tenant's `allow.gcp` (a quoted string),
 * deploy again: the gateways roll onto the new config.
 */
import { ComputeNetwork } from '@cdktf/provider-google/lib/compute-network';
import { ComputeSubnetwork } from '@cdktf/provider-google/lib/compute-subnetwork';
import { MonitoringNotificationChannel } from '@cdktf/provider-google/lib/monitoring-notification-channel';
import { GoogleProvider } from '@cdktf/provider-google/lib/provider';
import { TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { PrivateServiceConnectGateway, PscConsumerEndpoint } from 'linkgate/gcp';
import type { TenantDeclarations } from 'linkgate/tenants';

const PROVIDER_PROJECT = 'linkgate-provider-demo';
const CONSUMER_PROJECT = 'megacorp-prod';
const REGION = 'europe-west1';

/** The tenant list: the one place a customer is onboarded or removed. */
export const EXAMPLE_TENANTS: TenantDeclarations = [
  {
    name: 'megacorp',
    hostnames: ['megacorp.api.example.com', '*.megacorp.example.com'],
    // PSC connection IDs are uint64 decimal strings; this one is above 2^53.
    allow: { gcp: ['18446744072646845442'] },
    consumers: { gcp: { projects: [{ id: CONSUMER_PROJECT, connectionLimit: 5 }] } },
  },
  {
    name: 'initech',
    hostnames: ['initech.api.example.com'],
    allow: { gcp: ['9007199254740993'], cidrs: ['198.51.100.0/24'] },
    consumers: { gcp: { projects: [{ id: 'initech-shared-vpc', connectionLimit: 2 }] } },
  },
];

export class GcpExampleStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);

    // ---- Provider side (the SaaS): the stack, not the constructs, configures the provider.
    new GoogleProvider(this, 'Google', { project: PROVIDER_PROJECT, region: REGION });

    const network = new ComputeNetwork(this, 'Network', { name: 'linkgate', autoCreateSubnetworks: false });
    const subnet = new ComputeSubnetwork(this, 'GatewaySubnet', {
      name: 'linkgate-gateway',
      network: network.id,
      region: REGION,
      ipCidrRange: '10.10.0.0/24',
      // The gateway VMs have no external IP: this lets them pull the image and write logs.
      privateIpGoogleAccess: true,
    });

    // Where the gateway's alerts go (attacks, refused endpoints, capacity, config, health).
    const oncall = new MonitoringNotificationChannel(this, 'Oncall', {
      displayName: 'linkgate on-call',
      type: 'email',
      labels: { email_address: 'oncall@example.com' },
    });

    const linkgate = new PrivateServiceConnectGateway(this, 'Linkgate', {
      project: PROVIDER_PROJECT,
      region: REGION,
      network: network.id,
      subnetwork: subnet.id,
      zones: [`${REGION}-b`, `${REGION}-c`, `${REGION}-d`],
      pscNatSubnetCidr: '10.100.0.0/24',
      // Push the image built from this repository's Dockerfile, then paste its digest here.
      image: `${REGION}-docker.pkg.dev/${PROVIDER_PROJECT}/linkgate/gateway@sha256:${'0'.repeat(64)}`,
      tenants: EXAMPLE_TENANTS,
      // The gateway settings have the same names on every cloud (GatewaySettingsProps): upstreams, and
      // optionally defaultTenant, limits, log, drainDelaySec and drainTimeoutSec.
      upstreams: { default: { host: 'app.internal.example.com', port: 443 } },
      domainName: 'api.example.com.',
      publicAccess: true,
      observability: { notificationChannels: [oncall.id] },
    });
    new TerraformOutput(this, 'service_attachment', {
      value: linkgate.serviceAttachmentId,
      description: 'Give this to customers: the target of their PSC endpoint.',
    });
    new TerraformOutput(this, 'public_ip', { value: linkgate.publicLoadBalancer!.ipAddress });

    // ---- Consumer side (the customer, here megacorp), with its own provider configuration.
    const consumer = new GoogleProvider(this, 'Consumer', { alias: 'consumer', project: CONSUMER_PROJECT, region: REGION });
    const consumerNetwork = new ComputeNetwork(this, 'ConsumerNetwork', {
      provider: consumer,
      name: 'megacorp',
      autoCreateSubnetworks: false,
    });
    const consumerSubnet = new ComputeSubnetwork(this, 'ConsumerSubnet', {
      provider: consumer,
      name: 'megacorp-apps',
      network: consumerNetwork.id,
      region: REGION,
      ipCidrRange: '10.20.0.0/24',
    });
    new PscConsumerEndpoint(this, 'MegacorpEndpoint', {
      provider: consumer,
      region: REGION,
      network: consumerNetwork.id,
      subnetwork: consumerSubnet.id,
      // Across organizations this is the `service_attachment` output, pasted as a string.
      serviceAttachment: linkgate.serviceAttachmentId,
      hostnames: ['megacorp.api.example.com', '*.megacorp.example.com'],
    });
  }
}
