/**
 * A 100,000-tenant config object (about 9 MB of JSON) fetched from a local stand-in of S3 and
 * applied by `linkgate serve --config-url` as a real process: ready on it, a tenant at the end of
 * the list forwarded, and the replaced object applied again. The time and the process's peak
 * RSS are printed for the record (never asserted: the machine may be loaded).
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { freePorts } from '../../bench/harness';
import { privateLinkOpening } from '../helpers/bytes';
import { spawnCli, type CliProcess } from '../helpers/cli';
import { ObjectStoreStandIn } from '../helpers/object-store';
import { sendRaw, startEchoServer, waitFor, type TestServer } from '../helpers/sockets';

const TENANTS = 100_000;
const vpce = (i: number) => `vpce-${i.toString(16).padStart(17, '0')}`;

function document(ports: { privateLink: number; health: number }, upstreamPort: number, shift: number): string {
  const tenants = Array.from({ length: TENANTS }, (_, i) => ({ name: `t${i}`, hostnames: [`t${i}.example.com`], allow: { aws: [vpce(i + shift)] } }));
  return JSON.stringify({
    listeners: { privateLink: { port: ports.privateLink, host: '127.0.0.1' }, health: { port: ports.health, host: '127.0.0.1' } },
    upstreams: { default: { host: '127.0.0.1', port: upstreamPort } },
    tenants,
  });
}

function readyz(port: number): Promise<number> {
  return new Promise((resolve) => {
    request({ host: '127.0.0.1', port, path: '/readyz', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', () => resolve(0))
      .end();
  });
}

/** Peak resident set of a process (Linux: VmHWM), in MiB. */
function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

let echo: TestServer;
let store: ObjectStoreStandIn;
let proc: CliProcess | undefined;
beforeAll(async () => {
  echo = await startEchoServer();
  store = await new ObjectStoreStandIn().start();
});
afterAll(async () => {
  proc?.kill('SIGKILL');
  await store?.stop();
  await echo?.close();
});

test('GIVEN a 100,000-tenant object in the store WHEN serve --config-url starts THEN it becomes ready on it, forwards the last tenant, and applies a replaced object', async () => {
  const [privateLink, health] = (await freePorts(2)) as [number, number];
  const ports = { privateLink, health };
  const text = document(ports, echo.port, 0);
  store.put(text);
  const { url, env } = store.env('s3');
  const started = Date.now();
  proc = spawnCli(['serve', '--config-url', url, '--workers', '1'], { ...env, LINKGATE_CONFIG_POLL_SEC: '2', LINKGATE_HEALTH_PORT: String(health), LINKGATE_HEALTH_HOST: '127.0.0.1' });

  await waitFor(async () => (await readyz(health)) === 200, 120_000, 'readiness on 100,000 tenants');
  const readyMs = Date.now() - started;
  const applied = proc.lines.find((l) => l.msg === 'config object applied')!;
  const last = TENANTS - 1;
  const seen = await sendRaw(privateLink, [privateLinkOpening('aws', vpce(last), `t${last}.example.com`)], { waitMs: 3000 });
  expect(seen.data.length).toBeGreaterThan(0);

  // WHEN every tenant's endpoint changes THEN the next poll applies the new object
  store.put(document(ports, echo.port, TENANTS));
  await waitFor(() => proc!.lines.filter((l) => l.msg === 'config object applied').length >= 2, 120_000, 'the replaced object applied');
  const reapplied = proc.lines.filter((l) => l.msg === 'config object applied')[1]!;
  const reloaded = proc.lines.find((l) => l.msg === 'config reloaded')!;
  const dropped = await sendRaw(privateLink, [privateLinkOpening('aws', vpce(last), `t${last}.example.com`)], { waitMs: 3000 });
  expect(dropped).toMatchObject({ closed: true, data: Buffer.alloc(0) });

  process.stdout.write(
    `100k tenants: object ${(text.length / 1e6).toFixed(1)} MB; start to ready ${readyMs} ms; first fetch+validate ${applied.totalMs} ms ` +
      `(fetch ${applied.fetchMs}, validate ${applied.validateMs}); replaced object fetch+validate ${reapplied.totalMs} ms + apply ${reloaded.durationMs} ms; ` +
      `peak RSS ${peakRssMiB(proc.child.pid!)} MiB\n`,
  );
}, 300_000);
