/**
 * The decision holds for the whole TLS handshake (issue 10 §1). A TLS 1.3 client that gets a
 * HelloRetryRequest sends a second, plaintext ClientHello, and OpenSSL-based servers act on its
 * SNI. The upstream here is a real `openssl s_server` that supports only P-256: a client offering
 * only an X25519 key share gets a real retry. An attacker on an endpoint allowed for the open
 * tenant names it first, then names the protected tenant in the retried hello.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { DEMO_TLS_DIR } from '../../../examples/demo/upstream';
import { cloudProxyHeader } from '../../../lib/gateway/proxy-protocol/encoder';
import { startSimulator, type Simulator } from '../../../lib/gateway/simulate';
import { buildClientHello } from '../../../lib/gateway/tls/build-client-hello';
import { HELLO_RETRY_REQUEST_RANDOM } from '../../../lib/gateway/tls/server-hello';
import { CLIENT, ENDPOINT, privateLinkParts } from '../../helpers/bytes';
import { startTestGateway, type TestGateway } from '../../helpers/gateway';
import { describeWithPeer, runPeer } from '../../helpers/peers';
import { closedPort, startTcpServer, waitFor } from '../../helpers/sockets';

const OWN = 'vpce-08d2bf15fac5001c9';
const OTHER = 'vpce-0000000000000000a';
const OPEN = 'open.example.com';
const PROTECTED = 'protected.example.com';
const X25519 = 0x001d;
const SECP256R1 = 0x0017;

interface TlsRecord {
  readonly type: number;
  readonly payload: Buffer;
}

/** The whole TLS records in `bytes`, in order. */
function records(bytes: Buffer): TlsRecord[] {
  const out: TlsRecord[] = [];
  for (let at = 0; at + 5 <= bytes.length; ) {
    const end = at + 5 + bytes.readUInt16BE(at + 3);
    if (end > bytes.length) break;
    out.push({ type: bytes[at]!, payload: bytes.subarray(at + 5, end) });
    at = end;
  }
  return out;
}

const isRetry = (r: TlsRecord) => r.type === 0x16 && r.payload[0] === 0x02 && r.payload.subarray(6, 38).equals(HELLO_RETRY_REQUEST_RANDOM);
/** The server's answer to a second hello: a ServerHello that is no retry (or an alert). */
const isAnswerToSecondHello = (r: TlsRecord) => (r.type === 0x16 && !isRetry(r)) || r.type === 0x15;

interface Attempt {
  /** Everything the client received. */
  readonly received: Buffer;
  readonly closed: boolean;
}

/**
 * A hand-made TLS client: sends `first` (after the cloud's PROXY header), waits for the server's
 * HelloRetryRequest, then writes each of `second` as its own TCP write, and waits until the
 * connection closes or the server answers the second hello.
 */
function retryThrough(port: number, first: Buffer, second: readonly Buffer[], options: { pipelined?: boolean } = {}): Promise<Attempt> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let sentSecond = false;
    let settled = false;
    const socket: Socket = connect({ port, host: '127.0.0.1', noDelay: true });
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ received: Buffer.concat(chunks), closed });
    };
    const timer = setTimeout(() => reject(new Error(`no close and no answer to the second hello; received ${Buffer.concat(chunks).toString('hex')}`)), 20_000);
    const sendSecond = async () => {
      sentSecond = true;
      for (const part of second) {
        if (socket.destroyed) return;
        await new Promise<void>((done) => socket.write(part, () => done()));
        await new Promise((r) => setTimeout(r, 20)); // separate TCP segments
      }
    };
    socket.on('connect', () => {
      socket.write(Buffer.concat([cloudProxyHeader('aws', OWN, CLIENT, ENDPOINT), first]));
      if (options.pipelined) void sendSecond();
    });
    socket.on('data', (d) => {
      chunks.push(d);
      const got = records(Buffer.concat(chunks));
      if (!sentSecond && got.some(isRetry)) void sendSecond();
      if (got.slice(1).some(isAnswerToSecondHello)) finish(false);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => finish(true));
  });
}

/** The bytes after a CCS record: the dummy CCS of middlebox compatibility mode. */
const CCS = Buffer.from('140303000101', 'hex');

