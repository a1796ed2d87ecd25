/**
 * Policy reloads under load: a stable tenant's traffic never fails while the file is rewritten
 * again and again, and each reload that removes an endpoint closes that endpoint's live connection
 * within a second.
 */
import { connect, type Socket } from 'node:net';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { LOADGEN, BENCH_HOST, BENCH_VPCE, startEchoUpstream, startGateway, startProc, type GatewayProc, type Upstream } from '../../bench/harness';
import type { SessionsResult } from '../../bench/loadgen';
import { cloudProxyHeader } from '../../lib/gateway/proxy-protocol/encoder';
import { buildClientHello } from '../../lib/gateway/tls/build-client-hello';
import { opening, size } from './support';

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
  writeFileSync(`${gateway.configFile}.next`, JSON.stringify({ listeners: { privateLink, health }, ...config(churnAllowed) }));
  renameSync(`${gateway.configFile}.next`, gateway.configFile);
}

/** A live connection from `linkId` to the churn tenant, confirmed by an echo. */
function openChurn(linkId: string): Promise<{ socket: Socket; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const hello = buildClientHello({ serverName: 'churn.example.com' });
    let got = 0;
    const socket = connect({ host: '127.0.0.1', port: gateway.privateLinkPort }, () =>
      socket.write(Buffer.concat([cloudProxyHeader('aws', linkId, { address: '10.9.0.1', port: 1234 }, { address: '10.0.0.10', port: 443 }), hello])),
    );
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
  const load = startProc(process.execPath, [
    LOADGEN,
    JSON.stringify({ kind: 'sessions', port: gateway.privateLinkPort, openingHex: opening.hex, expectBytes: opening.hello.length, concurrency: 8, durationMs: RELOADS * 600 + 2000, pings: 3, pingIntervalMs: 50 }),
  ]);
  const revokeMs: number[] = [];
  for (let i = 0; i < RELOADS; i++) {
    const live = await openChurn(churnId(i));
    const reloadedAt = Date.now();
    rewrite(churnId(i + 1)); // endpoint i is removed, i + 1 added
    revokeMs.push((await live.closed) - reloadedAt);
    await new Promise((r) => setTimeout(r, 100));
  }
  const result = (await load.waitForLine((l) => typeof l.completed === 'number', 120_000)) as unknown as SessionsResult;
  await load.stop();
  const reloads = gateway.proc.lines.filter((l) => l.msg === 'config reloaded').length;
  process.stdout.write(
    `reloads under load: ${reloads} worker reloads for ${RELOADS} file changes; stable sessions ${JSON.stringify(result)}; revoked connection closed after ${Math.min(...revokeMs)}–${Math.max(...revokeMs)} ms\n`,
  );
  expect(result.completed).toBeGreaterThan(RELOADS);
  expect(result.cut + result.failedEarly + result.refused).toBe(0);
  expect(Math.max(...revokeMs)).toBeLessThan(1000);
}, 300_000);
