/**
 * Every drop reason, provoked over a real socket on 127.0.0.1: the gateway closes the connection,
 * records one decision with that reason, and counts it.
 */
import { cloudProxyHeader, encodeProxyHeader } from '../../../lib/gateway/proxy-protocol/encoder';
import { buildClientHello } from '../../../lib/gateway/tls/build-client-hello';
import type { DropReason } from '../../../lib/gateway/policy';
import { CLIENT, ENDPOINT, privateLinkOpening } from '../../helpers/bytes';
import { startTestGateway, type TestGateway } from '../../helpers/gateway';
import { closedPort, sendRaw, sleep, startEchoServer, waitFor, type TestServer } from '../../helpers/sockets';

const OWN = 'vpce-08d2bf15fac5001c9';
const OTHER = 'vpce-0000000000000000a';

let echo: TestServer;
let gw: TestGateway;

beforeAll(async () => {
  echo = await startEchoServer();
  gw = await startTestGateway({
    upstreams: { default: { host: '127.0.0.1', port: echo.port }, dead: { host: '127.0.0.1', port: await closedPort(), connectTimeoutMs: 1000 } },
    tenants: [
      { name: 'megacorp', hostnames: ['megacorp.api.example.com'], allow: { aws: [OWN], cidrs: ['203.0.113.0/24'] } },
      { name: 'broken', hostnames: ['broken.example.com'], upstream: 'dead', open: true },
    ],
    limits: { headerTimeoutMs: 300, clientHelloTimeoutMs: 600 },
  });
});
afterAll(async () => {
  await gw?.close();
  await echo?.close();
});

async function expectDrop(port: number, chunks: Buffer[], reason: DropReason, options: { gapMs?: number; end?: boolean } = {}) {
  const before = await droppedCount(reason);
  const observed = await sendRaw(port, chunks, { waitMs: 3000, ...options });
  // THEN the gateway closed the connection without sending anything...
  expect(observed.closed).toBe(true);
  expect(observed.data.length).toBe(0);
  // ...and recorded and counted exactly this reason.
  const decision = await gw.waitForDecision((d) => d.reason === reason);
  expect(decision.verdict).toBe('drop');
  expect((await droppedCount(reason)) - before).toBeGreaterThanOrEqual(1);
  return decision;
}

/** The handshake messages of single-record hellos, joined into one TLS record. */
function oneRecord(...hellos: Buffer[]): Buffer {
  const payload = Buffer.concat(hellos.map((h) => h.subarray(5)));
  return Buffer.concat([Buffer.from([0x16, 0x03, 0x01, payload.length >> 8, payload.length & 0xff]), payload]);
}

async function droppedCount(reason: string): Promise<number> {
  const metric = await gw.gateway.metrics.dropped.get();
  return metric.values.filter((v) => v.labels.reason === reason).reduce((n, v) => n + v.value, 0);
}

