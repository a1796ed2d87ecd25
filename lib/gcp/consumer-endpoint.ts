/**
 * The customer's side: a Private Service Connect endpoint (internal address + forwarding rule to
 * the provider's service attachment), a Cloud DNS private zone per tenant hostname pointing at
 * it, and the endpoint's PSC connection ID as an output, which the customer sends the provider
 * to put in the tenant's `allow.gcp`.
 */
import { isIP } from 'node:net';
import { ComputeAddress } from '@cdktf/provider-google/lib/compute-address';
import { ComputeForwardingRule } from '@cdktf/provider-google/lib/compute-forwarding-rule';
import { DnsManagedZone } from '@cdktf/provider-google/lib/dns-managed-zone';
import { DnsRecordSet } from '@cdktf/provider-google/lib/dns-record-set';
import { TerraformOutput, type TerraformProvider } from 'cdktf';
import { Construct } from 'constructs';
import { hostnameSchema, hostnameZones } from '../tenants';
import { doctorCommand } from '../tenants/doctor-command';
import { PropValidator, defaultName, isToken, resourceName } from './common';

const OUTPUT_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export interface PscConsumerEndpointProps {
  readonly region: string;
  /** The consumer VPC network, as an ID or self link (the private DNS zones are bound to it). */
  readonly network: string;
  /** Subnetwork the endpoint's internal address comes from. */
  readonly subnetwork: string;
  /** The provider's service attachment (`projects/P/regions/R/serviceAttachments/NAME`). */
  readonly serviceAttachment: string;
  /** The tenant's hostnames, resolved to the endpoint inside `network` (`*.` wildcards allowed). */
  readonly hostnames: readonly string[];
  /**
   * Project of the endpoint.
   * @default - the provider's project
   */
  readonly project?: string;
  /**
   * Resource name prefix.
   * @default - the construct ID, lowercased and cut to 20 characters
   */
  readonly name?: string;
  /**
   * Internal IPv4 address of the endpoint.
   * @default - a free address of `subnetwork`, chosen by GCP
   */
  readonly ipAddress?: string;
  /**
   * Let clients in other regions of the network use the endpoint.
   * @default false
   */
  readonly allowGlobalAccess?: boolean;
  /** @default 300 */
  readonly dnsTtlSec?: number;
  /**
   * Name of the Terraform output that carries the PSC connection ID (one per stack: name a
   * second endpoint's output differently).
   * @default 'psc_connection_id'
   */
  readonly outputName?: string;
  /**
   * Provider for these resources (e.g. an aliased google provider for the consumer project).
   * @default - the stack's default google provider
   */
  readonly provider?: TerraformProvider;
}

export class PscConsumerEndpoint extends Construct {
  readonly name: string;
  readonly allowGlobalAccess: boolean;
  readonly dnsTtlSec: number;
  readonly outputName: string;
  /** Normalized hostnames (lowercase, no trailing dot). */
  readonly hostnames: readonly string[];
  readonly address: ComputeAddress;
  /** The PSC endpoint: a forwarding rule whose target is the service attachment. */
  readonly resource: ComputeForwardingRule;
  readonly zones: readonly DnsManagedZone[];
  readonly records: readonly DnsRecordSet[];
  readonly pscConnectionIdOutput: TerraformOutput;
  /** `linkgate doctor` for the first hostname. */
  readonly doctorCommandOutput: TerraformOutput;

