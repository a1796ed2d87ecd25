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

  // Label children resolved once per label set: prom-client hashes the labels on every call
  // otherwise, and these are hit on every connection.
  private readonly children = new Map<string, unknown>();

  private child<C>(key: string, resolve: () => C): C {
    let child = this.children.get(key) as C | undefined;
    if (child === undefined) this.children.set(key, (child = resolve()));
    return child;
  }

  countAccepted(listener: string, tenant: string, cloud: string): void {
    this.child(`accepted\0${listener}\0${tenant}\0${cloud}`, () => this.accepted.labels(listener, tenant, cloud)).inc();
  }

  countDropped(listener: string, reason: string, tenant: string): void {
    this.child(`dropped\0${listener}\0${reason}\0${tenant}`, () => this.dropped.labels(listener, reason, tenant)).inc();
  }

  countClosed(reason: string, tenant: string): void {
    this.child(`closed\0${reason}\0${tenant}`, () => this.closed.labels(reason, tenant)).inc();
  }

  countHealthCheck(listener: string): void {
    this.child(`health\0${listener}`, () => this.healthChecks.labels(listener)).inc();
  }

  countBytes(direction: 'client_to_upstream' | 'upstream_to_client', tenant: string, bytes: number): void {
    this.child(`bytes\0${direction}\0${tenant}`, () => this.bytes.labels(direction, tenant)).inc(bytes);
  }

  /** +1 when a connection opens, -1 when it closes. */
  changeActive(listener: string, by: 1 | -1): void {
    this.child(`active\0${listener}`, () => this.active.labels(listener)).inc(by);
  }

  observeDecision(listener: string, verdict: string, seconds: number): void {
    this.child(`decision\0${listener}\0${verdict}`, () => this.decisionSeconds.labels(listener, verdict)).observe(seconds);
  }

  constructor(options: { registry?: Registry; defaultMetrics?: boolean } = {}) {
    const registers = [(this.registry = options.registry ?? new Registry())];
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'linkgate_' });
    this.accepted = new Counter({
      name: 'linkgate_connections_accepted_total',
      help: 'Connections forwarded upstream, by listener, tenant and cloud ("none" on the public listener).',
      labelNames: ['listener', 'tenant', 'cloud'],
      registers,
    });
    this.dropped = new Counter({
      name: 'linkgate_connections_dropped_total',
      help: 'Connections dropped before forwarding, by reason; tenant is "" when none was identified.',
      labelNames: ['listener', 'reason', 'tenant'],
      registers,
    });
    this.closed = new Counter({
      name: 'linkgate_connections_closed_total',
      help: 'Forwarded connections the gateway ended, by reason (revoked, upstream_error, drain_timeout, ...).',
      labelNames: ['reason', 'tenant'],
      registers,
    });
    this.active = new Gauge({
      name: 'linkgate_active_connections',
      help: 'Open client connections, pending and forwarding.',
      labelNames: ['listener'],
      registers,
    });
    this.bytes = new Counter({
      name: 'linkgate_bytes_total',
      help: 'Bytes forwarded, counted when a connection closes (client_to_upstream excludes the PROXY header).',
      labelNames: ['direction', 'tenant'],
      registers,
    });
    this.healthChecks = new Counter({
      name: 'linkgate_health_checks_total',
      help: 'PROXY v2 LOCAL connections (load balancer health checks) answered by closing.',
      labelNames: ['listener'],
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
