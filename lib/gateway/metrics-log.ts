/**
 * Metrics as JSON lines on stdout, in CloudWatch Embedded Metric Format (EMF): CloudWatch reads
 * them from the awslogs stream with no agent, and Azure Monitor / Cloud Logging read the same
 * lines from their log pipelines. On when LINKGATE_METRICS_LOG_INTERVAL_SEC > 0.
 *
 * Every interval, one line per (tenant, outcome) with a nonzero count in that interval, and one
 * line for the process. Counts are deltas of the Prometheus counters (metrics.ts), not counted a
 * second time, so they agree with /metrics and are unaffected by the drop-log rate limit. Every
 * value is summable across processes and instances (statistic Sum per period; ConfigAgeSeconds:
 * Maximum).
 */
import type { GatewayMetrics } from './metrics';

export type MetricsLogTenants = 'all' | 'drops';

export interface MetricsLogSettings {
  readonly intervalMs: number;
  readonly namespace: string;
  readonly service: string;
  /** Which lines carry the per-tenant dimension set: every line, or drops only (accepted aggregated). */
  readonly tenants: MetricsLogTenants;
}

/** What the config source reports (absent for a file or inline config). */
export interface ConfigSourceFigures {
  /** Failures since the start (fetch, invalid or refused). */
  readonly failures: number;
  ageSeconds(): number;
}

export interface MetricsLogOptions extends MetricsLogSettings {
  /** This process's counters; absent in a cluster primary, which serves no traffic. */
  readonly metrics?: GatewayMetrics;
  readonly config?: ConfigSourceFigures;
  /** Where lines go. Default: process.stdout. */
  readonly write?: (text: string) => void;
  readonly now?: () => number;
}

/** Reads the LINKGATE_METRICS_LOG_* variables; null when the lines are off (the default). */
export function metricsLogSettings(env: NodeJS.ProcessEnv = process.env): MetricsLogSettings | null {
  const raw = env.LINKGATE_METRICS_LOG_INTERVAL_SEC;
  const seconds = raw === undefined || raw === '' ? 0 : Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 3600) {
    throw new Error(`LINKGATE_METRICS_LOG_INTERVAL_SEC must be a number of seconds from 0 (off) to 3600, got ${JSON.stringify(raw)}`);
  }
  if (seconds === 0) return null;
  const tenants = env.LINKGATE_METRICS_LOG_TENANTS || 'drops';
  if (tenants !== 'all' && tenants !== 'drops') {
    throw new Error(`LINKGATE_METRICS_LOG_TENANTS must be "all" or "drops", got ${JSON.stringify(tenants)}`);
  }
  return {
    intervalMs: Math.round(seconds * 1000),
    namespace: env.LINKGATE_METRICS_LOG_NAMESPACE || 'Linkgate',
    service: env.LINKGATE_METRICS_LOG_SERVICE || 'linkgate',
    tenants,
  };
}

const NO_TENANT = '-';

export class MetricsLog {
  /** Totals at the last line, by "tenant\0outcome" (accepted and dropped read from the counters). */
  private last = new Map<string, number>();
  private lastReloads = { success: 0, failure: 0 };
  private lastFetchFailures = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly write: (text: string) => void;
  private readonly now: () => number;

  constructor(private readonly options: MetricsLogOptions) {
    this.write = options.write ?? ((text) => void process.stdout.write(text));
    this.now = options.now ?? Date.now;
    this.lastFetchFailures = options.config?.failures ?? 0;
  }

