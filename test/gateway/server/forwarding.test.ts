/**
 * Forwarding: the bytes after the cloud's header reach the upstream untouched, TLS works end to
 * end, half-close and large transfers behave, the optional upstream PROXY header carries the
 * original client, and an upstream failure mid-stream reaches the client at once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { decodeProxyHeader } from '../../../lib/gateway/proxy-protocol/decoder';
import { cloudProxyHeader } from '../../../lib/gateway/proxy-protocol/encoder';
import { buildClientHello } from '../../../lib/gateway/tls/build-client-hello';
import { startDemoUpstream, type DemoUpstream } from '../../../examples/demo/upstream';
import { CLIENT, ENDPOINT, privateLinkOpening, privateLinkParts } from '../../helpers/bytes';
import { startTestGateway, type TestGateway } from '../../helpers/gateway';
import { httpsThrough, sendRaw, startEchoServer, startTcpServer, waitFor, type TestServer } from '../../helpers/sockets';

const OWN = 'vpce-08d2bf15fac5001c9';
const GCP_ID = '18446744072646845442';
const GCP_PP_ID = '18446744072646845443';
const SPEAKS_FIRST = 'vpce-0f1f1f1f1f1f1f1f1';

let echo: TestServer;
let https: DemoUpstream;
let captured: Buffer[] = [];
let capture: TestServer;
let gw: TestGateway;
/** An upstream that answers the hello, then half-closes first, and keeps what the client sends after. */
let speaksFirst: TestServer;
let afterItsEnd: { bytes: Buffer[]; ended: Promise<boolean> } | undefined;

beforeAll(async () => {
  echo = await startEchoServer();
  https = await startDemoUpstream();
  capture = await startTcpServer((s) => s.on('data', (d) => captured.push(d)));
  speaksFirst = await startTcpServer(
    (s) => {
      const bytes: Buffer[] = [];
      // true on a FIN, false on a reset: the client's bytes must arrive with a clean end.
      const ended = new Promise<boolean>((r) => (s.on('end', () => r(true)), s.on('error', () => r(false))));
      afterItsEnd = { bytes, ended };
      s.once('data', () => {
        s.end('answer');
        s.on('data', (d) => bytes.push(d));
      });
    },
    { allowHalfOpen: true },
  );
  gw = await startTestGateway({
    upstreams: {
      default: { host: '127.0.0.1', port: echo.port },
      https: { host: '127.0.0.1', port: https.port },
      withHeader: { host: '127.0.0.1', port: capture.port, proxyProtocol: true },
      speaksFirst: { host: '127.0.0.1', port: speaksFirst.port },
    },
    tenants: [
      { name: 'echo', hostnames: ['echo.example.com'], allow: { aws: [OWN], gcp: [GCP_ID], cidrs: ['127.0.0.0/8'] } },
      { name: 'web', hostnames: ['*.megacorp.example.com'], upstream: 'https', allow: { azure: ['553665985'], cidrs: ['127.0.0.1/32'] } },
      { name: 'pp', hostnames: ['pp.example.com'], upstream: 'withHeader', allow: { gcp: [GCP_PP_ID], cidrs: ['127.0.0.1'] } },
      { name: 'first', hostnames: ['first.example.com'], upstream: 'speaksFirst', allow: { aws: [SPEAKS_FIRST] } },
    ],
  });
});
afterAll(async () => {
  await gw?.close();
  await Promise.all([echo?.close(), https?.close(), capture?.close(), speaksFirst?.close()]);
});

/** Opens a connection, writes `opening`, resolves with the socket and a reader of everything received. */
function open(port: number, opening: Buffer): Promise<{ socket: Socket; received: () => Buffer; ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => {
      socket.write(opening);
      resolve({ socket, received: () => Buffer.concat(chunks), ended });
    });
    const ended = new Promise<void>((r) => socket.on('end', () => r()));
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', reject);
  });
}

