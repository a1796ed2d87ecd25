/**
 * Guards on the decision where it is thinnest (issue 10 §5): each of these was once covered by a
 * single unit test, or by luck of timing, so a deliberately broken gateway could still pass.
 *
 * "While the upstream is still connecting" is made reproducible with a stalled upstream (its accept
 * queue full, see helpers/stalled.ts): the test waits until the kernel shows the gateway's connect
 * pending (SYN_SENT), acts, and only then lets the upstream accept.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { encodeProxyHeader, linkIdTlv } from '../../../lib/gateway/proxy-protocol/encoder';
import { buildClientHello } from '../../../lib/gateway/tls/build-client-hello';
import { privateLinkOpening, privateLinkParts } from '../../helpers/bytes';
import { startTestGateway, testConfig, type TestConfig, type TestGateway } from '../../helpers/gateway';
import { sendRaw, startTcpServer, waitFor, type TestServer } from '../../helpers/sockets';
import { connectingTo, readByPeer, startStalledUpstream, type StalledUpstream } from '../../helpers/stalled';

/** An ordinary TLS 1.3-shaped ServerHello (no retry): what the stalled upstream answers a hello with. */
const SERVER_HELLO = Buffer.from(`160303002a 02000026 0303 ${'a0'.repeat(32)} 00 1301 00`.replace(/ /g, ''), 'hex');

const A = 'vpce-0aaaaaaaaaaaaaaaa';
const B = 'vpce-0bbbbbbbbbbbbbbbb';

/** A connected client on 127.0.0.1 that keeps what it receives and notes when it closes. */
interface Client {
  readonly socket: Socket;
  /** The gateway closed it (or it was destroyed). */
  isClosed(): boolean;
  received(): Buffer;
  /** Writes, and resolves once the gateway process has read every byte sent so far (or closed). */
  send(bytes: Buffer): Promise<void>;
}

function openClient(port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      resolve({
        socket,
        isClosed: () => closed,
        received: () => Buffer.concat(chunks),
        send: async (bytes) => {
          await new Promise<void>((done) => socket.write(bytes, () => done()));
          // (A connection the gateway closes has nothing left to read: what it decided tells why.)
          await waitFor(() => closed || readByPeer(socket), 5000, 'the gateway to read the bytes sent');
        },
      });
    });
    let closed = false;
    socket.once('close', () => (closed = true));
    socket.on('data', (d) => chunks.push(d));
    socket.once('error', reject);
  });
}

