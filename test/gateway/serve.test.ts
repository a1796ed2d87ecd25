/**
 * `linkgate serve` as a real process: single and cluster mode, live reload from the file and on
 * SIGHUP, SIGTERM drain (readiness first, then stop accepting, then the drain bound), and refusal
 * of an invalid config.
 */
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { metricSum, writeFileAtomic } from '../../bench/harness';
import { privateLinkOpening } from '../helpers/bytes';
import { spawnCli, type CliProcess } from '../helpers/cli';
import { closedPort, forwardedConnection, openAndHold, sendRaw, sleep, startEchoServer, startTcpServer, waitFor, type HeldConnection, type TestServer } from '../helpers/sockets';
import { connectionsForOpenFiles } from '../../lib/gateway/quotas';
import { resolveListenerMode, reusePortAvailable } from '../../lib/gateway/listener-mode';

const A = 'vpce-0aaaaaaaaaaaaaaaa';
const B = 'vpce-0bbbbbbbbbbbbbbbb';

let echo: TestServer;
beforeAll(async () => (echo = await startEchoServer()));
afterAll(async () => echo?.close());

interface Ports {
  privateLink: number;
  health: number;
}

async function writeConfig(file: string, ports: Ports, allow: string[], shutdown = { drainDelayMs: 400, drainTimeoutMs: 3000 }) {
  const text = JSON.stringify({
    listeners: { privateLink: { port: ports.privateLink, host: '127.0.0.1' }, health: { port: ports.health, host: '127.0.0.1' } },
    upstreams: { default: { host: '127.0.0.1', port: echo.port } },
    tenants: [{ name: 'megacorp', hostnames: ['megacorp.example.com'], allow: { aws: allow } }],
    shutdown,
  });
  writeFileAtomic(file, text);
}

async function setup(workers: number, shutdown?: { drainDelayMs: number; drainTimeoutMs: number }, listenerMode?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'linkgate-serve-'));
  const file = join(dir, 'gateway.json');
  const ports = { privateLink: await closedPort(), health: await closedPort() };
  await writeConfig(file, ports, [A], shutdown);
  const proc = spawnCli(['serve', '--config', file, '--workers', String(workers), ...(listenerMode ? ['--listener-mode', listenerMode] : [])]);
  await waitFor(async () => (await status(ports.health, '/readyz')) === 200, 15_000, 'readiness').catch(async (e) => {
    proc.kill('SIGKILL');
    throw new Error(`${(e as Error).message}; stderr: ${proc.stderr()}`);
  });
  return { file, ports, proc };
}

let ready: number | undefined;
function status(port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    request({ host: '127.0.0.1', port, path, timeout: 2000 }, (res) => {
      res.resume();
      resolve((ready = res.statusCode ?? 0));
    })
      .on('error', () => resolve(0))
      .end();
  });
}

function body(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve(text));
    })
      .on('error', reject)
      .end();
  });
}


const procs: CliProcess[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) p.kill('SIGKILL');
});

/** Listener modes this Node.js can run: reuseport from Node.js 22.12 (CI runs these tests on 24 too). */
const CLUSTER_MODES = reusePortAvailable() ? ['shared', 'reuseport'] : ['shared'];

const SERVE_CASES: [number, string | undefined][] = [[1, undefined], ...CLUSTER_MODES.map((mode): [number, string] => [2, mode])];