describe('drops on the private-link listener', () => {
  test('no_proxy_header: a client that speaks TLS directly', async () => {
    await expectDrop(gw.privateLinkPort, [buildClientHello({ serverName: 'megacorp.api.example.com' })], 'no_proxy_header');
  });

  test('bad_proxy_header: an unknown command', async () => {
    const header = cloudProxyHeader('aws', OWN, CLIENT, ENDPOINT);
    header[12] = 0x2f;
    const d = await expectDrop(gw.privateLinkPort, [header], 'bad_proxy_header');
    expect(d.detail).toMatch(/^bad_command/);
  });

  test('bad_crc: a header whose CRC32C does not match', async () => {
    const header = cloudProxyHeader('aws', OWN, CLIENT, ENDPOINT);
    header[19] = header[19]! ^ 0x01; // a source address byte, covered by the checksum
    await expectDrop(gw.privateLinkPort, [header], 'bad_crc');
  });

  test('spoofed_proxy_header: a client header right behind the cloud’s', async () => {
    const forged = cloudProxyHeader('aws', OWN, { address: '10.9.9.9', port: 1 }, ENDPOINT);
    const d = await expectDrop(gw.privateLinkPort, [cloudProxyHeader('aws', OTHER, CLIENT, ENDPOINT), forged], 'spoofed_proxy_header');
    expect(d.linkId).toBe(OTHER); // the cloud's header is the one that counts
  });

  test('spoofed_proxy_header: even when the forged header arrives one byte at a time', async () => {
    const forged = encodeProxyHeader({ tlvs: [] });
    const chunks = [cloudProxyHeader('aws', OTHER, CLIENT, ENDPOINT), ...[...forged].map((b) => Buffer.from([b]))];
    await expectDrop(gw.privateLinkPort, chunks, 'spoofed_proxy_header', { gapMs: 2 });
  });

  test('no_link_id: a PROXY header without a link-ID TLV for a restricted tenant', async () => {
    const header = encodeProxyHeader({ source: CLIENT, destination: ENDPOINT });
    await expectDrop(gw.privateLinkPort, [header, buildClientHello({ serverName: 'megacorp.api.example.com' })], 'no_link_id');
  });

  test('not_tls: plain HTTP after the header', async () => {
    await expectDrop(gw.privateLinkPort, [cloudProxyHeader('aws', OWN, CLIENT, ENDPOINT), Buffer.from('GET / HTTP/1.1\r\n\r\n')], 'not_tls');
  });

  test('bad_client_hello: a second ClientHello (another tenant) riding in the first hello\'s record', async () => {
    // Some TLS stacks (JSSE) read both messages from one record: the second would reach the
    // server unread, so anything behind the hello in its record is refused before a verdict.
    const d = await expectDrop(
      gw.privateLinkPort,
      [cloudProxyHeader('aws', OWN, CLIENT, ENDPOINT), oneRecord(buildClientHello({ serverName: 'broken.example.com' }), buildClientHello({ serverName: 'megacorp.api.example.com' }))],
      'bad_client_hello',
    );
    expect(d.detail).toMatch(/handshake bytes follow the ClientHello in its record/);
  });

  test('bad_client_hello: a ServerHello instead of a ClientHello', async () => {
    await expectDrop(gw.privateLinkPort, [cloudProxyHeader('aws', OWN, CLIENT, ENDPOINT), Buffer.from('16030100040200', 'hex')], 'bad_client_hello');
  });

  test('no_sni: a ClientHello without server_name', async () => {
    await expectDrop(gw.privateLinkPort, [privateLinkOpening('aws', OWN, null)], 'no_sni');
  });

  test('unknown_host: a hostname no tenant has', async () => {
    const d = await expectDrop(gw.privateLinkPort, [privateLinkOpening('aws', OWN, 'nobody.example.com')], 'unknown_host');
    expect(d).toMatchObject({ hostname: 'nobody.example.com', tenant: null, cloud: 'aws', linkId: OWN, source: '198.51.100.77:40001' });
  });

  test('link_id_not_allowed: another customer’s endpoint', async () => {
    const d = await expectDrop(gw.privateLinkPort, [privateLinkOpening('aws', OTHER, 'megacorp.api.example.com')], 'link_id_not_allowed');
    expect(d).toMatchObject({ tenant: 'megacorp', linkId: OTHER, hostname: 'megacorp.api.example.com' });
  });

  test('header_timeout: a header that never completes', async () => {
    const d = await expectDrop(gw.privateLinkPort, [cloudProxyHeader('aws', OWN, CLIENT, ENDPOINT).subarray(0, 20)], 'header_timeout');
    expect(d.decisionMs).toBeGreaterThanOrEqual(290);
  });

  test('client_hello_timeout: a ClientHello that never completes', async () => {
    const opening = privateLinkOpening('aws', OWN, 'megacorp.api.example.com');
    await expectDrop(gw.privateLinkPort, [opening.subarray(0, 300)], 'client_hello_timeout');
  });

  test('upstream_unreachable: the tenant’s upstream refuses', async () => {
    const d = await expectDrop(gw.privateLinkPort, [privateLinkOpening('aws', OWN, 'broken.example.com')], 'upstream_unreachable');
    expect(d.detail).toMatch(/ECONNREFUSED/);
  });
});

