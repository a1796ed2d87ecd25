/**
 * `npm run bench [-- --quick] [--runtimes A,B] [--listener-modes shared,reuseport]`: the same job
 * through three paths, in one run, on 127.0.0.1:
 *   direct   load generator → echo upstream (the limit)
 *   linkgate load generator → linkgate serve (PROXY v2 + SNI + link-ID check) → echo upstream
 *   haproxy  load generator → HAProxy (accept-proxy, req.ssl_sni routing) → echo upstream
 * With several runtimes (`--runtime PATH` or `--runtimes A,B`: paths of `node` binaries, or
 * `current`, or `node24` for the CI's Node.js 24), each runtime gets its own gateway and its own
 * load generators (every linkgate-side process on the runtime under test), and HAProxy and direct
 * are measured again with that runtime's load generator, so every ratio compares like with like.
 * With several listener modes, each runtime gets a gateway per mode. All paths are measured in
 * interleaved rounds. Figures are ratios within the run, since these machines are shared and noisy.
 * Prints a table, writes bench/RESULTS.md (above its history section), exits 0.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import {
  benchConfig,
  benchOpening,
  benchTarget,
  haproxyVersion,
  LOADGEN,
  metricSum,
  resolveRuntime,
  rssKiB,
  runLoadgen,
  startEchoUpstream,
  startGateway,
  startHAProxyRouter,
  startProc,
  until,
  writeFileAtomic,
  type GatewayProc,
  type Proc,
  type Runtime,
  option,
} from './harness';
import { httpModeRows } from './http';
import { reusePortAvailable } from '../lib/gateway/listener-mode';
import type { IdleResult, LatencyResult, RateResult, Target, ThroughputResult } from './loadgen';

const quick = process.argv.includes('--quick');

const RUNTIMES: readonly Runtime[] = (option('runtimes') ?? option('runtime') ?? 'current').split(',').filter(Boolean).map(resolveRuntime);
/** Listener modes to compare; `default` leaves the choice to the gateway. */
const LISTENER_MODES: readonly string[] = (option('listener-modes') ?? option('listener-mode') ?? 'default').split(',').filter(Boolean);
/** The first runtime and mode: the steps measured once (memory, policy size, reload) run on it. */
const MAIN = { runtime: RUNTIMES[0]!, mode: LISTENER_MODES[0]! };
const WORKERS = Math.min(2, cpus().length);
const S = quick
  ? { rounds: 1, warmupMs: 500, durationMs: 2500, idle: 10000, bigPolicy: 100_000, latencyRate: 300, loadgens: 2, concurrency: 32 }
  : { rounds: 3, warmupMs: 1000, durationMs: 5000, idle: 10_000, bigPolicy: 100_000, latencyRate: 500, loadgens: 2, concurrency: 32 };

interface Row {
  readonly measure: string;
  readonly value: string;
  readonly target?: string;
  readonly met?: boolean;
}
const rows: Row[] = [];
const log = (text: string) => process.stdout.write(`${text}\n`);

/**
 * Runs `measure` for every path, `S.rounds` times, interleaved (A B C A B C ...) so that a noisy
 * moment hits every path alike, and returns each path's median.
 */
async function interleaved<K extends string, P, T>(paths: Record<K, P>, measure: (p: P) => Promise<T>, value: (r: T) => number): Promise<Record<K, { median: number; runs: T[] }>> {
  const runs = {} as Record<K, T[]>;
  for (let round = 0; round < S.rounds; round++) {
    for (const key of Object.keys(paths) as K[]) (runs[key] ??= []).push(await measure(paths[key]));
  }
  const out = {} as Record<K, { median: number; runs: T[] }>;
  for (const key of Object.keys(paths) as K[]) out[key] = { median: median(runs[key].map(value)), runs: runs[key] };
  return out;
}

/** One way through: what the load generator connects to, and the runtime the load generator (and a gateway) runs on. */
interface BenchPath {
  readonly kind: 'linkgate' | 'haproxy' | 'direct';
  readonly label: string;
  readonly runtime: Runtime;
  readonly mode?: string;
  readonly target: Target;
}

