/**
 * The load generator, run as its own process so that it never shares an event loop with what it
 * measures. Each connection writes an opening (a PROXY v2 header with a link-ID TLV and a
 * browser-sized ClientHello, or just the ClientHello) and reads the upstream's echo of it.
 *
 *   node loadgen.js '<json job>'   → prints one JSON result line
 *
 * Jobs: rate (closed loop at saturation), latency (open loop at a fixed rate), throughput (bulk
 * over established connections), idle (open N connections and hold them until stdin closes).
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface Target {
  readonly port: number;
  /** Hex of the bytes each connection sends first. */
  readonly openingHex: string;
  /** Echo bytes that complete one connection (the upstream sees the opening minus any header the proxy strips). */
  readonly expectBytes: number;
}

export type Job =
  | (Target & { readonly kind: 'rate'; readonly concurrency: number; readonly warmupMs: number; readonly durationMs: number })
  | (Target & { readonly kind: 'latency'; readonly perSecond: number; readonly warmupMs: number; readonly durationMs: number })
  | (Target & { readonly kind: 'throughput'; readonly connections: number; readonly chunkBytes: number; readonly warmupMs: number; readonly durationMs: number })
  | (Target & { readonly kind: 'idle'; readonly count: number; readonly concurrency: number })
  /** Exactly `count` connections, `concurrency` at a time (bench/syscalls.ts counts per connection). */
  | (Target & { readonly kind: 'count'; readonly count: number; readonly concurrency: number })
  | (Target & { readonly kind: 'slowloris'; readonly count: number; readonly byteIntervalMs: number; readonly giveUpMs: number })
  | (Target & {
      readonly kind: 'sessions';
      readonly concurrency: number;
      readonly durationMs: number;
      /** Echo round trips after the opening, one per pingIntervalMs: a session lasts about pings × interval. */
      readonly pings: number;
      readonly pingIntervalMs: number;
    });

export interface RateResult {
  readonly completed: number;
  readonly failed: number;
  readonly perSecond: number;
}
export interface LatencyResult {
  readonly samples: number;
  readonly failed: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}
export interface ThroughputResult {
  readonly bytes: number;
  readonly megabytesPerSecond: number;
}
export interface IdleResult {
  readonly opened: number;
  readonly failed: number;
}
export interface SlowlorisResult {
  readonly opened: number;
  /** Connections the server closed before the client had sent its whole opening. */
  readonly closedByServer: number;
  readonly minCloseMs: number;
  readonly maxCloseMs: number;
}
export interface SessionsResult {
  /** Sessions that got every echo and closed on their own terms. */
  readonly completed: number;
  /** Connections refused at connect (a listener that stopped accepting): not cut. */
  readonly refused: number;
  /** Sessions that were accepted (got the opening's echo) and then broke: must be zero under a drain. */
  readonly cut: number;
  /** Sessions that failed before their opening was answered. */
  readonly failedEarly: number;
}

/** One connection: write the opening, resolve with ms to the first echoed byte once all expected bytes came back. */
function oneConnection(port: number, opening: Buffer, expect: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let got = 0;
    let sentAt = 0;
    let firstByteMs = -1;
    const socket = connect({ port, host: '127.0.0.1', noDelay: true }, () => {
      sentAt = performance.now();
      socket.write(opening);
    });
    socket.on('data', (d: Buffer) => {
      if (firstByteMs < 0) firstByteMs = performance.now() - sentAt;
      got += d.length;
      if (got >= expect) {
        socket.destroy();
        resolve(firstByteMs);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => {
      if (got < expect) reject(new Error(`closed after ${got} of ${expect} bytes`));
    });
    // A connection that never completes is a failure, not a hang of the whole measurement.
    socket.setTimeout(CONNECTION_TIMEOUT_MS, () => socket.destroy(new Error('timed out')));
  });
}

const CONNECTION_TIMEOUT_MS = 10_000;

