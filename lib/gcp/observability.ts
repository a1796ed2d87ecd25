/**
 * What a platform team sees and gets paged for (issue 12, contract C), from the fewest moving parts:
 *
 *   gateway metrics lines on stdout (contract B, every `metricsLogIntervalSec`)
 *     → Docker json-file log → Container-Optimized OS logging agent (`google-logging-enabled`)
 *     → Cloud Logging → log-based metrics → alert policies and a dashboard (Cloud Monitoring).
 *
 * No sidecar and no agent to install: COS ships the logging agent, and the VMs already have
 * `roles/logging.logWriter`.
 *
 * Why distribution metrics: a log-based *counter* counts matching entries, not a field's value. The
 * metrics lines carry counts (`Connections`: 17 drops of one reason for one tenant in one interval),
 * so a counter over them would count intervals, and a counter over the per-connection decision lines
 * would undercount exactly during an attack, when drop lines are rate-limited (50/s per worker by
 * default); the metrics lines are not. A *distribution* metric with a value extractor keeps every
 * line's value, and its `_sum` series (PromQL, which Cloud Monitoring alert policies and dashboards
 * take) adds them up exactly: `sum(increase(..._sum[5m]))` is the number of connections.
 */
import { LoggingMetric } from '@cdktf/provider-google/lib/logging-metric';
import { MonitoringAlertPolicy } from '@cdktf/provider-google/lib/monitoring-alert-policy';
import { MonitoringDashboard } from '@cdktf/provider-google/lib/monitoring-dashboard';
import { Construct } from 'constructs';
import { isToken, type PropValidator, warn } from './common';

export interface GatewayObservabilityOptions {
  /**
   * Create the log-based metrics, alert policies and dashboard.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Cloud Monitoring notification channels every alert policy notifies
   * (`projects/PROJECT/notificationChannels/ID`). Without any, incidents open but nobody is told
   * (synth warns).
   * @default - none
   */
  readonly notificationChannels?: readonly string[];
  /**
   * Connections refused as `link_id_not_allowed` for one tenant within 15 minutes that page: a
   * customer's new endpoint missing from its `allow.gcp`, or someone probing its hostnames.
   * @default 10
   */
  readonly linkIdNotAllowedThreshold?: number;
  /**
   * Seconds without a successful config fetch (object store delivery) after which a gateway's
   * config counts as stale and pages. The gateway polls every 30 s.
   * @default 300
   */
  readonly configMaxAgeSec?: number;
  /**
   * Create the Cloud Monitoring dashboard.
   * @default true
   */
  readonly dashboard?: boolean;
}

export interface GatewayObservabilityProps extends GatewayObservabilityOptions {
  /** Project of the gateway VMs: their logs, and so the metrics and alerts, are there. */
  readonly project: string;
  /** Resource name prefix. */
  readonly name: string;
  /** `Service` of the gateway's metrics lines (`LINKGATE_METRICS_LOG_SERVICE`). */
  readonly metricsService: string;
  /** The managed instance group's base instance name: its VMs are `<base>-xxxx`. */
  readonly baseInstanceName: string;
  /** Whether the gateway polls an object store (config age and fetch failures are then watched). */
  readonly objectStore: boolean;
  readonly labels?: Readonly<Record<string, string>>;
}

/** One alert policy as created: what it watches, its threshold and window (for tests and the README). */
export interface AlertSpec {
  readonly id: string;
  readonly displayName: string;
  /** The PromQL condition, or the log filter for log-match alerts. */
  readonly query: string;
  readonly kind: 'promql' | 'log';
  readonly severity: 'CRITICAL' | 'ERROR' | 'WARNING';
  readonly documentation: string;
}

/** Fleet-wide failed config fetches within 10 minutes that page (each gateway polls every 30 s and keeps its last good config). */
export const CONFIG_FETCH_FAILURES_THRESHOLD = 10;

