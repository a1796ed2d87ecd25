/**
 * GatewayMetrics keeps per-connection counts in plain numbers and hands them to prom-client when
 * the metrics are read: every read must show every count once, whichever way it is read.
 */
import { GatewayMetrics } from '../../lib/gateway/metrics';

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const ACCEPTED = 'linkgate_connections_accepted_total{listener="privateLink",tenant="megacorp",cloud="aws"}';
const ACTIVE = 'linkgate_active_connections{listener="privateLink"}';

test('GIVEN counts between two scrapes THEN each scrape shows the running total, never a count twice', async () => {
  const metrics = new GatewayMetrics();
  for (let i = 0; i < 3; i++) metrics.countAccepted('privateLink', 'megacorp', 'aws');
  metrics.changeActive('privateLink', 1);
  metrics.changeActive('privateLink', 1);
  metrics.changeActive('privateLink', -1);
  metrics.countBytes('upstream_to_client', 'megacorp', 1000);
  let text = await metrics.registry.metrics();
  expect(value(text, ACCEPTED)).toBe(3);
  expect(value(text, ACTIVE)).toBe(1);
  expect(value(text, 'linkgate_bytes_total{direction="upstream_to_client",tenant="megacorp"}')).toBe(1000);

  text = await metrics.registry.metrics();
  expect(value(text, ACCEPTED)).toBe(3);

  metrics.countAccepted('privateLink', 'megacorp', 'aws');
  metrics.changeActive('privateLink', -1);
  metrics.countBytes('upstream_to_client', 'megacorp', 24);
  text = await metrics.registry.metrics();
  expect(value(text, ACCEPTED)).toBe(4);
  expect(value(text, ACTIVE)).toBe(0);
  expect(value(text, 'linkgate_bytes_total{direction="upstream_to_client",tenant="megacorp"}')).toBe(1024);
});

test('GIVEN one metric read on its own (get) and then the whole registry THEN both agree', async () => {
  const metrics = new GatewayMetrics();
  metrics.countDropped('privateLink', 'link_id_not_allowed', 'megacorp');
  metrics.countDropped('privateLink', 'link_id_not_allowed', 'megacorp');
  metrics.countDropped('public', 'unknown_host', '');
  metrics.countClosed('revoked', 'megacorp');
  metrics.countHealthCheck('privateLink');
  const dropped = (await metrics.dropped.get()).values;
  expect(dropped.find((v) => v.labels.reason === 'link_id_not_allowed')?.value).toBe(2);
  expect(dropped.find((v) => v.labels.reason === 'unknown_host' && v.labels.listener === 'public')?.value).toBe(1);
  const text = await metrics.registry.metrics();
  expect(value(text, 'linkgate_connections_dropped_total{listener="privateLink",reason="link_id_not_allowed",tenant="megacorp"}')).toBe(2);
  expect(value(text, 'linkgate_connections_closed_total{reason="revoked",tenant="megacorp"}')).toBe(1);
  expect(value(text, 'linkgate_health_checks_total{listener="privateLink"}')).toBe(1);
});

test('GIVEN decisions observed THEN the histogram counts them by listener and verdict', async () => {
  const metrics = new GatewayMetrics();
  metrics.observeDecision('privateLink', 'forward', 0.0004);
  metrics.observeDecision('privateLink', 'forward', 0.002);
  metrics.observeDecision('privateLink', 'drop', 0.3);
  const text = await metrics.registry.metrics();
  expect(value(text, 'linkgate_decision_duration_seconds_count{listener="privateLink",verdict="forward"}')).toBe(2);
  expect(value(text, 'linkgate_decision_duration_seconds_bucket{le="0.0005",listener="privateLink",verdict="forward"}')).toBe(1);
  expect(value(text, 'linkgate_decision_duration_seconds_count{listener="privateLink",verdict="drop"}')).toBe(1);
});
