/**
 * Upstreams that refuse, never answer (connect timeout) or reset mid-stream: clients are closed
 * promptly, the reason is counted, and nothing leaks (file descriptors and memory return to their
 * baseline).
 */
import { connect } from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { metricSum, openFds, rssKiB, startGateway, until, type GatewayProc } from '../../bench/harness';
import { privateLinkOpening } from '../helpers/bytes';
import { closedPort, startTcpServer, type TestServer } from '../helpers/sockets';
import { size } from './support';

const ROUNDS = size(2000, 200);
// Long enough that a refused or reset upstream closing "promptly" (well before it) is told apart
// from one that waited for the timeout, however loaded the machine is.
const CONNECT_TIMEOUT_MS = 3000;

let gateway: GatewayProc;
let resetter: TestServer;
let blackhole: { port: number; child: ChildProcess; fillers: ReturnType<typeof connect>[] };

/**
 * A listener whose process is stopped (SIGSTOP) after its accept queue is full: further SYNs are
 * dropped, so a connect never completes — a blackhole on loopback.
 */
async function startBlackhole(): Promise<typeof blackhole> {
  const child = spawn(process.execPath, ['-e', "const s=require('net').createServer();s.listen({port:0,host:'127.0.0.1',backlog:1},()=>console.log(s.address().port))"], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve) => child.stdout!.once('data', (d) => resolve(Number(String(d).trim()))));
  child.kill('SIGSTOP');
  const fillers = [0, 1, 2].map(() => connect({ host: '127.0.0.1', port }).on('error', () => undefined));
  await new Promise((r) => setTimeout(r, 200));
  return { port, child, fillers };
}

beforeAll(async () => {
  resetter = await startTcpServer((s) => s.once('data', () => setTimeout(() => s.resetAndDestroy(), 5)));
  blackhole = await startBlackhole();
  gateway = await startGateway(
    {
      upstreams: {
        default: { host: '127.0.0.1', port: await closedPort() },
        blackhole: { host: '127.0.0.1', port: blackhole.port, connectTimeoutMs: CONNECT_TIMEOUT_MS },
        resetter: { host: '127.0.0.1', port: resetter.port },
      },
      tenants: [
        { name: 'refused', hostnames: ['refused.example.com'], open: true },
        { name: 'blackholed', hostnames: ['blackholed.example.com'], upstream: 'blackhole', open: true },
        { name: 'reset', hostnames: ['reset.example.com'], upstream: 'resetter', open: true },
      ],
      log: { maxDropLinesPerSec: 10 },
    },
    1,
  );
}, 60_000);
afterAll(async () => {
  await gateway?.proc.stop();
  await resetter?.close();
  blackhole?.fillers.forEach((s) => s.destroy());
  blackhole?.child.kill('SIGKILL');
});

/** Runs `count` clients (at most 50 at a time) to `host`; returns how long each took to be closed. */
async function clients(host: string, count: number): Promise<number[]> {
  const opening = privateLinkOpening('aws', 'vpce-0000000000000000f', host);
  const times: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < count) {
        next++;
        times.push(
          await new Promise<number>((resolve) => {
            const started = Date.now();
            const s = connect({ host: '127.0.0.1', port: gateway.privateLinkPort }, () => s.write(opening));
            s.on('error', () => undefined);
            s.on('close', () => resolve(Date.now() - started));
          }),
        );
      }
    }),
  );
  return times;
}

const metric = (name: string, labels: string) => metricSum(gateway.healthPort, name, labels);

test('GIVEN upstreams that refuse, blackhole and reset THEN clients close promptly, reasons are counted, and fds and memory return to baseline', async () => {
  const pid = gateway.workerPids()[0] ?? gateway.proc.child.pid!;
  const fdsBefore = openFds(pid);
  const failures = async () => ({
    refused: await clients('refused.example.com', ROUNDS),
    reset: await clients('reset.example.com', ROUNDS),
    blackholed: await clients('blackholed.example.com', size(200, 50)),
  });

  // Two identical batches: the first also warms the process up (JIT, heap sizing); a leak shows
  // as the second batch growing memory again, as much as the first.
  const first = await failures();
  await new Promise((r) => setTimeout(r, 1000));
  const rssAfterFirst = rssKiB([pid]);
  const second = await failures();
  await new Promise((r) => setTimeout(r, 1000));
  const rssAfterSecond = rssKiB([pid]);

  const all = (k: 'refused' | 'reset' | 'blackholed') => [...first[k], ...second[k]];
  const max = (xs: number[]) => Math.max(...xs);
  process.stdout.write(
    `upstream failures: refused closed in ≤ ${max(all('refused'))} ms, reset in ≤ ${max(all('reset'))} ms, blackholed in ${Math.min(...all('blackholed'))}–${max(all('blackholed'))} ms (connect timeout ${CONNECT_TIMEOUT_MS} ms)\n`,
  );
  expect(max(all('refused'))).toBeLessThan(CONNECT_TIMEOUT_MS / 2);
  expect(max(all('reset'))).toBeLessThan(CONNECT_TIMEOUT_MS / 2);
  expect(Math.min(...all('blackholed'))).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_MS - 50);
  expect(max(all('blackholed'))).toBeLessThan(CONNECT_TIMEOUT_MS + 1000);

  expect(await metric('linkgate_connections_dropped_total', 'reason="upstream_unreachable",tenant="refused"')).toBe(2 * ROUNDS);
  expect(await metric('linkgate_connections_dropped_total', 'reason="upstream_unreachable",tenant="blackholed"')).toBe(2 * size(200, 50));
  expect(await metric('linkgate_connections_closed_total', 'reason="upstream_error",tenant="reset"')).toBe(2 * ROUNDS);

  // THEN nothing leaked: every socket closed and its descriptor released, and the second batch
  // left memory where the first had.
  await until(async () => (await metric('linkgate_active_connections', 'listener="privateLink"')) === 0, 10_000, () => 'active connections to reach 0');
  await until(() => openFds(pid) <= fdsBefore, 10_000, () => `fds ${openFds(pid)} > baseline ${fdsBefore}`);
  process.stdout.write(`upstream failures: fds ${fdsBefore} → ${openFds(pid)}, RSS after batch 1 ${rssAfterFirst} KiB, after batch 2 ${rssAfterSecond} KiB\n`);
  expect(rssAfterSecond - rssAfterFirst).toBeLessThan(16 * 1024);
}, 300_000);
