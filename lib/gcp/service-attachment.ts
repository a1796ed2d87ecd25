/**
 * The Private Service Connect service attachment: publishes the private-link load balancer with
 * PROXY protocol v2 on (which puts each consumer endpoint's PSC connection ID in front of every
 * connection), from a NAT subnet, accepting only the consumer projects the tenants declare.
 */
import { ComputeServiceAttachment } from '@cdktf/provider-google/lib/compute-service-attachment';
import { ComputeSubnetwork } from '@cdktf/provider-google/lib/compute-subnetwork';
import { Annotations } from 'cdktf';
import { Construct } from 'constructs';
import { parseTenantDeclarations, type TenantDeclarations } from '../tenants';
import { acceptList, validateAttachmentPolicy, type AcceptListEntry, type AttachmentPolicyOptions, type ConnectionPreference } from './attachment-policy';
import { PropValidator, defaultName, ipv4Size, isToken, resourceName, warn } from './common';
import { networkProjectOf, validateSharedVpc, type SharedVpcOptions } from './shared-vpc';

/** A fully qualified DNS name: lowercase labels, each followed by a dot. */
const DOMAIN_NAME_PATTERN = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+$/;

export interface ServiceAttachmentOptions extends AttachmentPolicyOptions {
  /**
   * A DNS domain for the service, fully qualified with its trailing dot (e.g. `svc.example.com.`).
   * Consumers' PSC endpoints can then get DNS entries under it automatically.
   * @default - none
   */
  readonly domainName?: string;
  /**
   * Apply accept-list changes to endpoints already accepted too: a project removed from the
   * tenants (offboarding) has its endpoints cut at once, not only its pending ones refused.
   * @default true
   */
  readonly reconcileConnections?: boolean;
  /**
   * Let consumers connect from IPv6 PSC endpoints too: the NAT subnet is created dual-stack, with
   * an internal (ULA) IPv6 range, so the network needs `enableUlaInternalIpv6`. The load balancer
   * and the gateway stay IPv4: Private Service Connect translates IPv6 endpoints to this IPv4
   * service (https://cloud.google.com/vpc/docs/about-accessing-vpc-hosted-services-endpoints,
   * "supported target services for IPv6 endpoints"; https://codelabs.developers.google.com/psc-psc66:
   * the producer must be dual-stack for IPv6-only consumer endpoints). An IPv6 producer forwarding
   * rule (end-to-end IPv6) is not offered: Google does not document PROXY protocol for it.
   * @default false
   */
  readonly ipv6?: boolean;
}

export interface PscServiceAttachmentProps extends ServiceAttachmentOptions, Pick<SharedVpcOptions, 'networkProject'> {
  readonly project: string;
  readonly region: string;
  /** VPC network (ID or self link) the NAT subnet is created in (in `networkProject` with Shared VPC). */
  readonly network: string;
  /** The private-link load balancer's forwarding rule (`PrivateLinkLoadBalancer.resource.id`). */
  readonly targetService: string;
  /** The tenants: their `consumers.gcp.projects` become the consumer accept list. */
  readonly tenants: TenantDeclarations;
  /**
   * Range of a new NAT subnet (purpose PRIVATE_SERVICE_CONNECT) for this attachment: the source
   * addresses the gateway sees. Each consumer endpoint uses one of its addresses.
   * @default - none; give `natSubnets` instead
   */
  readonly natSubnetCidr?: string;
  /**
   * Existing NAT subnets (purpose PRIVATE_SERVICE_CONNECT, used by no other attachment).
   * @default - none; give `natSubnetCidr` instead
   */
  readonly natSubnets?: readonly string[];
  /**
   * Resource name prefix.
   * @default - the construct ID, lowercased and cut to 20 characters
   */
  readonly name?: string;
}

export class PscServiceAttachment extends Construct {
  readonly name: string;
  readonly reconcileConnections: boolean;
  readonly domainName?: string;
  readonly connectionPreference: ConnectionPreference;
  /** The consumer accept list, from the tenants (a project named twice gets the larger limit). */
  readonly consumerProjects: readonly { readonly id: string; readonly connectionLimit: number }[];
  /** The consumer accept list by network (`consumers.gcp.networks`); empty when it is by project. */
  readonly consumerNetworks: readonly { readonly url: string; readonly connectionLimit: number }[];
  readonly consumerRejectLists: readonly string[];
  /** Created here when `natSubnetCidr` was given. */
  readonly natSubnet?: ComputeSubnetwork;
  readonly resource: ComputeServiceAttachment;

