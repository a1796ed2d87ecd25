/**
 * `linkgate serve --config-url` as a real process against a local stand-in of S3: not ready and
 * serving nothing while the store is down, ready once the object is fetched, a replaced object
 * applied at the next poll (a removed endpoint cut off), a broken one refused (last good kept).
 */
import { freePorts, httpGet } from '../../bench/harness';
import { spawnCli, type CliProcess } from '../helpers/cli';
import { privateLinkOpening } from '../helpers/bytes';
import { ObjectStoreStandIn } from '../helpers/object-store';
import { forwardedConnection, sendRaw, startEchoServer, waitFor, type TestServer } from '../helpers/sockets';

const A = 'vpce-0aaaaaaaaaaaaaaaa';
const B = 'vpce-0bbbbbbbbbbbbbbbb';

let echo: TestServer;
beforeAll(async () => (echo = await startEchoServer()));
afterAll(async () => echo?.close());

const procs: CliProcess[] = [];
const stores: ObjectStoreStandIn[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) p.kill('SIGKILL');
  await Promise.all(stores.splice(0).map((s) => s.stop()));
});


function documentAllowing(ports: { privateLink: number; health: number }, allow: string[]): string {
  return JSON.stringify({
    listeners: { privateLink: { port: ports.privateLink, host: '127.0.0.1' }, health: { port: ports.health, host: '127.0.0.1' } },
    upstreams: { default: { host: '127.0.0.1', port: echo.port } },
    tenants: [{ name: 'megacorp', hostnames: ['megacorp.example.com'], allow: { aws: allow } }],
    shutdown: { drainDelayMs: 0, drainTimeoutMs: 1000 },
  });
}


describe.each([1, 2])('serve --config-url with %i worker(s)', (workers) => {
  test('GIVEN the store is down at start THEN the gateway is alive, not ready, and serves nothing; WHEN the store comes up THEN it is ready and forwards; WHEN the object is replaced THEN the next poll applies it', async () => {
    const [privateLink, health, storePort] = (await freePorts(3)) as [number, number, number];
    const ports = { privateLink, health };
    const store = new ObjectStoreStandIn();
    stores.push(store);
    store.port = storePort;
    const { url, env } = store.env('s3');
    const proc = spawnCli(['serve', '--config-url', url, '--workers', String(workers)], {
      ...env,
      LINKGATE_CONFIG_POLL_SEC: '0.5',
      LINKGATE_HEALTH_PORT: String(health),
      LINKGATE_HEALTH_HOST: '127.0.0.1',
    });
    procs.push(proc);

    // THEN: alive, not ready, fetch failures counted, no traffic listener
    await waitFor(() => proc.lines.filter((l) => l.msg === 'config fetch failed; keeping the last good config').length >= 2, 15_000, 'two failed fetches');
    expect(await httpGet(health, '/healthz')).toMatchObject({ status: 200 });
    expect(await httpGet(health, '/readyz')).toEqual({ status: 503, body: 'not ready\n' });
    expect((await httpGet(health, '/metrics')).body).toMatch(/linkgate_config_fetch_failures_total\{reason="fetch"\} [2-9]/);
    expect(await sendRaw(privateLink, [privateLinkOpening('aws', A, 'megacorp.example.com')], { waitMs: 1000 })).toMatchObject({ error: 'ECONNREFUSED' });

    // WHEN the store comes up with the object
    store.put(documentAllowing(ports, [A]));
    await store.start(storePort);
    await waitFor(async () => (await httpGet(health, '/readyz')).status === 200, 20_000, 'readiness').catch((e: Error) => {
      throw new Error(`${e.message}; log: ${JSON.stringify(proc.lines.slice(-5))}; stderr: ${proc.stderr()}`);
    });
    const fromA = await forwardedConnection(privateLink, A, { pingTimeoutMs: 3000 });
    expect(await fromA.ping()).toBe(true);

    // WHEN the object is replaced to allow only B
    const appliedBefore = proc.lines.filter((l) => l.msg === 'config reloaded').length;
    store.put(documentAllowing(ports, [B]));
    await waitFor(() => proc.lines.filter((l) => l.msg === 'config reloaded').length >= appliedBefore + workers, 15_000, 'the new object in every worker');
    // THEN A's live connection is revoked and B gets through
    await fromA.closed;
    const fromB = await forwardedConnection(privateLink, B, { pingTimeoutMs: 3000 });
    expect(await fromB.ping()).toBe(true);
    fromB.socket.destroy();

    // WHEN the object is replaced by a broken one THEN the last good config stays
    store.put('{"listeners": {"privateLink": ');
    await waitFor(() => proc.lines.some((l) => l.msg === 'config object is invalid; keeping the last good config'), 15_000, 'the invalid object refused');
    const stillB = await forwardedConnection(privateLink, B, { pingTimeoutMs: 3000 });
    expect(await stillB.ping()).toBe(true);
    stillB.socket.destroy();
    expect(await httpGet(health, '/readyz')).toMatchObject({ status: 200 });
    expect((await httpGet(health, '/metrics')).body).toMatch(/linkgate_config_fetch_failures_total\{reason="invalid"\} [1-9]/);
    // Unchanged polls cost 304s.
    await waitFor(() => store.objectRequests(304).length >= 1 || store.objectRequests(200).length > 4, 10_000);

    // WHEN the object is good again and unchanged, and the gateway gets SIGHUP (a host agent renewed a certificate file)
    store.put(documentAllowing(ports, [B]));
    await waitFor(() => store.objectRequests(304).length >= 2, 10_000, 'the good object unchanged again');
    const reloadedBefore = proc.lines.filter((l) => l.msg === 'config reloaded').length;
    proc.kill('SIGHUP');
    // THEN the whole document is fetched and applied again in every worker, so what it names is re-read
    await waitFor(() => proc.lines.filter((l) => l.msg === 'config reloaded').length >= reloadedBefore + workers, 15_000, 'a reload after SIGHUP');
  });
});

test('GIVEN --config-url with a URL the gateway cannot use THEN serve exits 1 at once naming the forms', async () => {
  const proc = spawnCli(['serve', '--config-url', 'http://127.0.0.1:9/c/b', '--workers', '1']);
  procs.push(proc);
  expect(await proc.exited).toBe(1);
  expect(proc.stderr()).toMatch(/plain http \(allowed only with LINKGATE_ALLOW_INSECURE_CONFIG_URL=1/);
});
