/**
 * Ways around the 421 that a plain `'request'` / `'stream'` check misses, tried as an attacker would:
 * from an endpoint allowed only for the open tenant, through `simulate` and the gateway, to Node
 * https / http2 services guarded by linkgate/upstream. The TLS SNI names the open tenant; some other
 * part of the request names the protected one:
 *  - an HTTP/1.1 `Upgrade: websocket` or `CONNECT` request (Node emits 'upgrade' / 'connect', not 'request');
 *  - HTTP/2 `:authority` of the open tenant with a `host` header of the protected one;
 *  - an absolute-form target (`GET https://protected/ HTTP/1.1`) with the open tenant's `Host`.
 * Each gets 421, never the protected tenant's data, and the service's handler never runs.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { connect as http2Connect, createSecureServer, type ClientHttp2Session, type Http2SecureServer, type OutgoingHttpHeaders } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { DEMO_TLS_DIR, demoCa } from '../../examples/demo/upstream';
import { startSimulator, type Simulator } from '../../lib/gateway/simulate';
import { LinkgateUpstream, TenantHostnames, type Misdirected } from '../../lib/upstream';
import { startTestGateway, type TestGateway } from '../helpers/gateway';

const ATTACKER = 'vpce-0000000000000000a'; // on no allow list
const OPEN_HOST = 'shop.example.com';
const OPEN_HOST_2 = 'shop2.example.com'; // the open tenant's second hostname
const PROTECTED_HOST = 'megacorp.example.com';
const SECRET = 'MEGACORP-PRIVATE-DATA';

const tls = { key: readFileSync(join(DEMO_TLS_DIR, 'server.key')), cert: readFileSync(join(DEMO_TLS_DIR, 'server.crt')) };

/** What the service's handlers ran for (any entry for a refused request is the bypass). */
const ran: string[] = [];
const misdirected: Misdirected[] = [];
/** The protected tenant's data for any request that names its host anywhere; a greeting otherwise. */
const answer = (...names: (string | undefined)[]) => (names.some((n) => n?.includes('megacorp.')) ? SECRET : 'hello');

