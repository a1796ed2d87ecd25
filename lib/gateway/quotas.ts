/**
 * Fair shares of a worker's connection pool: one endpoint (link ID), one tenant or one public
 * source address cannot hold every connection and lock the other customers out.
 *
 * Counts are kept per key in plain maps, one increment at a stage of the connection's path where
 * the key is known (the source at accept, the link ID after the PROXY header, the tenant after the
 * verdict) and one decrement when the connection closes; a key is removed when its count drops
 * to zero, so memory follows the live connections, never the keys ever seen.
 */
import { readFileSync } from 'node:fs';
import type { Limits } from '../tenants/schema';

/** maxConnections when the open-files limit cannot be read (and the most it is ever sized to). */
export const FALLBACK_MAX_CONNECTIONS = 20_000;
/** A forwarded connection holds two descriptors: the client's socket and the upstream's. */
const FDS_PER_CONNECTION = 2;
/**
 * Descriptors kept for everything else: stdio, listeners, the event loop's own, the cluster IPC
 * channel, DNS lookups and connections still in accept; plus a twentieth of the limit, so the
 * cap is reached before the descriptors run out.
 */
const RESERVED_FDS = 64;

/**
 * Default shares, as fractions of maxConnections. A single endpoint gets a quarter: one customer
 * VPC holding idle connections leaves three quarters of the pool to everyone else, and it takes
 * four endpoints at their limit to fill it. A tenant gets half over all its endpoints (a customer
 * with several VPCs or regions), so no single customer can take more than half the gateway. A
 * public source address gets a quarter too: many users share one NAT address, so it must not be
 * small, but one address still cannot take the pool.
 */
const LINK_SHARE = 4;
const TENANT_SHARE = 2;
const SOURCE_SHARE = 4;
/**
 * Private Link connections whose PROXY header has not arrived count against no endpoint yet, so
 * they get a quarter of the pool of their own: the load balancer writes the header with the
 * client's first bytes, so a real client leaves this state within one round trip, and a flood of
 * silent connections only ever competes with itself.
 */
const UNATTRIBUTED_SHARE = 4;

export interface EffectiveLimits {
  readonly maxConnections: number;
  /** Where maxConnections came from. */
  readonly maxConnectionsFrom: 'config' | 'open-files limit' | 'fallback';
  /** The soft open-files limit read at start (null when unreadable or unlimited). */
  readonly openFilesLimit: number | null;
  readonly maxConnectionsPerLinkId: number;
  readonly maxConnectionsPerTenant: number;
  readonly maxConnectionsPerSource: number;
  readonly maxUnattributedConnections: number;
}

