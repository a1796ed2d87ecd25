/**
 * Reload and revocation: a new policy applies to live connections, not only to the next ones; an
 * invalid file keeps the last good policy; a file caught half-written never opens a tenant.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { watchConfig, type ConfigWatcher } from '../../../lib/gateway/reload';
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

describe('a config file that fails closed', () => {
  let gw: TestGateway;
  let watcher: ConfigWatcher | undefined;
  afterEach(async () => {
    watcher?.close();
    watcher = undefined;
    await gw?.close();
  });

  const STRANGER = 'vpce-0dddddddddddddddd';
  const header = (port: number) => `listeners:
  privateLink: { port: 0, host: 127.0.0.1 }
  health: { port: 0, host: 127.0.0.1 }
upstreams:
  default: { host: 127.0.0.1, port: ${port} }
tenants:
`;
  const megacorp = (ids: string[]) => `  - name: megacorp
    hostnames: [megacorp.example.com]
    allow:
      aws: [${ids.join(', ')}]
`;
  const initech = `  - name: initech
    hostnames: [initech.example.com]
    allow:
      aws: [${B}]
`;
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

  async function gatewayOn(text: string): Promise<string> {
    const file = join(mkdtempSync(join(tmpdir(), 'linkgate-failclosed-')), 'gateway.yaml');
    writeFileSync(file, text);
    gw = await startTestGateway({ upstreams: { default: { host: '127.0.0.1', port: echo.port } }, tenants: tenantsWith([A], [B]) }, { configPath: file });
    return file;
  }

  /** A connection from `linkId` to megacorp: forwarded (a probe comes back) or dropped, with the gateway's decision. */
  async function tryMegacorp(linkId: string): Promise<{ through: boolean; verdict: string; reason: string | null }> {
    const live = await openLive(gw.privateLinkPort, linkId, 'megacorp.example.com');
    const d = await gw.waitForDecision((x) => x.linkId === linkId && x.hostname === 'megacorp.example.com');
    // A dropped connection is closed without an answer; a forwarded one echoes the probe.
    const through = await Promise.race([live.ping(), live.closedAt.then(() => false)]);
    live.socket.destroy();
    gw.decisions.splice(0);
    return { through, verdict: d.verdict, reason: d.reason };
  }

  test('GIVEN a protected tenant WHEN the file is caught half-written (tenant present, its `allow` not yet) THEN the reload is refused and a stranger is still dropped', async () => {
    const file = await gatewayOn(header(echo.port) + megacorp([A]) + initech);
    expect(await tryMegacorp(STRANGER)).toEqual({ through: false, verdict: 'drop', reason: 'link_id_not_allowed' });

    // WHEN the writer has got as far as megacorp's hostnames (the rest of the file is not there yet)
    writeFileSync(file, `${header(echo.port)}  - name: megacorp\n    hostnames: [megacorp.example.com]\n`);
    const outcome = gw.gateway.reload();

    // THEN it is refused, naming the tenant, and the last good policy stays
    expect(outcome.ok).toBe(false);
    expect(outcome.errors).toContain('tenants[0]: tenant "megacorp": say who may connect: `allow` lists, or `open: true` to admit every source');
    expect(await tryMegacorp(STRANGER)).toEqual({ through: false, verdict: 'drop', reason: 'link_id_not_allowed' });
    expect(await tryMegacorp(A)).toEqual({ through: true, verdict: 'forward', reason: null });

    // WHEN the new file states `open: true` for it THEN, and only then, the tenant opens
    writeFileSync(file, `${header(echo.port)}  - name: megacorp\n    hostnames: [megacorp.example.com]\n    open: true\n${initech}`);
    expect(gw.gateway.reload()).toMatchObject({ ok: true, tenants: 2 });
    expect(await tryMegacorp(STRANGER)).toEqual({ through: true, verdict: 'forward', reason: null });
  });

  test('GIVEN a watched file WHEN it is caught mid-write (a shorter, valid-looking prefix) THEN that prefix is never applied; the finished file is', async () => {
    const full = header(echo.port) + megacorp([A]) + initech;
    const file = await gatewayOn(full);
    const initechLive = await openLive(gw.privateLinkPort, B, 'initech.example.com');
    expect(await initechLive.ping()).toBe(true);

    // GIVEN the writer finishes only after the watcher has read its first part
    const finished = header(echo.port) + megacorp([A, C]) + initech;
    const prefix = header(echo.port) + megacorp([A]); // parses: initech would be revoked if it were applied
    const unsettled: string[] = [];
    const outcomes: ReturnType<TestGateway['gateway']['reload']>[] = [];
    watcher = watchConfig(file, (_cause, hash) => outcomes.push(gw.gateway.reload(hash)), {
      debounceMs: 100,
      onUnsettled: (hash) => {
        unsettled.push(hash);
        if (hash === sha256(prefix)) writeFileSync(file, finished);
      },
    });
    writeFileSync(file, prefix);

    // THEN one reload happens, with the finished file, and initech's connection is never cut
    await waitFor(() => outcomes.length > 0, 10_000, 'a reload');
    await sleep(300); // a later reload of the prefix would show here
    expect(outcomes).toEqual([expect.objectContaining({ ok: true, tenants: 2, revoked: 0 })]);
    expect(unsettled[0]).toBe(sha256(prefix));
    expect(await initechLive.ping()).toBe(true);
    expect(gw.closes).toEqual([]);
    initechLive.socket.destroy();
  });

  test('GIVEN a watched file WHEN an edit keeps its size and puts the old mtime back THEN the change is still noticed (by content)', async () => {
    const file = await gatewayOn(header(echo.port) + megacorp([A]) + initech);
    const then = 1_700_000_000; // whole seconds: exactly restorable
    utimesSync(file, then, then);
    const notices: string[] = [];
    watcher = watchConfig(file, (_cause, hash) => notices.push(hash), { debounceMs: 100 });

    // WHEN megacorp's endpoint A becomes C (same length) and the mtime is restored
    const edited = header(echo.port) + megacorp([C]) + initech;
    writeFileSync(file, edited);
    utimesSync(file, then, then);

    // THEN the watcher hands on the new content
    await waitFor(() => notices.length > 0, 10_000, 'the change to be noticed');
    expect(notices).toEqual([sha256(edited)]);
  });

  test('GIVEN the hash the watcher found settled WHEN the file changed again before the reload reads it THEN those bytes are refused', async () => {
    const file = await gatewayOn(header(echo.port) + megacorp([A]) + initech);
    const settled = header(echo.port) + megacorp([A, C]) + initech;
    writeFileSync(file, header(echo.port) + megacorp([A])); // a new write under way
    const outcome = gw.gateway.reload(sha256(settled));
    expect(outcome).toMatchObject({ ok: false, changedSinceSettled: true, errors: expect.stringMatching(/changed again after it was found settled/) });
    expect(await tryMegacorp(A)).toEqual({ through: true, verdict: 'forward', reason: null });
  });

  test('GIVEN a reload refused because the file was being rewritten WHEN it goes back to exactly the settled bytes THEN a recheck hands them on again and the revocation applies', async () => {
    // GIVEN megacorp allows A and the new file revokes it
    const file = await gatewayOn(header(echo.port) + megacorp([A]) + initech);
    const revoking = header(echo.port) + megacorp([C]) + initech;
    const outcomes: ReturnType<TestGateway['gateway']['reload']>[] = [];
    let rewriting = true;
    watcher = watchConfig(
      file,
      (_cause, hash) => {
        // WHEN the first reload reads the file while it is being rewritten in place (same bytes)
        if (rewriting) writeFileSync(file, header(echo.port));
        const outcome = gw.gateway.reload(hash);
        outcomes.push(outcome);
        if (rewriting) {
          rewriting = false;
          writeFileSync(file, revoking);
        }
        if (outcome.changedSinceSettled) watcher?.recheck(); // as serve does
      },
      { debounceMs: 100 },
    );
    writeFileSync(file, revoking);

    // THEN the refused round is followed by one that applies the same bytes: A is cut off
    await waitFor(() => outcomes.some((o) => o.ok), 10_000, 'a reload that applies');
    expect(outcomes).toEqual([
      expect.objectContaining({ ok: false, changedSinceSettled: true }),
      expect.objectContaining({ ok: true, tenants: 2 }),
    ]);
    expect(await tryMegacorp(A)).toEqual({ through: false, verdict: 'drop', reason: 'link_id_not_allowed' });
  });
});