describe('forwarding', () => {
  test('GIVEN an allowed endpoint THEN everything after the cloud header reaches the upstream byte for byte', async () => {
    const { hello, opening } = privateLinkParts('aws', OWN, 'echo.example.com');
    const payload = randomBytes(4096);
    const c = await open(gw.privateLinkPort, Buffer.concat([opening, payload]));
    await waitFor(() => c.received().length >= hello.length + payload.length);
    expect(c.received().equals(Buffer.concat([hello, payload]))).toBe(true);
    c.socket.destroy();
    const d = await gw.waitForDecision((r) => r.verdict === 'forward' && r.tenant === 'echo' && r.listener === 'privateLink');
    expect(d).toMatchObject({ cloud: 'aws', linkId: OWN, hostname: 'echo.example.com', source: '198.51.100.77:40001', upstream: 'default' });
  });

  test('GIVEN the cloud header and the ClientHello split into 7-byte reads THEN the upstream still gets every byte after the header, in order', async () => {
    const { hello, opening } = privateLinkParts('aws', OWN, 'echo.example.com');
    const pieces = Array.from({ length: Math.ceil(opening.length / 7) }, (_, i) => opening.subarray(i * 7, i * 7 + 7));
    const seen = await sendRaw(gw.privateLinkPort, pieces, { gapMs: 2, waitMs: 1500 });
    expect(seen.data.equals(hello)).toBe(true);
    const d = await gw.waitForDecision((r) => r.verdict === 'forward' && r.tenant === 'echo' && r.hostname === 'echo.example.com');
    expect(d).toMatchObject({ cloud: 'aws', linkId: OWN });
  });

  test('GIVEN a real TLS client behind an Azure header THEN the handshake and request succeed end to end', async () => {
    const header = cloudProxyHeader('azure', '553665985', CLIENT, ENDPOINT);
    const outcome = await httpsThrough(gw.privateLinkPort, 'shop.megacorp.example.com', header);
    expect(outcome.ok).toBe(true);
    expect(JSON.parse(outcome.body!)).toMatchObject({ upstream: 'demo', servername: 'shop.megacorp.example.com' });
  });

  test('GIVEN the public listener and an allowed source THEN a real TLS client gets through', async () => {
    const outcome = await httpsThrough(gw.publicPort, 'www.megacorp.example.com');
    expect(outcome.ok).toBe(true);
  });

  test('GIVEN the client half-closes THEN the upstream sees the end and the reply still arrives', async () => {
    const c = await open(gw.privateLinkPort, privateLinkOpening('gcp', GCP_ID, 'echo.example.com'));
    c.socket.end(Buffer.from('last words'));
    await c.ended; // the echo server ends after our end: the FIN went through both ways
    expect(c.received().toString('latin1').endsWith('last words')).toBe(true);
  });

  test('GIVEN an upstream that half-closes first WHEN the client then sends more and ends THEN the upstream gets those bytes and a clean end', async () => {
    const c = await open(gw.privateLinkPort, privateLinkOpening('aws', SPEAKS_FIRST, 'first.example.com'));
    await c.ended; // the upstream's FIN reached the client
    expect(c.received().toString('latin1')).toBe('answer');
    c.socket.end(Buffer.from('after your end'));
    await waitFor(() => afterItsEnd !== undefined);
    expect(await afterItsEnd!.ended).toBe(true);
    expect(Buffer.concat(afterItsEnd!.bytes).toString('latin1')).toBe('after your end');
  });

  test('GIVEN 64 MiB each way THEN both directions arrive intact', async () => {
    const size = 64 * 1024 * 1024;
    const data = randomBytes(1024 * 1024);
    const { hello, opening } = privateLinkParts('aws', OWN, 'echo.example.com');
    const c = await open(gw.privateLinkPort, opening);
    const sent = createHash('sha256').update(hello);
    for (let n = 0; n < size; n += data.length) {
      sent.update(data);
      if (!c.socket.write(data)) await new Promise((r) => c.socket.once('drain', r));
    }
    c.socket.end();
    await c.ended;
    expect(c.received().length).toBe(hello.length + size);
    expect(createHash('sha256').update(c.received()).digest('hex')).toBe(sent.digest('hex'));
    await waitFor(async () => ((await gw.gateway.metrics.bytes.get()).values.find((v) => v.labels.direction === 'upstream_to_client')?.value ?? 0) >= size);
  });

  test('GIVEN proxyProtocol on the upstream THEN it receives a PROXY v2 header with the original client and link ID, then the hello', async () => {
    captured = [];
    const { hello, opening } = privateLinkParts('gcp', GCP_PP_ID, 'pp.example.com');
    const c = await open(gw.privateLinkPort, opening);
    await waitFor(() => Buffer.concat(captured).length > hello.length);
    const got = Buffer.concat(captured);
    const header = decodeProxyHeader(got);
    expect(header.status).toBe('done');
    if (header.status !== 'done') return;
    expect(header.value).toMatchObject({
      command: 'PROXY',
      source: CLIENT,
      destination: ENDPOINT,
      link: { cloud: 'gcp', linkId: GCP_PP_ID },
      crc32c: 'valid',
    });
    expect(got.subarray(header.length).equals(hello)).toBe(true);
    c.socket.destroy();
  });

  test('GIVEN proxyProtocol on the upstream and a public client THEN the header carries the socket addresses', async () => {
    captured = [];
    const hello = buildClientHello({ serverName: 'pp.example.com' });
    const c = await open(gw.publicPort, hello);
    await waitFor(() => Buffer.concat(captured).length > hello.length);
    const header = decodeProxyHeader(Buffer.concat(captured));
    expect(header).toMatchObject({ status: 'done', value: { source: { address: '127.0.0.1', port: c.socket.localPort }, link: null } });
    c.socket.destroy();
  });
});

describe('upstream failures after forwarding began', () => {
  test('GIVEN the upstream resets mid-stream THEN the client is reset promptly and the close is counted', async () => {
    let upstreamSocket: Socket | undefined;
    const resetter = await startTcpServer((s) => (upstreamSocket = s));
    const local = await startTestGateway({
      upstreams: { default: { host: '127.0.0.1', port: resetter.port } },
      tenants: [{ name: 'open', hostnames: ['open.example.com'], open: true }],
    });
    try {
      const c = await open(local.privateLinkPort, privateLinkOpening('aws', OWN, 'open.example.com'));
      const closed = new Promise<string>((resolve) => {
        c.socket.on('error', (e) => resolve((e as NodeJS.ErrnoException).code ?? 'error'));
        c.socket.on('close', () => resolve('close'));
      });
      await waitFor(() => upstreamSocket);
      const started = Date.now();
      upstreamSocket!.resetAndDestroy();
      expect(await closed).toBe('ECONNRESET');
      expect(Date.now() - started).toBeLessThan(1000);
      await waitFor(() => local.closes.find((x) => x.reason === 'upstream_error'));
      await waitFor(() => local.gateway.activeConnections === 0);
    } finally {
      await local.close();
      await resetter.close();
    }
  });
});
