/**
 * The ownership map: link ID → who owns the endpoint, as the cloud records it for our service, and
 * how the policy asks it. The primary's scheduler builds a snapshot from the pollers' reads and
 * sends it to the workers (plain JSON over the cluster IPC); each worker compiles it into a view
 * its policy consults when a link ID is not listed explicitly.
 *
 * Fail closed throughout: only accepted connections are in a snapshot, a view whose read is older
 * than `staleAfterMs` admits nobody, and an endpoint whose owners name two tenants (a project rule
 * in one, its network in another) admits to neither.
 */
import type { Cloud } from '../../tenants/ids';
import type { OwnerRule } from '../../tenants/schema';
import type { TenantIndex } from '../../tenants/validate';

/** The owners the cloud records for one endpoint connection, keyed by the rule that names them. */
export type EndpointOwners = Partial<Record<OwnerRule, string>>;

/** One endpoint connection as a poller read it. */
export interface EndpointConnection {
  readonly cloud: Cloud;
  readonly linkId: string;
  readonly owners: EndpointOwners;
  /** The state exactly as the API wrote it (logs, metrics). */
  readonly state: string;
  /** accepted: the cloud forwards its traffic (AWS available, Azure Approved, GCP ACCEPTED). */
  readonly status: 'accepted' | 'pending' | 'other';
  /** What the cloud's accept/reject call names it by (AWS endpoint ID, Azure connection resource ID). */
  readonly ref: string;
}

/** What the workers receive: per cloud, when it was last read successfully and what was accepted. */
export interface OwnershipSnapshot {
  /**
   * Goes up when what is accepted changes or a cloud's read turns stale or fresh: then live
   * connections are decided again. A snapshot of the same revision only renews `fetchedAt`.
   */
  readonly revision: number;
  readonly staleAfterMs: number;
  readonly clouds: Partial<Record<Cloud, { readonly fetchedAt: number; readonly accepted: readonly (readonly [string, EndpointOwners])[] }>>;
}

/** How the policy asks about owners (kept small so policy.ts needs no more than this). */
export interface OwnershipLookup {
  /** Index of the tenant an owner rule gives this link ID to, or undefined (unknown, stale, conflicting). */
  ownerTenant(cloud: Cloud, linkId: string, index: TenantIndex): number | undefined;
}

export class OwnershipView implements OwnershipLookup {
  private readonly clouds = new Map<Cloud, { fetchedAt: number; byLink: Map<string, EndpointOwners> }>();
  private readonly staleAfterMs: number;
  readonly revision: number;

  constructor(
    snapshot: OwnershipSnapshot,
    private readonly now: () => number = Date.now,
  ) {
    this.staleAfterMs = snapshot.staleAfterMs;
    this.revision = snapshot.revision;
    for (const [cloud, read] of Object.entries(snapshot.clouds) as [Cloud, NonNullable<OwnershipSnapshot['clouds'][Cloud]>][]) {
      this.clouds.set(cloud, { fetchedAt: read.fetchedAt, byLink: new Map(read.accepted.map(([id, owners]) => [id, owners])) });
    }
  }

  /** Whether owner rules for this cloud admit anything now (a read no older than the bound). */
  fresh(cloud: Cloud): boolean {
    const read = this.clouds.get(cloud);
    return read !== undefined && this.now() - read.fetchedAt <= this.staleAfterMs;
  }

  ownerTenant(cloud: Cloud, linkId: string, index: TenantIndex): number | undefined {
    const read = this.clouds.get(cloud);
    if (!read) return undefined;
    const owners = read.byLink.get(linkId);
    if (!owners || this.now() - read.fetchedAt > this.staleAfterMs) return undefined;
    let tenant: number | undefined;
    for (const rule of Object.keys(owners) as OwnerRule[]) {
      const t = index.owners[rule].get(owners[rule]!);
      if (t === undefined) continue;
      if (tenant !== undefined && tenant !== t) return undefined; // two tenants claim it: neither gets it
      tenant = t;
    }
    return tenant;
  }
}