export function validateObservability(v: PropValidator, o: GatewayObservabilityOptions | undefined, metricsLogIntervalSec: number): void {
  if (o?.enabled === false) return;
  v.integer('observability.linkIdNotAllowedThreshold', o?.linkIdNotAllowedThreshold, 1, 1_000_000);
  v.integer('observability.configMaxAgeSec', o?.configMaxAgeSec, 60, 86_400, ' s');
  (o?.notificationChannels ?? []).forEach((c, i) =>
    v.pattern(`observability.notificationChannels[${i}]`, c, /^projects\/[^/]+\/notificationChannels\/[0-9]+$/, 'a notification channel ID like projects/PROJECT/notificationChannels/123'),
  );
  if (!isToken(metricsLogIntervalSec) && metricsLogIntervalSec === 0) {
    v.fail('metricsLogIntervalSec', 'is 0 (metrics lines off), but observability needs them: set it above 0, or observability: { enabled: false }');
  }
}

/** The log-based metrics, alert policies and dashboard of one gateway. */
export class GatewayObservability extends Construct {
  readonly linkIdNotAllowedThreshold: number;
  readonly configMaxAgeSec: number;
  readonly notificationChannels: readonly string[];
  /** Log-based metrics by short name: connections, active_connections, config_reloads, ... */
  readonly metrics: Readonly<Record<string, LoggingMetric>>;
  readonly alerts: readonly AlertSpec[];
  readonly alertPolicies: Readonly<Record<string, MonitoringAlertPolicy>>;
  readonly dashboard?: MonitoringDashboard;

