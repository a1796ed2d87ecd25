/**
 * The instance-token clients (Azure IMDS, GCP metadata server) and the bounded HTTP exchange under
 * them, against the local stand-ins of test/helpers/cloud-apis.ts over real sockets: one token for
 * every caller until it nears expiry, and every way a token endpoint can fail becoming one error
 * that names the endpoint, never a crash, a hang or an unbounded read. Both users of the module
 * (config-source and ownership) are checked to report a token failure the same way.
 */
import { AZURE_RESOURCE, azureImdsToken, azureImdsTokenUrl } from '../../../lib/gateway/cloud-auth/azure-imds';
import { gcpMetadataToken } from '../../../lib/gateway/cloud-auth/gcp-metadata';
import { CloudHttpError } from '../../../lib/gateway/cloud-auth/http';
import { TOKEN_MARGIN_MS, TOKEN_MAX_BYTES, TOKEN_TIMEOUT_MS } from '../../../lib/gateway/cloud-auth/token';
import { azureBlobFetcher } from '../../../lib/gateway/config-source/azure-blob';
import { gcsFetcher } from '../../../lib/gateway/config-source/gcs';
import { configFetcher } from '../../../lib/gateway/config-source/url';
import { AzurePoller } from '../../../lib/gateway/ownership/azure';
import { GcpPoller } from '../../../lib/gateway/ownership/gcp';
import { PollError } from '../../../lib/gateway/ownership/http';
import { ObjectStoreStandIn } from '../../helpers/object-store';
import { AZURE_TOKEN, GCP_TOKEN, startAzureApi, startGcpApi, type CloudApi, type TokenMode } from '../../helpers/cloud-apis';

const PLS = '/subscriptions/00000000-0000-0000-0000-00000000aaaa/resourceGroups/provider-rg/providers/Microsoft.Network/privateLinkServices/linkgate';
const ATTACHMENT = 'projects/provider-prod/regions/europe-west1/serviceAttachments/linkgate';

const apis: { close(): Promise<void> }[] = [];
afterEach(async () => {
  jest.restoreAllMocks();
  for (const api of apis.splice(0)) await api.close();
});
async function track<T extends { close(): Promise<void> }>(api: Promise<T>): Promise<T> {
  const a = await api;
  apis.push(a);
  return a;
}

const tokenRequests = (api: CloudApi<unknown>) => api.requests.length - api.apiCalls();

/** Moves the clock the token cache reads (Date.now) forward by `ms`, from now on. */
function advanceClock(ms: number): void {
  const real = (jest.isMockFunction(Date.now) ? (Date.now as jest.Mock).getMockImplementation()! : Date.now.bind(Date)) as () => number;
  jest.spyOn(Date, 'now').mockImplementation(() => real() + ms);
}

const clouds = [
  {
    cloud: 'Azure IMDS',
    start: () => startAzureApi(PLS),
    token: (api: CloudApi<unknown>, timeoutMs?: number) => azureImdsToken({ resource: AZURE_RESOURCE.arm, tokenUrl: azureImdsTokenUrl(api.url), timeoutMs }),
    value: AZURE_TOKEN,
    endpoint: /managed identity token \(IMDS http:\/\/127\.0\.0\.1:\d+\/metadata\/identity\/oauth2\/token\?…\)/,
  },
  {
    cloud: 'GCP metadata server',
    start: () => startGcpApi(ATTACHMENT),
    token: (api: CloudApi<unknown>, timeoutMs?: number) => gcpMetadataToken({ metadataUrl: api.url, timeoutMs }),
    value: GCP_TOKEN,
    endpoint: /service account token \(metadata server http:\/\/127\.0\.0\.1:\d+\/computeMetadata\/v1\/instance\/service-accounts\/default\/token\)/,
  },
];

