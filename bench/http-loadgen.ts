/**
 * HTTP-mode load generator, in its own process: keep-alive HTTP/1.1 over TLS, each connection
 * opened with the cloud's PROXY v2 header as the bench's TCP rows send it. A closed loop of
 * `concurrency` requests in flight over `connections` connections, at saturation; every latency
 * is kept for the percentiles.
 *
 *   node http-loadgen.js '<json job>'   → prints one JSON result line
 */
import { connect as netConnect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connect as tlsConnect } from 'node:tls';
import { Pool, type buildConnector } from 'undici';

export interface HttpJob {
  readonly port: number;
  /** PROXY v2 header each connection starts with. */
  readonly headerHex: string;
  readonly servername: string;
  readonly caPem: string;
  /** Request headers (the tenant header among them). */
  readonly headers: Record<string, string>;
  readonly path: string;
  readonly connections: number;
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

export interface HttpResult {
  readonly completed: number;
  readonly failed: number;
  readonly perSecond: number;
  readonly bytesPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

async function run(job: HttpJob): Promise<HttpResult> {
  const header = Buffer.from(job.headerHex, 'hex');
  const connect: buildConnector.connector = (_options, callback) => {
    const raw = netConnect({ host: '127.0.0.1', port: job.port, noDelay: true });
    raw.write(header);
    const socket = tlsConnect({ socket: raw, servername: job.servername, ca: job.caPem, ALPNProtocols: ['http/1.1'] });
    socket.once('secureConnect', () => callback(null, socket));
    socket.once('error', (err) => callback(err, null));
  };
  const pool = new Pool(`https://${job.servername}:${job.port}`, { connections: job.connections, pipelining: 1, connect });
  const start = performance.now();
  const measureFrom = start + job.warmupMs;
  const end = measureFrom + job.durationMs;
  const latencies: number[] = [];
  let failed = 0;
  let bytes = 0;
  const loop = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const { statusCode, body } = await pool.request({ method: 'GET', path: job.path, headers: job.headers });
        let n = 0;
        for await (const chunk of body) n += (chunk as Buffer).length;
        if (statusCode !== 200) throw new Error(`status ${statusCode}`);
        // Counted by when it completed: at saturation a request may take longer than the warm-up.
        const done = performance.now();
        if (done >= measureFrom && done <= end) {
          latencies.push(done - t0);
          bytes += n;
        }
      } catch {
        if (performance.now() >= measureFrom) failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, loop));
  await pool.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  const seconds = job.durationMs / 1000;
  return { completed: latencies.length, failed, perSecond: latencies.length / seconds, bytesPerSecond: bytes / seconds, p50Ms: at(0.5), p99Ms: at(0.99) };
}

if (require.main === module) {
  run(JSON.parse(process.argv[2] ?? '{}') as HttpJob).then(
    (result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`http-loadgen: ${(err as Error).stack}\n`);
      process.exit(1);
    },
  );
}
