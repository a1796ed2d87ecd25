/**
 * The ownership scheduler: one per gateway (the cluster primary, or the single process). Every
 * `intervalSec` it reads each configured cloud's endpoint connections, keeps the last good read
 * per cloud, and publishes a snapshot (map.ts) when what is accepted changed or a read went stale;
 * the workers apply it and cut live connections it no longer admits.
 *
 * Failure never opens anything: a failed read (unreachable, throttled, refused, too large, not the
 * documented shape) keeps the last good map, is counted and logged, and once the last good read is
 * older than `staleAfterSec` owner rules admit nobody (explicit link IDs are unaffected).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Cloud } from '../../tenants/ids';
import { OWNER_RULES, type OwnershipConfig } from '../../tenants/schema';
import type { TenantIndex } from '../../tenants/validate';
import type { Logger } from '../log';
import { AwsPoller } from './aws';
import { AzurePoller } from './azure';
import { GcpPoller } from './gcp';
import { PollError, type PollFailureReason } from './http';
import type { EndpointConnection, EndpointOwners, OwnershipSnapshot } from './map';

export interface CloudPoller {
  readonly cloud: Cloud;
  poll(): Promise<{ connections: EndpointConnection[]; skipped: number }>;
  /** Accept or reject pending connections on the cloud side (absent: acceptance is not the gateway's). */
  setState?(connections: readonly EndpointConnection[], action: 'accept' | 'reject'): Promise<void>;
}

/**
 * Base URLs of the clouds' APIs, overridable by environment for tests and emulators only; a
 * deployment never sets them (the task role, managed identity or service account talk to the real
 * endpoints).
 */
export const OWNERSHIP_ENDPOINT_ENV = {
  aws: 'LINKGATE_OWNERSHIP_AWS_ENDPOINT',
  azureArm: 'LINKGATE_OWNERSHIP_AZURE_ARM_URL',
  azureImds: 'LINKGATE_OWNERSHIP_AZURE_IMDS_URL',
  gcpCompute: 'LINKGATE_OWNERSHIP_GCP_COMPUTE_URL',
  gcpMetadata: 'LINKGATE_OWNERSHIP_GCP_METADATA_URL',
} as const;

export function createPollers(config: OwnershipConfig, env: NodeJS.ProcessEnv = process.env): CloudPoller[] {
  const limits = { timeoutMs: config.timeoutMs, maxResponseBytes: config.maxResponseBytes };
  const pollers: CloudPoller[] = [];
  const e = (name: string) => env[name] || undefined;
  if (config.aws) pollers.push(new AwsPoller({ ...config.aws, limits, endpoint: e(OWNERSHIP_ENDPOINT_ENV.aws) }));
  if (config.azure) {
    pollers.push(
      new AzurePoller({ ...config.azure, limits, armUrl: e(OWNERSHIP_ENDPOINT_ENV.azureArm), imdsUrl: e(OWNERSHIP_ENDPOINT_ENV.azureImds) }),
    );
  }
  if (config.gcp) {
    pollers.push(
      new GcpPoller({ ...config.gcp, limits, computeUrl: e(OWNERSHIP_ENDPOINT_ENV.gcpCompute), metadataUrl: e(OWNERSHIP_ENDPOINT_ENV.gcpMetadata) }),
    );
  }
  return pollers;
}

export interface OwnershipSchedulerOptions {
  readonly config: OwnershipConfig;
  readonly pollers: readonly CloudPoller[];
  readonly registry: Registry;
  readonly logger: Logger;
  /** Called with every new snapshot; the gateway (or the primary, for its workers) applies it. */
  readonly publish: (snapshot: OwnershipSnapshot) => void;
  /** The running tenant tables, for acceptance (`accept` other than none). */
  readonly tenantIndex?: () => TenantIndex | null;
}

interface CloudRead {
  fetchedAt: number | null;
  accepted: [string, EndpointOwners][];
  /** `accepted` serialized, to see whether a read changed anything. */
  key: string;
  stale: boolean;
  /** Link IDs we asked the cloud to accept or reject, and when: not asked again for a while. */
  asked: Map<string, number>;
}

/** A connection we accepted or rejected is not asked about again for this many intervals. */
const ASK_AGAIN_AFTER_INTERVALS = 4;
/** At most this many accept/reject calls' worth of connections per cloud and poll. */
const MAX_STATE_CHANGES_PER_POLL = 100;

export class OwnershipScheduler {
  private readonly reads = new Map<Cloud, CloudRead>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  private stopped = false;
  private revision = 0;
  private readonly failures: Counter<'cloud' | 'reason'>;
  private readonly polls: Counter<'cloud' | 'result'>;
  private readonly skipped: Counter<'cloud'>;
  private readonly stateChanges: Counter<'cloud' | 'action' | 'result'>;
  private readonly connections: Gauge<'cloud' | 'status'>;