let dir: string;
let httpsGate: LinkgateUpstream;
let h2Gate: LinkgateUpstream;
let gw: TestGateway;
let sim: Simulator;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'linkgate-bypass-'));
  const httpsServer: HttpsServer = createHttpsServer(tls, (req, res) => {
    ran.push(`request ${req.url}`);
    // The effective target (RFC 9112 §3.3): an absolute-form target names the host, not `Host`.
    const target = new URL(req.url ?? '/', `https://${req.headers.host ?? 'none'}`);
    res.end(`${answer(target.hostname, req.headers.host)}\n`);
  });
  // A minimal WebSocket-style upgrade and a CONNECT tunnel, as an app would register them.
  httpsServer.on('upgrade', (req, socket) => {
    ran.push(`upgrade ${req.headers.host}`);
    socket.end(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n${answer(req.headers.host)}\n`);
  });
  httpsServer.on('connect', (req, socket) => {
    ran.push(`connect ${req.url}`);
    socket.end(`HTTP/1.1 200 Connection Established\r\n\r\n${answer(req.url, req.headers.host)}\n`);
  });
  // 'Expect' handlers, which Node calls instead of the request handler when they are registered.
  httpsServer.on('checkContinue', (req, res) => {
    ran.push(`checkContinue ${req.headers.host}`);
    res.writeContinue();
    res.end(`${answer(req.headers.host)}\n`);
  });
  httpsServer.on('checkExpectation', (req, res) => {
    ran.push(`checkExpectation ${req.headers.host}`);
    res.end(`${answer(req.headers.host)}\n`);
  });
  const h2Server: Http2SecureServer = createSecureServer(tls, (req, res) => {
    ran.push(`h2 ${req.authority} ${req.headers.host}`);
    res.end(`${answer(req.authority, req.headers.host)}\n`);
  });

  httpsGate = new LinkgateUpstream(httpsServer, { tenants: {} });
  h2Gate = new LinkgateUpstream(h2Server, { tenants: {} });
  for (const gate of [httpsGate, h2Gate]) gate.on('misdirected', (m: Misdirected) => misdirected.push(m));
  const config = {
    upstreams: {
      default: { host: '127.0.0.1', port: (await httpsGate.listen(0, '127.0.0.1')).port, proxyProtocol: true },
      h2: { host: '127.0.0.1', port: (await h2Gate.listen(0, '127.0.0.1')).port, proxyProtocol: true },
    },
    tenants: [
      { name: 'shop', hostnames: [OPEN_HOST, OPEN_HOST_2], open: true },
      { name: 'megacorp', hostnames: [PROTECTED_HOST], allow: { aws: ['vpce-08d2bf15fac5001c9'] } },
      { name: 'h2shop', hostnames: ['h2shop.example.com'], upstream: 'h2', open: true },
      { name: 'h2megacorp', hostnames: ['h2.megacorp.example.com'], upstream: 'h2', allow: { aws: ['vpce-08d2bf15fac5001ca'] } },
    ],
  };
  const configFile = join(dir, 'gateway.json');
  writeFileSync(configFile, JSON.stringify({ listeners: { privateLink: { port: 8443 }, health: { port: 8080 } }, ...config }));
  for (const gate of [httpsGate, h2Gate]) gate.setTenants(TenantHostnames.fromConfigFile(configFile));
  gw = await startTestGateway(config);
  sim = await startSimulator({ cloud: 'aws', linkId: ATTACKER, listen: { host: '127.0.0.1', port: 0 }, to: { host: '127.0.0.1', port: gw.privateLinkPort } });
});
afterAll(async () => {
  await sim?.close();
  await gw?.close();
  await httpsGate?.close();
  await h2Gate?.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  ran.length = 0;
  misdirected.length = 0;
});

/** A TLS connection through the attacker's edge with SNI `sni` (HTTP/1.1 only, TLS 1.2 if asked). */
function connectTls(sni: string, options: { tls12?: boolean } = {}): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port: sim.address.port, servername: sni, ca: demoCa(), ALPNProtocols: ['http/1.1'], ...(options.tls12 ? { maxVersion: 'TLSv1.2' as const } : {}) });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Writes one raw HTTP/1.1 request on a new connection with SNI of the open tenant; returns all it reads until the server closes. */
async function raw(request: string): Promise<string> {
  const s = await connectTls(OPEN_HOST);
  return new Promise((resolve) => {
    let text = '';
    s.setEncoding('utf8').on('data', (d: string) => (text += d));
    s.on('error', () => undefined);
    s.on('close', () => resolve(text));
    s.write(request.replace(/\n/g, '\r\n'));
  });
}

const upgrade = (host: string) =>
  `GET /chat HTTP/1.1\nHost: ${host}\nConnection: Upgrade\nUpgrade: websocket\nSec-WebSocket-Version: 13\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n\n`;

describe('HTTP/1.1 upgrade and CONNECT (Node emits them as events of their own, not as requests)', () => {
  test('GIVEN SNI of the open tenant WHEN a WebSocket upgrade names the protected host THEN 421 and the upgrade handler never runs', async () => {
    const text = await raw(upgrade(PROTECTED_HOST));
    expect(text).toMatch(/^HTTP\/1\.1 421 Misdirected Request\r\n/);
    expect(text).not.toContain(SECRET);
    expect(ran).toEqual([]);
    expect(misdirected).toMatchObject([{ authority: PROTECTED_HOST, owner: 'megacorp', info: { tenant: 'shop', linkId: ATTACKER } }]);
  });

  test('GIVEN SNI of the open tenant WHEN it upgrades on its own host THEN 101 from the app’s upgrade handler', async () => {
    const text = await raw(upgrade(OPEN_HOST));
    expect(text).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n[^]*\r\n\r\nhello\n$/);
    expect(ran).toEqual([`upgrade ${OPEN_HOST}`]);
    expect(misdirected).toEqual([]);
  });

  test.each([
    ['target and Host of the protected tenant', `${PROTECTED_HOST}:443`, `${PROTECTED_HOST}:443`],
    ['the protected target with the open tenant’s Host', `${PROTECTED_HOST}:443`, OPEN_HOST],
  ])('GIVEN SNI of the open tenant WHEN CONNECT has %s THEN 421 and the connect handler never runs', async (_name, target, host) => {
    const text = await raw(`CONNECT ${target} HTTP/1.1\nHost: ${host}\n\n`);
    expect(text).toMatch(/^HTTP\/1\.1 421 Misdirected Request\r\n/);
    expect(text).not.toContain(SECRET);
    expect(ran).toEqual([]);
    expect(misdirected).toMatchObject([{ owner: 'megacorp', info: { tenant: 'shop' } }]);
  });
});

describe('HTTP/1.1 Expect (Node emits checkContinue / checkExpectation instead of request when they have listeners)', () => {
  test.each([
    ['100-continue', 'checkContinue'],
    ['x-anything', 'checkExpectation'],
  ])('GIVEN SNI of the open tenant WHEN a request for the protected host has Expect: %s THEN 421 and the %s handler never runs', async (expect100, _event) => {
    const text = await raw(`POST / HTTP/1.1\nHost: ${PROTECTED_HOST}\nExpect: ${expect100}\nContent-Length: 0\nConnection: close\n\n`);
    expect(text).toMatch(/^HTTP\/1\.1 421 Misdirected Request\r\n/);
    expect(text).not.toContain(SECRET);
    expect(ran).toEqual([]);
    expect(misdirected).toMatchObject([{ authority: PROTECTED_HOST, owner: 'megacorp', info: { tenant: 'shop' } }]);
  });

  test('GIVEN the open tenant’s own host with Expect: 100-continue THEN its checkContinue handler serves it', async () => {
    const text = await raw(`POST / HTTP/1.1\nHost: ${OPEN_HOST}\nExpect: 100-continue\nContent-Length: 0\nConnection: close\n\n`);
    expect(text).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nhello\n$/);
    expect(ran).toEqual([`checkContinue ${OPEN_HOST}`]);
  });
});

describe('TLS 1.2 renegotiation (encrypted: the gateway cannot see which SNI it carries)', () => {
  test('GIVEN a TLS 1.2 connection through the gateway WHEN the client renegotiates THEN the service refuses and closes it', async () => {
    const s = await connectTls(OPEN_HOST, { tls12: true });
    expect(s.getProtocol()).toBe('TLSv1.2');
    const outcome = await new Promise<string>((resolve) => {
      s.on('error', () => undefined);
      s.on('close', () => resolve('closed'));
      // The request makes the client read, so it sees the server's answer to the renegotiation.
      const ok = s.renegotiate({}, (err) => resolve(err ? `error ${err.message}` : 'renegotiated'));
      if (!ok) resolve('not started');
      s.write(`GET / HTTP/1.1\r\nHost: ${OPEN_HOST}\r\n\r\n`);
    });
    s.destroy();
    expect(outcome).not.toBe('renegotiated');
    expect(outcome).toMatch(/^(closed|error )/);
  });
});

describe('HTTP/1.1 absolute-form target (RFC 9112 §3.2.2: the target’s host wins over Host)', () => {
  test('GIVEN SNI and Host of the open tenant WHEN the target is https://protected/secret THEN 421 and the handler never runs', async () => {
    const text = await raw(`GET https://${PROTECTED_HOST}/secret HTTP/1.1\nHost: ${OPEN_HOST}\nConnection: close\n\n`);
    expect(text).toMatch(/^HTTP\/1\.1 421 Misdirected Request\r\n/);
    expect(text).not.toContain(SECRET);
    expect(ran).toEqual([]);
    expect(misdirected).toMatchObject([{ authority: PROTECTED_HOST, owner: 'megacorp', info: { tenant: 'shop' } }]);
  });

  test('GIVEN an absolute-form target of the tenant’s second hostname WHEN Host names its first THEN 421 (target and Host disagree)', async () => {
    const text = await raw(`GET https://${OPEN_HOST_2}/ HTTP/1.1\nHost: ${OPEN_HOST}\nConnection: close\n\n`);
    expect(text).toMatch(/^HTTP\/1\.1 421 Misdirected Request\r\n/);
    expect(ran).toEqual([]);
  });

  test('GIVEN an absolute-form target that agrees with Host THEN it is served', async () => {
    const text = await raw(`GET https://${OPEN_HOST}/own HTTP/1.1\nHost: ${OPEN_HOST}\nConnection: close\n\n`);
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nhello\n$/);
    expect(ran).toEqual([`request https://${OPEN_HOST}/own`]);
  });
});

