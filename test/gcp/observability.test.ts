/**
 * What the gateway's metrics lines become on GCP: log-based metrics over them, the alert policies
 * (each one's metric, threshold and notification), and the dashboard.
 */
import type { PrivateServiceConnectGatewayProps } from '../../lib/gcp';
import { CHANNEL, errorOf, file, pscGateway, resources, synth, type Synthesized } from './helpers';

/** The gateway `prod-gw` notifying CHANNEL; a test overrides what it is about. */
const linkgate = (overrides: Partial<PrivateServiceConnectGatewayProps> = {}) =>
  pscGateway({ name: 'prod-gw', observability: { notificationChannels: [CHANNEL] }, ...overrides });

type Policy = {
  display_name: string;
  severity: string;
  notification_channels: string[];
  conditions: { condition_prometheus_query_language?: { query: string }; condition_matched_log?: { filter: string } }[];
};
const policies = (s: Synthesized) => Object.values(resources(s, 'google_monitoring_alert_policy')) as unknown as Policy[];
const byName = (s: Synthesized, fragment: string) => {
  const found = policies(s).filter((p) => p.display_name.includes(fragment));
  if (found.length !== 1) throw new Error(`expected one alert policy named like "${fragment}", found ${found.length}`);
  return found[0]!;
};
const query = (p: Policy) => p.conditions[0]!.condition_prometheus_query_language!.query;
const SUM = 'logging_googleapis_com:user_linkgate_prod_gw_connections_sum{monitored_resource="gce_instance"';

describe('observability (on by default)', () => {
  const s = synth(linkgate());

  test('THEN the container writes metrics lines every 60 s, as the deployment', () => {
    const run = file(s, '/etc/systemd/system/linkgate.service').content;
    expect(run).toContain('--env LINKGATE_METRICS_LOG_INTERVAL_SEC=60 --env LINKGATE_METRICS_LOG_SERVICE=prod-gw');
    expect(run).toContain('--log-driver json-file');
  });

  test('THEN connections are a distribution metric summing each line’s Connections, labelled by outcome and tenant', () => {
    const metric = Object.values(resources(s, 'google_logging_metric')).find((m) => m.name === 'linkgate_prod_gw_connections')!;
    expect(metric).toMatchObject({
      filter: 'resource.type="gce_instance" AND jsonPayload.msg="metrics" AND jsonPayload.Service="prod-gw" AND jsonPayload.Outcome:*',
      value_extractor: 'EXTRACT(jsonPayload.Connections)',
      label_extractors: { outcome: 'EXTRACT(jsonPayload.Outcome)', tenant: 'EXTRACT(jsonPayload.Tenant)' },
      metric_descriptor: { metric_kind: 'DELTA', value_type: 'DISTRIBUTION' },
    });
  });

  test('THEN the template keeps the COS logging agent on (it ships the lines)', () => {
    const template = Object.values(resources(s, 'google_compute_instance_template'))[0]!;
    expect((template.metadata as Record<string, string>)['google-logging-enabled']).toBe('true');
  });

  const alerts: [string, string, RegExp | string][] = [
    ['spoofed PROXY header or bad CRC', 'CRITICAL', `sum by (outcome) (increase(${SUM},outcome=~"spoofed_proxy_header|bad_crc"}[5m])) >= 1`],
    ['endpoints refused for a tenant', 'WARNING', `sum by (tenant) (increase(${SUM},outcome="link_id_not_allowed"}[15m])) >= 10`],
    ['over capacity', 'ERROR', `sum by (outcome) (increase(${SUM},outcome=~"over_capacity|tenant_over_capacity"}[5m])) >= 1`],
    ['config reload refused', 'ERROR', 'sum(increase(logging_googleapis_com:user_linkgate_prod_gw_config_reload_failures_sum{monitored_resource="gce_instance"}[10m])) >= 1'],
    ['no gateway reporting', 'CRITICAL', 'absent_over_time(logging_googleapis_com:user_linkgate_prod_gw_active_connections_count{monitored_resource="gce_instance"}[10m])'],
  ];
  test.each(alerts)('THEN the alert "%s" (%s) watches its metric with its threshold and notifies the channel', (name, severity, expected) => {
    const policy = byName(s, name);
    expect(query(policy)).toBe(expected);
    expect(policy.severity).toBe(severity);
    expect(policy.notification_channels).toEqual([CHANNEL]);
  });

  test('THEN autohealing repairs of this group’s VMs page through a log-match alert', () => {
    const policy = byName(s, 'unhealthy gateway VM recreated');
    expect(policy.conditions[0]!.condition_matched_log!.filter).toBe(
      'protoPayload.methodName="compute.instances.repair.recreateInstance" AND protoPayload.resourceName:"/instances/prod-gw-gw-"',
    );
    expect(policy.notification_channels).toEqual([CHANNEL]);
  });

  test('THEN with inline config there is no fetch or age alert (nothing is fetched)', () => {
    expect(policies(s).map((p) => p.display_name)).toHaveLength(6);
    expect(policies(s).some((p) => /fetch|older than/.test(p.display_name))).toBe(false);
  });

  test('THEN the dashboard shows outcomes, drops by tenant and reason, active connections and reloads', () => {
    const dashboard = JSON.parse(Object.values(resources(s, 'google_monitoring_dashboard'))[0]!.dashboard_json as string) as {
      mosaicLayout: { tiles: { widget: { title: string; xyChart: { dataSets: { timeSeriesQuery: { prometheusQuery: string } }[] } } }[] };
    };
    const tiles = dashboard.mosaicLayout.tiles.map((t) => [t.widget.title, t.widget.xyChart.dataSets.map((d) => d.timeSeriesQuery.prometheusQuery)]);
    expect(tiles.map(([title]) => title)).toEqual([
      'Accepted vs dropped, by outcome (connections per minute)',
      'Dropped by tenant and reason (per 5 minutes)',
      'Accepted by tenant (per 5 minutes; per tenant with LINKGATE_METRICS_LOG_TENANTS=all)',
      'Active connections (all gateways)',
      'Config reloads and refused reloads',
    ]);
    expect(tiles[1]![1]).toEqual([`sum by (tenant, outcome) (increase(${SUM},outcome!="accepted"}[5m]))`]);
  });
});