  constructor(scope: Construct, id: string, props: PscConsumerEndpointProps) {
    super(scope, id);
    this.name = props.name ?? defaultName(this);
    this.allowGlobalAccess = props.allowGlobalAccess ?? false;
    this.dnsTtlSec = props.dnsTtlSec ?? 300;
    this.outputName = props.outputName ?? 'psc_connection_id';

    const v = new PropValidator(this, 'PscConsumerEndpoint');
    v.name(this.name);
    v.project(props.project);
    v.region(props.region);
    v.nonEmpty('network', props.network);
    v.nonEmpty('subnetwork', props.subnetwork);
    v.nonEmpty('serviceAttachment', props.serviceAttachment);
    v.integer('dnsTtlSec', this.dnsTtlSec, 1, 86_400, ' s');
    v.pattern('outputName', this.outputName, OUTPUT_NAME_PATTERN, 'a Terraform output name (letters, digits, "_" and "-", not starting with a digit)');
    if (props.ipAddress !== undefined && !isToken(props.ipAddress) && isIP(props.ipAddress) !== 4) {
      v.fail('ipAddress', `must be an IPv4 address of the subnetwork, got ${JSON.stringify(props.ipAddress)}`);
    }
    if (props.hostnames.length === 0) v.fail('hostnames', 'must list at least one hostname, got []');
    // Hostnames follow the tenant model's rules (the same ones the gateway matches SNI with).
    const hostnames: string[] = [];
    props.hostnames.forEach((raw, i) => {
      const parsed = hostnameSchema.safeParse(raw);
      if (!parsed.success) {
        v.fail(`hostnames[${i}]`, parsed.error.issues[0]?.message ?? `invalid hostname ${JSON.stringify(raw)}`);
      } else if (hostnames.includes(parsed.data)) {
        v.fail(`hostnames[${i}]`, `"${parsed.data}" is listed twice`);
      } else {
        hostnames.push(parsed.data);
      }
    });
    v.throwIfInvalid();
    this.hostnames = hostnames;

    const common = { project: props.project, provider: props.provider };
    this.address = new ComputeAddress(this, 'Address', {
      ...common,
      region: props.region,
      name: resourceName(this.name, 'psc'),
      addressType: 'INTERNAL',
      subnetwork: props.subnetwork,
      address: props.ipAddress,
    });
    this.resource = new ComputeForwardingRule(this, 'Resource', {
      ...common,
      region: props.region,
      name: resourceName(this.name, 'psc'),
      network: props.network,
      ipAddress: this.address.id,
      target: props.serviceAttachment,
      // A PSC endpoint to a published service has no load balancing scheme.
      loadBalancingScheme: '',
      allowPscGlobalAccess: this.allowGlobalAccess,
      // The zones below are the DNS for the tenant's hostnames; no automatic zone next to them.
      noAutomateDnsZone: true,
    });

    // One private zone per hostname (a `*.` wildcard lives in the zone of its parent), so the
    // endpoint answers for these names without shadowing the rest of their public domain.
    const zones: DnsManagedZone[] = [];
    const records: DnsRecordSet[] = [];
    for (const { zone: zoneName, apex, wildcard } of hostnameZones(hostnames)) {
      const hosts = [...(apex ? [zoneName] : []), ...(wildcard ? [`*.${zoneName}`] : [])];
      const zone = new DnsManagedZone(this, `Zone-${zoneName}`, {
        ...common,
        name: resourceName(this.name, zoneName.replace(/\./g, '-')),
        dnsName: `${zoneName}.`,
        description: `linkgate: ${zoneName} through Private Service Connect`,
        visibility: 'private',
        privateVisibilityConfig: { networks: [{ networkUrl: props.network }] },
      });
      zones.push(zone);
      for (const host of hosts) {
        records.push(
          new DnsRecordSet(this, `Record-${host}`, {
            ...common,
            managedZone: zone.name,
            name: `${host}.`,
            type: 'A',
            ttl: this.dnsTtlSec,
            rrdatas: [this.address.address],
          }),
        );
      }
    }
    this.zones = zones;
    this.records = records;

    this.pscConnectionIdOutput = new TerraformOutput(this, 'PscConnectionId', {
      // A uint64 as a decimal string: send it as is, never through a number (it exceeds 2^53).
      value: this.resource.pscConnectionId,
      description: 'PSC connection ID of this endpoint (decimal string). Send it to the provider for the tenant\'s allow.gcp.',
    });
    this.pscConnectionIdOutput.overrideLogicalId(this.outputName);
    this.doctorCommandOutput = new TerraformOutput(this, 'DoctorCommand', {
      value: doctorCommand(hostnames),
      description: 'Run this from the VPC network to check the endpoint, its DNS and its registration with the provider',
    });
    // Named after the ID's output: `doctor_command`, or `<name>_doctor_command` beside a renamed one.
    this.doctorCommandOutput.overrideLogicalId(
      this.outputName === 'psc_connection_id' ? 'doctor_command' : `${this.outputName.replace(/_?psc_connection_id$/, '')}_doctor_command`,
    );
  }

  /** The endpoint's PSC connection ID (a decimal string, known after deploy). */
  get pscConnectionId(): string {
    return this.resource.pscConnectionId;
  }

  /** ACCEPTED, PENDING, REJECTED or CLOSED. */
  get pscConnectionStatus(): string {
    return this.resource.pscConnectionStatus;
  }

  get ipAddress(): string {
    return this.address.address;
  }
}
