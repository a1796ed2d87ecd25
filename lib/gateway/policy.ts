/**
 * The compiled decision: hostname → tenant → is this source allowed? Built once per config (start
 * and reload) so that a decision is two or three hash lookups whatever the number of tenants.
 */
import { BlockList, isIPv4 } from 'node:net';
import { lookupHostname } from '../tenants/hostnames';
import { isOpenTenant } from '../tenants/rules';
import { parseCidr, type GatewayConfig, type UpstreamConfig, type UpstreamHttp } from '../tenants/schema';
import { indexTenants, type TenantIndex } from '../tenants/validate';
import type { OwnershipLookup } from './ownership/map';
import type { LinkIdentity } from './proxy-protocol/cloud-tlv';

/** Why a connection was not forwarded. Every drop has exactly one. */
export const DROP_REASONS = [
  'no_proxy_header',
  'bad_proxy_header',
  'bad_crc',
  'spoofed_proxy_header',
  'unexpected_proxy_header',
  'no_link_id',
  'not_tls',
  'bad_client_hello',
  'no_sni',
  'unknown_host',
  'link_id_not_allowed',
  'cidr_not_allowed',
  'header_timeout',
  'client_hello_timeout',
  'client_closed',
  'upstream_unreachable',
  'over_capacity',
  'shutting_down',
  'link_over_capacity',
  'tenant_over_capacity',
  'source_over_capacity',
  'unattributed_over_capacity',
  'out_of_file_descriptors',
  // linkgate doctor (diagnostic.ts): answered in place of forwarding, or refused by its rate limit.
  'diagnostic_answered',
  'diagnostic_rate_limited',
  // http mode, per request
  'bad_request',
  'misdirected_request',
  'no_tenant',
  'unknown_tenant',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** Why a forwarded connection was ended by the gateway (normal closes have no reason). */
export const CLOSE_REASONS = ['revoked', 'upstream_error', 'client_error', 'idle_timeout', 'drain_timeout', 'sni_changed', 'request_timeout'] as const;
export type CloseReason = (typeof CLOSE_REASONS)[number];

export type ListenerKind = 'privateLink' | 'public';

export interface CompiledUpstream {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly proxyProtocol: boolean;
  /** Custom TLV type of the tenant name in the PROXY header sent upstream. */
  readonly tenantTlvType: number;
  readonly connectTimeoutMs: number;
  /** How http-mode listeners speak to it (absent: plain HTTP/1.1). */
  readonly http?: UpstreamHttp;
}

export interface CompiledTenant {
  /** Position in the config's tenant list (the tenant index's values). */
  readonly index: number;
  readonly name: string;
  readonly upstream: CompiledUpstream;
  /**
   * The tenant says `open: true`: every source is allowed. Never inferred from missing rules (a
   * tenant without `open: true` or `allow` lists does not validate), so a reload opens a tenant
   * only when the new file states it. A tenant with lists, even emptied ones, accepts only what
   * they hold: removing a customer's last endpoint cuts the tenant off.
   */
  readonly open: boolean;
  /** Null when the tenant lists no CIDRs (then public connections are refused unless open). */
  readonly cidrs: BlockList | null;
}

export type Decision =
  | { readonly verdict: 'forward'; readonly tenant: CompiledTenant }
  | { readonly verdict: 'drop'; readonly reason: DropReason; readonly tenant: CompiledTenant | null };

/** What a decision is made from; kept per live connection so that a reload can re-decide it. */
export interface ConnectionFacts {
  readonly listener: ListenerKind;
  readonly serverName: string | null;
  /** Private link: the link ID from the cloud's header, if it carried one. */
  readonly link: LinkIdentity | null;
  /** Public: the client's address as seen on the socket. */
  readonly sourceAddress: string | null;
}

export class Policy {
  /** Compiled tenants, in config order. */
  readonly tenants: readonly CompiledTenant[];
  /**
   * Hostname and link-ID owners by tenant index: the index validation built (one owner each is
   * already guaranteed), so tables are not built twice per reload.
   */
  private readonly index: TenantIndex;
  private readonly fallback: CompiledTenant | null;
  /** Compiled upstreams by name (additional private-link listeners send to one of them). */
  readonly upstreams: ReadonlyMap<string, CompiledUpstream>;
  /**
   * Who owns each endpoint, as the cloud last said (ownership/). Null until the first read: owner
   * rules admit nobody before it. Explicit link IDs never depend on it.
   */
  ownership: OwnershipLookup | null = null;

  constructor(config: GatewayConfig, index?: TenantIndex) {
    this.index = index ?? indexTenants(config.tenants, 'tenants').index;
    const upstreams = new Map<string, CompiledUpstream>();
    this.upstreams = upstreams;
    for (const [name, u] of Object.entries(config.upstreams)) upstreams.set(name, compileUpstream(name, u));
    const tenants: CompiledTenant[] = [];
    let fallback: CompiledTenant | null = null;
    for (let i = 0; i < config.tenants.length; i++) {
      const t = config.tenants[i]!;
      const upstream = upstreams.get(t.upstream);
      if (!upstream) throw new Error(`tenant ${t.name}: upstream ${t.upstream} is not defined`); // validated earlier
      const cidrs = t.allow?.cidrs;
      const compiled: CompiledTenant = {
        index: i,
        name: t.name,
        upstream,
        open: isOpenTenant(t),
        cidrs: cidrs?.length ? compileCidrs(cidrs) : null,
      };
      tenants.push(compiled);
      if (t.name === config.defaultTenant) fallback = compiled;
    }
    this.tenants = tenants;
    this.fallback = fallback;
  }

  /** The hostname, link-ID and owner tables this policy decides with. */
  get tenantIndex(): TenantIndex {
    return this.index;
  }

  /** Exact hostname beats wildcard ("*." matches exactly one more label); else the default tenant. */
  tenantFor(serverName: string | null): CompiledTenant | null {
    if (serverName !== null) {
      const owner = lookupHostname(this.index.hostnames, serverName);
      if (owner !== undefined) return this.tenants[owner]!;
    }
    return this.fallback;
  }

  decide(facts: ConnectionFacts): Decision {
    const tenant = this.tenantFor(facts.serverName);
    if (!tenant) return { verdict: 'drop', reason: facts.serverName === null ? 'no_sni' : 'unknown_host', tenant: null };
    return this.decideFor(tenant, facts);
  }

  /** The tenant's rules alone: http mode finds the tenant in the request (header, path) rather than the SNI. */
  decideFor(tenant: CompiledTenant, facts: ConnectionFacts): Decision {
    if (tenant.open) return { verdict: 'forward', tenant };
    if (facts.listener === 'privateLink') {
      if (!facts.link) return { verdict: 'drop', reason: 'no_link_id', tenant };
      // A link ID belongs to one tenant: allowed when this tenant is its owner. One listed
      // explicitly is that tenant's alone; owner rules apply only to link IDs nobody lists.
      const listed = this.index.linkIds[facts.link.cloud].get(facts.link.linkId);
      if (listed === tenant.index) return { verdict: 'forward', tenant };
      if (listed === undefined && this.ownership?.ownerTenant(facts.link.cloud, facts.link.linkId, this.index) === tenant.index) {
        return { verdict: 'forward', tenant };
      }
      return { verdict: 'drop', reason: 'link_id_not_allowed', tenant };
    }
    const address = facts.sourceAddress;
    if (tenant.cidrs && address !== null && tenant.cidrs.check(address, isIPv4(address) ? 'ipv4' : 'ipv6')) {
      return { verdict: 'forward', tenant };
    }
    return { verdict: 'drop', reason: 'cidr_not_allowed', tenant };
  }
}

function compileUpstream(name: string, u: UpstreamConfig): CompiledUpstream {
  return { name, host: u.host, port: u.port, proxyProtocol: u.proxyProtocol, tenantTlvType: u.tenantTlvType, connectTimeoutMs: u.connectTimeoutMs, ...(u.http ? { http: u.http } : {}) };
}

function compileCidrs(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const parsed = parseCidr(cidr);
    if (parsed) list.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  return list;
}