  constructor(private readonly options: OwnershipSchedulerOptions) {
    const registers = [options.registry];
    for (const p of options.pollers) this.reads.set(p.cloud, { fetchedAt: null, accepted: [], key: '', stale: false, asked: new Map() });
    this.failures = new Counter({
      name: 'linkgate_ownership_poll_failures_total',
      help: 'Reads of endpoint connections that failed, by cloud and reason; the last good map is kept.',
      labelNames: ['cloud', 'reason'],
      registers,
    });
    this.polls = new Counter({
      name: 'linkgate_ownership_polls_total',
      help: 'Reads of endpoint connections, by cloud and result (success, failure).',
      labelNames: ['cloud', 'result'],
      registers,
    });
    this.skipped = new Counter({
      name: 'linkgate_ownership_entries_skipped_total',
      help: 'Endpoint connections in an API answer that were not in the documented shape (ignored: they admit nothing).',
      labelNames: ['cloud'],
      registers,
    });
    this.stateChanges = new Counter({
      name: 'linkgate_ownership_state_changes_total',
      help: 'Pending connections the gateway accepted or rejected on the cloud side (ownership.accept), by result.',
      labelNames: ['cloud', 'action', 'result'],
      registers,
    });
    this.connections = new Gauge({
      name: 'linkgate_ownership_connections',
      help: 'Endpoint connections in the last good read, by cloud and status (accepted, pending, other).',
      labelNames: ['cloud', 'status'],
      registers,
    });
    const reads = this.reads;
    new Gauge({
      name: 'linkgate_ownership_map_age_seconds',
      help: 'Age of the last good read per cloud (-1 before the first). Past ownership.staleAfterSec, owner rules admit nobody.',
      labelNames: ['cloud'],
      registers,
      collect() {
        for (const [cloud, read] of reads) this.set({ cloud }, read.fetchedAt === null ? -1 : (Date.now() - read.fetchedAt) / 1000);
      },
    });
    new Gauge({
      name: 'linkgate_ownership_stale',
      help: '1 while a cloud\'s last good read is older than ownership.staleAfterSec (owner rules admit nobody), else 0.',
      labelNames: ['cloud'],
      registers,
      collect() {
        for (const [cloud, read] of reads) this.set({ cloud }, read.stale ? 1 : 0);
      },
    });
  }

  get clouds(): Cloud[] {
    return [...this.reads.keys()];
  }

