/**
 * The customer's side: a private endpoint to the provider's Private Link Service, and private DNS
 * so the tenant's hostnames resolve to that endpoint inside the customer's VNet.
 */
import { PrivateDnsARecord } from '@cdktf/provider-azurerm/lib/private-dns-a-record';
import { PrivateDnsZone } from '@cdktf/provider-azurerm/lib/private-dns-zone';
import { PrivateDnsZoneVirtualNetworkLink } from '@cdktf/provider-azurerm/lib/private-dns-zone-virtual-network-link';
import { PrivateEndpoint } from '@cdktf/provider-azurerm/lib/private-endpoint';
import { Token, type TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';
import { hostnameSchema, hostnameZones, showValue } from '../tenants';
import { doctorCommand } from '../tenants/doctor-command';
import { checkOutputPrefix, stableOutput } from './outputs';
import { resolveSubnet, type SubnetLike } from './subnets';
import { PropIssues, defaultName } from './validation';

export interface PrivateLinkConsumerProps {
  readonly resourceGroupName: string;
  readonly location: string;
  /** Subnet the private endpoint's NIC goes into. */
  readonly subnet: SubnetLike;
  /** The VNet whose workloads resolve the tenant hostnames privately. */
  readonly virtualNetworkId: string;
  /** The provider's Private Link Service alias (`<name>.<guid>.<region>.azure.privatelinkservice`). */
  readonly serviceAlias: string;
  /** The tenant's hostnames, as the provider registered them (`*.` wildcards allowed). */
  readonly hostnames: string[];
  /**
   * Private endpoint name.
   * @default - derived from the construct ID and path
   */
  readonly name?: string;
  /**
   * Message the provider sees with the connection request (at most 140 characters).
   * @default - names the hostnames
   */
  readonly requestMessage?: string;
  /**
   * TTL of the A records, in seconds.
   * @default 300
   */
  readonly dnsTtlSec?: number;
  /**
   * Prefix of the Terraform outputs' names, for a stack holding two endpoints (`saas_` gives
   * `saas_private_endpoint_id`, ...).
   * @default - none: the outputs are named `private_endpoint_id` and `private_ip_address`
   */
  readonly outputPrefix?: string;
  /**
   * Tags.
   * @default - none
   */
  readonly tags?: Record<string, string>;
}

/** A private DNS zone of the consumer, with the records that point into it. */
export interface ConsumerDnsZone {
  readonly zone: PrivateDnsZone;
  readonly link: PrivateDnsZoneVirtualNetworkLink;
  readonly records: PrivateDnsARecord[];
}

/**
 * A private endpoint that requests (manual approval) a connection to the provider's service alias,
 * and one private DNS zone per hostname, linked to the consumer VNet, with an A record pointing at
 * the endpoint. Each hostname gets its own zone (or, for `*.name`, the zone `name` with a `*`
 * record) so the rest of the parent domain keeps resolving publicly.
 */
export class PrivateLinkConsumer extends Construct {
  readonly name: string;
  readonly hostnames: string[];
  readonly requestMessage: string;
  readonly dnsTtlSec: number;

  readonly resource: PrivateEndpoint;
  /** The endpoint's private IP address (what the A records point at). */
  readonly privateIpAddress: string;
  /** The endpoint's resource ID: send it to the provider to be onboarded. */
  readonly privateEndpointId: string;
  readonly zones: ConsumerDnsZone[];
  readonly endpointIdOutput: TerraformOutput;
  readonly privateIpOutput: TerraformOutput;
  /** `linkgate doctor` for the first hostname. */
  readonly doctorCommandOutput: TerraformOutput;

  constructor(scope: Construct, id: string, props: PrivateLinkConsumerProps) {
    super(scope, id);
    this.name = props.name ?? defaultName(this, 'pe');
    this.dnsTtlSec = props.dnsTtlSec ?? 300;

    const issues = new PropIssues();
    issues.resourceName('name', props.name);
    const alias = props.serviceAlias;
    if (!Token.isUnresolved(alias) && !/^[A-Za-z0-9][A-Za-z0-9_.-]*\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.[a-z0-9]+\.azure\.privatelinkservice$/i.test(alias)) {
      issues.add(
        'serviceAlias',
        `must be a Private Link Service alias like myservice.00000000-0000-0000-0000-000000000000.westeurope.azure.privatelinkservice, got ${showValue(alias)}`,
      );
    }
    const hostnames: string[] = [];
    if (props.hostnames.length === 0) issues.add('hostnames', 'must name at least one hostname of the tenant');
    props.hostnames.forEach((h, i) => {
      const parsed = hostnameSchema.safeParse(h);
      if (!parsed.success) issues.add(`hostnames[${i}]`, parsed.error.issues[0]?.message ?? `is not a hostname: ${showValue(h)}`);
      else if (hostnames.includes(parsed.data)) issues.add(`hostnames[${i}]`, `${showValue(parsed.data)} is listed twice`);
      else hostnames.push(parsed.data);
    });
    this.hostnames = hostnames;
    this.requestMessage = props.requestMessage ?? `linkgate: ${hostnames.join(', ')}`.slice(0, 140);
    if (!Token.isUnresolved(this.requestMessage) && this.requestMessage.length > 140) {
      issues.add('requestMessage', `must be at most 140 characters, got ${this.requestMessage.length}`);
    }
    issues.intRange('dnsTtlSec', this.dnsTtlSec, 1, 2147483647, 'seconds');
    const outputPrefix = checkOutputPrefix(issues, props.outputPrefix);
    issues.throwIfAny(this, 'PrivateLinkConsumer');

    this.resource = new PrivateEndpoint(this, 'Resource', {
      name: this.name,
      resourceGroupName: props.resourceGroupName,
      location: props.location,
      subnetId: resolveSubnet(props.subnet).id,
      privateServiceConnection: {
        name: this.name,
        // By alias, as a request the provider approves (or auto-approves for listed subscriptions).
        isManualConnection: true,
        privateConnectionResourceAlias: alias,
        requestMessage: this.requestMessage,
      },
      tags: props.tags,
    });
    this.privateIpAddress = this.resource.privateServiceConnection.privateIpAddress;
    this.privateEndpointId = this.resource.id;

    // "a.example.com" and "*.a.example.com" share the zone a.example.com.
    this.zones = hostnameZones(hostnames).map(({ zone: zoneName, apex, wildcard }) => {
      const records = [...(wildcard ? ['*'] : []), ...(apex ? ['@'] : [])];
      const scope = new Construct(this, zoneName);
      const zone = new PrivateDnsZone(scope, 'Zone', {
        name: zoneName,
        resourceGroupName: props.resourceGroupName,
        tags: props.tags,
      });
      const link = new PrivateDnsZoneVirtualNetworkLink(scope, 'Link', {
        name: `${this.name}-link`,
        resourceGroupName: props.resourceGroupName,
        privateDnsZoneName: zone.name,
        virtualNetworkId: props.virtualNetworkId,
        registrationEnabled: false,
        tags: props.tags,
      });
      const aRecords = records.map(
        (record) =>
          new PrivateDnsARecord(scope, record === '@' ? 'Apex' : 'Wildcard', {
            name: record,
            zoneName: zone.name,
            resourceGroupName: props.resourceGroupName,
            ttl: this.dnsTtlSec,
            records: [this.privateIpAddress],
            tags: props.tags,
          }),
      );
      return { zone, link, records: aRecords };
    });

    this.endpointIdOutput = stableOutput(this, 'PrivateEndpointId', outputPrefix, 'private_endpoint_id', {
      value: this.privateEndpointId,
      description: 'Send this to the provider: they find its LinkID among their service\'s connections',
    });
    this.privateIpOutput = stableOutput(this, 'PrivateIpAddress', outputPrefix, 'private_ip_address', {
      value: this.privateIpAddress,
      description: 'Private IP the tenant hostnames resolve to in this VNet',
    });
    this.doctorCommandOutput = stableOutput(this, 'DoctorCommand', outputPrefix, 'doctor_command', {
      value: doctorCommand(hostnames),
      description: 'Run this from the VNet to check the endpoint and its DNS, and to read its LinkID for the provider',
    });
  }
}