describe('while the upstream is still connecting', () => {
  let upstream: StalledUpstream;
  let gw: TestGateway;
  const config = (megacorp: string[]): TestConfig => ({
    // Long enough that the connect never times out while the test holds it pending.
    upstreams: { default: { host: '127.0.0.1', port: upstream.port, connectTimeoutMs: 60_000 } },
    tenants: [{ name: 'megacorp', hostnames: ['megacorp.example.com'], allow: { aws: megacorp } }],
  });

  beforeEach(async () => {
    upstream = await startStalledUpstream({ answer: SERVER_HELLO });
    gw = await startTestGateway(config([A, B]));
  });
  afterEach(async () => {
    await gw?.close();
    await upstream?.close();
  });

  test('GIVEN a connection whose upstream is still connecting WHEN a reload removes its link ID THEN it is dropped (link_id_not_allowed), never forwarded, and the upstream never receives its bytes', async () => {
    // GIVEN megacorp via endpoint B, decided and waiting for the upstream's answer
    const client = await openClient(gw.privateLinkPort);
    await client.send(privateLinkOpening('aws', B, 'megacorp.example.com'));
    await waitFor(() => connectingTo(upstream.port) === 1, 5000, 'the gateway to be connecting to the stalled upstream');

    // WHEN megacorp no longer lists endpoint B
    const { revoked } = gw.gateway.applyConfig(testConfig(config([A])));

    // THEN the connection is dropped at once, as a drop of this link ID, and never forwarded...
    expect(revoked).toBe(1);
    await waitFor(() => client.isClosed(), 5000, 'the gateway to close the revoked connection');
    expect(client.received().length).toBe(0);
    const decisions = gw.decisions.filter((d) => d.linkId === B);
    expect(decisions).toEqual([
      expect.objectContaining({
        verdict: 'drop',
        reason: 'link_id_not_allowed',
        tenant: 'megacorp',
        detail: 'revoked by a config reload before the upstream answered',
      }),
    ]);
    const dropped = await gw.gateway.metrics.dropped.get();
    expect(dropped.values).toEqual([expect.objectContaining({ labels: expect.objectContaining({ reason: 'link_id_not_allowed', tenant: 'megacorp' }), value: 1 })]);
    // ...and its connect is abandoned, so the upstream cannot receive it later.
    await waitFor(() => connectingTo(upstream.port) === 0, 5000, 'the gateway to abandon its connect');

    // WHEN the upstream then accepts, and megacorp via A (still allowed) connects
    upstream.open();
    const allowed = await openClient(gw.privateLinkPort);
    const allowedParts = privateLinkParts('aws', A, 'megacorp.example.com');
    await allowed.send(allowedParts.opening);
    await gw.waitForDecision((d) => d.linkId === A && d.verdict === 'forward', 20_000);
    await waitFor(() => upstream.connections[0]?.data.length === allowedParts.hello.length, 5000, 'the allowed hello upstream');

    // THEN the upstream has seen only the allowed connection, never B's hello
    expect(upstream.connections).toHaveLength(1);
    expect(upstream.connections[0]!.data).toEqual(allowedParts.hello);
    expect(gw.decisions.filter((d) => d.verdict === 'forward').map((d) => d.linkId)).toEqual([A]);
    allowed.socket.destroy();
  }, 40_000);

  test('GIVEN the upstream still connecting WHEN the client sends its ClientHello and then more bytes THEN, once it accepts, the upstream receives exactly those bytes after the header, in order, once', async () => {
    // GIVEN a decided connection whose upstream has not answered
    const client = await openClient(gw.privateLinkPort);
    const { header, hello } = privateLinkParts('aws', A, 'megacorp.example.com');
    await client.send(Buffer.concat([header, hello]));
    await waitFor(() => connectingTo(upstream.port) === 1, 5000, 'the gateway to be connecting to the stalled upstream');

    // WHEN the client sends more, in three writes, each read by the gateway while it connects
    const early = [Buffer.from('first early bytes|'), randomBytes(5000), Buffer.from('|last early bytes')];
    for (const bytes of early) await client.send(bytes);
    expect(connectingTo(upstream.port)).toBe(1); // still connecting: all of it arrived meanwhile

    // WHEN the upstream accepts, and the gateway has forwarded (its forward decision comes after the replay)
    upstream.open();
    await gw.waitForDecision((d) => d.verdict === 'forward', 20_000);
    // ...and the client then sends one more write, which can only travel behind the replay
    const after = Buffer.from('|sent once forwarding');
    await client.send(after);
    await waitFor(() => upstream.connections[0]?.data.subarray(-after.length).equals(after), 5000, 'the last write upstream');

    // THEN the upstream received one connection carrying the bytes after the PROXY header, in
    // order, each once, and nothing else (the early bytes behind the hello, once its ServerHello
    // went back: handshake-watch.ts), and the client got that ServerHello
    expect(upstream.connections).toHaveLength(1);
    const parts = { hello, 'early 1': early[0]!, 'early 2': early[1]!, 'early 3': early[2]!, after };
    expect(partsOf(upstream.connections[0]!.data, parts)).toEqual(['hello', 'early 1', 'early 2', 'early 3', 'after']);
    expect(upstream.connections[0]!.data.equals(Buffer.concat(Object.values(parts)))).toBe(true);
    await waitFor(() => client.received().length >= SERVER_HELLO.length, 5000, 'the ServerHello at the client');
    expect(client.received().equals(SERVER_HELLO)).toBe(true);
    client.socket.destroy();
  }, 40_000);
});

