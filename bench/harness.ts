/**
 * Processes the benchmark (and the resilience suite) drive: the echo upstream, the gateway as
 * `linkgate serve`, HAProxy, and the load generator. Each runs in its own process so that what is
 * measured never shares an event loop with what measures it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cloudProxyHeader } from '../lib/gateway/proxy-protocol/encoder';
import { buildClientHello } from '../lib/gateway/tls/build-client-hello';
import type { GatewayConfigInput } from '../lib/tenants/schema';
import type { Job } from './loadgen';

/** The built tree: this file also runs from source under Jest, the scripts it starts never do. */
const DIST = (() => {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return join(dir, 'dist');
})();
const CLI = join(DIST, 'lib', 'gateway', 'cli.js');
/** The load generator script, for callers that run it themselves. */
export const LOADGEN = join(DIST, 'bench', 'loadgen.js');

export const BENCH_HOST = 'bench.example.com';
export const BENCH_VPCE = 'vpce-0be4c4be4c4be4c4b';

/** What a Private Link client sends first: the cloud's PROXY v2 header, then a browser-sized ClientHello. */
export function benchOpening(): { header: Buffer; hello: Buffer } {
  return {
    header: cloudProxyHeader('aws', BENCH_VPCE, { address: '10.1.2.3', port: 40000 }, { address: '10.0.0.10', port: 443 }),
    hello: buildClientHello({ serverName: BENCH_HOST }),
  };
}

