/**
 * Prometheus metrics. Every connection ends in exactly one of: forwarded (accepted_total), dropped
 * with a reason (dropped_total), or a health check (health_checks_total). Hostnames are never
 * label values (unbounded); tenant names are (bounded by the config).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';


export class GatewayMetrics {
  readonly registry: Registry;
  readonly accepted: Counter<'listener' | 'tenant' | 'cloud'>;
  readonly dropped: Counter<'listener' | 'reason' | 'tenant'>;
  readonly closed: Counter<'reason' | 'tenant'>;
  readonly active: Gauge<'listener'>;
  readonly bytes: Counter<'direction' | 'tenant'>;
  readonly healthChecks: Counter<'listener'>;
  readonly reloads: Counter<'result'>;
  readonly tenants: Gauge;
  readonly lastReloadSuccess: Gauge;
  readonly decisionSeconds: Histogram<'listener' | 'verdict'>;
  readonly logLinesSuppressed: Counter;

  // The per-connection counts wait in plain numbers, found by Map lookups on the label values
  // themselves, and reach prom-client when it is read (each metric's collect): prom-client hashes
  // the label set on every inc() and observe(), a cost paid here once per scrape instead of several
  // times per connection.
  private readonly acceptedTallies = new LabelTree<Tally>();
  private readonly droppedTallies = new LabelTree<Tally>();
  private readonly closedTallies = new LabelTree<Tally>();
  private readonly bytesTallies = new LabelTree<Tally>();
  private readonly healthTallies = new LabelTree<Tally>();
  private readonly activeTallies = new LabelTree<Tally>();
  private readonly decisionChildren = new LabelTree<Histogram.Internal<'listener' | 'verdict'>>();

  countAccepted(listener: string, tenant: string, cloud: string): void {
    this.acceptedTallies.get3(listener, tenant, cloud, newTally).pending++;
  }

  countDropped(listener: string, reason: string, tenant: string): void {
    this.droppedTallies.get3(listener, reason, tenant, newTally).pending++;
  }

  countClosed(reason: string, tenant: string): void {
    this.closedTallies.get2(reason, tenant, newTally).pending++;
  }

  countHealthCheck(listener: string): void {
    this.healthTallies.get1(listener, newTally).pending++;
  }

  countBytes(direction: 'client_to_upstream' | 'upstream_to_client', tenant: string, bytes: number): void {
    this.bytesTallies.get2(direction, tenant, newTally).pending += bytes;
  }

  /** +1 when a connection opens, -1 when it closes. */
  changeActive(listener: string, by: 1 | -1): void {
    this.activeTallies.get1(listener, newTally).pending += by;
  }

  observeDecision(listener: string, verdict: string, seconds: number): void {
    this.decisionChildren.get2(listener, verdict, () => this.decisionSeconds.labels(listener, verdict)).observe(seconds);
  }

  constructor(options: { registry?: Registry; defaultMetrics?: boolean } = {}) {
    const registers = [(this.registry = options.registry ?? new Registry())];
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'linkgate_' });
    this.accepted = new Counter({
      name: 'linkgate_connections_accepted_total',
      help: 'Connections forwarded upstream, by listener, tenant and cloud ("none" on the public listener).',
      labelNames: ['listener', 'tenant', 'cloud'],
      collect: flushInto(this.acceptedTallies),
      registers,
    });
    this.dropped = new Counter({
      name: 'linkgate_connections_dropped_total',
      help: 'Connections dropped before forwarding, by reason; tenant is "" when none was identified.',
      labelNames: ['listener', 'reason', 'tenant'],
      collect: flushInto(this.droppedTallies),
      registers,
    });
    this.closed = new Counter({
      name: 'linkgate_connections_closed_total',
      help: 'Forwarded connections the gateway ended, by reason (revoked, upstream_error, drain_timeout, ...).',
      labelNames: ['reason', 'tenant'],
      collect: flushInto(this.closedTallies),
      registers,
    });
    this.active = new Gauge({
      name: 'linkgate_active_connections',
      help: 'Open client connections, pending and forwarding.',
      labelNames: ['listener'],
      collect: setFrom(this.activeTallies),
      registers,
    });
    this.bytes = new Counter({
      name: 'linkgate_bytes_total',
      help: 'Bytes forwarded, counted when a connection closes (client_to_upstream excludes the PROXY header).',
      labelNames: ['direction', 'tenant'],
      collect: flushInto(this.bytesTallies),
      registers,
    });
    this.healthChecks = new Counter({
      name: 'linkgate_health_checks_total',
      help: 'PROXY v2 LOCAL connections (load balancer health checks) answered by closing.',
      labelNames: ['listener'],
      collect: flushInto(this.healthTallies),
      registers,
    });
    this.reloads = new Counter({
      name: 'linkgate_config_reloads_total',
      help: 'Config reloads by result (success, failure).',
      labelNames: ['result'],
      registers,
    });
    // Every worker holds the same policy: the cluster reports it once, not once per worker (the
    // largest while a reload goes from worker to worker).
    this.tenants = new Gauge({ name: 'linkgate_config_tenants', help: 'Tenants in the active policy.', registers, aggregator: 'max' });
    this.lastReloadSuccess = new Gauge({
      name: 'linkgate_config_last_success_timestamp_seconds',
      help: 'When the active policy was loaded.',
      registers,
      aggregator: 'max',
    });
    this.decisionSeconds = new Histogram({
      name: 'linkgate_decision_duration_seconds',
      help: 'From accept to verdict: PROXY header and ClientHello reads included.',
      labelNames: ['listener', 'verdict'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers,
    });
    this.logLinesSuppressed = new Counter({
      name: 'linkgate_log_lines_suppressed_total',
      help: 'Drop log lines not written because of the rate limit (the drops are still counted).',
      registers,
    });
  }
}