  /** Polls now, then every intervalSec. */
  start(): void {
    void this.pollOnce();
    this.timer = setInterval(() => void this.pollOnce(), this.options.config.intervalSec * 1000);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  /** One round over every cloud; a round still running when the next is due is not doubled. */
  pollOnce(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.round().finally(() => (this.running = null));
    return this.running;
  }

  /** The snapshot the workers get (also sent to a worker that starts later). */
  snapshot(): OwnershipSnapshot {
    const clouds: Record<string, { fetchedAt: number; accepted: [string, EndpointOwners][] }> = {};
    for (const [cloud, read] of this.reads) if (read.fetchedAt !== null) clouds[cloud] = { fetchedAt: read.fetchedAt, accepted: read.accepted };
    return { revision: this.revision, staleAfterMs: this.options.config.staleAfterSec * 1000, clouds };
  }

  private async round(): Promise<void> {
    const outcomes = await Promise.all(this.options.pollers.map((p) => this.pollCloud(p)));
    if (this.stopped) return;
    let changed = outcomes.includes('changed');
    const bound = this.options.config.staleAfterSec * 1000;
    for (const [cloud, read] of this.reads) {
      const stale = read.fetchedAt !== null && Date.now() - read.fetchedAt > bound;
      if (stale === read.stale) continue;
      read.stale = stale;
      changed = true; // the workers re-decide live connections: stale owner admissions end
      if (stale) {
        this.options.logger.error('ownership map stale: owner rules admit nobody until a read succeeds', {
          cloud,
          ageSec: Math.round((Date.now() - read.fetchedAt!) / 1000),
          staleAfterSec: this.options.config.staleAfterSec,
        });
      } else {
        this.options.logger.info('ownership map fresh again', { cloud });
      }
    }
    if (changed) this.revision++;
    // Also after a read that changed nothing: its time keeps the workers' map from going stale.
    if (changed || outcomes.includes('same')) this.options.publish(this.snapshot());
  }

  /** Reads one cloud: whether what it accepts changed, stayed the same, or the read failed. */
  private async pollCloud(poller: CloudPoller): Promise<'changed' | 'same' | 'failed'> {
    const read = this.reads.get(poller.cloud)!;
    const { cloud } = poller;
    let result: Awaited<ReturnType<CloudPoller['poll']>>;
    try {
      result = await poller.poll();
    } catch (err) {
      const reason: PollFailureReason = err instanceof PollError ? err.reason : 'bad_response';
      this.failures.inc({ cloud, reason });
      this.polls.inc({ cloud, result: 'failure' });
      this.options.logger.warn('ownership poll failed; keeping the last good map', {
        cloud,
        reason,
        error: (err as Error).message,
        ageSec: read.fetchedAt === null ? null : Math.round((Date.now() - read.fetchedAt) / 1000),
      });
      return 'failed';
    }
    this.polls.inc({ cloud, result: 'success' });
    if (result.skipped) {
      this.skipped.inc({ cloud }, result.skipped);
      this.options.logger.warn('endpoint connections not in the documented shape were ignored', { cloud, skipped: result.skipped });
    }
    read.fetchedAt = Date.now();
    const counts = { accepted: 0, pending: 0, other: 0 };
    for (const c of result.connections) counts[c.status]++;
    for (const [status, n] of Object.entries(counts)) this.connections.set({ cloud, status }, n);
    const accepted = result.connections
      .filter((c) => c.status === 'accepted')
      .map((c): [string, EndpointOwners] => [c.linkId, c.owners])
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const key = JSON.stringify(accepted);
    const changed = key !== read.key;
    read.accepted = accepted;
    read.key = key;
    if (changed) this.options.logger.info('ownership map changed', { cloud, accepted: accepted.length, pending: counts.pending });
    await this.settlePending(poller, read, result.connections);
    return changed ? 'changed' : 'same';
  }

  /** ownership.accept: pending connections a tenant names are accepted; the rest rejected if asked. */
  private async settlePending(poller: CloudPoller, read: CloudRead, connections: readonly EndpointConnection[]): Promise<void> {
    const mode = this.options.config.accept;
    const index = this.options.tenantIndex?.();
    if (mode === 'none' || !poller.setState || !index) return;
    const now = Date.now();
    const again = ASK_AGAIN_AFTER_INTERVALS * this.options.config.intervalSec * 1000;
    for (const [id, at] of read.asked) if (now - at > again) read.asked.delete(id);
    const accept: EndpointConnection[] = [];
    const reject: EndpointConnection[] = [];
    for (const c of connections) {
      if (c.status !== 'pending' || read.asked.has(c.linkId)) continue;
      if (namedByTenant(c, index)) accept.push(c);
      else if (mode === 'matching-reject-others') reject.push(c);
    }
    for (const [action, list] of [['accept', accept], ['reject', reject]] as const) {
      const batch = list.slice(0, MAX_STATE_CHANGES_PER_POLL);
      if (!batch.length) continue;
      for (const c of batch) read.asked.set(c.linkId, now);
      try {
        await poller.setState(batch, action);
        this.stateChanges.inc({ cloud: poller.cloud, action, result: 'success' }, batch.length);
        this.options.logger.info(action === 'accept' ? 'pending endpoint connections accepted' : 'pending endpoint connections rejected', {
          cloud: poller.cloud,
          linkIds: batch.map((c) => c.linkId),
        });
      } catch (err) {
        this.stateChanges.inc({ cloud: poller.cloud, action, result: 'failure' }, batch.length);
        this.options.logger.warn(`could not ${action} endpoint connections`, { cloud: poller.cloud, error: (err as Error).message });
      }
    }
  }
}

/** A tenant lists the link ID itself, or an owner rule names one of its owners. */
function namedByTenant(c: EndpointConnection, index: TenantIndex): boolean {
  if (index.linkIds[c.cloud].has(c.linkId)) return true;
  return OWNER_RULES.some((rule) => c.owners[rule] !== undefined && index.owners[rule].has(c.owners[rule]!));
}

/** The scheduler for a config with `ownership`, started; undefined when the config has none. */
export function startOwnership(
  config: { readonly ownership?: OwnershipConfig },
  options: Omit<OwnershipSchedulerOptions, 'config' | 'pollers'>,
): OwnershipScheduler | undefined {
  if (!config.ownership) return undefined;
  const scheduler = new OwnershipScheduler({ ...options, config: config.ownership, pollers: createPollers(config.ownership) });
  options.logger.info('ownership polling', {
    clouds: scheduler.clouds,
    intervalSec: config.ownership.intervalSec,
    staleAfterSec: config.ownership.staleAfterSec,
    accept: config.ownership.accept,
  });
  scheduler.start();
  return scheduler;
}
