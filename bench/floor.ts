/**
 * `npm run bench:floor [-- --runtime PATH|node24] [--rounds N]`: what each way through costs in CPU,
 * per 1,000 connections and per GB forwarded, beside what it achieves, one worker / thread each:
 *
 *   linkgate            `linkgate serve --workers 1` (the GC tuning as it runs by default)
 *   linkgate, GC off    the same with LINKGATE_GC_TUNING=off (only where the tuning applies)
 *   HAProxy             nbthread 1, the bench's router config
 *   node: events        bench/minimal-proxy.ts without any logic: 'data' events, a new buffer per read
 *   node: onread-up     the same, the upstream side reading into a reused buffer
 *   node: onread        both sides reading into reused buffers (an internal API on the accepted side)
 *
 * The minimal proxies are the floor: what Node.js itself costs before any gateway work, and what
 * reused read buffers would save. CPU time per unit of work moves far less with the machine's
 * load than a rate; all paths are measured in interleaved rounds (medians).
 */
import { join } from 'node:path';
import {
  benchConfig,
  benchTarget,
  cpuTimes,
  resolveRuntime,
  runLoadgen,
  startEchoUpstream,
  startGateway,
  startHAProxyRouter,
  startProc,
  type Proc,
  option,
} from './harness';
import type { RateResult, Target, ThroughputResult } from './loadgen';
import { gcTuningSupported } from '../lib/gateway/gc-tuning';

const ROUNDS = Number(option('rounds') ?? 3);
const CONNECTIONS = 3000;

interface Path {
  readonly label: string;
  readonly pids: () => number[];
  readonly target: Target;
}

interface Figures {
  megabytesPerSecond: number[];
  userPerGB: number[];
  systemPerGB: number[];
  connectionsPerSecond: number[];
  userPer1k: number[];
  systemPer1k: number[];
}

async function measure(path: Path, node: string, into: Figures): Promise<void> {
  let before = cpuTimes(path.pids());
  const bulk = await runLoadgen<ThroughputResult>({ kind: 'throughput', ...path.target, connections: 16, chunkBytes: 64 * 1024, warmupMs: 300, durationMs: 2500 }, undefined, node);
  let after = cpuTimes(path.pids());
  // The CPU counters also cover the warm-up; the bytes do not: both per GB of what was counted
  // would overstate the CPU by warm-up / duration alike for every path.
  const gb = bulk.bytes / 1e9;
  into.megabytesPerSecond.push(bulk.megabytesPerSecond);
  into.userPerGB.push((after.userMs - before.userMs) / gb);
  into.systemPerGB.push((after.systemMs - before.systemMs) / gb);

  await runLoadgen<RateResult>({ kind: 'count', ...path.target, count: 500, concurrency: 16 }, undefined, node);
  before = cpuTimes(path.pids());
  const started = performance.now();
  const done = await runLoadgen<RateResult>({ kind: 'count', ...path.target, count: CONNECTIONS, concurrency: 16 }, undefined, node);
  const seconds = (performance.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 200)); // teardown of the last connections
  after = cpuTimes(path.pids());
  into.connectionsPerSecond.push(done.completed / seconds);
  into.userPer1k.push(((after.userMs - before.userMs) / Math.max(1, done.completed)) * 1000);
  into.systemPer1k.push(((after.systemMs - before.systemMs) / Math.max(1, done.completed)) * 1000);
}

async function main(): Promise<void> {
  const runtime = resolveRuntime(option('runtime') ?? 'current');
  const running: Proc[] = [];
  try {
    const upstream = await startEchoUpstream(runtime.node);
    running.push(upstream.proc);
    const paths: Path[] = [];
    const gateway = await startGateway(benchConfig(upstream.port), 1, {}, { node: runtime.node });
    running.push(gateway.proc);
    paths.push({ label: 'linkgate', pids: gateway.pids, target: benchTarget(gateway.privateLinkPort) });
    const runtimeV8 = (await v8VersionOf(runtime.node)) ?? '';
    if (gcTuningSupported(runtimeV8)) {
      const untuned = await startGateway(benchConfig(upstream.port), 1, { LINKGATE_GC_TUNING: 'off' }, { node: runtime.node });
      running.push(untuned.proc);
      paths.push({ label: 'linkgate, GC tuning off', pids: untuned.pids, target: benchTarget(untuned.privateLinkPort) });
    }
    const haproxy = await startHAProxyRouter(upstream.port, 1);
    running.push(haproxy.proc);
    paths.push({ label: 'HAProxy', pids: () => [haproxy.proc.child.pid!], target: benchTarget(haproxy.port) });
    for (const mode of ['events', 'onread-up', 'onread']) {
      const proc = startProc(runtime.node, [join(__dirname, 'minimal-proxy.js'), mode, '0', String(upstream.port)]);
      running.push(proc);
      const port = (await proc.waitForLine((l) => typeof l.port === 'number')).port as number;
      paths.push({ label: `node: ${mode}`, pids: () => [proc.child.pid!], target: benchTarget(port, { direct: true }) });
    }

    const figures = new Map<string, Figures>(paths.map((p) => [p.label, { megabytesPerSecond: [], userPerGB: [], systemPerGB: [], connectionsPerSecond: [], userPer1k: [], systemPer1k: [] }]));
    for (let round = 0; round < ROUNDS; round++) for (const path of paths) await measure(path, runtime.node, figures.get(path.label)!);

    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
    const n = (x: number) => Math.round(x).toLocaleString('en-US');
    const out = (line: string) => process.stdout.write(`${line}\n`);
    out(`CPU per unit of work, one worker / thread each, Node.js ${runtime.version}, ${ROUNDS} interleaved round(s), medians`);
    out('| path | MB/s | user ms / GB | system ms / GB | connections/s | user ms / 1,000 conns | system ms / 1,000 conns |');
    out('|---|---|---|---|---|---|---|');
    for (const path of paths) {
      const f = figures.get(path.label)!;
      out(
        `| ${path.label} | ${n(median(f.megabytesPerSecond))} | ${n(median(f.userPerGB))} | ${n(median(f.systemPerGB))} | ` +
          `${n(median(f.connectionsPerSecond))} | ${n(median(f.userPer1k))} | ${n(median(f.systemPer1k))} |`,
      );
    }
  } finally {
    for (const p of running.reverse()) await p.stop();
  }
}

/** The V8 version of a node binary (the gateway's runtime may not be the one running this). */
async function v8VersionOf(node: string): Promise<string | undefined> {
  const proc = startProc(node, ['-e', 'process.stdout.write(JSON.stringify({ v8: process.versions.v8 }) + "\\n")']);
  try {
    return (await proc.waitForLine((l) => typeof l.v8 === 'string', 10_000)).v8 as string;
  } finally {
    await proc.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