describe.each(SERVE_CASES)('serve with %i worker(s), listener mode %s', (workers, listenerMode) => {
  test('GIVEN a running gateway WHEN the config file is replaced or SIGHUP arrives THEN every worker reloads, and a removed endpoint is cut off', async () => {
    const { file, ports, proc } = await setup(workers, undefined, listenerMode);
    procs.push(proc);
    const live = await forwardedConnection(ports.privateLink, A);
    expect(await live.ping()).toBe(true);

    // WHEN the file changes to allow B only
    await writeConfig(file, ports, [B]);
    await waitFor(() => proc.lines.filter((l) => l.msg === 'config reloaded').length >= workers, 10_000, 'reload in every worker');
    // THEN the live connection from A is closed as revoked
    await live.closed;
    expect(proc.lines.some((l) => l.msg === 'close' && l.reason === 'revoked' && l.linkId === A)).toBe(true);
    const fromB = await forwardedConnection(ports.privateLink, B);
    expect(await fromB.ping()).toBe(true);
    fromB.socket.destroy();

    // WHEN SIGHUP arrives THEN it reloads again
    const before = proc.lines.filter((l) => l.msg === 'config reloaded').length;
    proc.kill('SIGHUP');
    await waitFor(() => proc.lines.filter((l) => l.msg === 'config reloaded').length >= before + workers, 10_000, 'SIGHUP reload');

    // THEN /metrics counts the forwards of every worker together
    const accepted = await metricSum(ports.health, 'linkgate_connections_accepted_total');
    const metrics = await body(ports.health, '/metrics');
    expect(accepted).toBe(2);
    expect(metrics).toMatch(/linkgate_config_reloads_total\{result="success"\} [1-9]/);
  });

  test('GIVEN an invalid file WHEN it replaces the config THEN the gateway keeps serving the last good policy', async () => {
    const { file, ports, proc } = await setup(workers, undefined, listenerMode);
    procs.push(proc);
    writeFileSync(file, '{"listeners": "broken"');
    await waitFor(() => proc.lines.filter((l) => l.msg === 'config reload failed; keeping the last good config').length >= workers, 10_000);
    const still = await forwardedConnection(ports.privateLink, A);
    expect(await still.ping()).toBe(true);
    expect(await status(ports.health, '/readyz')).toBe(200);
    still.socket.destroy();
  });

  test('GIVEN SIGTERM with a connection in flight THEN /readyz fails first, the connection keeps working, new ones are refused after the delay, and the process exits once it ends', async () => {
    const { ports, proc } = await setup(workers, { drainDelayMs: 600, drainTimeoutMs: 10_000 }, listenerMode);
    procs.push(proc);
    const live = await forwardedConnection(ports.privateLink, A);
    expect(await live.ping()).toBe(true);

    proc.kill('SIGTERM');
    await waitFor(async () => (await status(ports.health, '/readyz')) === 503, 2000, 'readyz 503');
    // During the delay the listener still accepts (the load balancer has not noticed yet).
    const during = await sendRaw(ports.privateLink, [privateLinkOpening('aws', A, 'megacorp.example.com')], { waitMs: 300 });
    expect(during.error).toBeUndefined();
    await sleep(800);
    // After it, new connections are refused, but the in-flight one still works.
    const after = await sendRaw(ports.privateLink, [], { waitMs: 500 });
    expect(after.error).toBe('ECONNREFUSED');
    expect(await live.ping()).toBe(true);
    expect(proc.child.exitCode).toBeNull(); // still draining: the process waits for this connection

    const closedAt = Date.now();
    live.socket.end();
    expect(await proc.exited).toBe(0);
    expect(Date.now() - closedAt).toBeLessThan(5000); // well before the 10 s bound
    expect(proc.lines.some((l) => l.reason === 'drain_timeout')).toBe(false);
  });

  test('GIVEN SIGTERM and a connection that never ends THEN it is closed at the drain bound and the process exits 0', async () => {
    const { ports, proc } = await setup(workers, { drainDelayMs: 200, drainTimeoutMs: 700 }, listenerMode);
    procs.push(proc);
    const live = await forwardedConnection(ports.privateLink, A);
    expect(await live.ping()).toBe(true);
    const sentAt = Date.now();
    proc.kill('SIGTERM');
    await live.closed;
    const closedAfter = Date.now() - sentAt;
    expect(closedAfter).toBeGreaterThanOrEqual(850);
    expect(await proc.exited).toBe(0);
    expect(proc.lines.some((l) => l.msg === 'close' && l.reason === 'drain_timeout')).toBe(true);
  });
});

test.each(CLUSTER_MODES)('GIVEN a cluster (listener mode %s) WHEN a worker dies THEN the primary starts another, readiness comes back and connections are forwarded', async (mode) => {
  const { ports, proc } = await setup(2, undefined, mode);
  procs.push(proc);
  const worker = await waitFor(() => proc.lines.find((l) => l.msg === 'listening' && typeof l.worker === 'number'));
  process.kill(worker.pid as number, 'SIGKILL');
  await waitFor(() => proc.lines.find((l) => l.msg === 'worker exited; starting a new one'), 5000);
  await waitFor(() => proc.lines.filter((l) => l.msg === 'listening').length >= 3, 10_000, 'a replacement worker');
  await waitFor(async () => (await status(ports.health, '/readyz')) === 200, 10_000);
  expect(ready).toBe(200);
  // Whichever worker the kernel picks (with reuseport, the replacement's own socket among them).
  for (let i = 0; i < 8; i++) {
    const c = await forwardedConnection(ports.privateLink, A);
    expect(await c.ping()).toBe(true);
    c.socket.destroy();
  }
});

