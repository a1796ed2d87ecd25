/**
 * `npm run bench:syscalls [-- --connections N] [--runtime PATH|node24] [--listener-mode MODE]`:
 * system calls per connection, linkgate and HAProxy side by side, by name.
 *
 * Both proxies run with 2 workers / threads behind the same echo upstream, as in `npm run bench`.
 * Each gets a warm-up of connections first (JIT, pools, lazily opened files), then `strace -c -f`
 * attaches to every thread of every one of its processes, N connections go through, and strace
 * detaches and prints its counts. The load generator and the upstream are not traced. Counts are
 * exact whatever the machine's load; timings under strace are meaningless and are not reported.
 * Before tracing, an untraced pass of the same N connections reads each proxy's CPU time (user and
 * system, every thread, from /proc): CPU per connection moves far less with the machine's load than
 * a rate does, so it shows a change's cost where a bench run is too noisy.
 */
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
  until,
  type Proc,
  option,
} from './harness';
import type { RateResult, Target } from './loadgen';

const CONNECTIONS = Number(option('connections') ?? 2000);
const WARMUP = 1000;
const CONCURRENCY = 16;
const WORKERS = 2;

/** strace -c's table: calls (and errors) by system call name. */
function parseSummary(text: string): Map<string, { calls: number; errors: number }> {
  const out = new Map<string, { calls: number; errors: number }>();
  for (const line of text.split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length < 5 || !/^\d+\.\d+$/.test(parts[0]!) || parts.at(-1) === 'total') continue;
    out.set(parts.at(-1)!, { calls: Number(parts[3]), errors: parts.length >= 6 ? Number(parts[4]) : 0 });
  }
  return out;
}

/** User + system CPU time of processes (all their threads), in ms. */
function cpuMs(pids: readonly number[]): number {
  const { userMs, systemMs } = cpuTimes(pids);
  return userMs + systemMs;
}

/** CPU ms the proxy's processes spend on `CONNECTIONS` connections, untraced, after the warm-up. */
async function cpuPerConnection(pids: readonly number[], target: Target, node: string): Promise<number> {
  await runLoadgen<RateResult>({ kind: 'count', ...target, count: WARMUP, concurrency: CONCURRENCY }, undefined, node);
  const before = cpuMs(pids);
  const result = await runLoadgen<RateResult>({ kind: 'count', ...target, count: CONNECTIONS, concurrency: CONCURRENCY }, undefined, node);
  await new Promise((r) => setTimeout(r, 300));
  return (cpuMs(pids) - before) / Math.max(1, result.completed);
}

async function traced(pids: readonly number[], target: Target, node: string): Promise<{ counts: Map<string, { calls: number; errors: number }>; completed: number; failed: number }> {
  await runLoadgen<RateResult>({ kind: 'count', ...target, count: WARMUP, concurrency: CONCURRENCY }, undefined, node);
  const file = join(tmpdir(), `linkgate-strace-${process.pid}-${Date.now()}.txt`);
  const strace: Proc = startProc('strace', ['-c', '-f', '-o', file, ...pids.flatMap((p) => ['-p', String(p)])]);
  // strace attaches to every thread of each process (and -f to those created later).
  await until(() => (strace.output().match(/attached/g)?.length ?? 0) >= pids.length, 30_000, () => `strace did not attach: ${strace.output()}`);
  const result = await runLoadgen<RateResult>({ kind: 'count', ...target, count: CONNECTIONS, concurrency: CONCURRENCY }, undefined, node);
  // Connections closed by the client are still being torn down on the proxy's side for a moment.
  await new Promise((r) => setTimeout(r, 500));
  await strace.stop('SIGINT');
  const counts = parseSummary(readFileSync(file, 'utf8'));
  rmSync(file, { force: true });
  return { counts, completed: result.completed, failed: result.failed };
}

async function main(): Promise<void> {
  const runtime = resolveRuntime(option('runtime') ?? 'current');
  const listenerMode = option('listener-mode');
  const upstream = await startEchoUpstream(runtime.node);
  const running: Proc[] = [upstream.proc];
  try {
    const gateway = await startGateway(benchConfig(upstream.port), WORKERS, {}, { node: runtime.node, listenerMode });
    running.push(gateway.proc);
    const haproxy = await startHAProxyRouter(upstream.port, WORKERS);
    running.push(haproxy.proc);
    // Interleaved, twice each: a noisy moment hits both.
    const cpu = { lg: [] as number[], ha: [] as number[] };
    for (let i = 0; i < 2; i++) {
      cpu.lg.push(await cpuPerConnection(gateway.pids(), benchTarget(gateway.privateLinkPort), runtime.node));
      cpu.ha.push(await cpuPerConnection([haproxy.proc.child.pid!], benchTarget(haproxy.port), runtime.node));
    }
    const lg = await traced(gateway.pids(), benchTarget(gateway.privateLinkPort), runtime.node);
    const ha = await traced([haproxy.proc.child.pid!], benchTarget(haproxy.port), runtime.node);
    const names = [...new Set([...lg.counts.keys(), ...ha.counts.keys()])];
    const per = (m: Map<string, { calls: number }>, done: number, name: string) => (m.get(name)?.calls ?? 0) / Math.max(1, done);
    names.sort((a, b) => per(lg.counts, lg.completed, b) + per(ha.counts, ha.completed, b) - per(lg.counts, lg.completed, a) - per(ha.counts, ha.completed, a));
    const total = (m: Map<string, { calls: number }>, done: number) => [...m.values()].reduce((n, c) => n + c.calls, 0) / Math.max(1, done);
    const out = (line: string) => process.stdout.write(`${line}\n`);
    out(`system calls per connection, ${CONNECTIONS} connections (${WORKERS} workers / threads; linkgate on Node.js ${runtime.version}${listenerMode ? `, listener mode ${listenerMode}` : ''})`);
    out(`completed: linkgate ${lg.completed} (failed ${lg.failed}), HAProxy ${ha.completed} (failed ${ha.failed})`);
    out(`${'syscall'.padEnd(18)} ${'linkgate'.padStart(9)} ${'HAProxy'.padStart(9)}`);
    const row = (name: string, a: number, b: number) => out(`${name.padEnd(18)} ${a.toFixed(2).padStart(9)} ${b.toFixed(2).padStart(9)}`);
    for (const name of names) {
      const a = per(lg.counts, lg.completed, name);
      const b = per(ha.counts, ha.completed, name);
      if (a >= 0.005 || b >= 0.005) row(name, a, b);
    }
    row('total', total(lg.counts, lg.completed), total(ha.counts, ha.completed));
    const ms = (xs: number[]) => xs.map((x) => (x * 1000).toFixed(0)).join(', ');
    const best = (xs: number[]) => Math.min(...xs) * 1000;
    out(
      `CPU ms per 1,000 connections (untraced; each of 2 passes): linkgate ${ms(cpu.lg)}, HAProxy ${ms(cpu.ha)}; ` +
        `lowest linkgate / HAProxy ${(best(cpu.lg) / best(cpu.ha)).toFixed(2)}×`,
    );
    const errors = (m: Map<string, { errors: number }>) => [...m.entries()].filter(([, c]) => c.errors > 0).map(([n, c]) => `${n} ${c.errors}`).join(', ');
    out(`failed calls (EAGAIN and the like), linkgate: ${errors(lg.counts) || 'none'}; HAProxy: ${errors(ha.counts) || 'none'}`);
  } finally {
    for (const p of running.reverse()) await p.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