/** The soft "Max open files" of this process, from /proc/self/limits (Linux); null when unknown. */
export function readOpenFilesLimit(path = '/proc/self/limits'): number | null {
  try {
    return parseOpenFilesLimit(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

export function parseOpenFilesLimit(text: string): number | null {
  const m = /^Max open files\s+(\S+)\s+\S+/m.exec(text);
  if (!m || !/^[0-9]+$/.test(m[1]!)) return null; // "unlimited" or absent
  return Number(m[1]);
}

/** Connections a process with this many descriptors can forward, leaving headroom for the rest. */
export function connectionsForOpenFiles(openFiles: number): number {
  const usable = openFiles - RESERVED_FDS - Math.floor(openFiles / 20);
  return Math.max(1, Math.floor(usable / FDS_PER_CONNECTION));
}

/**
 * The limits in force: explicit settings win; maxConnections is otherwise what the open-files
 * limit allows (never above FALLBACK_MAX_CONNECTIONS, which bounds memory), and the shares are
 * fractions of it.
 */
export function resolveLimits(limits: Limits, openFiles: number | null = readOpenFilesLimit()): EffectiveLimits {
  let maxConnections = FALLBACK_MAX_CONNECTIONS;
  let maxConnectionsFrom: EffectiveLimits['maxConnectionsFrom'] = 'fallback';
  if (limits.maxConnections !== undefined) {
    maxConnections = limits.maxConnections;
    maxConnectionsFrom = 'config';
  } else if (openFiles !== null) {
    maxConnections = Math.min(FALLBACK_MAX_CONNECTIONS, connectionsForOpenFiles(openFiles));
    maxConnectionsFrom = 'open-files limit';
  }
  const share = (n: number) => Math.max(1, Math.floor(maxConnections / n));
  return {
    maxConnections,
    maxConnectionsFrom,
    openFilesLimit: openFiles,
    maxConnectionsPerLinkId: limits.maxConnectionsPerLinkId ?? share(LINK_SHARE),
    maxConnectionsPerTenant: limits.maxConnectionsPerTenant ?? share(TENANT_SHARE),
    maxConnectionsPerSource: limits.maxConnectionsPerSource ?? share(SOURCE_SHARE),
    maxUnattributedConnections: limits.maxUnattributedConnections ?? share(UNATTRIBUTED_SHARE),
  };
}

/** What a connection holds, so that its close gives back exactly that. */
export interface QuotaHolder {
  quotaLink: string | null;
  quotaTenant: string | null;
  quotaSource: string | null;
}

export class ConnectionQuotas<H extends QuotaHolder = QuotaHolder> {
  private readonly links = new Map<string, number>();
  private readonly tenants = new Map<string, number>();
  private readonly sources = new Map<string, number>();
  /** Connections not yet counted against any key, oldest first (a Set keeps insertion order). */
  private readonly unattributed = new Set<H>();

  constructor(private limits: EffectiveLimits) {}

  /** A reload may change the limits; connections already counted stay counted. */
  setLimits(limits: EffectiveLimits): void {
    this.limits = limits;
  }

  /** Counts the connection against its link ID (cloud and ID: Azure and GCP IDs are both decimal); false when that endpoint is at its limit. */
  takeLink(holder: QuotaHolder, cloud: string, linkId: string): boolean {
    const key = `${cloud}:${linkId}`;
    if (!take(this.links, key, this.limits.maxConnectionsPerLinkId)) return false;
    holder.quotaLink = key;
    return true;
  }

  takeTenant(holder: QuotaHolder, tenant: string): boolean {
    if (!take(this.tenants, tenant, this.limits.maxConnectionsPerTenant)) return false;
    holder.quotaTenant = tenant;
    return true;
  }

  takeSource(holder: QuotaHolder, address: string): boolean {
    if (!take(this.sources, address, this.limits.maxConnectionsPerSource)) return false;
    holder.quotaSource = address;
    return true;
  }

  /**
   * Counts a connection that cannot be charged to any key yet (no PROXY header so far). When that
   * share is full, the OLDEST such connections make room and are returned, for the caller to drop:
   * refusing the newest would let whoever holds the share lock out every new client, while a real
   * client's header arrives within a round trip, long before a flood can push it to the front.
   * Only connections in this share are ever returned, never one charged to a key.
   */
  admitUnattributed(holder: H): H[] {
    const evicted: H[] = [];
    for (const oldest of this.unattributed) {
      if (this.unattributed.size < this.limits.maxUnattributedConnections) break;
      this.unattributed.delete(oldest);
      evicted.push(oldest);
    }
    this.unattributed.add(holder);
    return evicted;
  }

  /** The connection's key is known (or it is over): it leaves the unattributed share. */
  attributed(holder: H): void {
    this.unattributed.delete(holder);
  }

  /** Gives back what the connection held; safe to call more than once. */
  release(holder: H): void {
    this.unattributed.delete(holder);
    if (holder.quotaLink !== null) give(this.links, holder.quotaLink);
    if (holder.quotaTenant !== null) give(this.tenants, holder.quotaTenant);
    if (holder.quotaSource !== null) give(this.sources, holder.quotaSource);
    holder.quotaLink = holder.quotaTenant = holder.quotaSource = null;
  }

  /** Live counts (tests, debugging): keys at zero are absent. */
  counts(): { links: number; tenants: number; sources: number; unattributed: number } {
    return { links: this.links.size, tenants: this.tenants.size, sources: this.sources.size, unattributed: this.unattributed.size };
  }
}

function take(counts: Map<string, number>, key: string, limit: number): boolean {
  const n = counts.get(key) ?? 0;
  if (n >= limit) return false;
  counts.set(key, n + 1);
  return true;
}

function give(counts: Map<string, number>, key: string): void {
  const n = counts.get(key) ?? 0;
  if (n <= 1) counts.delete(key);
  else counts.set(key, n - 1);
}
