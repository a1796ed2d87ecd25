/**
 * Config from an object store: each store's fetch (auth, conditional GET → 304) against a local
 * stand-in, and the poller's fail-closed rules (last good kept, failures counted and logged, age
 * growing) with the gateway's own reload path applying what it hands on.
 */
import { Registry } from 'prom-client';
import { ConfigPoller, ConfigSourceMetrics, resolvePollIntervalMs } from '../../lib/gateway/config-source/poller';
import { configFetcher } from '../../lib/gateway/config-source/url';
import { ObjectStoreStandIn, type Store } from '../helpers/object-store';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { privateLinkOpening } from '../helpers/bytes';
import { sendRaw, startEchoServer, waitFor, type TestServer } from '../helpers/sockets';
import { Logger } from '../../lib/gateway/log';

const A = 'vpce-0aaaaaaaaaaaaaaaa';
const B = 'vpce-0bbbbbbbbbbbbbbbb';
const HOST = 'megacorp.example.com';

let echo: TestServer;
let store: ObjectStoreStandIn;
beforeAll(async () => {
  echo = await startEchoServer();
  store = await new ObjectStoreStandIn().start();
  // The SDK's default credential chain reads this process's environment (in production: the task role).
  Object.assign(process.env, store.env('s3').env);
});
afterAll(async () => {
  await store?.stop();
  await echo?.close();
});
beforeEach(() => {
  store.requests.length = 0;
  store.forceStatus = null;
  store.cutAfterBytes = null;
});

/** The gateway config document allowing `allow` for megacorp. */
function documentAllowing(allow: string[]): string {
  return JSON.stringify({
    listeners: {
      privateLink: { port: 0, host: '127.0.0.1' },
      health: { port: 0, host: '127.0.0.1' },
    },
    upstreams: { default: { host: '127.0.0.1', port: echo.port } },
    tenants: [{ name: 'megacorp', hostnames: [HOST], allow: { aws: allow } }],
    log: { maxDropLinesPerSec: 100_000 },
  });
}

describe.each<Store>(['s3', 'azure', 'gcs'])('fetching from %s', (kind) => {
  test("GIVEN an object WHEN fetched twice THEN the first GET carries the store's credentials and returns it, the second is conditional and answered 304", async () => {
    const { url, env } = store.env(kind);
    const fetcher = configFetcher(url, env);
    store.put(documentAllowing([A]));

    const first = await fetcher.fetch(null, AbortSignal.timeout(10_000));
    expect(first).toMatchObject({
      status: 'changed',
      bytes: Buffer.from(documentAllowing([A])),
    });
    const validator = first.status === 'changed' ? first.validator : null;
    expect(validator).toBeTruthy();
    const second = await fetcher.fetch(validator, AbortSignal.timeout(10_000));

    expect(second).toEqual({ status: 'unchanged' });
    expect(store.objectRequests().map((r) => r.status)).toEqual([200, 304]);
    const auth = store.objectRequests()[0]!.headers.authorization;
    if (kind === 's3') {
      expect(auth).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/eu-west-1\/s3\/aws4_request/);
      expect(store.objectRequests()[0]!.url).toMatch(/^\/config-bucket\/gateway\/config\.json(\?|$)/); // path style
    } else {
      expect(auth).toBe('Bearer test-token-linkgate');
      // One token for both GETs: cached until shortly before it expires.
      expect(store.requests.filter((r) => r.store === 'token')).toHaveLength(1);
    }
  });

  test('GIVEN the object is replaced THEN the conditional GET returns the new bytes', async () => {
    const fetcher = configFetcher(store.env(kind).url, store.env(kind).env);
    store.put(documentAllowing([A]));
    const first = await fetcher.fetch(null, AbortSignal.timeout(10_000));
    store.put(documentAllowing([B]));
    const second = await fetcher.fetch(first.status === 'changed' ? first.validator : null, AbortSignal.timeout(10_000));
    expect(second).toMatchObject({
      status: 'changed',
      bytes: Buffer.from(documentAllowing([B])),
    });
  });

  test.each([
    [403, /HTTP 403/],
    [404, /HTTP 404/],
    [500, /HTTP 500/],
  ])('GIVEN the store answers %d THEN the fetch fails saying so', async (status, message) => {
    const fetcher = configFetcher(store.env(kind).url, store.env(kind).env);
    store.put(status === 404 ? null : documentAllowing([A]));
    if (status !== 404) store.forceStatus = status;
    await expect(fetcher.fetch(null, AbortSignal.timeout(20_000))).rejects.toThrow(message);
  });
});