describe('GIVEN the object store and custom bounds', () => {
  const s = synth(linkgate({ configDelivery: 'objectStore', observability: { notificationChannels: [CHANNEL], configMaxAgeSec: 600, linkIdNotAllowedThreshold: 3 } }));

  test('THEN config fetch failures and config age page too, with the bounds given', () => {
    expect(query(byName(s, 'config fetches'))).toBe(
      'sum(increase(logging_googleapis_com:user_linkgate_prod_gw_config_fetch_failures_sum{monitored_resource="gce_instance"}[10m])) >= 10',
    );
    expect(query(byName(s, 'older than 600 s'))).toBe('sum(increase(logging_googleapis_com:user_linkgate_prod_gw_config_stale{monitored_resource="gce_instance"}[5m])) >= 1');
    const stale = Object.values(resources(s, 'google_logging_metric')).find((m) => m.name === 'linkgate_prod_gw_config_stale')!;
    expect(stale.filter).toMatch(/AND jsonPayload\.ConfigAgeSeconds > 600$/);
    expect(query(byName(s, 'refused for a tenant'))).toMatch(/\[15m\]\)\) >= 3$/);
  });
});

describe('switched off', () => {
  test('GIVEN observability: { enabled: false } THEN no metric, alert or dashboard is created', () => {
    const s = synth(linkgate({ observability: { enabled: false } }));
    for (const type of ['google_logging_metric', 'google_monitoring_alert_policy', 'google_monitoring_dashboard']) expect(resources(s, type)).toEqual({});
    expect(s.warnings).toEqual([]);
  });

  test('GIVEN no notification channel THEN synth warns that incidents notify nobody', () => {
    const s = synth(linkgate({ observability: {} }));
    expect(s.warnings).toEqual([expect.stringMatching(/observability has no notificationChannels: alert policies open incidents but notify nobody/)]);
  });

  test('GIVEN metrics lines off but observability on THEN synth fails saying which to change', () => {
    expect(errorOf(linkgate({ metricsLogIntervalSec: 0 }))).toMatch(/metricsLogIntervalSec: is 0 \(metrics lines off\), but observability needs them/);
  });

  test('GIVEN a channel that is not a channel ID THEN synth fails showing it', () => {
    expect(errorOf(linkgate({ observability: { notificationChannels: ['oncall@example.com'] } }))).toMatch(
      /observability\.notificationChannels\[0\]: must be a notification channel ID like projects\/PROJECT\/notificationChannels\/123, got "oncall@example\.com"/,
    );
  });
});
