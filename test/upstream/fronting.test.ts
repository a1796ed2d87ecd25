/**
 * Domain fronting and HTTP/2 connection coalescing, tried as an attacker would: from a customer
 * endpoint that is NOT on the protected tenant's allow list, through `simulate` (the local stand-in
 * for a cloud edge) and the gateway, to a Node https / http2 service guarded by linkgate/upstream.
 * The TLS SNI names an open tenant (the gateway forwards); the HTTP Host / :authority names the
 * protected tenant. One certificate covers both names (*.example.com), as a wildcard commonly does.
 *
 * Without linkgate/upstream the service would answer for the protected tenant (the first test shows
 * it on an unguarded server); with it: 421, never the protected tenant's body, and the allowed host
 * still gets 200 on the same connection.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { connect as http2Connect, createSecureServer, constants as h2, type ClientHttp2Session, type Http2SecureServer } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { DEMO_TLS_DIR, demoCa } from '../../examples/demo/upstream';
import { startSimulator, type Simulator } from '../../lib/gateway/simulate';
import { LinkgateUpstream, TenantHostnames, linkgateInfo, type Misdirected } from '../../lib/upstream';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { describeWithPeer, runPeer } from '../helpers/peers';

const CA = join(DEMO_TLS_DIR, 'ca.crt');
const ATTACKER = 'vpce-0000000000000000a'; // on no allow list
const MEGACORP_OWN = 'vpce-08d2bf15fac5001c9';
const H2MEGACORP_OWN = 'vpce-08d2bf15fac5001ca'; // a link ID belongs to one tenant
const OPEN_HOST = 'shop.example.com';
const PROTECTED_HOST = 'megacorp.example.com';
const SECRET = 'MEGACORP-PRIVATE-DATA';

const tls = { key: readFileSync(join(DEMO_TLS_DIR, 'server.key')), cert: readFileSync(join(DEMO_TLS_DIR, 'server.crt')) };

/** What the service answers: the protected tenant's data for its host, a plain greeting otherwise. */
function body(host: string | undefined, info: unknown): string {
  return `${JSON.stringify({ host, info, data: host?.includes('megacorp.') ? SECRET : 'hello' })}\n`;
}