export interface Proc {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[];
  readonly output: () => string;
  waitForLine(match: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export function startProc(command: string, args: string[], options: { stdin?: boolean; env?: NodeJS.ProcessEnv } = {}): Proc {
  const child = spawn(command, args, {
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  const lines: Record<string, unknown>[] = [];
  let partial = '';
  let text = '';
  const keepText = (d: string) => {
    if (text.length < 200_000) text += d;
  };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    keepText(d);
    const parts = (partial + d).split('\n');
    partial = parts.pop()!;
    for (const p of parts) {
      // Decision lines are not needed here: skipping them before parsing keeps the harness's own
      // CPU use (on the cores it shares with what it measures) the same for every path.
      if (!p.startsWith('{') || p.includes('"msg":"forward"') || p.includes('"msg":"drop"')) continue;
      try {
        lines.push(JSON.parse(p) as Record<string, unknown>);
      } catch {
        /* not JSON */
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', keepText);
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    child,
    lines,
    output: () => text,
    waitForLine: (match, timeoutMs = 30_000) =>
      until(() => lines.find(match), timeoutMs, () => `no matching line from ${command} ${args[0] ?? ''}; output:\n${text.slice(-2000)}`),
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

export async function until<T>(check: () => T | Promise<T>, timeoutMs: number, what: () => string): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out: ${what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    request({ host: '127.0.0.1', port, path, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', () => resolve({ status: 0, body: '' }))
      .end();
  });
}

export interface Upstream {
  readonly port: number;
  readonly proc: Proc;
}

export async function startEchoUpstream(): Promise<Upstream> {
  const proc = startProc(process.execPath, [join(DIST, 'bench', 'echo-upstream.js')]);
  const line = await proc.waitForLine((l) => typeof l.port === 'number');
  return { port: line.port as number, proc };
}

export interface GatewayProc {
  readonly proc: Proc;
  readonly configFile: string;
  readonly privateLinkPort: number;
  readonly healthPort: number;
  /** Primary and worker pids (for RSS). */
  pids(): number[];
  /** Worker pids only. */
  workerPids(): number[];
}

/** Runs `linkgate serve` with `config` (listeners filled in) and waits until /readyz answers 200. */
export async function startGateway(
  config: Omit<GatewayConfigInput, 'listeners'>,
  workers: number,
  env: NodeJS.ProcessEnv = {},
): Promise<GatewayProc> {
  const ports = { privateLink: await freePort(), health: await freePort() };
  const dir = mkdtempSync(join(tmpdir(), 'linkgate-bench-'));
  const configFile = join(dir, 'gateway.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      listeners: { privateLink: { port: ports.privateLink, host: '127.0.0.1' }, health: { port: ports.health, host: '127.0.0.1' } },
      // No load balancer to wait for here: without a drain delay each stop takes a moment, not 5 s.
      shutdown: { drainDelayMs: 0, drainTimeoutMs: 5000 },
      ...config,
    }),
  );
  const proc = startProc(process.execPath, [CLI, 'serve', '--config', configFile, '--workers', String(workers)], { env });
  proc.child.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  await until(
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`gateway exited with ${proc.child.exitCode}: ${proc.output().slice(-2000)}`);
      return (await httpGet(ports.health, '/readyz')).status === 200;
    },
    120_000,
    () => `gateway not ready: ${proc.output().slice(-2000)}`,
  );
  const workerPids = () => proc.lines.filter((l) => l.msg === 'listening').map((l) => l.pid as number);
  return {
    proc,
    configFile,
    privateLinkPort: ports.privateLink,
    healthPort: ports.health,
    pids: () => [proc.child.pid!, ...workerPids().filter((p) => p !== proc.child.pid)],
    workerPids,
  };
}

export interface HAProxyProc {
  readonly port: number;
  readonly proc: Proc;
}

/** HAProxy doing the gateway's job: PROXY v2 accepted, SNI inspected, routed to the upstream. */
export async function startHAProxyRouter(upstreamPort: number, threads: number, maxconn = 9000): Promise<HAProxyProc> {
  const port = await freePort();
  const proc = await startHAProxy(
    `frontend fe
  bind 127.0.0.1:${port} accept-proxy
  option tcplog
  tcp-request inspect-delay 5s
  tcp-request content accept if { req.ssl_hello_type 1 }
  use_backend be_bench if { req.ssl_sni -i ${BENCH_HOST} }

backend be_bench
  server upstream 127.0.0.1:${upstreamPort}`,
    port,
    { threads, maxconn },
  );
  return { port, proc };
}

/** Starts Debian's HAProxy in the foreground; its log goes to stdout (read and discarded). */
export async function startHAProxy(body: string, waitForPort: number, options: { threads?: number; maxconn?: number } = {}): Promise<Proc> {
  const dir = mkdtempSync(join(tmpdir(), 'linkgate-haproxy-'));
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(
    file,
    `global
  log stdout format raw local0 info
  maxconn ${options.maxconn ?? 4000}
${options.threads ? `  nbthread ${options.threads}\n` : ''}
defaults
  log global
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s

${body}
`,
  );
  const proc = startProc('haproxy', ['-db', '-f', file]);
  proc.child.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  await until(
    () =>
      new Promise<boolean>((resolve) => {
        const s = connect({ host: '127.0.0.1', port: waitForPort }, () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      }),
    10_000,
    () => `haproxy not listening on ${waitForPort}: ${proc.output()}`,
  );
  return proc;
}

export function haproxyVersion(): string {
  const r = spawnSync('haproxy', ['-v'], { encoding: 'utf8' });
  return r.status === 0 ? (r.stdout.split('\n')[0] ?? '').replace(/ - https.*$/, '') : 'not installed';
}

/** Runs one load generator job in its own process and returns its JSON result. */
export async function runLoadgen<T>(job: Job): Promise<T> {
  const proc = startProc(process.execPath, [LOADGEN, JSON.stringify(job)]);
  const line = await proc.waitForLine(() => true, 600_000);
  await proc.stop();
  return line as T;
}

/** Resident memory of processes in KiB, from /proc. */
export function rssKiB(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      total += Number(m?.[1] ?? 0);
    } catch {
      /* gone */
    }
  }
  return total;
}

export function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

/** A gateway config for `tenants` filler tenants plus the bench tenant, all restricted to one link ID each. */
export function benchTenants(count: number): NonNullable<GatewayConfigInput['tenants']> {
  const tenants: NonNullable<GatewayConfigInput['tenants']> = [{ name: 'bench', hostnames: [BENCH_HOST], allow: { aws: [BENCH_VPCE] } }];
  for (let i = 1; i < count; i++) {
    tenants.push({
      name: `t${i}`,
      hostnames: [`t${i}.api.example.com`, `*.t${i}.example.com`],
      allow: { aws: [`vpce-${i.toString(16).padStart(17, '0')}`], gcp: [(18446744072646845442n - BigInt(i)).toString()] },
    });
  }
  return tenants;
}