describe('drops on the public listener', () => {
  test('unexpected_proxy_header: a PROXY header where none is allowed', async () => {
    await expectDrop(gw.publicPort, [privateLinkOpening('aws', OWN, 'megacorp.api.example.com')], 'unexpected_proxy_header');
  });

  test('cidr_not_allowed: 127.0.0.1 is not in the tenant’s ranges', async () => {
    const d = await expectDrop(gw.publicPort, [buildClientHello({ serverName: 'megacorp.api.example.com' })], 'cidr_not_allowed');
    expect(d.source).toMatch(/^127\.0\.0\.1:\d+$/);
  });
});

describe('connections that end before a verdict', () => {
  test('client_closed: the client goes away mid-header', async () => {
    const before = await droppedCount('client_closed');
    await sendRaw(gw.privateLinkPort, [cloudProxyHeader('aws', OWN, CLIENT, ENDPOINT).subarray(0, 10)], { waitMs: 100 });
    await gw.waitForDecision((d) => d.reason === 'client_closed');
    expect((await droppedCount('client_closed')) - before).toBe(1);
  });

  test('a LOCAL header (load balancer health check) is answered by closing and counted as a health check, not a drop', async () => {
    const drops = gw.decisions.length;
    const observed = await sendRaw(gw.privateLinkPort, [encodeProxyHeader({ command: 'LOCAL' })]);
    expect(observed.closed).toBe(true);
    await sleep(50);
    expect(gw.decisions.length).toBe(drops);
    const checks = await gw.gateway.metrics.healthChecks.get();
    expect(checks.values.find((v) => v.labels.listener === 'privateLink')?.value).toBeGreaterThanOrEqual(1);
  });
});

describe('capacity and shutdown', () => {
  test('over_capacity: connections above maxConnections are dropped at accept', async () => {
    const small = await startTestGateway({
      upstreams: { default: { host: '127.0.0.1', port: echo.port } },
      tenants: [{ name: 'open', hostnames: ['open.example.com'], open: true }],
      // The share of connections still without a header is the whole pool here: this is about the pool.
      limits: { maxConnections: 2, maxUnattributedConnections: 2, headerTimeoutMs: 5000 },
    });
    try {
      const pending = [1, 2].map(() => sendRaw(small.privateLinkPort, [Buffer.from([0x0d])], { waitMs: 1500 }));
      await waitFor(() => small.gateway.activeConnections === 2);
      const third = await sendRaw(small.privateLinkPort, [], { waitMs: 1500 });
      expect(third.closed).toBe(true);
      expect(third.ms).toBeLessThan(1000);
      await small.waitForDecision((d) => d.reason === 'over_capacity');
      for (const p of await Promise.all(pending)) expect(p.closed).toBe(false); // the first two are untouched
    } finally {
      await small.close();
    }
  });

  test('shutting_down: a connection still without a verdict when the drain bound passes', async () => {
    const draining = await startTestGateway({
      upstreams: { default: { host: '127.0.0.1', port: echo.port } },
      tenants: [{ name: 'open', hostnames: ['open.example.com'], open: true }],
      limits: { headerTimeoutMs: 10_000 },
      shutdown: { drainDelayMs: 0, drainTimeoutMs: 200 },
    });
    const pending = sendRaw(draining.privateLinkPort, [Buffer.from([0x0d, 0x0a])], { waitMs: 3000 });
    await waitFor(() => draining.gateway.activeConnections === 1);
    await draining.gateway.shutdown();
    expect((await pending).closed).toBe(true);
    expect(draining.decisions.map((d) => d.reason)).toEqual(['shutting_down']);
  });
});