let dir: string;
let configFile: string;
let httpsGate: LinkgateUpstream;
let h2Gate: LinkgateUpstream;
let gw: TestGateway;
let unguarded: HttpsServer;
const sims: Record<string, Simulator> = {};
const misdirected: Misdirected[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'linkgate-fronting-'));
  const httpsServer = createHttpsServer(tls, (req, res) => res.end(body(req.headers.host, linkgateInfo(req))));
  const h2Server: Http2SecureServer = createSecureServer({ ...tls, allowHTTP1: true }, (req, res) => res.end(body(req.authority ?? req.headers.host, linkgateInfo(req))));
  unguarded = createHttpsServer(tls, (req, res) => res.end(body(req.headers.host, null)));
  await new Promise<void>((resolve) => unguarded.listen(0, '127.0.0.1', resolve));

  httpsGate = new LinkgateUpstream(httpsServer, { tenants: {} });
  h2Gate = new LinkgateUpstream(h2Server, { tenants: {} });
  for (const gate of [httpsGate, h2Gate]) gate.on('misdirected', (m: Misdirected) => misdirected.push(m));
  const httpsPort = (await httpsGate.listen(0, '127.0.0.1')).port;
  const h2Port = (await h2Gate.listen(0, '127.0.0.1')).port;
  const unguardedPort = (unguarded.address() as { port: number }).port;

  // One gateway config: the gateway runs it, and the services learn each tenant's hostnames from its file.
  const config = {
    upstreams: {
      default: { host: '127.0.0.1', port: httpsPort, proxyProtocol: true },
      h2: { host: '127.0.0.1', port: h2Port, proxyProtocol: true },
      plain: { host: '127.0.0.1', port: unguardedPort },
    },
    tenants: [
      { name: 'shop', hostnames: [OPEN_HOST], open: true }, // every endpoint may reach it
      { name: 'megacorp', hostnames: [PROTECTED_HOST, '*.megacorp.example.com'], allow: { aws: [MEGACORP_OWN] } },
      { name: 'h2shop', hostnames: ['h2shop.example.com'], upstream: 'h2', open: true },
      { name: 'h2megacorp', hostnames: ['h2.megacorp.example.com'], upstream: 'h2', allow: { aws: [H2MEGACORP_OWN] } },
      { name: 'legacy', hostnames: ['legacy.example.com'], upstream: 'plain', open: true },
    ],
  };
  configFile = join(dir, 'gateway.json');
  writeFileSync(configFile, JSON.stringify({ listeners: { privateLink: { port: 8443 }, health: { port: 8080 } }, ...config }));
  for (const gate of [httpsGate, h2Gate]) gate.setTenants(TenantHostnames.fromConfigFile(configFile));
  gw = await startTestGateway(config);
  for (const id of [ATTACKER, MEGACORP_OWN, H2MEGACORP_OWN]) {
    sims[id] = await startSimulator({ cloud: 'aws', linkId: id, listen: { host: '127.0.0.1', port: 0 }, to: { host: '127.0.0.1', port: gw.privateLinkPort } });
  }
});
afterAll(async () => {
  await Promise.all(Object.values(sims).map((s) => s.close()));
  await gw?.close();
  await httpsGate?.close();
  await h2Gate?.close();
  unguarded?.closeAllConnections();
  await new Promise((resolve) => unguarded?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const edge = (id: string) => sims[id]!.address.port;

/** curl through an edge: SNI from the URL's host, `Host` from -H; prints status then body. */
const curl = (sni: string, host: string, port: number, extra: string[] = []) =>
  runPeer('curl', ['-sS', '--max-time', '10', '--cacert', CA, '--resolve', `${sni}:${port}:127.0.0.1`, '-H', `Host: ${host}`, '-w', '\n%{http_code} %{http_version}', ...extra, `https://${sni}:${port}/`]);

describeWithPeer('curl', 'domain fronting with curl through simulate → gateway → service', () => {
  test('GIVEN an unguarded service THEN the fronted request is served with the protected tenant’s data (the attack this prevents)', async () => {
    // GIVEN SNI = an open tenant behind a service without linkgate/upstream; Host = the protected tenant
    const r = await curl('legacy.example.com', PROTECTED_HOST, edge(ATTACKER));
    // THEN the gateway forwarded (it saw only the SNI) and the service answered for megacorp
    expect(r.stdout).toContain(SECRET);
  });

  test.each([
    ['HTTP/1.1 to an https server', OPEN_HOST, PROTECTED_HOST, ['--http1.1'], '421 1.1', 'shop', 'megacorp'],
    ['HTTP/2 to an http2 server', 'h2shop.example.com', 'h2.megacorp.example.com', ['--http2'], '421 2', 'h2shop', 'h2megacorp'],
  ])('GIVEN %s, SNI of the open tenant and Host of the protected one THEN 421 and never the protected body', async (_name, sni, host, flags, status, tenant, owner) => {
    const r = await curl(sni, host, edge(ATTACKER), flags);
    expect(r.stdout).not.toContain(SECRET);
    expect(r.stdout).toMatch(/^Misdirected Request/);
    expect(r.stdout.trim().split('\n').at(-1)).toBe(status);
    expect(misdirected.at(-1)).toMatchObject({ authority: host, owner, info: { tenant, linkId: ATTACKER, cloud: 'aws' } });
  });

  test('GIVEN a fronted request then the allowed host with curl --next THEN 421 then 200 on the same connection', async () => {
    const port = edge(ATTACKER);
    const resolve = ['--resolve', `${OPEN_HOST}:${port}:127.0.0.1`];
    const r = await runPeer('curl', [
      '-sS', '--max-time', '10', '--cacert', CA, '--http1.1', ...resolve, '-H', `Host: ${PROTECTED_HOST}`, '-o', '/dev/null', '-w', '%{http_code} %{num_connects}\n', `https://${OPEN_HOST}:${port}/fronted`,
      '--next', '--cacert', CA, '--http1.1', ...resolve, '-w', '\n%{http_code} %{num_connects}\n', `https://${OPEN_HOST}:${port}/own`,
    ]);
    const lines = r.stdout.trim().split('\n');
    // THEN the first transfer opened the connection and got 421; the second reused it (0 new connects) and got 200
    expect(lines[0]).toBe('421 1');
    expect(lines.at(-1)).toBe('200 0');
    expect(JSON.parse(lines[1]!)).toEqual({
      host: `${OPEN_HOST}:${port}`,
      info: { tenant: 'shop', hostname: OPEN_HOST, cloud: 'aws', linkId: ATTACKER, source: { address: '127.0.0.1', port: expect.any(Number) } },
      data: 'hello',
    });
  });

  test('GIVEN megacorp’s own endpoint THEN its own host is served (the guard does not get in the way)', async () => {
    const r = await curl(PROTECTED_HOST, PROTECTED_HOST, edge(MEGACORP_OWN));
    expect(r.stdout).toContain(SECRET);
    expect(r.stdout).toMatch(/200 1\.1$/);
  });
});

describe('HTTP/2 connection coalescing with a Node http2 client through simulate → gateway → service', () => {
  /** One HTTP/2 connection whose TLS SNI is `sni`, through `port`. */
  function session(sni: string, port: number): Promise<ClientHttp2Session> {
    return new Promise((resolve, reject) => {
      const s = http2Connect(`https://${sni}`, {
        createConnection: () => tlsConnect({ host: '127.0.0.1', port, servername: sni, ca: demoCa(), ALPNProtocols: ['h2'] }),
      });
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
  }
  function get(s: ClientHttp2Session, authority: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = s.request({ ':authority': authority, ':path': '/', ':method': 'GET' });
      let status = 0;
      let text = '';
      req.on('response', (headers) => (status = Number(headers[h2.HTTP2_HEADER_STATUS])));
      req.setEncoding('utf8').on('data', (d: string) => (text += d));
      req.on('end', () => resolve({ status, body: text }));
      req.on('error', reject);
    });
  }

  test('GIVEN a connection opened for the open tenant THEN a request for the protected tenant’s :authority gets 421 and the open one 200, on that one connection', async () => {
    const before = gw.decisions.length;
    const s = await session('h2shop.example.com', edge(ATTACKER));
    try {
      // WHEN the client coalesces a request for the protected host onto this connection
      const fronted = await get(s, 'h2.megacorp.example.com');
      // THEN 421, and nothing of the protected tenant
      expect(fronted.status).toBe(421);
      expect(fronted.body).not.toContain(SECRET);
      // AND the host the connection was opened for is still served on it
      const own = await get(s, 'h2shop.example.com');
      expect(own.status).toBe(200);
      expect(JSON.parse(own.body)).toMatchObject({ host: 'h2shop.example.com', info: { tenant: 'h2shop', hostname: 'h2shop.example.com', linkId: ATTACKER }, data: 'hello' });
      // Both requests rode the one connection the gateway decided once.
      expect(gw.decisions.slice(before).filter((d) => d.hostname === 'h2shop.example.com')).toHaveLength(1);
    } finally {
      s.close();
    }
  });

  test('GIVEN megacorp’s own endpoint THEN its own :authority is served over HTTP/2', async () => {
    const s = await session('h2.megacorp.example.com', edge(H2MEGACORP_OWN));
    try {
      const own = await get(s, 'h2.megacorp.example.com');
      expect(own).toMatchObject({ status: 200, body: expect.stringContaining(SECRET) });
    } finally {
      s.close();
    }
  });
});