const rate = async (path: BenchPath | Target) => {
  const { target, node } = 'target' in path ? { target: path.target, node: path.runtime.node } : { target: path, node: MAIN.runtime.node };
  const results = await Promise.all(
    Array.from({ length: S.loadgens }, () =>
      runLoadgen<RateResult>({ kind: 'rate', ...target, concurrency: S.concurrency, warmupMs: S.warmupMs, durationMs: S.durationMs }, undefined, node),
    ),
  );
  return { perSecond: results.reduce((n, r) => n + r.perSecond, 0), failed: results.reduce((n, r) => n + r.failed, 0) };
};
const failedOf = (runs: { failed: number }[]) => runs.reduce((n, r) => n + r.failed, 0);

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadAtStart = loadavg();
  const upstream = await startEchoUpstream(MAIN.runtime.node);
  // Whatever was started is stopped at the end, even when a step fails half-way.
  const running: Proc[] = [upstream.proc];
  const haproxy = await startHAProxyRouter(upstream.port, WORKERS);
  running.push(haproxy.proc);
  const several = RUNTIMES.length > 1 || LISTENER_MODES.length > 1;
  const paths: Record<string, BenchPath> = {};
  const gateways: Proc[] = [];
  for (const [i, runtime] of RUNTIMES.entries()) {
    const loadFrom = RUNTIMES.length > 1 ? ` (load from ${runtime.version})` : '';
    for (const mode of LISTENER_MODES) {
      if (mode === 'reuseport' && !reusePortAvailable(runtime.version)) {
        log(`skipping listener mode reuseport on ${runtime.version}: needs Node.js 22.12 or later`);
        continue;
      }
      const listenerMode = mode === 'default' ? undefined : mode;
      const gateway = await startGateway(benchConfig(upstream.port), WORKERS, {}, { node: runtime.node, listenerMode });
      running.push(gateway.proc);
      gateways.push(gateway.proc);
      const label = several ? `linkgate (${runtime.version}${LISTENER_MODES.length > 1 ? `, ${mode}` : ''})` : 'linkgate';
      paths[`linkgate ${i} ${mode}`] = { kind: 'linkgate', label, runtime, mode, target: benchTarget(gateway.privateLinkPort) };
    }
    paths[`haproxy ${i}`] = { kind: 'haproxy', label: `HAProxy${loadFrom}`, runtime, target: benchTarget(haproxy.port) };
    paths[`direct ${i}`] = { kind: 'direct', label: `direct${loadFrom}`, runtime, target: benchTarget(upstream.port, { direct: true }) };
  }
  const keys = Object.keys(paths);
  /** The HAProxy path measured with the same runtime's load generator: the anchor of a linkgate path. */
  const anchorOf = (key: string) => `haproxy ${key.split(' ')[1]}`;
  const directOf = (key: string) => `direct ${key.split(' ')[1]}`;
  const gatewayKeys = keys.filter((k) => paths[k]!.kind === 'linkgate');
  log(
    `linkgate bench${quick ? ' (quick)' : ''}: ${WORKERS} gateway workers, HAProxy ${WORKERS} threads, ${cpus().length} cores, ${S.rounds} round(s) per figure; ` +
      `runtimes ${RUNTIMES.map((r) => r.version).join(', ')}; listener modes ${LISTENER_MODES.join(', ')}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  );
  const summary = (what: string, fig: Record<string, { median: number }>) => log(`${what}: ${keys.map((k) => `${paths[k]!.label} ${fmt(fig[k]!.median)}`).join(', ')}`);

  try {
    // 1. New connections per second at saturation.
    const rates = await interleaved(paths, rate, (r) => r.perSecond);
    summary('connection rate /s', rates);
    for (const k of keys) rows.push({ measure: `new connections/s, ${paths[k]!.label}`, value: `${fmt(rates[k]!.median)} (failed ${failedOf(rates[k]!.runs)})` });
    for (const k of gatewayKeys) {
      const r = rates[k]!.median / rates[anchorOf(k)]!.median;
      rows.push({ measure: `connection rate ${paths[k]!.label} / HAProxy`, value: ratio(r), target: '≥ 1.0×', met: r >= 1 });
    }

    // 2. Bulk throughput over established connections.
    const bulk = (path: BenchPath) =>
      runLoadgen<ThroughputResult>(
        { kind: 'throughput', ...path.target, connections: 16, chunkBytes: 64 * 1024, warmupMs: S.warmupMs, durationMs: S.durationMs },
        undefined,
        path.runtime.node,
      );
    const tput = await interleaved(paths, bulk, (r) => r.megabytesPerSecond);
    summary('throughput MB/s', tput);
    for (const k of gatewayKeys) {
      const anchor = anchorOf(k);
      const direct = directOf(k);
      const vsDirect = tput[k]!.median / tput[direct]!.median;
      const vsHAProxy = tput[k]!.median / tput[anchor]!.median;
      const label = paths[k]!.label;
      rows.push({ measure: `throughput MB/s (echoed) ${label} / HAProxy / direct`, value: `${fmt(tput[k]!.median)} / ${fmt(tput[anchor]!.median)} / ${fmt(tput[direct]!.median)}` });
      rows.push({ measure: `throughput ${label} / direct`, value: ratio(vsDirect), target: '≥ 0.9×', met: vsDirect >= 0.9 });
      rows.push({ measure: `throughput ${label} / HAProxy`, value: ratio(vsHAProxy), target: '≥ 1.0×', met: vsHAProxy >= 1 });
    }

    // 3. Latency at a fixed rate: PROXY header + ClientHello written → first echoed byte.
    const lat = (path: BenchPath) =>
      runLoadgen<LatencyResult>(
        { kind: 'latency', ...path.target, perSecond: S.latencyRate, warmupMs: S.warmupMs, durationMs: S.durationMs },
        undefined,
        path.runtime.node,
      );
    const lats = await interleaved(paths, lat, (r) => r.p99Ms);
    const p50 = (k: string) => median(lats[k]!.runs.map((r) => r.p50Ms));
    log(`latency p50/p99 ms at ${S.latencyRate}/s: ${keys.map((k) => `${paths[k]!.label} ${p50(k).toFixed(3)}/${lats[k]!.median.toFixed(3)}`).join(', ')}`);
    for (const k of keys) {
      rows.push({
        measure: `latency p50 / p99 ms at ${S.latencyRate}/s, ${paths[k]!.label}`,
        value: `${p50(k).toFixed(3)} / ${lats[k]!.median.toFixed(3)} (failed ${failedOf(lats[k]!.runs)})`,
      });
    }
    for (const k of gatewayKeys) {
      const r = lats[k]!.median / lats[anchorOf(k)]!.median;
      rows.push({ measure: `p99 latency ${paths[k]!.label} / HAProxy`, value: ratio(r), target: '≤ 1.2×', met: r <= 1.2 });
    }

    // 4. Memory per idle established connection.
    // A gateway of its own: memory the throughput step left free inside the first one would hold
    // these connections without growing its RSS, and hide their cost.
    // Every bench client comes through one endpoint of one tenant: the per-endpoint and
    // per-tenant shares (a quarter and half of the pool) would refuse most of these by design.
    const idleLimits = { maxConnectionsPerLinkId: S.idle, maxConnectionsPerTenant: S.idle };
    const mainRuntime = { node: MAIN.runtime.node, listenerMode: MAIN.mode === 'default' ? undefined : MAIN.mode };
    const idleGateway = await startGateway(
      { ...benchConfig(upstream.port), limits: idleLimits },
      WORKERS,
      { NODE_OPTIONS: `--expose-gc --require ${join(__dirname, 'collect-on-signal.js')}` },
      mainRuntime,
    );
    running.push(idleGateway.proc);
    const perIdle = await idleMemory(idleGateway, benchTarget(idleGateway.privateLinkPort));
    await idleGateway.proc.stop();
    rows.push({ measure: `memory per idle connection (${fmt(S.idle)} through linkgate)`, value: `${perIdle.toFixed(2)} KiB`, target: '≤ 10 KiB', met: perIdle <= 10 });
    await haproxy.proc.stop();
    for (const p of gateways) await p.stop();

    // 5. Decision cost as the policy grows: 10 vs 100,000 tenants, both running, interleaved.
    const big = await startGateway(benchConfig(upstream.port, S.bigPolicy), WORKERS, {}, mainRuntime);
    running.push(big.proc);
    const small = await startGateway(benchConfig(upstream.port), WORKERS, {}, mainRuntime);
    running.push(small.proc);
    const policy = await interleaved(
      { small: benchTarget(small.privateLinkPort), big: benchTarget(big.privateLinkPort) },
      rate,
      (r) => r.perSecond,
    );
    await small.proc.stop();
    const policyRatio = policy.big.median / policy.small.median;
    log(`policy size: 10 tenants ${fmt(policy.small.median)}/s, ${fmt(S.bigPolicy)} tenants ${fmt(policy.big.median)}/s`);
    rows.push({ measure: `connections/s with 10 vs ${fmt(S.bigPolicy)} tenants`, value: `${fmt(policy.small.median)} vs ${fmt(policy.big.median)}` });
    rows.push({ measure: `rate ${fmt(S.bigPolicy)} tenants / 10 tenants`, value: ratio(policyRatio), target: '≥ 0.95×', met: policyRatio >= 0.95 });

    // 6. Reload of a 100,000-tenant file (SIGHUP; each worker reads, validates, compiles and swaps).
    const reloadMs = await reloadTime(big);
    rows.push({ measure: `reload of ${fmt(S.bigPolicy)} tenants (slowest worker)`, value: `${reloadMs.toFixed(0)} ms`, target: '< 1000 ms', met: reloadMs < 1000 });
    await big.proc.stop();

    // 7. HTTP mode (bench/http.ts): TLS terminated and a header routed on, linkgate vs HAProxy vs nginx.
    const httpSettings = { rounds: S.rounds, warmupMs: S.warmupMs, durationMs: S.durationMs, workers: WORKERS, concurrency: 2 * S.concurrency, connections: S.concurrency };
    rows.push(...(await httpModeRows(httpSettings, log)));
  } finally {
    await Promise.all(running.map((p) => p.stop()));
  }

  printTable();
  writeResults(startedAt, loadAtStart);
}

/**
 * Memory per idle established connection as a marginal cost, on a fresh gateway: half of the N are
 * opened and held (which also grows V8's young generation and the allocators' pools to their working
 * size), then the other half; the RSS growth over the second half, divided by its count, is the
 * figure. Measuring from an empty gateway would charge that one-off growth to the connections, and
 * a warm-up round that is closed again would leave freed memory for them to reuse. Each reading
 * follows a full garbage collection in every gateway process.
 */
async function idleMemory(gateway: GatewayProc, target: Target): Promise<number> {
  const hold = async (count: number) => {
    const holder = startProc(MAIN.runtime.node, [LOADGEN, JSON.stringify({ kind: 'idle', ...target, count, concurrency: 200 })], { stdin: true });
    const opened = (await holder.waitForLine((l) => typeof l.opened === 'number', 300_000)) as unknown as IdleResult;
    return { opened, release: async () => (holder.child.stdin!.end(), holder.stop()) };
  };
  // Every gateway process collects its garbage (bench/collect-on-signal.ts) before RSS is read.
  const settle = async () => {
    await new Promise((r) => setTimeout(r, 500));
    for (const pid of gateway.pids()) process.kill(pid, 'SIGUSR2');
    await new Promise((r) => setTimeout(r, 1000));
  };
  const first = await hold(Math.floor(S.idle / 2));
  await settle();
  const before = rssKiB(gateway.pids());
  const second = await hold(S.idle - Math.floor(S.idle / 2));
  await settle();
  const active = await metricSum(gateway.healthPort, 'linkgate_active_connections');
  const after = rssKiB(gateway.pids());
  await Promise.all([first.release(), second.release()]);
  const opened = first.opened.opened + second.opened.opened;
  const failed = first.opened.failed + second.opened.failed;
  const per = (after - before) / Math.max(1, second.opened.opened);
  log(
    `idle: ${opened} open (${failed} failed, gateway counts ${active} active), RSS with the first ${fmt(first.opened.opened)} ${fmt(before)} KiB, ` +
      `with all ${fmt(after)} KiB: ${per.toFixed(2)} KiB per connection`,
  );
  return per;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/**
 * A real change: the file is rewritten with one tenant's endpoint replaced (write, then rename, as
 * config management does), the workers notice it and reload one after another. Each reports how
 * long reading, validating, compiling and swapping took; the slowest is the figure.
 */
async function reloadTime(gateway: GatewayProc): Promise<number> {
  const before = gateway.proc.lines.filter((l) => l.msg === 'config reloaded').length;
  const config = JSON.parse(readFileSync(gateway.configFile, 'utf8')) as { tenants: { allow?: { aws?: string[] } }[] };
  config.tenants[1]!.allow = { aws: ['vpce-0ffffffffffffffff'] };
  writeFileAtomic(gateway.configFile, JSON.stringify(config));
  await until(() => gateway.proc.lines.filter((l) => l.msg === 'config reloaded').length >= before + WORKERS, 60_000, () => 'reload lines');
  const times = gateway.proc.lines.filter((l) => l.msg === 'config reloaded').slice(before).map((l) => Number(l.durationMs));
  log(`reload of ${S.bigPolicy} tenants: ${times.join(' ms, ')} ms`);
  return Math.max(...times);
}

function printTable(): void {
  const w = Math.max(...rows.map((r) => r.measure.length));
  const v = Math.max(...rows.map((r) => r.value.length));
  log('');
  for (const r of rows) {
    log(`${r.measure.padEnd(w)}  ${r.value.padEnd(v)}  ${r.target ? `target ${r.target}: ${r.met ? 'met' : 'NOT met'}` : ''}`.trimEnd());
  }
}

/** Hand-written sections of bench/RESULTS.md (dated experiments) start here; a run keeps them. */
const HISTORY_MARKER = '<!-- history: kept by npm run bench -->';

function writeResults(startedAt: Date, loadAtStart: number[]): void {
  const cpu = cpus()[0]?.model ?? 'unknown';
  const file = join(__dirname, '..', '..', 'bench', 'RESULTS.md');
  const previous = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const history = previous.includes(HISTORY_MARKER) ? previous.slice(previous.indexOf(HISTORY_MARKER)) : `${HISTORY_MARKER}\n`;
  const args = process.argv.slice(2).join(' ');
  const md = `# Benchmark results

Written by \`npm run bench${args ? ` -- ${args}` : ''}\` on ${startedAt.toISOString()}.

- Machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${process.platform} (shared, noisy: compare ratios, not absolute figures)
- Load average (1, 5, 15 min) at the start: ${loadAtStart.map((l) => l.toFixed(2)).join(', ')}; at the end: ${loadavg().map((l) => l.toFixed(2)).join(', ')}
- Node.js ${RUNTIMES.map((r) => r.version).join(' and ')} (gateway workers and load generators on each; the echo upstream on ${MAIN.runtime.version});
  listener modes: ${LISTENER_MODES.join(', ')}; ${haproxyVersion()}; linkgate ${packageVersion()}
- linkgate: \`linkgate serve\` with ${WORKERS} workers; HAProxy: nbthread ${WORKERS}, accept-proxy, \`req.ssl_sni\` routing after
  \`tcp-request inspect-delay\`, \`option tcplog\` (linkgate logs every decision too)
- Load: a PROXY v2 header with an AWS link-ID TLV and CRC32C (100 bytes) plus a ${benchOpening().hello.length}-byte
  post-quantum-sized ClientHello per connection; the echo upstream returns what it receives.
  ${S.loadgens} load-generator processes × ${S.concurrency} connections in flight for rates;
  ${S.durationMs / 1000} s measured after ${S.warmupMs / 1000} s warm-up, ${S.rounds} interleaved round(s) per figure (median).
- Everything (load generators, upstream, proxies) shares the same ${cpus().length} cores.
- HTTP mode rows: keep-alive HTTP/1.1 over TLS (P-256 certificate), each connection opened with the same PROXY v2
  header, ${2 * S.concurrency} requests in flight over ${S.concurrency} connections (8 over 8 for 1 MiB answers), through
  linkgate (listener mode http, tenant from the x-tenant header, link-ID check), HAProxy (accept-proxy, ssl, routing on
  x-tenant; 2.6 cannot read the AWS TLV) and nginx (${WORKERS} workers, ssl proxy_protocol, a map on x-tenant), each
  adding the same headers, to a plain HTTP/1.1 upstream; p50/p99 are of every request at saturation.
- Memory per idle connection, policy size and reload: on ${MAIN.runtime.version}, listener mode ${MAIN.mode}. Memory: on a fresh gateway, RSS of all its processes after a full garbage
  collection with ${fmt(S.idle / 2)} connections held, then with ${fmt(S.idle)}; the growth divided by the second ${fmt(S.idle / 2)}.

| measure | value | target |
|---|---|---|
${rows.map((r) => `| ${r.measure} | ${r.value} | ${r.target ? `${r.target} ${r.met ? '(met)' : '(**not met**)'}` : ''} |`).join('\n')}

${history}`;
  writeFileSync(file, md);
  log(`\nwrote bench/RESULTS.md`);
}

function packageVersion(): string {
  const file = join(__dirname, '..', '..', 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));
const ratio = (r: number) => `${r.toFixed(2)}×`;

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
    process.exit(1);
  },
);
