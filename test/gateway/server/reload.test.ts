/**
 * Reload and revocation: a new policy applies to live connections, not only to the next ones; an
 * invalid file keeps the last good policy.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { privateLinkOpening } from '../../helpers/bytes';
import { startTestGateway, testConfig, type TestGateway } from '../../helpers/gateway';
import { sleep, startEchoServer, waitFor, type TestServer } from '../../helpers/sockets';

const A = 'vpce-0aaaaaaaaaaaaaaaa';
const B = 'vpce-0bbbbbbbbbbbbbbbb';
const C = 'vpce-0cccccccccccccccc';

let echo: TestServer;
beforeAll(async () => (echo = await startEchoServer()));
afterAll(async () => echo?.close());

const tenantsWith = (megacorp: string[], initech: string[]) => [
  { name: 'megacorp', hostnames: ['megacorp.example.com'], allow: { aws: megacorp } },
  { name: 'initech', hostnames: ['initech.example.com'], allow: { aws: initech } },
];

interface Live {
  socket: Socket;
  closedAt: Promise<number>;
  /** Round-trips a probe through the echo upstream. */
  ping(): Promise<boolean>;
}

function openLive(port: number, linkId: string, host: string): Promise<Live> {
  return new Promise((resolve) => {
    let received = '';
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.write(privateLinkOpening('aws', linkId, host));
      resolve({
        socket,
        closedAt,
        ping: async () => {
          const token = `ping-${Math.random()}`;
          socket.write(token);
          try {
            await waitFor(() => received.includes(token), 2000);
            return true;
          } catch {
            return false;
          }
        },
      });
    });
    const closedAt = new Promise<number>((r) => socket.on('close', () => r(Date.now())));
    socket.setEncoding('latin1').on('data', (d: string) => (received += d));
    socket.on('error', () => undefined);
  });
}

describe('reload with revocation', () => {
  let gw: TestGateway;
  afterEach(async () => gw?.close());

  test('GIVEN live connections WHEN an endpoint is removed THEN only its connections close (revoked) within 1 s', async () => {
    gw = await startTestGateway({ upstreams: { default: { host: '127.0.0.1', port: echo.port } }, tenants: tenantsWith([A, B], [C]) });
    const megacorpA = await openLive(gw.privateLinkPort, A, 'megacorp.example.com');
    const megacorpB = await openLive(gw.privateLinkPort, B, 'megacorp.example.com');
    const initechC = await openLive(gw.privateLinkPort, C, 'initech.example.com');
    for (const c of [megacorpA, megacorpB, initechC]) expect(await c.ping()).toBe(true);

    // WHEN megacorp no longer lists endpoint B
    const reloadedAt = Date.now();
    const { revoked } = gw.gateway.applyConfig(testConfig({ upstreams: { default: { host: '127.0.0.1', port: echo.port } }, tenants: tenantsWith([A], [C]) }));

    // THEN megacorp via B is cut at once...
    expect(revoked).toBe(1);
    expect((await megacorpB.closedAt) - reloadedAt).toBeLessThan(1000);
    expect(gw.closes).toEqual([expect.objectContaining({ reason: 'revoked', tenant: 'megacorp', linkId: B, detail: 'now link_id_not_allowed' })]);
    // ...while megacorp via A and the other tenant carry on.
    expect(await megacorpA.ping()).toBe(true);
    expect(await initechC.ping()).toBe(true);
    const closed = await gw.gateway.metrics.closed.get();
    expect(closed.values).toEqual([expect.objectContaining({ labels: { reason: 'revoked', tenant: 'megacorp' }, value: 1 })]);
    megacorpA.socket.destroy();
    initechC.socket.destroy();
  });

  test('GIVEN a tenant removed entirely THEN its live connections close as revoked (now unknown_host)', async () => {
    gw = await startTestGateway({ upstreams: { default: { host: '127.0.0.1', port: echo.port } }, tenants: tenantsWith([A], [B]) });
    const initech = await openLive(gw.privateLinkPort, B, 'initech.example.com');
    expect(await initech.ping()).toBe(true);
    gw.gateway.applyConfig(testConfig({ upstreams: { default: { host: '127.0.0.1', port: echo.port } }, tenants: tenantsWith([A], []).slice(0, 1) }));
    await initech.closedAt;
    expect(gw.closes[0]).toMatchObject({ reason: 'revoked', detail: 'now unknown_host' });
  });

  test('GIVEN a config file WHEN it becomes invalid THEN reload keeps the last good policy and says why; WHEN fixed THEN it applies', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'linkgate-reload-'));
    const file = join(dir, 'gateway.json');
    const write = (tenants: unknown) =>
      writeFileSync(
        file,
        JSON.stringify({
          listeners: { privateLink: { port: 0, host: '127.0.0.1' }, health: { port: 0, host: '127.0.0.1' } },
          upstreams: { default: { host: '127.0.0.1', port: echo.port } },
          tenants,
        }),
      );
    write(tenantsWith([A], [B]));
    gw = await startTestGateway({ upstreams: { default: { host: '127.0.0.1', port: echo.port } }, tenants: tenantsWith([A], [B]) }, { configPath: file });

    write([{ name: 'megacorp', hostnames: ['megacorp.example.com'], allow: { aws: ['vpce-oops'] } }]);
    const failed = gw.gateway.reload();
    expect(failed.ok).toBe(false);
    expect(failed.errors).toMatch(/tenants\[0\]\.allow\.aws\[0\].*"vpce-oops"/);
    await waitFor(() => gw.logs.find((l) => l.msg === 'config reload failed; keeping the last good config'));
    // THEN the old policy still admits initech via B.
    const stillThere = await openLive(gw.privateLinkPort, B, 'initech.example.com');
    expect(await stillThere.ping()).toBe(true);

    write(tenantsWith([A], []));
    const ok = gw.gateway.reload();
    expect(ok).toMatchObject({ ok: true, tenants: 2, revoked: 1 });
    await stillThere.closedAt;
    const reloads = await gw.gateway.metrics.reloads.get();
    expect(Object.fromEntries(reloads.values.map((v) => [v.labels.result, v.value]))).toEqual({ failure: 1, success: 1 });
  });

  test('GIVEN a reload WHEN a connection is still reading its header THEN it is decided by the new policy', async () => {
    gw = await startTestGateway({ upstreams: { default: { host: '127.0.0.1', port: echo.port } }, tenants: tenantsWith([], [C]) });
    const opening = privateLinkOpening('aws', A, 'megacorp.example.com');
    const socket = connect({ host: '127.0.0.1', port: gw.privateLinkPort });
    socket.on('error', () => undefined);
    await new Promise((r) => socket.once('connect', r));
    socket.write(opening.subarray(0, 50));
    await sleep(50);
    gw.gateway.applyConfig(testConfig({ upstreams: { default: { host: '127.0.0.1', port: echo.port } }, tenants: tenantsWith([B], [C]) }));
    socket.write(opening.subarray(50));
    const d = await gw.waitForDecision((x) => x.hostname === 'megacorp.example.com');
    expect(d).toMatchObject({ verdict: 'drop', reason: 'link_id_not_allowed' });
    socket.destroy();
  });
});