describeWithPeer('openssl', 'a second ClientHello after a HelloRetryRequest', () => {
  let server: ChildProcess;
  let serverPort: number;
  let gw: TestGateway;
  let edge: Simulator;

  beforeAll(async () => {
    serverPort = await closedPort();
    server = spawn('openssl', [
      's_server', '-accept', `127.0.0.1:${serverPort}`, '-www',
      '-cert', join(DEMO_TLS_DIR, 'server.crt'), '-key', join(DEMO_TLS_DIR, 'server.key'),
      '-groups', 'P-256', // a client offering only an X25519 share gets a HelloRetryRequest
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    server.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    server.stderr!.resume();
    await waitFor(() => out.includes('ACCEPT'), 15_000, 'openssl s_server to listen');
    gw = await startTestGateway({
      upstreams: { default: { host: '127.0.0.1', port: serverPort } },
      tenants: [
        { name: 'open', hostnames: [OPEN], allow: { aws: [OWN], cidrs: ['127.0.0.1/32'] } },
        { name: 'protected', hostnames: [PROTECTED], allow: { aws: [OTHER] } },
      ],
    });
    edge = await startSimulator({ cloud: 'aws', linkId: OWN, listen: { host: '127.0.0.1', port: 0 }, to: { host: '127.0.0.1', port: gw.privateLinkPort } });
  });
  afterAll(async () => {
    await edge?.close();
    await gw?.close();
    server?.kill();
  });

  describe('real peers: openssl s_client offering a key share the server rejects', () => {
    const sClient = (port: number) =>
      runPeer('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', OPEN, '-groups', 'X25519:P-256', '-msg', '-ign_eof'], {
        input: 'GET / HTTP/1.0\r\n\r\n',
        timeoutMs: 20_000,
      });

    test.each([
      ['a simulated AWS edge (private link)', () => edge.address.port],
      ['the public listener', () => gw.publicPort],
    ])('GIVEN %s and the same SNI in both hellos WHEN the server asks for a retry THEN it is forwarded and the handshake completes', async (_via, port) => {
      const closesBefore = gw.closes.length;
      const r = await sClient(port());
      // -msg dumps the server's first message: its random is the retry value.
      expect(r.stdout).toMatch(/ServerHello\s+02 00 00 \S\S 03 03 cf 21 ad 74 e5 9a 61 11/);
      expect(r.stdout).toMatch(/New, TLSv1\.3, Cipher is/);
      expect(r.stdout).toContain('HTTP/1.0 200 ok');
      expect(gw.closes.slice(closesBefore).filter((c) => c.reason === 'sni_changed')).toEqual([]);
    });
  });

  describe('crafted second hellos', () => {
    const sessionId = randomBytes(32);
    // The first hello names the open tenant and offers only X25519: the P-256 server asks for a retry.
    const first = () => buildClientHello({ serverName: OPEN, postQuantum: false, keyShareGroups: [X25519], sessionId });
    // The retried hello carries a real P-256 share, so the server would complete the handshake on it.
    const second = (serverName: string | null, maxRecordPayload?: number) =>
      buildClientHello({ serverName, postQuantum: false, keyShareGroups: [SECP256R1], sessionId, maxRecordPayload });
    const splitInto = (bytes: Buffer, n: number) => Array.from({ length: n }, (_, i) => bytes.subarray(Math.floor((i * bytes.length) / n), Math.floor(((i + 1) * bytes.length) / n)));

    async function expectDropped(attempt: Attempt, detail: RegExp): Promise<void> {
      expect(attempt.closed).toBe(true);
      // Only the retry (and the CCS the server sends after it) reached the client: no answer to the second hello.
      const got = records(attempt.received);
      expect(got.length).toBeGreaterThan(0);
      expect(isRetry(got[0]!)).toBe(true);
      expect(got.slice(1).filter((r) => r.type !== 0x14)).toEqual([]);
      const close = await waitFor(() => gw.closes.find((c) => c.reason === 'sni_changed' && detail.test(c.detail ?? '')), 5000, 'an sni_changed close');
      expect(close).toMatchObject({ tenant: 'open', hostname: OPEN, linkId: OWN });
    }

    test('GIVEN the retried hello names the protected tenant WHEN it is sent THEN the connection is closed (sni_changed) before the server answers it', async () => {
      const attempt = await retryThrough(gw.privateLinkPort, first(), [second(PROTECTED)]);
      await expectDropped(attempt, /names "protected\.example\.com", the decision "open\.example\.com"/);
      const counted = (await gw.gateway.metrics.closed.get()).values.find((v) => v.labels.reason === 'sni_changed' && v.labels.tenant === 'open');
      expect(counted?.value).toBeGreaterThanOrEqual(1);
      await waitFor(() => gw.logs.find((l) => l.msg === 'close' && l.reason === 'sni_changed'), 5000, 'the close log line');
    });

    test('GIVEN a CCS before the changed hello THEN it is dropped the same way', async () => {
      const attempt = await retryThrough(gw.privateLinkPort, first(), [CCS, second(PROTECTED)]);
      await expectDropped(attempt, /names "protected\.example\.com"/);
    });

    test('GIVEN the changed hello split over 5 TCP writes and 200-byte records, after a CCS THEN it is dropped the same way', async () => {
      const attempt = await retryThrough(gw.privateLinkPort, first(), splitInto(Buffer.concat([CCS, second(PROTECTED, 200)]), 5));
      await expectDropped(attempt, /names "protected\.example\.com"/);
    });

    test('GIVEN the retried hello has no SNI THEN that is a change, dropped', async () => {
      const attempt = await retryThrough(gw.privateLinkPort, first(), [CCS, second(null)]);
      await expectDropped(attempt, /names no server name, the decision "open\.example\.com"/);
    });

    test('GIVEN both hellos sent at once, before the retry THEN the second waits for the server and is dropped', async () => {
      const attempt = await retryThrough(gw.privateLinkPort, first(), [CCS, second(PROTECTED)], { pipelined: true });
      await expectDropped(attempt, /names "protected\.example\.com"/);
    });

    test('GIVEN an unreadable retried hello THEN it is not forwarded either', async () => {
      const attempt = await retryThrough(gw.privateLinkPort, first(), [Buffer.from('16030300040b000000', 'hex')]);
      await expectDropped(attempt, /unreadable \(not_client_hello/);
    });

    test.each([
      ['in one write', (b: Buffer) => [b]],
      ['after a CCS, in 5 TCP writes', (b: Buffer) => splitInto(Buffer.concat([CCS, b]), 5)],
    ])('GIVEN the retried hello names the same tenant (%s, other case, trailing dot) THEN the server answers it', async (_how, parts) => {
      const attempt = await retryThrough(gw.privateLinkPort, first(), parts(second('Open.Example.COM.', 200)));
      expect(attempt.closed).toBe(false);
      const got = records(attempt.received);
      expect(isRetry(got[0]!)).toBe(true);
      expect(got.slice(1).some((r) => r.type === 0x16 && r.payload[0] === 0x02 && !isRetry(r))).toBe(true);
    });
  });
});

describe('what the client sends after its hello waits for the server’s hello', () => {
  /** An ordinary ServerHello: handshake type 2, 38 bytes, a random that is not the retry value. */
  const SERVER_HELLO = Buffer.from(`160303002a 02000026 0303 ${'a0'.repeat(32)} 00 1301 00`.replace(/ /g, ''), 'hex');

  test('GIVEN bytes and a FIN right behind the ClientHello WHEN the server answers later THEN they reach it after its hello, in order', async () => {
    // Bytes the upstream received before and after it sent its hello, and when the FIN came.
    const seen = { before: 0, after: 0, helloSent: false, endAfterHello: false };
    const upstream = await startTcpServer(
      (s) => {
        s.once('data', () =>
          setTimeout(() => {
            seen.helloSent = true;
            s.write(SERVER_HELLO);
          }, 200),
        );
        s.on('data', (d) => (seen.helloSent ? (seen.after += d.length) : (seen.before += d.length)));
        s.on('end', () => {
          seen.endAfterHello = seen.helloSent;
          s.end();
        });
      },
      { allowHalfOpen: true },
    );
    const gw = await startTestGateway({
      upstreams: { default: { host: '127.0.0.1', port: upstream.port } },
      tenants: [{ name: 'open', hostnames: [OPEN], allow: { aws: [OWN] } }],
    });
    try {
      const { hello, opening } = privateLinkParts('aws', OWN, OPEN);
      const received: Buffer[] = [];
      const client = connect({ port: gw.privateLinkPort, host: '127.0.0.1', allowHalfOpen: true });
      client.on('data', (d) => received.push(d));
      const ended = new Promise<void>((resolve) => client.on('end', () => resolve()));
      client.on('connect', () => client.end(Buffer.concat([opening, Buffer.from('after the hello')])));
      await ended;
      client.destroy();
      expect(seen).toEqual({ before: hello.length, after: 'after the hello'.length, helloSent: true, endAfterHello: true });
      expect(Buffer.concat(received).equals(SERVER_HELLO)).toBe(true);
    } finally {
      await gw.close();
      await upstream.close();
    }
  });
});
