/** What a tenant's `allow` block means, in one place for the gateway's policy and the constructs. */
import type { TenantAllow } from './schema';

/**
 * Open (every source allowed) only when the tenant names no list at all: no `allow`, or `allow: {}`.
 * A named list, even an emptied one, admits only its entries, so removing a customer's last
 * endpoint cuts that tenant off instead of opening it to everyone.
 */
export function isOpenTenant(allow: TenantAllow | undefined): boolean {
  return allow === undefined || (allow.aws === undefined && allow.azure === undefined && allow.gcp === undefined && allow.cidrs === undefined);
}

/** A tenant that names lists but none has an entry: it accepts no connection at all. */
export function isClosedTenant(allow: TenantAllow | undefined): boolean {
  return !isOpenTenant(allow) && Object.values(allow!).every((list) => list === undefined || list.length === 0);
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