describe('HTTP/2 :authority with a host header (RFC 9113 §8.3.1)', () => {
  function session(sni: string): Promise<ClientHttp2Session> {
    return new Promise((resolve, reject) => {
      const s = http2Connect(`https://${sni}`, {
        createConnection: () => tlsConnect({ host: '127.0.0.1', port: sim.address.port, servername: sni, ca: demoCa(), ALPNProtocols: ['h2'] }),
      });
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
  }
  function request(s: ClientHttp2Session, headers: OutgoingHttpHeaders): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = s.request({ ':method': 'GET', ':path': '/', ...headers });
      let status = 0;
      let body = '';
      req.on('response', (h) => (status = Number(h[':status'])));
      req.setEncoding('utf8').on('data', (d: string) => (body += d));
      req.on('end', () => resolve({ status, body }));
      req.on('error', reject);
    });
  }

  test('GIVEN a connection of the open tenant WHEN :authority is its host and host names the protected one THEN 421, and the open host alone still 200', async () => {
    const s = await session('h2shop.example.com');
    try {
      const fronted = await request(s, { ':authority': 'h2shop.example.com', host: 'h2.megacorp.example.com' });
      expect(fronted.status).toBe(421);
      expect(fronted.body).not.toContain(SECRET);
      expect(ran).toEqual([]);
      expect(misdirected).toMatchObject([{ authority: 'h2.megacorp.example.com', owner: 'h2megacorp', info: { tenant: 'h2shop' } }]);
      // AND the connection still serves its own host, also when host repeats it (a port does not matter)
      expect(await request(s, { ':authority': 'h2shop.example.com' })).toEqual({ status: 200, body: 'hello\n' });
      expect(await request(s, { ':authority': 'h2shop.example.com:443', host: 'H2SHOP.example.com' })).toEqual({ status: 200, body: 'hello\n' });
    } finally {
      s.close();
    }
  });
});