/** Names the parts `data` is made of, in order, so a wrong replay reads as a short diff. */
function partsOf(data: Buffer, parts: Record<string, Buffer>): string[] {
  const found: string[] = [];
  for (let at = 0; at < data.length; ) {
    const name = Object.keys(parts).find((n) => data.subarray(at, at + parts[n]!.length).equals(parts[n]!));
    if (name === undefined) {
      found.push(`${data.length - at} other bytes`);
      break;
    }
    found.push(name);
    at += parts[name]!.length;
  }
  return found;
}

/** A TCP upstream that keeps each connection's bytes. */
async function startRecorder(): Promise<TestServer & { readonly seen: Buffer[][] }> {
  const seen: Buffer[][] = [];
  const server = await startTcpServer((s) => {
    const chunks: Buffer[] = [];
    seen.push(chunks);
    s.on('data', (d) => chunks.push(d));
  });
  return Object.assign(server, { seen });
}

describe('hostname normalisation through the whole gateway', () => {
  const EXACT_ID = 'vpce-0eeeeeeeeeeeeeeee';
  const WILD_ID = 'vpce-0ffffffffffffffff';
  let exactUp: Awaited<ReturnType<typeof startRecorder>>;
  let wildUp: Awaited<ReturnType<typeof startRecorder>>;
  let gw: TestGateway;

  beforeAll(async () => {
    exactUp = await startRecorder();
    wildUp = await startRecorder();
    gw = await startTestGateway({
      upstreams: {
        default: { host: '127.0.0.1', port: exactUp.port },
        wild: { host: '127.0.0.1', port: wildUp.port },
      },
      tenants: [
        { name: 'exact', hostnames: ['mixed.example.com'], allow: { aws: [EXACT_ID] } },
        { name: 'wild', hostnames: ['*.x.example.com'], upstream: 'wild', allow: { aws: [WILD_ID] } },
      ],
    });
  });
  afterAll(async () => {
    await gw?.close();
    await Promise.all([exactUp?.close(), wildUp?.close()]);
  });

  test.each([
    ['MiXeD.Example.COM', EXACT_ID, 'exact', 'mixed.example.com'],
    ['mixed.example.com.', EXACT_ID, 'exact', 'mixed.example.com'],
    ['MIXED.EXAMPLE.COM.', EXACT_ID, 'exact', 'mixed.example.com'],
    ['A.X.Example.COM.', WILD_ID, 'wild', 'a.x.example.com'],
  ])('GIVEN SNI %p from the tenant’s endpoint THEN it reaches the tenant configured in lower case (forwarded, hello untouched)', async (sni, linkId, tenant, hostname) => {
    const [target, other] = tenant === 'exact' ? [exactUp, wildUp] : [wildUp, exactUp];
    const [targetBefore, otherBefore, decisionsBefore] = [target.seen.length, other.seen.length, gw.decisions.length];
    const { opening, hello } = privateLinkParts('aws', linkId, sni);
    const client = await openClient(gw.privateLinkPort);
    await client.send(opening);

    // THEN forwarded to that tenant, the hostname recorded normalised...
    const decision = await waitFor(() => gw.decisions.slice(decisionsBefore).find((d) => d.linkId === linkId), 5000, 'the decision');
    expect(decision).toMatchObject({ verdict: 'forward', reason: null, tenant, hostname });
    // ...and the hello arrives at that tenant's upstream byte for byte, SNI as the client wrote it
    await waitFor(() => Buffer.concat(target.seen[targetBefore] ?? []).length >= hello.length, 5000, 'the hello upstream');
    expect(Buffer.concat(target.seen[targetBefore]!)).toEqual(hello);
    expect(target.seen).toHaveLength(targetBefore + 1);
    expect(other.seen).toHaveLength(otherBefore);
    client.socket.destroy();
  });

  test.each([
    ['x.example.com', 'the wildcard’s parent is not covered by it'],
    ['evil-x.example.com', 'a suffix match is not a label match'],
    ['a.b.x.example.com', '"*." matches exactly one label'],
    ['X.EXAMPLE.COM.', 'the parent, in capitals with a trailing dot'],
  ])('GIVEN SNI %p (%s) THEN it is dropped unknown_host and nothing reaches an upstream', async (sni) => {
    const [seenBefore, decisionsBefore] = [[exactUp.seen.length, wildUp.seen.length], gw.decisions.length];
    const client = await openClient(gw.privateLinkPort);
    await client.send(privateLinkOpening('aws', WILD_ID, sni));

    const decision = await waitFor(() => gw.decisions.slice(decisionsBefore).find((d) => d.linkId === WILD_ID), 5000, 'the decision');
    expect(decision).toMatchObject({ verdict: 'drop', reason: 'unknown_host', tenant: null, hostname: sni.toLowerCase().replace(/\.$/, '') });
    await waitFor(() => client.isClosed(), 5000, 'the gateway to close the connection');
    expect(client.received().length).toBe(0);
    expect([exactUp.seen.length, wildUp.seen.length]).toEqual(seenBefore);
  });
});