describe('config URLs', () => {
  test.each([
    ['s3://bucket', /names no bucket or key/],
    ['https://example.com/c/b', /is not an Azure Blob Storage URL/],
    ['http://127.0.0.1:9/c/b', /plain http \(allowed only with LINKGATE_ALLOW_INSECURE_CONFIG_URL=1/],
    ['https://acct.blob.core.windows.net/c/b?sig=x', /carries a query or credentials/],
    ['ftp://x/y', /unsupported scheme "ftp:"/],
    ['not a url', /is not a URL/],
  ])('GIVEN %s THEN it is refused with the forms expected', (url, message) => {
    expect(() => configFetcher(url, {})).toThrow(message);
    expect(() => configFetcher(url, {})).toThrow(
      /expected s3:\/\/BUCKET\/KEY, https:\/\/ACCOUNT.blob.core.windows.net\/CONTAINER\/BLOB or gs:\/\/BUCKET\/OBJECT/
    );
  });

  test('GIVEN LINKGATE_CONFIG_POLL_SEC values THEN the interval is read or refused', () => {
    expect(resolvePollIntervalMs(undefined)).toBe(30_000);
    expect(resolvePollIntervalMs('0.5')).toBe(500);
    expect(() => resolvePollIntervalMs('0')).toThrow(/LINKGATE_CONFIG_POLL_SEC must be a number of seconds from 0.1 to 86400, got "0"/);
  });
});

describe("polling: applied through the gateway's reload path, fail closed", () => {
  let gw: TestGateway;
  let poller: ConfigPoller;
  let metrics: ConfigSourceMetrics;
  let registry: Registry;
  const logs: Record<string, unknown>[] = [];

  beforeEach(async () => {
    logs.length = 0;
    store.put(documentAllowing([A]));
    gw = await startTestGateway({
      upstreams: { default: { host: '127.0.0.1', port: echo.port } },
      tenants: [{ name: 'megacorp', hostnames: [HOST], allow: { aws: [A] } }],
    });
    registry = new Registry();
    metrics = new ConfigSourceMetrics(registry);
    const { url, env } = store.env('s3');
    poller = new ConfigPoller({
      fetcher: configFetcher(url, env),
      intervalMs: 200,
      logger: new Logger({
        sink: (t) =>
          t
            .split('\n')
            .filter(Boolean)
            .forEach((l) => logs.push(JSON.parse(l) as Record<string, unknown>)),
      }),
      metrics,
      onConfig: (loaded) => {
        const outcome = gw.gateway.applyLoaded(loaded, url);
        return outcome.ok ? null : outcome.errors ?? 'refused';
      },
    });
    await poller.poll();
    expect(poller.hasConfig).toBe(true);
    poller.start();
  });
  afterEach(async () => {
    poller?.close();
    await gw?.close();
  });

  const forwarded = async (linkId: string) => (await sendRaw(gw.privateLinkPort, [privateLinkOpening('aws', linkId, HOST)], { waitMs: 1000 })).data.length > 0;

  test('GIVEN a running gateway WHEN nothing changes THEN every poll costs a 304', async () => {
    await waitFor(() => store.objectRequests(304).length >= 3, 10_000, 'three 304s');
    expect(store.objectRequests(200)).toHaveLength(1);
  });

  test('GIVEN endpoint A allowed WHEN the object is replaced to allow only B THEN the next poll applies it: B forwarded, A dropped', async () => {
    expect(await forwarded(A)).toBe(true);
    store.put(documentAllowing([B]));
    await waitFor(() => logs.filter((l) => l.msg === 'config object applied').length >= 2, 10_000, 'the new object applied');
    expect(await forwarded(B)).toBe(true);
    expect(await forwarded(A)).toBe(false);
  });

  test.each([
    [
      'half-written (truncated JSON)',
      () => store.put(documentAllowing([B]).slice(0, 120)),
      'invalid',
      'config object is invalid; keeping the last good config',
    ],
    [
      'invalid (a tenant without rules)',
      () => store.put(documentAllowing([B]).replace(/"allow":\{[^}]*\}/, '"allow":{}')),
      'invalid',
      'config object is invalid; keeping the last good config',
    ],
    ['deleted', () => store.put(null), 'fetch', 'config fetch failed; keeping the last good config'],
    ['forbidden (403)', () => (store.forceStatus = 403), 'fetch', 'config fetch failed; keeping the last good config'],
    [
      'replaced, and the transfer is cut',
      () => {
        store.put(documentAllowing([B]));
        store.cutAfterBytes = 50;
      },
      'fetch',
      'config fetch failed; keeping the last good config',
    ],
  ])(
    'GIVEN A allowed WHEN the object becomes %s THEN the last good config is kept, the failure is counted and logged, and the age grows',
    async (_what, change, reason, message) => {
      const goodAt = metrics.lastSuccessAt;
      change();
      await waitFor(
        async () =>
          (await registry.getSingleMetric('linkgate_config_fetch_failures_total')!.get()).values.find((v) => v.labels.reason === reason && v.value >= 2),
        10_000,
        `two ${reason} failures`
      );
      expect(logs).toContainEqual(expect.objectContaining({ level: 'error', msg: message }));
      expect(metrics.lastSuccessAt).toBe(goodAt);
      expect(await forwarded(A)).toBe(true);
      expect(await forwarded(B)).toBe(false);
      await waitFor(() => metrics.ageSeconds() >= 1, 5000, 'the config age to grow');
      expect(await registry.metrics()).toMatch(/linkgate_config_age_seconds [1-9]/);
    }
  );

  test('GIVEN an invalid object WHEN it is fixed THEN it is applied and the age starts again', async () => {
    store.put('{"listeners":');
    await waitFor(() => metrics.failures >= 1, 10_000);
    store.put(documentAllowing([B]));
    await waitFor(() => logs.filter((l) => l.msg === 'config object applied').length >= 2, 10_000, 'the fixed object applied');
    expect(metrics.ageSeconds()).toBeLessThan(2);
    expect(await forwarded(B)).toBe(true);
  });
});