  start(): this {
    // Counts from before the start (none, or a reload's) are the baseline, not the first delta.
    void this.totals().then((t) => {
      this.last = t.byTenantOutcome;
      this.lastReloads = t.reloads;
    });
    this.timer = setInterval(() => void this.flush(), this.options.intervalMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Writes the lines for the interval since the last call. */
  async flush(): Promise<void> {
    const { namespace, service } = this.options;
    const timestamp = this.now();
    const totals = await this.totals();
    const lines: string[] = [];
    const aggregatedAccepted = new Map<string, number>();
    for (const [key, total] of totals.byTenantOutcome) {
      const delta = total - (this.last.get(key) ?? 0);
      if (delta <= 0) continue;
      const [tenant, outcome] = key.split('\0') as [string, string];
      if (outcome === 'accepted' && this.options.tenants === 'drops') {
        aggregatedAccepted.set(outcome, (aggregatedAccepted.get(outcome) ?? 0) + delta);
        continue;
      }
      lines.push(connectionsLine(namespace, service, timestamp, tenant, outcome, delta, true));
    }
    for (const [outcome, delta] of aggregatedAccepted) lines.push(connectionsLine(namespace, service, timestamp, NO_TENANT, outcome, delta, false));
    const failures = this.options.config?.failures ?? 0;
    lines.push(
      JSON.stringify({
        _aws: {
          Timestamp: timestamp,
          CloudWatchMetrics: [
            {
              Namespace: namespace,
              Dimensions: [['Service']],
              Metrics: [
                { Name: 'ActiveConnections', Unit: 'Count' },
                { Name: 'ConfigReloads', Unit: 'Count' },
                { Name: 'ConfigReloadFailures', Unit: 'Count' },
                { Name: 'ConfigFetchFailures', Unit: 'Count' },
                { Name: 'ConfigAgeSeconds', Unit: 'Seconds' },
              ],
            },
          ],
        },
        msg: 'metrics',
        Service: service,
        ActiveConnections: totals.active,
        ConfigReloads: totals.reloads.success - this.lastReloads.success,
        ConfigReloadFailures: totals.reloads.failure - this.lastReloads.failure,
        ConfigFetchFailures: failures - this.lastFetchFailures,
        ConfigAgeSeconds: this.options.config?.ageSeconds() ?? 0,
      }),
    );
    this.last = totals.byTenantOutcome;
    this.lastReloads = totals.reloads;
    this.lastFetchFailures = failures;
    this.write(`${lines.join('\n')}\n`);
  }

  private async totals(): Promise<{ byTenantOutcome: Map<string, number>; active: number; reloads: { success: number; failure: number } }> {
    const byTenantOutcome = new Map<string, number>();
    const reloads = { success: 0, failure: 0 };
    let active = 0;
    const metrics = this.options.metrics;
    if (!metrics) return { byTenantOutcome, active, reloads };
    const add = (tenant: string, outcome: string, value: number) => {
      const key = `${tenant || NO_TENANT}\0${outcome}`;
      byTenantOutcome.set(key, (byTenantOutcome.get(key) ?? 0) + value);
    };
    for (const v of (await metrics.accepted.get()).values) add(String(v.labels.tenant ?? ''), 'accepted', v.value);
    for (const v of (await metrics.dropped.get()).values) add(String(v.labels.tenant ?? ''), String(v.labels.reason), v.value);
    for (const v of (await metrics.active.get()).values) active += v.value;
    for (const v of (await metrics.reloads.get()).values) {
      if (v.labels.result === 'success') reloads.success += v.value;
      else if (v.labels.result === 'failure') reloads.failure += v.value;
    }
    return { byTenantOutcome, active, reloads };
  }
}

function connectionsLine(namespace: string, service: string, timestamp: number, tenant: string, outcome: string, count: number, perTenant: boolean): string {
  return JSON.stringify({
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: perTenant ? [['Service', 'Outcome'], ['Service', 'Tenant', 'Outcome']] : [['Service', 'Outcome']],
          Metrics: [{ Name: 'Connections', Unit: 'Count' }],
        },
      ],
    },
    msg: 'metrics',
    Service: service,
    Tenant: tenant,
    Outcome: outcome,
    Connections: count,
  });
}

/** Starts the lines when LINKGATE_METRICS_LOG_INTERVAL_SEC asks for them; undefined when off. */
export function startMetricsLog(metrics: GatewayMetrics | undefined, config?: ConfigSourceFigures, env: NodeJS.ProcessEnv = process.env): MetricsLog | undefined {
  const settings = metricsLogSettings(env);
  return settings ? new MetricsLog({ ...settings, metrics, config }).start() : undefined;
}
