/**
 * Polls the config object and hands each new valid document on; fail closed.
 *
 * - Conditional GETs (ETag / generation): an unchanged object costs a 304.
 * - A fetch error, an invalid document or one the gateway refuses keeps the running config and
 *   is counted (`linkgate_config_fetch_failures_total{reason}`) and logged. The validator of a
 *   refused document is not kept, so it is fetched (and refused, and counted) again at every poll
 *   until it is fixed, and `linkgate_config_age_seconds` goes on growing meanwhile.
 * - `linkgate_config_age_seconds`: seconds since the last fetch that ended well (a 304, or a new
 *   document applied); before the first, since the poller started.
 * - Until the first good document, the poll repeats every few seconds (at most the interval).
 */
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, type Registry } from 'prom-client';
import { formatLocatedIssues, parseConfigText, type LoadResult } from '../../tenants/load';
import type { Logger } from '../log';
import { describeError } from '../cloud-auth/http';
import { FETCH_TIMEOUT_MS, type ConfigFetcher } from './types';

export type LoadedConfig = Extract<LoadResult, { ok: true }>;

/** Default LINKGATE_CONFIG_POLL_SEC. */
export const DEFAULT_POLL_SEC = 30;
/** Retry interval before the first good config, when the poll interval is longer. */
const FIRST_CONFIG_RETRY_MS = 5_000;

export type FailureReason = 'fetch' | 'invalid' | 'refused';

export class ConfigSourceMetrics {
  readonly fetchFailures: Counter<'reason'>;
  readonly age: Gauge;
  /** Epoch ms of the last fetch that ended well (or of the start). */
  lastSuccessAt = Date.now();
  failures = 0;

  constructor(registry: Registry) {
    this.fetchFailures = new Counter({
      name: 'linkgate_config_fetch_failures_total',
      help: 'Config polls that kept the running config: fetch (store unreachable, denied, missing, too large), invalid (document does not validate), refused (the gateway cannot apply it).',
      labelNames: ['reason'],
      registers: [registry],
    });
    for (const reason of ['fetch', 'invalid', 'refused'] as const) this.fetchFailures.labels(reason);
    const ageSeconds = () => this.ageSeconds();
    this.age = new Gauge({
      name: 'linkgate_config_age_seconds',
      help: 'Seconds since the config object was last fetched or found unchanged (304); grows while the store fails.',
      registers: [registry],
      aggregator: 'max',
      collect() {
        this.set(ageSeconds());
      },
    });
  }

  ageSeconds(): number {
    return Math.max(0, Math.floor((Date.now() - this.lastSuccessAt) / 1000));
  }

  fail(reason: FailureReason): void {
    this.failures++;
    this.fetchFailures.inc({ reason });
  }
}

export interface ConfigPollerOptions {
  readonly fetcher: ConfigFetcher;
  readonly intervalMs: number;
  readonly logger: Logger;
  readonly metrics: ConfigSourceMetrics;
  /**
   * A new valid document: apply it. Resolves with null when applied, else why it was not (the
   * running config stays; counted as `refused`).
   */
  readonly onConfig: ConfigHandler;
}

export type ConfigHandler = (loaded: LoadedConfig, bytes: Buffer) => Promise<string | null> | string | null;

export class ConfigPoller {
  private validator: string | null = null;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private suspended = false;
  private polling: Promise<void> | null = null;
  private pollAgain = false;
  /** A good document has been applied. */
  hasConfig = false;
  /** Where new documents go: replaced once the gateway runs (the first one starts it). */
  onConfig: ConfigHandler;

  constructor(private readonly options: ConfigPollerOptions) {
    this.onConfig = options.onConfig;
  }

  start(): void {
    void this.poll();
  }

  /** Forget the validator and fetch now: the whole document comes again (a worker missed it). */
  recheck(): void {
    this.validator = null;
    void this.poll();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** No polls until resume(): while the gateway starts on the first document. */
  suspend(): void {
    this.suspended = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Polls again from one interval from now, documents going to `onConfig`. */
  resume(onConfig: ConfigHandler): void {
    this.onConfig = onConfig;
    this.suspended = false;
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.closed || this.suspended) return;
    const every = this.hasConfig ? this.options.intervalMs : Math.min(this.options.intervalMs, FIRST_CONFIG_RETRY_MS);
    this.timer = setTimeout(() => void this.poll(), every);
    this.timer.unref();
  }

  /** One poll now (a poll under way is followed by another). */
  poll(): Promise<void> {
    if (this.closed || this.suspended) return Promise.resolve();
    if (this.polling) {
      this.pollAgain = true;
      return this.polling;
    }
    if (this.timer) clearTimeout(this.timer);
    this.polling = this.once().finally(() => {
      this.polling = null;
      if (this.pollAgain && !this.closed && !this.suspended) {
        this.pollAgain = false;
        void this.poll();
        return;
      }
      this.schedule();
    });
    return this.polling;
  }

  private async once(): Promise<void> {
    const { fetcher, logger, metrics } = this.options;
    const started = performance.now();
    let outcome;
    try {
      outcome = await fetcher.fetch(this.validator, AbortSignal.timeout(FETCH_TIMEOUT_MS));
    } catch (err) {
      metrics.fail('fetch');
      logger.error('config fetch failed; keeping the last good config', {
        source: fetcher.describe,
        error: describeError(err),
        hasConfig: this.hasConfig,
        configAgeSec: metrics.ageSeconds(),
      });
      return;
    }
    if (outcome.status === 'unchanged') {
      metrics.lastSuccessAt = Date.now();
      return;
    }
    const fetchMs = performance.now() - started;
    const loaded = parseConfigText(outcome.bytes.toString('utf8'));
    if (!loaded.ok) {
      metrics.fail('invalid');
      logger.error('config object is invalid; keeping the last good config', {
        source: fetcher.describe,
        bytes: outcome.bytes.length,
        errors: formatLocatedIssues(loaded.issues, fetcher.describe).split('\n').slice(0, 50),
        configAgeSec: metrics.ageSeconds(),
      });
      return;
    }
    const parsedMs = performance.now() - started - fetchMs;
    let refusal: string | null;
    try {
      refusal = await this.onConfig(loaded, outcome.bytes);
    } catch (err) {
      refusal = (err as Error).message;
    }
    if (refusal !== null) {
      metrics.fail('refused');
      logger.error('config object refused; keeping the last good config', {
        source: fetcher.describe,
        errors: refusal.split('\n'),
      });
      return;
    }
    this.validator = outcome.validator;
    this.hasConfig = true;
    metrics.lastSuccessAt = Date.now();
    logger.info('config object applied', {
      source: fetcher.describe,
      bytes: outcome.bytes.length,
      tenants: loaded.value.tenants.length,
      fetchMs: Math.round(fetchMs),
      validateMs: Math.round(parsedMs),
      totalMs: Math.round(performance.now() - started),
    });
  }
}

export function resolvePollIntervalMs(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_POLL_SEC * 1000;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0.1 || n > 86_400) {
    throw new Error(`LINKGATE_CONFIG_POLL_SEC must be a number of seconds from 0.1 to 86400, got ${JSON.stringify(value)}`);
  }
  return Math.round(n * 1000);
}