describe('listener modes', () => {
  /** Listening TCP sockets on 127.0.0.1:`port`, from /proc/net/tcp (state 0A). */
  const listeningSockets = (port: number) =>
    readFileSync('/proc/net/tcp', 'utf8')
      .split('\n')
      .filter((l) => {
        const [, local, , state] = l.trim().split(/\s+/);
        return state === '0A' && local === `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
      }).length;

  test.each(CLUSTER_MODES.map((mode) => [mode, mode === 'reuseport' ? 2 : 1] as const))(
    'GIVEN 2 workers in listener mode %s THEN the private-link port has %i listening socket(s)',
    async (mode, sockets) => {
      const { ports, proc } = await setup(2, undefined, mode);
      procs.push(proc);
      await waitFor(() => proc.lines.filter((l) => l.msg === 'listening').length >= 2, 10_000, 'both workers listening');
      expect(listeningSockets(ports.privateLink)).toBe(sockets);
      expect(proc.lines.filter((l) => l.msg === 'listening' && l.reusePort === true).length).toBe(mode === 'reuseport' ? 2 : 0);
    },
  );

  // Only where it can be seen: Node.js 20 (the engines floor) runs it.
  if (!reusePortAvailable()) test('GIVEN a Node.js without reusePort WHEN reuseport is asked for THEN serve refuses to start and says which version it needs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'linkgate-serve-'));
    const file = join(dir, 'gateway.json');
    await writeConfig(file, { privateLink: await closedPort(), health: await closedPort() }, [A]);
    const proc = spawnCli(['serve', '--config', file, '--workers', '2', '--listener-mode', 'reuseport']);
    procs.push(proc);
    expect(await proc.exited).toBe(1);
    expect(proc.stderr()).toMatch(/--listener-mode reuseport needs Node\.js 22\.12 or later/);
  });


  test('GIVEN reuseport and port 0 THEN the choice is refused, as each worker would get a port of its own', () => {
    expect(resolveListenerMode('reuseport', [0], '24.0.0')).toEqual({ error: expect.stringMatching(/needs fixed listener ports/) });
    expect(resolveListenerMode('reuseport', [8443], '22.11.0')).toEqual({ error: expect.stringMatching(/needs Node\.js 22\.12/) });
    expect(resolveListenerMode('reuseport', [8443], '22.12.0')).toEqual({ reusePort: true });
    expect(resolveListenerMode('shared', [8443], '24.0.0')).toEqual({ reusePort: false });
  });
});

test('GIVEN a worker that dies just before SIGTERM THEN no replacement starts during the drain and the process exits at once', async () => {
  const { proc } = await setup(2, { drainDelayMs: 0, drainTimeoutMs: 20_000 });
  procs.push(proc);
  const worker = await waitFor(() => proc.lines.find((l) => l.msg === 'listening' && typeof l.worker === 'number'));
  process.kill(worker.pid as number, 'SIGKILL');
  await waitFor(() => proc.lines.find((l) => l.msg === 'worker exited; starting a new one'), 5000);
  const sentAt = Date.now();
  proc.kill('SIGTERM'); // inside the 500 ms before the replacement would have been started
  expect(await proc.exited).toBe(0);
  // Well inside the 25 s bound (drain timeout + 5 s) that a replacement left running would have cost.
  expect(Date.now() - sentAt).toBeLessThan(5000);
  expect(proc.lines.filter((l) => l.msg === 'listening').length).toBe(2);
});

test('GIVEN an invalid config THEN serve refuses to start, exits 1 and lists every problem with its line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'linkgate-bad-'));
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, 'listeners:\n  privateLink: { port: 8443 }\n  health: { port: 8443 }\nupstreams: {}\ntenants:\n  - name: x\n    hostnames: [x.example.com]\n    open: true\n');
  const proc = spawnCli(['serve', '--config', file, '--workers', '1']);
  expect(await proc.exited).toBe(1);
  expect(proc.stderr()).toContain(`${file}:3:19: listeners.health.port: port 8443 is already used by listeners.privateLink`);
  expect(proc.stderr()).toContain('tenants[0].upstream: upstream "default" is not defined in upstreams (defined: none)');
});

test('GIVEN an inline config in $LINKGATE_CONFIG WHEN SIGHUP arrives THEN the gateway says it cannot reload and keeps running', async () => {
  const ports = { privateLink: await closedPort(), health: await closedPort() };
  const config = JSON.stringify({
    listeners: { privateLink: { port: ports.privateLink, host: '127.0.0.1' }, health: { port: ports.health, host: '127.0.0.1' } },
    upstreams: { default: { host: '127.0.0.1', port: echo.port } },
    tenants: [{ name: 'megacorp', hostnames: ['megacorp.example.com'], allow: { aws: [A] } }],
  });
  const proc = spawnCli(['serve', '--workers', '1'], { LINKGATE_CONFIG: config, LINKGATE_CONFIG_FILE: '/nonexistent/config.yaml' });
  procs.push(proc);
  await waitFor(async () => (await status(ports.health, '/readyz')) === 200, 15_000, 'readiness');
  proc.kill('SIGHUP');
  await proc.waitForLine((l) => l.msg === 'SIGHUP ignored: the config is inline and cannot be reloaded; redeploy to change it');
  const live = await forwardedConnection(ports.privateLink, A);
  expect(await live.ping()).toBe(true);
  live.socket.destroy();
});

/** Serves an open tenant with one listener on a port another server holds; returns the process. */
async function serveOnTakenPort(which: 'privateLink' | 'health', workers: number) {
  const taken = await startTcpServer(() => undefined);
  const file = join(mkdtempSync(join(tmpdir(), 'linkgate-taken-')), 'gateway.json');
  const ports = { privateLink: await closedPort(), health: await closedPort(), [which]: taken.port };
  writeFileSync(
    file,
    JSON.stringify({
      listeners: { privateLink: { port: ports.privateLink, host: '127.0.0.1' }, health: { port: ports.health, host: '127.0.0.1' } },
      upstreams: { default: { host: '127.0.0.1', port: echo.port } },
      tenants: [{ name: 'megacorp', hostnames: ['megacorp.example.com'], open: true }],
    }),
  );
  const proc = spawnCli(['serve', '--config', file, '--workers', String(workers)]);
  procs.push(proc);
  return { proc, taken };
}

test('GIVEN one process whose health port is taken THEN serve exits 1 instead of serving traffic with no health listener', async () => {
  const { proc, taken } = await serveOnTakenPort('health', 1);
  try {
    expect(await proc.exited).toBe(1);
    expect(proc.stderr()).toMatch(/EADDRINUSE/);
  } finally {
    await taken.close();
  }
});

test('GIVEN a cluster whose listener port is taken THEN serve stops with exit 1 instead of restarting workers forever', async () => {
  const { proc, taken } = await serveOnTakenPort('privateLink', 2);
  try {
    expect(await proc.exited).toBe(1);
    expect(proc.lines.some((l) => l.msg === 'worker could not start' && String(l.error).includes('EADDRINUSE'))).toBe(true);
    expect(proc.lines.some((l) => l.msg === 'workers keep failing to start; stopping')).toBe(true);
  } finally {
    await taken.close();
  }
});

test('GIVEN a cluster of 2 workers with one tenant THEN linkgate_config_tenants reports 1, not once per worker', async () => {
  const { ports, proc } = await setup(2);
  procs.push(proc);
  await waitFor(() => proc.lines.filter((l) => l.msg === 'listening').length >= 2, 10_000, 'both workers listening');
  expect(await body(ports.health, '/metrics')).toMatch(/^linkgate_config_tenants 1$/m);
  expect(await metricSum(ports.health, 'linkgate_config_tenants')).toBe(1);
});

describe('open files', () => {
  async function serveUnder(openFiles: number, limits?: Record<string, number>) {
    const dir = mkdtempSync(join(tmpdir(), 'linkgate-nofile-'));
    const file = join(dir, 'gateway.json');
    const ports = { privateLink: await closedPort(), health: await closedPort() };
    writeFileSync(
      file,
      JSON.stringify({
        listeners: { privateLink: { port: ports.privateLink, host: '127.0.0.1' }, health: { port: ports.health, host: '127.0.0.1' } },
        upstreams: { default: { host: '127.0.0.1', port: echo.port } },
        tenants: [{ name: 'megacorp', hostnames: ['megacorp.example.com'], allow: { aws: [A] } }],
        ...(limits ? { limits } : {}),
      }),
    );
    const proc = spawnCli(['serve', '--config', file, '--workers', '1'], {}, { openFiles });
    procs.push(proc);
    const listening = await proc.waitForLine((l) => l.msg === 'listening', 15_000);
    return { ports, proc, listening };
  }

  test('GIVEN no maxConnections and ulimit -n 256 THEN the default is sized from it (2 descriptors per connection, headroom kept) and logged at start', async () => {
    const { listening } = await serveUnder(256);
    expect(listening).toMatchObject({
      maxConnections: connectionsForOpenFiles(256),
      maxConnectionsFrom: 'open-files limit',
      openFilesLimit: 256,
      maxConnectionsPerLinkId: Math.floor(connectionsForOpenFiles(256) / 4),
    });
    expect(connectionsForOpenFiles(256)).toBeLessThan(256 / 2);
  });

  test('GIVEN an explicit maxConnections above what 64 descriptors allow WHEN connections pile up THEN the ones without a descriptor are dropped as out_of_file_descriptors, not upstream_unreachable', async () => {
    const { ports, proc, listening } = await serveUnder(64, { maxConnections: 1000, maxConnectionsPerLinkId: 1000, maxConnectionsPerTenant: 1000 });
    expect(listening).toMatchObject({ maxConnections: 1000, maxConnectionsFrom: 'config', openFilesLimit: 64 });
    const held: HeldConnection[] = [];
    let silent: Socket | undefined;
    try {
      // WHEN 60 forwarded connections are held open (2 descriptors each: more than 64 in all)
      for (let i = 0; i < 60; i++) {
        const c = await openAndHold(ports.privateLink, privateLinkOpening('aws', A, 'megacorp.example.com'), { timeoutMs: 10_000 }).catch(() => null);
        if (c) held.push(c);
      }
      expect(held.filter((c) => c.outcome === 'answered').length).toBeGreaterThan(5);
      expect(held.filter((c) => c.outcome === 'closed').length).toBeGreaterThan(0);
      // Where descriptors run out depends on how many the worker had at start (which differs
      // between Node.js versions): with none left it cannot take the connection at all (it is
      // closed unseen, nothing to count); with one left it takes it and the upstream connect fails
      // with EMFILE. Releasing one forwarded connection (2 descriptors) and holding one silent
      // one (1) makes the next connection meet the second case, whichever the start was.
      // (Counted from /proc: while no descriptor is left, /metrics cannot be served either.)
      const fds = () => readdirSync(`/proc/${listening.pid as number}/fd`).length;
      const before = fds();
      held.find((c) => c.outcome === 'answered')!.close();
      await waitFor(() => fds() <= before - 2, 10_000, 'the released connection to give back its descriptors');
      silent = connect({ port: ports.privateLink, host: '127.0.0.1' });
      silent.on('error', () => undefined);
      await waitFor(() => fds() === before - 1, 10_000, 'the silent connection to be accepted');
      const last = await openAndHold(ports.privateLink, privateLinkOpening('aws', A, 'megacorp.example.com'), { timeoutMs: 10_000 }).catch(() => null);
      if (last) held.push(last);
    } finally {
      for (const c of held) c.close();
      silent?.destroy();
    }
    // THEN (descriptors back) the drops were counted with their own reason
    await waitFor(async () => (await metricSum(ports.health, 'linkgate_connections_dropped_total')) > 0, 10_000, 'drops counted');
    const metrics = await body(ports.health, '/metrics');
    expect(metrics).toMatch(/linkgate_connections_dropped_total\{listener="privateLink",reason="out_of_file_descriptors",tenant="[a-z]*"\} [1-9]/);
    expect(metrics).not.toContain('reason="upstream_unreachable"');
    expect(proc.lines.some((l) => l.reason === 'upstream_unreachable')).toBe(false);
  });
});