  constructor(scope: Construct, id: string, props: PscServiceAttachmentProps) {
    super(scope, id);
    this.name = props.name ?? defaultName(this);
    this.reconcileConnections = props.reconcileConnections ?? true;
    this.domainName = props.domainName;
    this.connectionPreference = props.connectionPreference ?? 'ACCEPT_MANUAL';
    this.consumerRejectLists = props.consumerRejectLists ?? [];

    const v = new PropValidator(this, 'PscServiceAttachment');
    v.name(this.name);
    v.project(props.project);
    v.region(props.region);
    v.nonEmpty('targetService', props.targetService);
    if ((props.natSubnetCidr === undefined) === (props.natSubnets === undefined)) {
      v.fail('natSubnetCidr', 'give exactly one of natSubnetCidr (a new NAT subnet) and natSubnets (existing ones)');
    }
    v.ipv4Cidr('natSubnetCidr', props.natSubnetCidr, 8, 29);
    if (props.natSubnets !== undefined && props.natSubnets.length === 0) v.fail('natSubnets', 'must list at least one subnet, got []');
    const domain = props.domainName;
    if (domain !== undefined && !isToken(domain)) {
      if (!domain.endsWith('.')) {
        v.fail('domainName', `must be fully qualified with a trailing dot, got ${JSON.stringify(domain)} (use ${JSON.stringify(`${domain}.`)})`);
      } else if (!DOMAIN_NAME_PATTERN.test(domain) || domain.length > 254) {
        v.fail('domainName', `must be a DNS name of lowercase labels with a trailing dot, like "svc.example.com.", got ${JSON.stringify(domain)}`);
      }
    }
    validateSharedVpc(v, props, { network: props.network });
    v.throwIfInvalid();

    // Project IDs, network URLs and connection limits are checked by the tenant model; errors name this construct.
    const tenants = parseTenantDeclarations(props.tenants, this.node.path);
    const accept = acceptList(tenants);
    const pv = new PropValidator(this, 'PscServiceAttachment');
    validateAttachmentPolicy(pv, props, accept);
    pv.throwIfInvalid();
    const entries: AcceptListEntry[] = accept.entries;
    this.consumerProjects = entries.filter((e) => e.projectIdOrNum).map((e) => ({ id: e.projectIdOrNum!, connectionLimit: e.connectionLimit }));
    this.consumerNetworks = entries.filter((e) => e.networkUrl).map((e) => ({ url: e.networkUrl!, connectionLimit: e.connectionLimit }));
    this.warnRisky(props.natSubnetCidr, entries);
    if (props.ipv6 && props.natSubnets !== undefined) {
      // Existing subnets cannot be inspected at synth time.
      Annotations.of(this).addInfo(`${this.node.path}: ipv6 is on: the natSubnets given must be dual-stack (stackType IPV4_IPV6, internal IPv6).`);
    }

    this.natSubnet =
      props.natSubnetCidr !== undefined
        ? new ComputeSubnetwork(this, 'NatSubnet', {
            // With Shared VPC the NAT subnet belongs to the host project, in the shared network.
            project: networkProjectOf(props),
            region: props.region,
            name: resourceName(this.name, 'psc-nat'),
            network: props.network,
            ipCidrRange: props.natSubnetCidr,
            purpose: 'PRIVATE_SERVICE_CONNECT',
            description: 'NAT addresses of linkgate Private Service Connect consumers; no VMs here',
            ...(props.ipv6 ? { stackType: 'IPV4_IPV6', ipv6AccessType: 'INTERNAL' } : {}),
          })
        : undefined;

    this.resource = new ComputeServiceAttachment(this, 'Resource', {
      project: props.project,
      region: props.region,
      name: resourceName(this.name, 'psc'),
      description: 'linkgate: PROXY protocol v2 carries each endpoint\'s PSC connection ID to the gateway',
      targetService: props.targetService,
      natSubnets: this.natSubnet ? [this.natSubnet.id] : [...props.natSubnets!],
      // The gateway trusts the PP2 header only because this attachment writes it.
      enableProxyProtocol: true,
      connectionPreference: this.connectionPreference,
      // With ACCEPT_AUTOMATIC GCP ignores the list: it is left out rather than kept as a false promise.
      consumerAcceptLists: this.connectionPreference === 'ACCEPT_MANUAL' ? entries.map((e) => ({ ...e })) : [],
      consumerRejectLists: this.consumerRejectLists.length ? [...this.consumerRejectLists] : undefined,
      propagatedConnectionLimit: props.propagatedConnectionLimit,
      sendPropagatedConnectionLimitIfZero: props.propagatedConnectionLimit === 0 ? true : undefined,
      domainNames: domain !== undefined ? [domain] : undefined,
      reconcileConnections: this.reconcileConnections,
    });
  }

  /** The attachment's ID (`projects/.../serviceAttachments/...`): what consumers connect to. */
  get serviceAttachmentId(): string {
    return this.resource.id;
  }

  private warnRisky(natSubnetCidr: string | undefined, entries: readonly AcceptListEntry[]): void {
    if (this.connectionPreference === 'ACCEPT_AUTOMATIC') {
      warn(
        this,
        'connectionPreference is ACCEPT_AUTOMATIC: any project can connect an endpoint, the accept list (consumers.gcp) is ignored, ' +
          "and only the gateway's allow.gcp filters connections. Keep every tenant's allow.gcp exact, and no tenant open.",
      );
    } else if (entries.length === 0) {
      warn(this, 'no tenant declares consumers.gcp.projects or networks: the accept list is empty and every PSC endpoint stays pending.');
    }
    const size = natSubnetCidr !== undefined && !isToken(natSubnetCidr) ? ipv4Size(natSubnetCidr) : undefined;
    const wanted = entries.reduce((sum, p) => sum + p.connectionLimit, 0);
    // GCP keeps four addresses of every subnet for itself.
    if (this.connectionPreference === 'ACCEPT_MANUAL' && size !== undefined && size - 4 < wanted) {
      warn(
        this,
        `natSubnetCidr ${natSubnetCidr} has ${size - 4} usable addresses but the accept list allows ${wanted} endpoints: ` +
          'endpoints beyond the NAT capacity cannot connect. Use a larger range.',
      );
    }
  }
}