/** Counts (or, for a gauge, the value) waiting for the next read of the metric. */
interface Tally {
  pending: number;
}

const newTally = (): Tally => ({ pending: 0 });

/** A counter's collect(): each tally's pending increments go to prom-client and are zeroed. */
function flushInto(tree: LabelTree<Tally>): (this: Counter<string>) => void {
  return function (this: Counter<string>) {
    for (const [labels, tally] of tree.entries()) {
      if (tally.pending === 0) continue;
      this.labels(...labels).inc(tally.pending);
      tally.pending = 0;
    }
  };
}

/** A gauge's collect(): each tally holds the value itself. */
function setFrom(tree: LabelTree<Tally>): (this: Gauge<string>) => void {
  return function (this: Gauge<string>) {
    for (const [labels, tally] of tree.entries()) this.labels(...labels).set(tally.pending);
  };
}

/**
 * Values by one to three label values, as nested Maps: a lookup hashes strings that already exist
 * (tenant names, reasons, listener names) instead of a key string built on every call.
 */
class LabelTree<V> {
  private readonly root = new Map<string, unknown>();

  get1(a: string, make: () => V): V {
    return this.leaf(this.root, a, make);
  }

  get2(a: string, b: string, make: () => V): V {
    return this.leaf(this.branch(this.root, a), b, make);
  }

  get3(a: string, b: string, c: string, make: () => V): V {
    return this.leaf(this.branch(this.branch(this.root, a), b), c, make);
  }

  /** Every value with its label values, in insertion order. */
  *entries(prefix: string[] = [], node: Map<string, unknown> = this.root): Generator<[string[], V]> {
    for (const [label, next] of node) {
      if (next instanceof Map) yield* this.entries([...prefix, label], next as Map<string, unknown>);
      else yield [[...prefix, label], next as V];
    }
  }

  private branch(node: Map<string, unknown>, label: string): Map<string, unknown> {
    let next = node.get(label) as Map<string, unknown> | undefined;
    if (next === undefined) node.set(label, (next = new Map()));
    return next;
  }

  private leaf(node: Map<string, unknown>, label: string, make: () => V): V {
    let value = node.get(label) as V | undefined;
    if (value === undefined) node.set(label, (value = make()));
    return value;
  }
}
