/**
 * HTTP-mode rows of the bench: the same job through three TLS-terminating, header-routing proxies,
 * in one run, on the same cores, each client connection opened with the cloud's PROXY v2 header:
 *   linkgate  `linkgate serve`, listener mode http, tenant from the x-tenant header, link-ID check
 *   HAProxy   accept-proxy + ssl crt, routing on x-tenant, the same headers set (2.6 cannot read
 *             the AWS TLV, so it does no link-ID check: a lower bound on the work)
 *   nginx     listen ssl http2 proxy_protocol, a map on $http_x_tenant, the same headers set
 * → the plain HTTP/1.1 upstream (bench/http-upstream.ts), keep-alive pooled by each proxy.
 *
 * Run alone: `npm run build && node dist/bench/http.js [--quick]`; bench/run.ts adds its rows.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BENCH_HOST,
  benchConfig,
  benchOpening,
  freePort,
  startGateway,
  startHAProxy,
  startProc,
  until,
  type Proc,
} from './harness';
import type { HttpJob, HttpResult } from './http-loadgen';

export interface HttpBenchRow {
  readonly measure: string;
  readonly value: string;
  readonly target?: string;
  readonly met?: boolean;
}

export interface HttpBenchSettings {
  readonly rounds: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly workers: number;
  /** Requests in flight, over `connections` keep-alive connections. */
  readonly concurrency: number;
  readonly connections: number;
}

const TENANT_HEADER = 'x-tenant';
const HTTP_LOADGEN = join(__dirname, 'http-loadgen.js');

export async function httpModeRows(S: HttpBenchSettings, log: (text: string) => void): Promise<HttpBenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'linkgate-bench-http-'));
  const running: Proc[] = [];
  try {
    const cert = makeCertificate(dir);
    const upstream = startProc(process.execPath, [join(__dirname, 'http-upstream.js')]);
    running.push(upstream);
    const upstreamPort = (await upstream.waitForLine((l) => typeof l.port === 'number')).port as number;

    const gateway = await startGateway(
      { ...benchConfig(upstreamPort), http: { certificates: [{ certFile: cert.certFile, keyFile: cert.keyFile }], tenantFrom: { header: TENANT_HEADER } } },
      S.workers,
      {},
      { mode: 'http' },
    );
    running.push(gateway.proc);
    const haproxyPort = await freePort();
    running.push(await startHAProxy(haproxyConfig(haproxyPort, upstreamPort, cert.combinedFile), haproxyPort, { threads: S.workers, maxconn: 9000 }));
    const nginxPort = await freePort();
    running.push(await startNginxBench(dir, nginxPort, upstreamPort, cert, S.workers));

    const targets = { linkgate: gateway.privateLinkPort, haproxy: haproxyPort, nginx: nginxPort };
    const job = (port: number, path: string, connections: number, concurrency: number): HttpJob => ({
      port,
      headerHex: benchOpening().header.toString('hex'),
      servername: BENCH_HOST,
      caPem: cert.pem,
      headers: { [TENANT_HEADER]: 'bench' },
      path,
      connections,
      concurrency,
      warmupMs: S.warmupMs,
      durationMs: S.durationMs,
    });
    // Interleaved (A B C A B C ...) so that a noisy moment hits every path alike; medians.
    const measure = async (path: string, connections: number, concurrency: number, value: (r: HttpResult) => number) => {
      const runs: Record<keyof typeof targets, HttpResult[]> = { linkgate: [], haproxy: [], nginx: [] };
      for (let round = 0; round < S.rounds; round++) {
        for (const key of Object.keys(targets) as (keyof typeof targets)[]) runs[key].push(await runHttpLoadgen(job(targets[key], path, connections, concurrency)));
      }
      const med = (key: keyof typeof targets, f: (r: HttpResult) => number) => median(runs[key].map(f));
      return { runs, med, median: (key: keyof typeof targets) => med(key, value) };
    };

    const rows: HttpBenchRow[] = [];
    const small = await measure('/small', S.connections, S.concurrency, (r) => r.perSecond);
    const failed = (key: keyof typeof targets, m: { runs: Record<string, HttpResult[]> }) => m.runs[key]!.reduce((n, r) => n + r.failed, 0);
    log(`http mode requests/s: linkgate ${fmt(small.median('linkgate'))}, HAProxy ${fmt(small.median('haproxy'))}, nginx ${fmt(small.median('nginx'))}`);
    for (const [key, label] of LABELS) {
      rows.push({
        measure: `http mode: requests/s (64 B answers), p50 / p99 ms, ${label}`,
        value: `${fmt(small.median(key))}, ${small.med(key, (r) => r.p50Ms).toFixed(2)} / ${small.med(key, (r) => r.p99Ms).toFixed(2)} (failed ${failed(key, small)})`,
      });
    }
    rows.push({ measure: 'http mode: requests/s linkgate / HAProxy / nginx', value: `${ratio(small.median('linkgate') / small.median('haproxy'))} / ${ratio(small.median('linkgate') / small.median('nginx'))}` });
    const p99 = (key: keyof typeof targets) => small.med(key, (r) => r.p99Ms);
    rows.push({ measure: 'http mode: p99 linkgate / HAProxy / nginx', value: `${ratio(p99('linkgate') / p99('haproxy'))} / ${ratio(p99('linkgate') / p99('nginx'))}` });

    const big = await measure('/big', 8, 8, (r) => r.bytesPerSecond);
    const mb = (key: keyof typeof targets) => big.median(key) / 2 ** 20;
    log(`http mode MB/s: linkgate ${fmt(mb('linkgate'))}, HAProxy ${fmt(mb('haproxy'))}, nginx ${fmt(mb('nginx'))}`);
    rows.push({ measure: 'http mode: MB/s (1 MiB answers) linkgate / HAProxy / nginx', value: `${fmt(mb('linkgate'))} / ${fmt(mb('haproxy'))} / ${fmt(mb('nginx'))}` });
    rows.push({ measure: 'http mode: MB/s linkgate / HAProxy / nginx', value: `${ratio(mb('linkgate') / mb('haproxy'))} / ${ratio(mb('linkgate') / mb('nginx'))}` });
    return rows;
  } finally {
    await Promise.all(running.map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

const LABELS = [
  ['linkgate', 'linkgate'],
  ['haproxy', 'HAProxy'],
  ['nginx', 'nginx'],
] as const;

interface BenchCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  /** Certificate and key in one file (HAProxy's `crt`). */
  readonly combinedFile: string;
  readonly pem: string;
}

/** One P-256 certificate for the bench hostname, served by every proxy. */
function makeCertificate(dir: string): BenchCertificate {
  const certFile = join(dir, 'bench.crt');
  const keyFile = join(dir, 'bench.key');
  const r = spawnSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-keyout', keyFile, '-out', certFile, '-subj', `/CN=${BENCH_HOST}`, '-addext', `subjectAltName=DNS:${BENCH_HOST}`,
  ], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr}`);
  const pem = readFileSync(certFile, 'utf8');
  const combinedFile = join(dir, 'bench.pem');
  writeFileSync(combinedFile, pem + readFileSync(keyFile, 'utf8'));
  return { certFile, keyFile, combinedFile, pem };
}

function haproxyConfig(port: number, upstreamPort: number, combinedFile: string): string {
  return `frontend fe_http
  mode http
  option httplog
  timeout http-keep-alive 60s
  bind 127.0.0.1:${port} accept-proxy ssl crt ${combinedFile} alpn h2,http/1.1 ssl-min-ver TLSv1.2
  http-request deny deny_status 403 unless { req.hdr(${TENANT_HEADER}) -m str bench }
  http-request del-header x-linkgate-tenant
  http-request set-header X-Linkgate-Tenant bench
  http-request set-header Forwarded "for=\\"%[src]:%[src_port]\\";proto=https;host=\\"%[req.hdr(host)]\\""
  default_backend be_bench