describe.each(clouds)('$cloud token', ({ start, token, value, endpoint }) => {
  test('GIVEN two callers at once and one after WHEN they ask for the token THEN the endpoint is asked once and all get the same token', async () => {
    const api = await track<CloudApi<unknown>>(start());
    const source = token(api);
    expect(await Promise.all([source.get(), source.get()])).toEqual([value, value]);
    expect(await source.get()).toBe(value);
    expect(tokenRequests(api)).toBe(1);
  });

  test.each([
    ['a one-hour token', 'five minutes before it expires', 3600, 3600_000 - TOKEN_MARGIN_MS],
    ['a 60-second token', 'at half its life (the margin cannot exceed it)', 60, 30_000],
  ])('GIVEN %s WHEN the clock nears its expiry THEN a new one is fetched %s, not before', async (_, _when, lifetimeSec, renewAfterMs) => {
    const api = await track<CloudApi<unknown>>(start());
    api.tokenLifetimeSec = lifetimeSec;
    const source = token(api);
    await source.get();
    // WHEN it is 10 s before the renewal point THEN the token is still reused
    advanceClock(renewAfterMs - 10_000);
    await source.get();
    expect(tokenRequests(api)).toBe(1);
    // WHEN it is 10 s past it THEN a new one is fetched
    advanceClock(20_000);
    expect(await source.get()).toBe(value);
    expect(tokenRequests(api)).toBe(2);
  });

  test('GIVEN a cached token WHEN a user says it was refused (invalidate) THEN the next caller fetches a new one', async () => {
    const api = await track<CloudApi<unknown>>(start());
    const source = token(api);
    await source.get();
    source.invalidate();
    await source.get();
    expect(tokenRequests(api)).toBe(2);
  });

  test.each<[TokenMode, string, RegExp]>([
    ['error', 'http_error', /: HTTP 500: \{"error":"unknown_error","error_description":"token service unavailable"\}$/],
    ['garbage', 'bad_response', /: the response is not JSON: <html>upstream proxy error<\/html>$/],
    ['no-token', 'bad_response', /: no access_token in the answer$/],
    ['huge', 'too_large', new RegExp(`: the response is 100000 bytes; the limit is ${TOKEN_MAX_BYTES}$`)],
    ['huge-chunked', 'too_large', new RegExp(`: the response is larger than the limit of ${TOKEN_MAX_BYTES} bytes$`)],
    ['hang', 'timeout', /: no answer within 2000 ms$/],
    ['stall', 'timeout', /: the body did not arrive within 2000 ms$/],
  ])('GIVEN the token endpoint answering %s WHEN a token is asked for THEN it fails with %s and a message naming the endpoint', async (mode, reason, message) => {
    const api = await track<CloudApi<unknown>>(start());
    api.tokenMode = mode;
    const source = token(api, 2_000);
    const asked = source.get();
    await expect(asked).rejects.toBeInstanceOf(CloudHttpError);
    await expect(asked).rejects.toMatchObject({ reason, message: expect.stringMatching(new RegExp(`^${endpoint.source}${message.source}`)) });
    // AND nothing of the failure is cached: once the endpoint answers, the next caller gets a token
    api.tokenMode = 'ok';
    expect(await source.get()).toBe(value);
  });
});

describe('both users of the module', () => {
  test('GIVEN IMDS answering 500 WHEN the Azure Blob config fetcher and the Azure ownership poller ask for their tokens THEN both fail naming the endpoint and the status', async () => {
    const api = await track(startAzureApi(PLS));
    api.tokenMode = 'error';
    const blob = azureBlobFetcher({ url: `${api.url}/config/gateway.json`, imdsEndpoint: azureImdsTokenUrl(api.url) });
    const poller = new AzurePoller({ privateLinkService: PLS, limits: { timeoutMs: 2_000, maxResponseBytes: 1 << 20 }, armUrl: api.url, imdsUrl: api.url });
    const said = /^managed identity token \(IMDS http:\/\/127\.0\.0\.1:\d+\/metadata\/identity\/oauth2\/token\?…\): HTTP 500/;
    await expect(blob.fetch(null, AbortSignal.timeout(20_000))).rejects.toThrow(said);
    // AND the poller's failure is a PollError with the metric's reason code
    const polled = poller.poll();
    await expect(polled).rejects.toBeInstanceOf(PollError);
    await expect(polled).rejects.toMatchObject({ reason: 'http_error', message: expect.stringMatching(said) });
    expect(api.apiCalls()).toBe(0);
  });

  test('GIVEN a metadata server that never answers WHEN the GCS config fetcher and the GCP ownership poller ask for their tokens THEN both time out with a message, not a hang', async () => {
    const api = await track(startGcpApi(ATTACHMENT));
    api.tokenMode = 'hang';
    const gcs = gcsFetcher({ bucket: 'b', object: 'o', endpoint: api.url, metadataHost: new URL(api.url).host });
    const poller = new GcpPoller({ serviceAttachment: ATTACHMENT, limits: { timeoutMs: 500, maxResponseBytes: 1 << 20 }, computeUrl: api.url, metadataUrl: api.url });
    const said = (ms: number) => new RegExp(`^service account token \\(metadata server http://127\\.0\\.0\\.1:\\d+/computeMetadata/.*\\): no answer within ${ms} ms$`);
    await expect(gcs.fetch(null, AbortSignal.timeout(20_000))).rejects.toThrow(said(TOKEN_TIMEOUT_MS));
    await expect(poller.poll()).rejects.toMatchObject({ reason: 'timeout', message: expect.stringMatching(said(500)) });
  });

  test.each(['azure', 'gcs'] as const)(
    'GIVEN the %s store refusing the cached token once (401) WHEN the config is fetched again THEN a new token is fetched for it',
    async (kind) => {
      const store = await track(
        new ObjectStoreStandIn().start().then((s) => Object.assign(s, { close: () => s.stop() })),
      );
      store.put('{"listeners":{}}');
      const { url, env } = store.env(kind);
      const fetcher = configFetcher(url, env);
      await fetcher.fetch(null, AbortSignal.timeout(20_000));
      store.forceStatus = 401;
      await expect(fetcher.fetch(null, AbortSignal.timeout(20_000))).rejects.toThrow(/HTTP 401/);
      store.forceStatus = null;
      await fetcher.fetch(null, AbortSignal.timeout(20_000));
      expect(store.requests.filter((r) => r.store === 'token')).toHaveLength(2);
    },
  );
});
