/**
 * `npm start`: linkgate end to end on 127.0.0.1.
 *
 * Starts a real HTTPS service, the gateway (`linkgate serve`, two workers) in front of it, and
 * `linkgate simulate` edges standing in for AWS, Azure and GCP Private Link. Then real TLS clients
 * connect through them, and a table shows who connected, through which cloud and link ID, to which
 * hostname, what the gateway decided and why. Exits 0 when every row matched its expectation.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect as netConnect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import YAML from 'yaml';
import { cloudProxyHeader } from '../../lib/gateway/proxy-protocol/encoder';
import type { Cloud } from '../../lib/tenants/ids';
import type { GatewayConfigInput } from '../../lib/tenants/schema';
import { demoCa, startDemoUpstream } from './upstream';

const CLI = join(__dirname, '..', '..', 'lib', 'gateway', 'cli.js');
const CONFIG_TEMPLATE = [join(__dirname, 'gateway.yaml'), join(__dirname, '..', '..', '..', 'examples', 'demo', 'gateway.yaml')].find((f) => {
  try {
    readFileSync(f);
    return true;
  } catch {
    return false;
  }
})!;

interface Row {
  readonly who: string;
  /** A cloud edge (cloud + link ID the edge writes), or the public listener. */
  readonly via: { cloud: Cloud; linkId: string } | 'internet';
  readonly hostname: string | null;
  readonly expect: 'forward' | string;
  /** Send this PROXY header ourselves before TLS (a client trying to pass as another endpoint). */
  readonly forgeLinkId?: string;
}

const MEGACORP_VPCE = 'vpce-08d2bf15fac5001c9';
const STRANGER_VPCE = 'vpce-0badc0ffee0000001';
const INITECH_LINK = '553665985';
const MEGACORP_PSC = '18446744072646845442';

const ROWS: Row[] = [
  { who: 'megacorp app', via: { cloud: 'aws', linkId: MEGACORP_VPCE }, hostname: 'megacorp.api.example.com', expect: 'forward' },
  { who: 'megacorp app', via: { cloud: 'gcp', linkId: MEGACORP_PSC }, hostname: 'shop.megacorp.example.com', expect: 'forward' },
  { who: 'initech app', via: { cloud: 'azure', linkId: INITECH_LINK }, hostname: 'initech.api.example.com', expect: 'forward' },
  { who: 'initech app', via: { cloud: 'azure', linkId: INITECH_LINK }, hostname: 'megacorp.api.example.com', expect: 'link_id_not_allowed' },
  { who: 'stranger', via: { cloud: 'aws', linkId: STRANGER_VPCE }, hostname: 'megacorp.api.example.com', expect: 'link_id_not_allowed' },
  { who: 'internet client', via: 'internet', hostname: 'megacorp.api.example.com', expect: 'cidr_not_allowed' },
  { who: 'internet client', via: 'internet', hostname: 'status.example.com', expect: 'forward' },
  { who: 'stranger', via: { cloud: 'aws', linkId: STRANGER_VPCE }, hostname: 'status.example.com', expect: 'forward' },
  { who: 'stranger', via: { cloud: 'aws', linkId: STRANGER_VPCE }, hostname: 'unknown.example.com', expect: 'unknown_host' },
  { who: 'stranger, no SNI', via: { cloud: 'aws', linkId: STRANGER_VPCE }, hostname: null, expect: 'no_sni' },
  {
    who: 'forger',
    via: { cloud: 'aws', linkId: STRANGER_VPCE },
    hostname: 'megacorp.api.example.com',
    expect: 'spoofed_proxy_header',
    forgeLinkId: MEGACORP_VPCE,
  },
];

interface Result {
  readonly row: Row;
  readonly clientSaw: 'response' | 'closed';
  readonly verdict: string;
  readonly reason: string;
  readonly ok: boolean;
}

