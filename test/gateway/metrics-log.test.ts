/**
 * Metrics lines (CloudWatch EMF) on stdout: their exact shape, deltas per interval, the per-tenant
 * dimension rule, independence from the drop-log rate limit, and off unless asked for.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../../bench/harness';
import { MetricsLog, metricsLogSettings, type MetricsLogTenants } from '../../lib/gateway/metrics-log';
import { privateLinkOpening } from '../helpers/bytes';
import { spawnCli, type CliProcess } from '../helpers/cli';
import { startTestGateway, type TestConfig, type TestGateway } from '../helpers/gateway';
import { sendRaw, startEchoServer, waitFor, type TestServer } from '../helpers/sockets';

const OWN = 'vpce-0aaaaaaaaaaaaaaaa';
const OTHER = 'vpce-0bbbbbbbbbbbbbbbb';
const HOST = 'megacorp.example.com';
const NOW = 1764489600000;

let echo: TestServer;
beforeAll(async () => (echo = await startEchoServer()));
afterAll(async () => echo?.close());

const config = (log?: TestConfig['log']): TestConfig => ({
  upstreams: { default: { host: '127.0.0.1', port: echo.port } },
  tenants: [{ name: 'megacorp', hostnames: [HOST], allow: { aws: [OWN] } }],
  ...(log ? { log } : {}),
});

let gw: TestGateway;
afterEach(async () => gw?.close());

async function withLines(tenants: MetricsLogTenants, log?: TestConfig['log']) {
  gw = await startTestGateway(config(log));
  const written: string[] = [];
  const figures = { failures: 0, ageSeconds: () => 7 };
  const metricsLog = new MetricsLog({
    intervalMs: 60_000,
    namespace: 'Linkgate',
    service: 'prod-gw',
    tenants,
    metrics: gw.gateway.metrics,
    config: figures,
    write: (t) => written.push(...t.trimEnd().split('\n')),
    now: () => NOW,
  });
  const flush = async () => {
    written.length = 0;
    await metricsLog.flush();
    return written.map((l) => JSON.parse(l) as Record<string, unknown>);
  };
  return { flush, figures };
}

const accept = () => sendRaw(gw.privateLinkPort, [privateLinkOpening('aws', OWN, HOST)], { waitMs: 300 });
const refuse = () => sendRaw(gw.privateLinkPort, [privateLinkOpening('aws', OTHER, HOST)], { waitMs: 2000 });
const bare = () => sendRaw(gw.privateLinkPort, [Buffer.from('GET / HTTP/1.1\r\n\r\n')], { waitMs: 2000 });

async function traffic(accepted: number, refused: number, bareCount: number) {
  for (let i = 0; i < accepted; i++) await accept();
  for (let i = 0; i < refused; i++) await refuse();
  for (let i = 0; i < bareCount; i++) await bare();
  await waitFor(() => gw.decisions.length >= accepted + refused + bareCount, 10_000, 'every decision');
}

describe('metrics lines', () => {
  test('GIVEN 2 accepted, 3 link_id_not_allowed and 1 no_proxy_header in an interval (tenants: drops) THEN the lines are exactly the EMF shape of the contract', async () => {
    const { flush } = await withLines('drops');
    await traffic(2, 3, 1);
    const lines = await flush();
    const emf = (dimensions: string[][], metrics: { Name: string; Unit: string }[]) => ({
      Timestamp: NOW,
      CloudWatchMetrics: [{ Namespace: 'Linkgate', Dimensions: dimensions, Metrics: metrics }],
    });
    const connections = [{ Name: 'Connections', Unit: 'Count' }];
    expect(lines).toEqual(
      expect.arrayContaining([
        {
          _aws: emf([['Service', 'Outcome'], ['Service', 'Tenant', 'Outcome']], connections),
          msg: 'metrics',
          Service: 'prod-gw',
          Tenant: 'megacorp',
          Outcome: 'link_id_not_allowed',
          Connections: 3,
        },
        {
          _aws: emf([['Service', 'Outcome'], ['Service', 'Tenant', 'Outcome']], connections),
          msg: 'metrics',
          Service: 'prod-gw',
          Tenant: '-',
          Outcome: 'no_proxy_header',
          Connections: 1,
        },
        // Accepted: aggregated over tenants, no per-tenant dimension set.
        { _aws: emf([['Service', 'Outcome']], connections), msg: 'metrics', Service: 'prod-gw', Tenant: '-', Outcome: 'accepted', Connections: 2 },
        {
          _aws: emf(
            [['Service']],
            [
              { Name: 'ActiveConnections', Unit: 'Count' },
              { Name: 'ConfigReloads', Unit: 'Count' },
              { Name: 'ConfigReloadFailures', Unit: 'Count' },
              { Name: 'ConfigFetchFailures', Unit: 'Count' },
              { Name: 'ConfigAgeSeconds', Unit: 'Seconds' },
            ],
          ),
          msg: 'metrics',
          Service: 'prod-gw',
          ActiveConnections: expect.any(Number),
          ConfigReloads: 0,
          ConfigReloadFailures: 0,
          ConfigFetchFailures: 0,
          ConfigAgeSeconds: 7,
        },
      ]),
    );
    expect(lines).toHaveLength(4);
  });

  test('GIVEN tenants: all THEN accepted lines carry the tenant and both dimension sets', async () => {
    const { flush } = await withLines('all');
    await traffic(1, 0, 0);
    expect(await flush()).toContainEqual(
      expect.objectContaining({
        _aws: expect.objectContaining({ CloudWatchMetrics: [expect.objectContaining({ Dimensions: [['Service', 'Outcome'], ['Service', 'Tenant', 'Outcome']] })] }),
        Tenant: 'megacorp',
        Outcome: 'accepted',
        Connections: 1,
      }),
    );
  });

  test('GIVEN two intervals THEN each line counts only its interval (deltas), and an interval without connections writes only the process line', async () => {
    const { flush, figures } = await withLines('drops');
    await traffic(0, 2, 0);
    expect((await flush()).find((l) => l.Outcome === 'link_id_not_allowed')).toMatchObject({ Connections: 2 });
    await refuse();
    await waitFor(() => gw.decisions.length >= 3);
    (figures as { failures: number }).failures = 4;
    gw.gateway.reload(); // no config file: not counted as a reload
    const second = await flush();
    expect(second.filter((l) => l.Outcome !== undefined)).toEqual([expect.objectContaining({ Outcome: 'link_id_not_allowed', Connections: 1 })]);
    expect(second.find((l) => 'ActiveConnections' in l)).toMatchObject({ ConfigFetchFailures: 4 });
    const third = await flush();
    expect(third).toHaveLength(1);
    expect(third[0]).toMatchObject({ ConfigFetchFailures: 0, ActiveConnections: 0 });
  });

  test('GIVEN a drop-log limit of 1 line per second WHEN 12 connections are dropped THEN the log lines are suppressed but the metrics line counts all 12', async () => {
    const { flush } = await withLines('drops', { maxDropLinesPerSec: 1 });
    await traffic(0, 12, 0);
    const lines = await flush();
    expect(gw.logs.filter((l) => l.msg === 'drop').length).toBeLessThan(12);
    expect(lines.find((l) => l.Outcome === 'link_id_not_allowed')).toMatchObject({ Tenant: 'megacorp', Connections: 12 });
  });
});

describe('settings', () => {
  test('GIVEN no LINKGATE_METRICS_LOG_* variables THEN the lines are off', () => {
    expect(metricsLogSettings({})).toBeNull();
    expect(metricsLogSettings({ LINKGATE_METRICS_LOG_INTERVAL_SEC: '0' })).toBeNull();
  });

  test('GIVEN the variables THEN they are read, and bad values refused', () => {
    expect(
      metricsLogSettings({
        LINKGATE_METRICS_LOG_INTERVAL_SEC: '60',
        LINKGATE_METRICS_LOG_TENANTS: 'all',
        LINKGATE_METRICS_LOG_NAMESPACE: 'Acme',
        LINKGATE_METRICS_LOG_SERVICE: 'prod-gw',
      }),
    ).toEqual({ intervalMs: 60_000, tenants: 'all', namespace: 'Acme', service: 'prod-gw' });
    expect(metricsLogSettings({ LINKGATE_METRICS_LOG_INTERVAL_SEC: '60' })).toEqual({ intervalMs: 60_000, tenants: 'drops', namespace: 'Linkgate', service: 'linkgate' });
    expect(() => metricsLogSettings({ LINKGATE_METRICS_LOG_INTERVAL_SEC: 'soon' })).toThrow(/LINKGATE_METRICS_LOG_INTERVAL_SEC must be a number of seconds from 0 \(off\) to 3600, got "soon"/);
    expect(() => metricsLogSettings({ LINKGATE_METRICS_LOG_INTERVAL_SEC: '1', LINKGATE_METRICS_LOG_TENANTS: 'some' })).toThrow(/must be "all" or "drops", got "some"/);
  });
});

describe('serve writes them', () => {
  let proc: CliProcess | undefined;
  afterEach(() => proc?.kill('SIGKILL'));

  test.each([1, 2])('GIVEN LINKGATE_METRICS_LOG_INTERVAL_SEC with %i worker(s) WHEN a connection is refused THEN a metrics line on stdout counts it', async (workers) => {
    const [privateLink, health] = (await freePorts(2)) as [number, number];
    const file = join(mkdtempSync(join(tmpdir(), 'linkgate-emf-')), 'gateway.json');
    writeFileSync(
      file,
      JSON.stringify({
        listeners: { privateLink: { port: privateLink, host: '127.0.0.1' }, health: { port: health, host: '127.0.0.1' } },
        upstreams: { default: { host: '127.0.0.1', port: echo.port } },
        tenants: [{ name: 'megacorp', hostnames: [HOST], allow: { aws: [OWN] } }],
      }),
    );
    proc = spawnCli(['serve', '--config', file, '--workers', String(workers)], { LINKGATE_METRICS_LOG_INTERVAL_SEC: '0.5', LINKGATE_METRICS_LOG_SERVICE: 'test-gw' });
    await proc.waitForLine((l) => l.msg === 'metrics' && 'ActiveConnections' in l, 20_000);
    await waitFor(async () => (await sendRaw(privateLink, [privateLinkOpening('aws', OTHER, HOST)], { waitMs: 2000 })).closed, 20_000);
    const line = await proc.waitForLine((l) => l.msg === 'metrics' && l.Outcome === 'link_id_not_allowed', 20_000);
    expect(line).toMatchObject({ Service: 'test-gw', Tenant: 'megacorp', Connections: 1 });
  });
});
