/**
 * Policy reloads under load: a stable tenant's traffic never fails while the file is rewritten
 * again and again, and each reload that removes an endpoint closes that endpoint's live connection
 * within a second.
 */
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { BENCH_HOST, BENCH_VPCE, benchTarget, runLoadgen, startEchoUpstream, startGateway, writeFileAtomic, type GatewayProc, type Upstream } from '../../bench/harness';
import type { SessionsResult } from '../../bench/loadgen';
import { privateLinkParts } from '../helpers/bytes';
import { size } from './support';

const RELOADS = size(50, 10);
const churnId = (i: number) => `vpce-${(0xc0000 + i).toString(16).padStart(17, '0')}`;

let upstream: Upstream;
let gateway: GatewayProc;
const config = (churnAllowed: string) => ({
  upstreams: { default: { host: '127.0.0.1', port: upstream.port } },
  tenants: [
    { name: 'stable', hostnames: [BENCH_HOST], allow: { aws: [BENCH_VPCE] } },
    { name: 'churn', hostnames: ['churn.example.com'], allow: { aws: [churnAllowed] } },
  ],
});

beforeAll(async () => {
  upstream = await startEchoUpstream();
  gateway = await startGateway(config(churnId(0)), 2);
}, 60_000);
afterAll(async () => {
  await gateway?.proc.stop();
  await upstream?.proc.stop();
});

function rewrite(churnAllowed: string): void {
  const { privateLink, health } = JSON.parse(readFileSync(gateway.configFile, 'utf8')).listeners;
  writeFileAtomic(gateway.configFile, JSON.stringify({ listeners: { privateLink, health }, ...config(churnAllowed) }));
}

/** A live connection from `linkId` to the churn tenant, confirmed by an echo. */
function openChurn(linkId: string): Promise<{ socket: Socket; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const { hello, opening } = privateLinkParts('aws', linkId, 'churn.example.com');
    let got = 0;
    const socket = connect({ host: '127.0.0.1', port: gateway.privateLinkPort }, () => socket.write(opening));
    const closed = new Promise<number>((r) => socket.on('close', () => r(Date.now())));
    socket.on('data', (d) => {
      got += d.length;
      if (got >= hello.length) resolve({ socket, closed });
    });
    socket.on('error', () => undefined);
    setTimeout(() => reject(new Error(`no echo for ${linkId}`)), 5000);
  });
}

test(`GIVEN steady traffic WHEN the policy is reloaded ${RELOADS} times THEN no stable connection fails and every revoked one closes within 1 s`, async () => {
  const load = runLoadgen<SessionsResult>(
    { kind: 'sessions', ...benchTarget(gateway.privateLinkPort), concurrency: 8, durationMs: RELOADS * 600 + 2000, pings: 3, pingIntervalMs: 50 },
    RELOADS * 600 + 120_000,
  );
  const revokeMs: number[] = [];
  for (let i = 0; i < RELOADS; i++) {
    const live = await openChurn(churnId(i));
    const reloadedAt = Date.now();
    rewrite(churnId(i + 1)); // endpoint i is removed, i + 1 added
    revokeMs.push((await live.closed) - reloadedAt);
    await new Promise((r) => setTimeout(r, 100));
  }
  const result = await load;
  const reloads = gateway.proc.lines.filter((l) => l.msg === 'config reloaded').length;
  process.stdout.write(
    `reloads under load: ${reloads} worker reloads for ${RELOADS} file changes; stable sessions ${JSON.stringify(result)}; revoked connection closed after ${Math.min(...revokeMs)}–${Math.max(...revokeMs)} ms\n`,
  );
  expect(result.completed).toBeGreaterThan(RELOADS);
  expect(result.cut + result.failedEarly + result.refused).toBe(0);
  expect(Math.max(...revokeMs)).toBeLessThan(1000);
}, 300_000);
