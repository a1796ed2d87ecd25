/** What a tenant's `open` and `allow` mean, in one place for the gateway's policy and the constructs. */
import type { TenantAllow } from './schema';

/** The part of a tenant (gateway config or construct declaration) that says who may connect. */
export interface TenantAccess {
  readonly open?: boolean;
  readonly allow?: TenantAllow;
}

/**
 * Open (every source allowed) only when the tenant says `open: true`. Validation refuses a tenant
 * that states neither `open: true` nor `allow` lists, so a missing or half-written `allow` never
 * opens anything (fail closed).
 */
export function isOpenTenant(tenant: TenantAccess): boolean {
  return tenant.open === true;
}

/**
 * A tenant that is not open and whose lists hold no entry: it accepts no connection at all (an
 * emptied list admits nobody, so removing a customer's last endpoint cuts that tenant off).
 */
export function isClosedTenant(tenant: TenantAccess): boolean {
  return !isOpenTenant(tenant) && Object.values(tenant.allow ?? {}).every((list) => list === undefined || list.length === 0);
}

/** One private DNS zone of a consumer's hostnames, and which of its two names it answers. */
export interface HostnameZone {
  /** The zone: the hostname itself, or a wildcard's parent. */
  readonly zone: string;
  /** The zone's own name (`megacorp.example.com`) is listed. */
  readonly apex: boolean;
  /** `*.` the zone is listed. */
  readonly wildcard: boolean;
}

/**
 * The private DNS zones that make a consumer's hostnames resolve to its endpoint: one per hostname,
 * a `*.` wildcard living in the zone of its parent, so "a.example.com" and "*.a.example.com" share
 * one and nothing else of example.com is shadowed. In the order the hostnames first name them.
 */
export function hostnameZones(hostnames: readonly string[]): HostnameZone[] {
  const zones = new Map<string, { zone: string; apex: boolean; wildcard: boolean }>();
  for (const hostname of hostnames) {
    const wildcard = hostname.startsWith('*.');
    const zone = wildcard ? hostname.slice(2) : hostname;
    const entry = zones.get(zone) ?? { zone, apex: false, wildcard: false };
    if (wildcard) entry.wildcard = true;
    else entry.apex = true;
    zones.set(zone, entry);
  }
  return [...zones.values()];
}