backend be_bench
  mode http
  http-reuse always
  server upstream 127.0.0.1:${upstreamPort}`;
}

/** Debian's nginx with a master and `workers` worker processes, under a temporary prefix. */
async function startNginxBench(dir: string, port: number, upstreamPort: number, cert: BenchCertificate, workers: number): Promise<Proc> {
  const prefix = join(dir, 'nginx');
  const errorLog = join(prefix, 'error.log');
  spawnSync('mkdir', ['-p', prefix]);
  writeFileSync(
    join(prefix, 'nginx.conf'),
    `daemon off;
worker_processes ${workers};
pid ${join(prefix, 'nginx.pid')};
error_log ${errorLog} warn;
events { worker_connections 9000; }
http {
  access_log ${join(prefix, 'access.log')};
  client_body_temp_path ${join(prefix, 'body')};
  proxy_temp_path ${join(prefix, 'proxy')};
  fastcgi_temp_path ${join(prefix, 'fastcgi')};
  uwsgi_temp_path ${join(prefix, 'uwsgi')};
  scgi_temp_path ${join(prefix, 'scgi')};
  map $http_${TENANT_HEADER.replace(/-/g, '_')} $tenant { bench bench; default ""; }
  upstream be_bench { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port} ssl http2 proxy_protocol;
    ssl_certificate ${cert.certFile};
    ssl_certificate_key ${cert.keyFile};
    ssl_protocols TLSv1.2 TLSv1.3;
    keepalive_requests 1000000;
    location / {
      if ($tenant = "") { return 403 '{"error":"unknown_tenant"}'; }
      proxy_pass http://be_bench;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Linkgate-Tenant $tenant;
      proxy_set_header Forwarded "for=\\"$proxy_protocol_addr:$proxy_protocol_port\\";proto=https;host=\\"$host\\"";
    }
  }
}
`,
  );
  const proc = startProc('nginx', ['-p', prefix, '-e', errorLog, '-c', join(prefix, 'nginx.conf')]);
  await until(
    () =>
      new Promise<boolean>((resolve) => {
        if (proc.child.exitCode !== null) return resolve(false);
        const s = connect({ host: '127.0.0.1', port }, () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      }),
    10_000,
    () => `nginx not listening on ${port}: ${proc.output()}`,
  );
  return proc;
}

async function runHttpLoadgen(job: HttpJob): Promise<HttpResult> {
  const proc = startProc(process.execPath, [HTTP_LOADGEN, JSON.stringify(job)]);
  try {
    return (await proc.waitForLine(() => true, 600_000)) as unknown as HttpResult;
  } finally {
    await proc.stop();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));
const ratio = (r: number) => `${r.toFixed(2)}×`;

if (require.main === module) {
  const quick = process.argv.includes('--quick');
  const settings: HttpBenchSettings = quick
    ? { rounds: 1, warmupMs: 500, durationMs: 2000, workers: 2, concurrency: 32, connections: 16 }
    : { rounds: 3, warmupMs: 1000, durationMs: 5000, workers: 2, concurrency: 64, connections: 32 };
  httpModeRows(settings, (t) => process.stdout.write(`${t}\n`)).then(
    (rows) => {
      for (const r of rows) process.stdout.write(`${r.measure}  ${r.value}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
      process.exit(1);
    },
  );
}