async function main(): Promise<number> {
  const children: ChildProcess[] = [];
  const upstream = await startDemoUpstream();
  try {
    const ports = { privateLink: await freePort(), public: await freePort(), health: await freePort() };
    const config = YAML.parse(readFileSync(CONFIG_TEMPLATE, 'utf8')) as GatewayConfigInput;
    config.listeners.privateLink.port = ports.privateLink;
    config.listeners.public!.port = ports.public;
    config.listeners.health.port = ports.health;
    config.upstreams.default!.port = upstream.port;
    const dir = mkdtempSync(join(tmpdir(), 'linkgate-demo-'));
    const configFile = join(dir, 'gateway.yaml');
    writeFileSync(configFile, YAML.stringify(config));

    const gateway = startProcess(['serve', '--config', configFile, '--workers', '2'], children);
    await waitUntil(async () => (await httpStatus(ports.health, '/readyz')) === 200, 20_000, () => `the gateway did not become ready:\n${gateway.stderr()}`);

    const edges = new Map<string, number>();
    for (const row of ROWS) {
      if (row.via === 'internet') continue;
      const key = `${row.via.cloud}:${row.via.linkId}`;
      if (edges.has(key)) continue;
      const port = await freePort();
      const sim = startProcess(
        ['simulate', '--cloud', row.via.cloud, '--link-id', row.via.linkId, '--listen', `127.0.0.1:${port}`, '--to', `127.0.0.1:${ports.privateLink}`],
        children,
      );
      await waitUntil(() => sim.lines().some((l) => l.msg === 'simulating'), 10_000, () => `simulate did not start: ${sim.stderr()}`);
      edges.set(key, port);
    }

    process.stdout.write(
      `\nlinkgate demo: gateway (2 workers) on 127.0.0.1:${ports.privateLink} (private link) and :${ports.public} (public), ` +
        `HTTPS upstream on :${upstream.port}, ${edges.size} simulated Private Link edges\n\n`,
    );

    const results: Result[] = [];
    for (const row of ROWS) {
      const port = row.via === 'internet' ? ports.public : edges.get(`${row.via.cloud}:${row.via.linkId}`)!;
      const attempt = await tlsRequest(port, row.hostname, row.forgeLinkId);
      const source = `127.0.0.1:${attempt.localPort}`;
      const line = await waitUntil(
        () => gateway.lines().find((l) => (l.msg === 'forward' || l.msg === 'drop') && l.source === source),
        10_000,
        () => `no decision logged for ${source}`,
      );
      const verdict = String(line.verdict);
      const reason = line.reason === null ? '-' : String(line.reason);
      const outcome = verdict === 'forward' ? 'forward' : reason;
      const consistent = (verdict === 'forward') === (attempt.saw === 'response');
      results.push({ row, clientSaw: attempt.saw, verdict, reason, ok: outcome === row.expect && consistent });
    }
    printTable(results);
    const bad = results.filter((r) => !r.ok).length;
    process.stdout.write(
      bad === 0
        ? `\nall ${results.length} rows as expected: TLS went through untouched where allowed, and every drop had a reason.\n`
        : `\n${bad} of ${results.length} rows did NOT match their expectation.\n`,
    );
    return bad === 0 ? 0 : 1;
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
    await upstream.close();
  }
}

function printTable(results: Result[]): void {
  const rows = results.map((r, i) => [
    String(i + 1),
    r.row.who,
    r.row.via === 'internet' ? 'public' : r.row.via.cloud,
    r.row.via === 'internet' ? '-' : r.row.via.linkId + (r.row.forgeLinkId ? ` (forges ${r.row.forgeLinkId})` : ''),
    r.row.hostname ?? '(no SNI)',
    r.verdict,
    r.reason,
    r.clientSaw === 'response' ? 'HTTPS 200' : 'closed',
    r.ok ? 'ok' : `FAIL (expected ${r.row.expect})`,
  ]);
  const header = ['#', 'client', 'via', 'link ID', 'hostname', 'verdict', 'reason', 'client saw', 'check'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const fmt = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd();
  process.stdout.write(`${fmt(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${rows.map(fmt).join('\n')}\n`);
}

/** A real TLS client making one HTTPS request; optionally prepends a forged PROXY header. */
function tlsRequest(port: number, servername: string | null, forgeLinkId?: string): Promise<{ saw: 'response' | 'closed'; localPort: number }> {
  return new Promise((resolve) => {
    const raw = netConnect({ host: '127.0.0.1', port }, () => {
      const localPort = raw.localPort!;
      if (forgeLinkId) raw.write(cloudProxyHeader('aws', forgeLinkId, { address: '10.1.2.3', port: 4242 }, { address: '10.0.0.1', port: 443 }));
      const tls = tlsConnect({ socket: raw, ...(servername ? { servername } : {}), ca: demoCa() });
      let response = '';
      const done = (saw: 'response' | 'closed') => {
        tls.destroy();
        resolve({ saw, localPort });
      };
      tls.setEncoding('utf8');
      tls.on('secureConnect', () => tls.write(`GET / HTTP/1.1\r\nHost: ${servername}\r\nConnection: close\r\n\r\n`));
      tls.on('data', (d: string) => (response += d));
      tls.on('end', () => done(response.startsWith('HTTP/1.1 200') ? 'response' : 'closed'));
      tls.on('error', () => done('closed'));
    });
    raw.on('error', () => resolve({ saw: 'closed', localPort: -1 }));
  });
}

function startProcess(args: string[], children: ChildProcess[]) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const lines: Record<string, unknown>[] = [];
  let partial = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    const parts = (partial + d).split('\n');
    partial = parts.pop()!;
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p) as Record<string, unknown>);
      } catch {
        /* not a log line */
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  return { lines: () => lines, stderr: () => err };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function httpStatus(port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    request({ host: '127.0.0.1', port, path, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', () => resolve(0))
      .end();
  });
}

async function waitUntil<T>(check: () => T | Promise<T>, timeoutMs: number, what: () => string): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(what());
    await new Promise((r) => setTimeout(r, 25));
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
