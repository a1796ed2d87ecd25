/**
 * `npm run bench:compare -- DIR`: this build's gateway against another build's (DIR: a checkout
 * of another commit, built with `npm run build`), both behind the same echo upstream, measured in
 * interleaved rounds (A B A B ...) so that a noisy moment hits both alike. Reports the connection
 * rate and the bulk throughput of each round and their medians. For "did this change cost the
 * common path anything", where two whole bench runs differ by more than the change.
 */
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import * as thisBuild from './harness';
import type { RateResult, ThroughputResult } from './loadgen';

type Harness = typeof thisBuild;

const ROUNDS = 5;

async function main(): Promise<void> {
  const other = process.argv[2];
  if (!other) {
    process.stderr.write('usage: npm run bench:compare -- DIR   (DIR: another checkout, built)\n');
    process.exit(2);
  }
  const builds: Record<'this' | 'other', Harness> = {
    this: thisBuild,
    other: createRequire(__filename)(join(resolve(other), 'dist', 'bench', 'harness.js')) as Harness,
  };
  const upstream = await builds.this.startEchoUpstream();
  const gateways = {
    this: await builds.this.startGateway(builds.this.benchConfig(upstream.port), 2),
    other: await builds.other.startGateway(builds.other.benchConfig(upstream.port), 2),
  };
  const rate: Record<string, number[]> = { this: [], other: [] };
  const mbps: Record<string, number[]> = { this: [], other: [] };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const key of ['other', 'this'] as const) {
        const target = builds[key].benchTarget(gateways[key].privateLinkPort);
        const r = await builds.this.runLoadgen<RateResult>({ kind: 'rate', ...target, concurrency: 32, warmupMs: 500, durationMs: 2500 });
        const t = await builds.this.runLoadgen<ThroughputResult>({ kind: 'throughput', ...target, connections: 16, chunkBytes: 64 * 1024, warmupMs: 500, durationMs: 2500 });
        rate[key]!.push(Math.round(r.perSecond));
        mbps[key]!.push(Math.round(t.megabytesPerSecond));
      }
    }
  } finally {
    for (const g of Object.values(gateways)) await g.proc.stop();
    await upstream.proc.stop();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const line = (name: string, v: Record<string, number[]>) =>
    `${name}: this ${median(v.this!)} (${v.this!.join(', ')}), other ${median(v.other!)} (${v.other!.join(', ')}), this/other ${(median(v.this!) / median(v.other!)).toFixed(2)}×`;
  process.stdout.write(`${line('new connections/s', rate)}\n${line('throughput MB/s', mbps)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