describe('a LOCAL header followed by a ClientHello, through the whole gateway', () => {
  const OWN = 'vpce-08d2bf15fac5001c9';
  let up: Awaited<ReturnType<typeof startRecorder>>;
  let gw: TestGateway;

  beforeAll(async () => {
    up = await startRecorder();
    gw = await startTestGateway({
      upstreams: { default: { host: '127.0.0.1', port: up.port } },
      tenants: [
        { name: 'protected', hostnames: ['protected.example.com'], allow: { aws: [OWN] } },
        // Open to every source: a hello read after LOCAL would be forwarded, not merely refused.
        { name: 'open', hostnames: ['open.example.com'], open: true },
      ],
    });
  });
  afterAll(async () => {
    await gw?.close();
    await up?.close();
  });

  const healthChecks = async () =>
    (await gw.gateway.metrics.healthChecks.get()).values.find((v) => v.labels.listener === 'privateLink')?.value ?? 0;

  const LOCAL = encodeProxyHeader({ command: 'LOCAL' });
  // A LOCAL header may carry TLVs (receivers skip its whole length): here even the allowed
  // endpoint's, which must not turn a health check into a connection.
  const LOCAL_WITH_LINK_ID = encodeProxyHeader({ command: 'LOCAL', tlvs: [linkIdTlv('aws', OWN)], crc32c: true });
  const hello = (tenant: string) => buildClientHello({ serverName: `${tenant}.example.com` });

  test.each([
    ['protected', 'in one write', (h: Buffer) => [Buffer.concat([LOCAL, h])]],
    ['protected', 'in two writes', (h: Buffer) => [LOCAL, h]],
    ['protected', 'in one write, the LOCAL header carrying the allowed link ID', (h: Buffer) => [Buffer.concat([LOCAL_WITH_LINK_ID, h])]],
    ['open', 'in one write', (h: Buffer) => [Buffer.concat([LOCAL, h])]],
    ['open', 'in two writes', (h: Buffer) => [LOCAL, h]],
  ])('GIVEN LOCAL then a ClientHello for the %s tenant %s THEN the connection is closed as a health check and never forwarded', async (tenant, _how, chunks) => {
    const checksBefore = await healthChecks();
    const decisionsBefore = gw.decisions.length;
    const seenBefore = up.seen.length;

    const observed = await sendRaw(gw.privateLinkPort, chunks(hello(tenant)), { waitMs: 3000 });

    // THEN counted as a health check...
    await waitFor(async () => (await healthChecks()) === checksBefore + 1, 5000, 'the health check to be counted');
    // ...closed without a byte, with no decision at all, and the upstream saw no connection
    expect({
      closed: observed.closed,
      bytesToClient: observed.data.length,
      decisions: gw.decisions.slice(decisionsBefore),
      upstreamConnections: up.seen.length - seenBefore,
    }).toEqual({ closed: true, bytesToClient: 0, decisions: [], upstreamConnections: 0 });
  });
});