async function rate(job: Extract<Job, { kind: 'rate' }>): Promise<RateResult> {
  const opening = Buffer.from(job.openingHex, 'hex');
  const start = performance.now();
  const measureFrom = start + job.warmupMs;
  const end = measureFrom + job.durationMs;
  let completed = 0;
  let failed = 0;
  const loop = async () => {
    while (performance.now() < end) {
      try {
        await oneConnection(job.port, opening, job.expectBytes);
        if (performance.now() >= measureFrom) completed++;
      } catch {
        if (performance.now() >= measureFrom) failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, loop));
  return { completed, failed, perSecond: completed / (job.durationMs / 1000) };
}

async function count(job: Extract<Job, { kind: 'count' }>): Promise<RateResult> {
  const opening = Buffer.from(job.openingHex, 'hex');
  const start = performance.now();
  let next = 0;
  let completed = 0;
  let failed = 0;
  const loop = async () => {
    while (next < job.count) {
      next++;
      await oneConnection(job.port, opening, job.expectBytes).then(
        () => void completed++,
        () => void failed++,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(job.concurrency, job.count) }, loop));
  return { completed, failed, perSecond: completed / ((performance.now() - start) / 1000) };
}

async function latency(job: Extract<Job, { kind: 'latency' }>): Promise<LatencyResult> {
  const opening = Buffer.from(job.openingHex, 'hex');
  const samples: number[] = [];
  let failed = 0;
  const pending: Promise<void>[] = [];
  const interval = 1000 / job.perSecond;
  const start = performance.now();
  const total = Math.round(((job.warmupMs + job.durationMs) / 1000) * job.perSecond);
  for (let i = 0; i < total; i++) {
    // Open loop: connection i starts at its scheduled time whatever the others are doing.
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const measured = due - start >= job.warmupMs;
    pending.push(
      oneConnection(job.port, opening, job.expectBytes).then(
        (ms) => void (measured && samples.push(ms)),
        () => void (measured && failed++),
      ),
    );
  }
  await Promise.all(pending);
  samples.sort((a, b) => a - b);
  const q = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))] ?? NaN;
  return { samples: samples.length, failed, p50Ms: q(0.5), p99Ms: q(0.99) };
}

async function throughput(job: Extract<Job, { kind: 'throughput' }>): Promise<ThroughputResult> {
  const opening = Buffer.from(job.openingHex, 'hex');
  const chunk = Buffer.alloc(job.chunkBytes, 0x61);
  let counting = false;
  let bytes = 0;
  const sockets: Socket[] = [];
  await Promise.all(
    Array.from(
      { length: job.connections },
      () =>
        new Promise<void>((resolve, reject) => {
          let opened = 0;
          const socket = connect({ port: job.port, host: '127.0.0.1', noDelay: true }, () => {
            socket.write(opening);
          });
          sockets.push(socket);
          const pump = () => {
            while (socket.write(chunk)) {
              /* keep the pipe full */
            }
          };
          socket.on('drain', pump);
          socket.on('data', (d: Buffer) => {
            if (opened < job.expectBytes) {
              opened += d.length;
              if (opened >= job.expectBytes) {
                resolve();
                pump();
              }
              return;
            }
            if (counting) bytes += d.length;
          });
          socket.on('error', reject);
        }),
    ),
  );
  await new Promise((r) => setTimeout(r, job.warmupMs));
  counting = true;
  const started = performance.now();
  await new Promise((r) => setTimeout(r, job.durationMs));
  counting = false;
  const seconds = (performance.now() - started) / 1000;
  for (const s of sockets) s.destroy();
  return { bytes, megabytesPerSecond: bytes / seconds / 1e6 };
}

async function idle(job: Extract<Job, { kind: 'idle' }>): Promise<void> {
  const opening = Buffer.from(job.openingHex, 'hex');
  const sockets: Socket[] = [];
  let opened = 0;
  let failed = 0;
  let next = 0;
  const openOne = () =>
    new Promise<void>((resolve) => {
      let got = 0;
      const socket = connect({ port: job.port, host: '127.0.0.1' }, () => socket.write(opening));
      socket.on('data', (d: Buffer) => {
        got += d.length;
        if (got >= job.expectBytes && got - d.length < job.expectBytes) {
          opened++;
          sockets.push(socket);
          resolve();
        }
      });
      socket.on('error', () => {
        failed++;
        resolve();
      });
    });
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      while (next < job.count) {
        next++;
        await openOne();
      }
    }),
  );
  const result: IdleResult = { opened, failed };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  // Hold every connection open until the orchestrator closes our stdin.
  await new Promise<void>((resolve) => {
    process.stdin.resume();
    process.stdin.on('end', resolve);
    process.stdin.on('close', resolve);
  });
  for (const s of sockets) s.destroy();
}