  constructor(scope: Construct, id: string, props: GatewayObservabilityProps) {
    super(scope, id);
    this.linkIdNotAllowedThreshold = props.linkIdNotAllowedThreshold ?? 10;
    this.configMaxAgeSec = props.configMaxAgeSec ?? 300;
    this.notificationChannels = props.notificationChannels ?? [];
    if (this.notificationChannels.length === 0) {
      warn(this, 'observability has no notificationChannels: alert policies open incidents but notify nobody.');
    }

    const prefix = `linkgate_${props.metricsService.replace(/[^a-zA-Z0-9]/g, '_')}`;
    // The gateway's metrics lines of this deployment, as the COS logging agent ships them.
    const lines = `resource.type="gce_instance" AND jsonPayload.msg="metrics" AND jsonPayload.Service="${props.metricsService}"`;
    const metric = (short: string, config: { description: string; filter: string; field?: string; labels?: string[] }) =>
      new LoggingMetric(this, `Metric-${short}`, {
        project: props.project,
        name: `${prefix}_${short}`,
        description: config.description,
        filter: config.filter,
        valueExtractor: config.field ? `EXTRACT(jsonPayload.${config.field})` : undefined,
        labelExtractors: config.labels ? Object.fromEntries(config.labels.map((l) => [l, `EXTRACT(jsonPayload.${capitalize(l)})`])) : undefined,
        bucketOptions: config.field ? { exponentialBuckets: { numFiniteBuckets: 32, growthFactor: 2, scale: 1 } } : undefined,
        metricDescriptor: {
          metricKind: 'DELTA',
          valueType: config.field ? 'DISTRIBUTION' : 'INT64',
          unit: '1',
          labels: config.labels?.map((key) => ({ key, valueType: 'STRING' })),
        },
      });
    const metrics: Record<string, LoggingMetric> = {
      connections: metric('connections', {
        description: 'linkgate: connections per outcome (accepted or drop reason) and tenant, summed from the metrics lines',
        filter: `${lines} AND jsonPayload.Outcome:*`,
        field: 'Connections',
        labels: ['outcome', 'tenant'],
      }),
      active_connections: metric('active_connections', {
        description: 'linkgate: open connections per gateway process (sum them per interval for the total)',
        filter: `${lines} AND jsonPayload.ActiveConnections:*`,
        field: 'ActiveConnections',
      }),
      config_reloads: metric('config_reloads', {
        description: 'linkgate: config reloads applied',
        filter: `${lines} AND jsonPayload.ConfigReloads:*`,
        field: 'ConfigReloads',
      }),
      config_reload_failures: metric('config_reload_failures', {
        description: 'linkgate: config reloads refused (invalid config; the last good one is kept)',
        filter: `${lines} AND jsonPayload.ConfigReloadFailures:*`,
        field: 'ConfigReloadFailures',
      }),
    };
    if (props.objectStore) {
      metrics.config_fetch_failures = metric('config_fetch_failures', {
        description: 'linkgate: failed config fetches from Cloud Storage (the last good config is kept)',
        filter: `${lines} AND jsonPayload.ConfigFetchFailures:*`,
        field: 'ConfigFetchFailures',
      });
      metrics.config_stale = metric('config_stale', {
        description: `linkgate: metrics lines of gateways whose config is older than ${this.configMaxAgeSec} s`,
        filter: `${lines} AND jsonPayload.ConfigAgeSeconds > ${this.configMaxAgeSec}`,
      });
    }
    this.metrics = metrics;

    const promql = (short: string, suffix = '') => `logging_googleapis_com:user_${prefix}_${short}${suffix}`;
    const sel = (short: string, matchers = '', suffix = '_sum') => `${promql(short, suffix)}{monitored_resource="gce_instance"${matchers ? `,${matchers}` : ''}}`;
    const alerts: AlertSpec[] = [
      {
        id: 'Attack',
        displayName: `linkgate ${props.name}: spoofed PROXY header or bad CRC`,
        query: `sum by (outcome) (increase(${sel('connections', 'outcome=~"spoofed_proxy_header|bad_crc"')}[5m])) >= 1`,
        kind: 'promql',
        severity: 'CRITICAL',
        documentation:
          'A connection reached the private-link listener with a PROXY header the service attachment did not write, or with a bad checksum: ' +
          'an attack, or the listener is reachable from something other than the PSC NAT range. Check the VPC and host firewall rules.',
      },
      {
        id: 'LinkIdNotAllowed',
        displayName: `linkgate ${props.name}: endpoints refused for a tenant`,
        query: `sum by (tenant) (increase(${sel('connections', 'outcome="link_id_not_allowed"')}[15m])) >= ${this.linkIdNotAllowedThreshold}`,
        kind: 'promql',
        severity: 'WARNING',
        documentation:
          "A tenant's hostnames are reached through a PSC endpoint not in its allow.gcp: usually the customer's new endpoint " +
          '(add its psc_connection_id), otherwise another consumer probing. The incident names the tenant.',
      },
      {
        id: 'OverCapacity',
        displayName: `linkgate ${props.name}: connections refused over capacity`,
        query: `sum by (outcome) (increase(${sel('connections', 'outcome=~"over_capacity|tenant_over_capacity"')}[5m])) >= 1`,
        kind: 'promql',
        severity: 'ERROR',
        documentation: 'Gateways refused connections at their connection limits: scale out (maxInstances) or raise limits.',
      },
      {
        id: 'ConfigReloadFailures',
        displayName: `linkgate ${props.name}: config reload refused`,
        query: `sum(increase(${sel('config_reload_failures')}[10m])) >= 1`,
        kind: 'promql',
        severity: 'ERROR',
        documentation: 'A gateway refused a new config and keeps serving the last good one: tenant changes are not applied. See its logs.',
      },
    ];
    if (props.objectStore) {
      alerts.push(
        {
          id: 'ConfigFetchFailures',
          displayName: `linkgate ${props.name}: config fetches from Cloud Storage failing`,
          query: `sum(increase(${sel('config_fetch_failures')}[10m])) >= ${CONFIG_FETCH_FAILURES_THRESHOLD}`,
          kind: 'promql',
          severity: 'WARNING',
          documentation: 'Gateways cannot read the config object (permissions, Private Google Access, an invalid object); they keep the last good config.',
        },
        {
          id: 'ConfigStale',
          displayName: `linkgate ${props.name}: config older than ${this.configMaxAgeSec} s`,
          query: `sum(increase(${promql('config_stale')}{monitored_resource="gce_instance"}[5m])) >= 1`,
          kind: 'promql',
          severity: 'ERROR',
          documentation: 'A gateway has not fetched its config for longer than the bound: revoked endpoints may still be allowed there.',
        },
      );
    }
    alerts.push(
      {
        id: 'NoGateway',
        displayName: `linkgate ${props.name}: no gateway reporting`,
        // Every serving gateway process writes a metrics line per interval; none for 10 minutes means none runs.
        query: `absent_over_time(${sel('active_connections', '', '_count')}[10m])`,
        kind: 'promql',
        severity: 'CRITICAL',
        documentation: 'No gateway process has written a metrics line for 10 minutes: no healthy gateway serves Private Service Connect.',
      },
      {
        id: 'Autohealing',
        displayName: `linkgate ${props.name}: unhealthy gateway VM recreated`,
        query: `protoPayload.methodName="compute.instances.repair.recreateInstance" AND protoPayload.resourceName:"/instances/${props.baseInstanceName}-"`,
        kind: 'log',
        severity: 'WARNING',
        documentation: 'Autohealing recreated a gateway VM whose /healthz failed. Repeated repairs point at a crash loop or a bad image or config.',
      },
    );
    this.alerts = alerts;

    const policies: Record<string, MonitoringAlertPolicy> = {};
    for (const alert of alerts) {
      policies[alert.id] = new MonitoringAlertPolicy(this, `Alert-${alert.id}`, {
        project: props.project,
        displayName: alert.displayName,
        combiner: 'OR',
        severity: alert.severity,
        notificationChannels: [...this.notificationChannels],
        userLabels: props.labels ? { ...props.labels } : undefined,
        documentation: { content: alert.documentation, mimeType: 'text/markdown' },
        conditions: [
          alert.kind === 'promql'
            ? {
                displayName: alert.displayName,
                conditionPrometheusQueryLanguage: {
                  query: alert.query,
                  duration: '0s',
                  evaluationInterval: '60s',
                  // The log-based metrics have no data until the gateways write their first lines.
                  disableMetricValidation: true,
                },
              }
            : { displayName: alert.displayName, conditionMatchedLog: { filter: alert.query } },
        ],
        alertStrategy: alert.kind === 'log' ? { notificationRateLimit: { period: '300s' }, autoClose: '1800s' } : { autoClose: '1800s' },
        dependsOn: Object.values(metrics),
      });
    }
    this.alertPolicies = policies;

    if (props.dashboard ?? true) {
      const chart = (title: string, query: string | string[], plotType: 'LINE' | 'STACKED_BAR' = 'LINE') => ({
        title,
        xyChart: { dataSets: [query].flat().map((q) => ({ timeSeriesQuery: { prometheusQuery: q }, plotType })) },
      });
      const widgets = [
        chart('Accepted vs dropped, by outcome (connections per minute)', `sum by (outcome) (increase(${sel('connections')}[1m]))`, 'STACKED_BAR'),
        chart('Dropped by tenant and reason (per 5 minutes)', `sum by (tenant, outcome) (increase(${sel('connections', 'outcome!="accepted"')}[5m]))`, 'STACKED_BAR'),
        chart('Accepted by tenant (per 5 minutes; per tenant with LINKGATE_METRICS_LOG_TENANTS=all)', `sum by (tenant) (increase(${sel('connections', 'outcome="accepted"')}[5m]))`),
        chart('Active connections (all gateways)', `sum(increase(${sel('active_connections')}[1m]))`),
        chart('Config reloads and refused reloads', [`sum(increase(${sel('config_reloads')}[5m]))`, `sum(increase(${sel('config_reload_failures')}[5m]))`]),
        ...(props.objectStore ? [chart('Failed config fetches', `sum(increase(${sel('config_fetch_failures')}[5m]))`)] : []),
      ];
      this.dashboard = new MonitoringDashboard(this, 'Dashboard', {
        project: props.project,
        dashboardJson: JSON.stringify({
          displayName: `linkgate ${props.name}`,
          mosaicLayout: {
            columns: 48,
            tiles: widgets.map((widget, i) => ({ xPos: (i % 2) * 24, yPos: Math.floor(i / 2) * 16, width: 24, height: 16, widget })),
          },
        }),
        dependsOn: Object.values(metrics),
      });
    }
  }
}

function capitalize(label: string): string {
  return label.charAt(0).toUpperCase() + label.slice(1);
}