/**
 * Clients that dribble their opening one byte per interval (slowloris). Reports how soon the
 * server closed each one; the gateway must close them at its header timeout.
 */
async function slowloris(job: Extract<Job, { kind: 'slowloris' }>): Promise<SlowlorisResult> {
  const opening = Buffer.from(job.openingHex, 'hex');
  let opened = 0;
  let closedByServer = 0;
  let minCloseMs = Infinity;
  let maxCloseMs = 0;
  const timer = setInterval(() => undefined, 1000);
  await Promise.all(
    Array.from(
      { length: job.count },
      (_, i) =>
        new Promise<void>((resolve) => {
          // Spread the connects over the first interval so the attack is steady.
          setTimeout(() => {
            const openedAt = performance.now();
            let sent = 0;
            let drip: NodeJS.Timeout | undefined;
            const socket = connect({ port: job.port, host: '127.0.0.1' }, () => {
              opened++;
              drip = setInterval(() => {
                if (sent < opening.length) socket.write(opening.subarray(sent, ++sent));
              }, job.byteIntervalMs);
            });
            const giveUp = setTimeout(() => socket.destroy(), job.giveUpMs);
            const done = () => {
              clearInterval(drip);
              clearTimeout(giveUp);
              resolve();
            };
            socket.on('close', () => {
              if (sent < opening.length && opened > 0) {
                const ms = performance.now() - openedAt;
                closedByServer++;
                minCloseMs = Math.min(minCloseMs, ms);
                maxCloseMs = Math.max(maxCloseMs, ms);
              }
              done();
            });
            socket.on('error', () => undefined);
          }, (i / job.count) * job.byteIntervalMs);
        }),
    ),
  );
  clearInterval(timer);
  return { opened, closedByServer, minCloseMs: Number.isFinite(minCloseMs) ? minCloseMs : -1, maxCloseMs };
}

/**
 * Sessions that stay open for a while: opening, echo, then `pings` echo round trips. Used to show
 * that a drain or a reload cuts no accepted connection.
 */
async function sessions(job: Extract<Job, { kind: 'sessions' }>): Promise<SessionsResult> {
  const opening = Buffer.from(job.openingHex, 'hex');
  const end = performance.now() + job.durationMs;
  const result = { completed: 0, refused: 0, cut: 0, failedEarly: 0 };
  let stop = false;
  const session = () =>
    new Promise<void>((resolve) => {
      let received = 0;
      let expected = job.expectBytes;
      let accepted = false;
      let pingsLeft = job.pings;
      let finished = false;
      const finish = (outcome: keyof typeof result) => {
        if (finished) return;
        finished = true;
        result[outcome]++;
        if (outcome === 'refused') stop = true;
        socket.destroy();
        resolve();
      };
      const socket = connect({ port: job.port, host: '127.0.0.1', noDelay: true }, () => socket.write(opening));
      const ping = () => {
        if (pingsLeft === 0) return finish('completed');
        pingsLeft--;
        expected += 4;
        socket.write('ping');
      };
      socket.on('data', (d: Buffer) => {
        received += d.length;
        if (received < expected) return;
        accepted = true;
        setTimeout(ping, job.pingIntervalMs);
      });
      socket.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ECONNREFUSED') finish('refused');
        else finish(accepted ? 'cut' : 'failedEarly');
      });
      socket.on('close', () => finish(accepted ? 'cut' : 'failedEarly'));
    });
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      while (!stop && performance.now() < end) await session();
    }),
  );
  return result;
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '{}') as Job;
  switch (job.kind) {
    case 'rate':
      return void process.stdout.write(`${JSON.stringify(await rate(job))}\n`);
    case 'latency':
      return void process.stdout.write(`${JSON.stringify(await latency(job))}\n`);
    case 'count':
      return void process.stdout.write(`${JSON.stringify(await count(job))}\n`);
    case 'throughput':
      return void process.stdout.write(`${JSON.stringify(await throughput(job))}\n`);
    case 'idle':
      return idle(job);
    case 'slowloris':
      return void process.stdout.write(`${JSON.stringify(await slowloris(job))}\n`);
    case 'sessions':
      return void process.stdout.write(`${JSON.stringify(await sessions(job))}\n`);
    default:
      throw new Error(`unknown job ${JSON.stringify(job)}`);
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`loadgen: ${(err as Error).stack}\n`);
      process.exit(1);
    },
  );
}
