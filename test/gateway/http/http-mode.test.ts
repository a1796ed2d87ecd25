/**
 * http mode end to end: curl and Node's http2 client → `linkgate simulate` (the cloud's PROXY v2
 * header) → gateway terminating TLS and deciding per request → an upstream echoing what it got.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as http2Connect, createSecureServer, type ClientHttp2Session, type Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { startSimulator, type Simulator } from '../../../lib/gateway/simulate';
import type { Cloud } from '../../../lib/tenants/ids';
import { startTestGateway, type TestConfig, type TestGateway } from '../../helpers/gateway';
import { curl, makeCertificate, pem, startEchoUpstream, type CertificateFiles, type EchoUpstream } from '../../helpers/http';
import { describeWithPeer } from '../../helpers/peers';
import { waitFor } from '../../helpers/sockets';

jest.setTimeout(60_000);

const ALPHA = 'alpha.tenants.example.com';
const BETA = 'beta.tenants.example.com';
const SHARED = 'api.shared.example.com';

/** Per cloud: an endpoint allowed for alpha, one allowed for beta. */
const LINKS: Record<Cloud, { alpha: string; beta: string }> = {
  aws: { alpha: 'vpce-0aaaaaaaaaaaaaaaa', beta: 'vpce-0bbbbbbbbbbbbbbbb' },
  azure: { alpha: '553665985', beta: '553665986' },
  gcp: { alpha: '18446744072646845442', beta: '18446744072646845443' },
};
const CLOUDS = Object.keys(LINKS) as Cloud[];

const tenants = (alphaAws = [LINKS.aws.alpha]) => [
  { name: 'alpha', hostnames: [ALPHA], allow: { aws: alphaAws, azure: [LINKS.azure.alpha], gcp: [LINKS.gcp.alpha] } },
  { name: 'beta', hostnames: [BETA], allow: { aws: [LINKS.aws.beta], azure: [LINKS.azure.beta], gcp: [LINKS.gcp.beta] } },
];

describeWithPeer('openssl', 'http mode (certificates made by openssl)', () => {
  let dir: string;
  let wildcard: CertificateFiles;
  let shared: CertificateFiles;
  let bundle: string;
  let upstream: EchoUpstream;
  const simulators: Simulator[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'linkgate-http-'));
    wildcard = await makeCertificate(dir, 'wildcard', ['*.tenants.example.com']);
    shared = await makeCertificate(dir, 'shared', [SHARED]);
    bundle = join(dir, 'bundle.pem');
    writeFileSync(bundle, pem(wildcard) + pem(shared));
    upstream = await startEchoUpstream();
  });

  afterAll(async () => {
    for (const s of simulators) await s.close();
    await upstream?.close();
  });

  function httpConfig(http: Record<string, unknown> = {}, alphaAws?: string[]): TestConfig {
    return {
      listeners: { privateLink: { port: 0, host: '127.0.0.1', mode: 'http' }, health: { port: 0, host: '127.0.0.1' } },
      upstreams: { default: { host: '127.0.0.1', port: upstream.port } },
      tenants: tenants(alphaAws),
      http: { certificates: [wildcard, shared], ...http },
    } as TestConfig;
  }

  async function edge(gw: TestGateway, cloud: Cloud, linkId: string): Promise<number> {
    const sim = await startSimulator({ cloud, linkId, listen: { host: '127.0.0.1', port: 0 }, to: { host: '127.0.0.1', port: gw.privateLinkPort } });
    simulators.push(sim);
    return sim.address.port;
  }

  async function dropped(gw: TestGateway, reason: string): Promise<number> {
    const metric = await gw.gateway.metrics.dropped.get();
    return metric.values.filter((v) => v.labels.reason === reason).reduce((n, v) => n + v.value, 0);
  }

  function h2(port: number, servername: string): Promise<ClientHttp2Session> {
    return new Promise((resolve, reject) => {
      const session = http2Connect(`https://${servername}:${port}`, {
        ca: pem(wildcard) + pem(shared),
        servername,
        createConnection: () => tlsConnect({ host: '127.0.0.1', port, servername, ALPNProtocols: ['h2'], ca: pem(wildcard) + pem(shared) }),
      });
      session.once('connect', () => resolve(session));
      session.once('error', reject);
    });
  }

  function h2get(session: ClientHttp2Session, authority: string, path = '/'): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const stream = session.request({ ':method': 'GET', ':path': path, ':authority': authority });
      let status = 0;
      let body = '';
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.setEncoding('utf8').on('data', (d: string) => (body += d));
      stream.on('end', () => resolve({ status, body }));
      stream.on('error', reject);
      stream.end();
    });
  }

  describeWithPeer('curl', 'http mode: tenant from Host', () => {
    let gw: TestGateway;
    beforeAll(async () => (gw = await startTestGateway(httpConfig({ timeouts: { headersMs: 1_000 } }))));
    afterAll(async () => gw?.close());

    describe.each(CLOUDS)('on %s', (cloud) => {
      test.each(['1.1', '2'] as const)(
        'GIVEN an endpoint allowed for alpha WHEN curl --http%s asks alpha with a forged X-Linkgate-Tenant THEN 200 and the upstream sees the decided X-Linkgate-* headers only',
        async (http) => {
          const port = await edge(gw, cloud, LINKS[cloud].alpha);
          const answer = await curl({ host: ALPHA, port, caFile: bundle, http, path: '/hello', headers: ['X-Linkgate-Tenant: beta', 'Forwarded: for=6.6.6.6'] });
          expect(answer.run.stderr).toBe('');
          expect(answer.status).toBe(200);
          expect(answer.httpVersion).toBe(http);
          const echoed = JSON.parse(answer.body) as { url: string; headers: Record<string, string> };
          expect(echoed.url).toBe('/hello');
          expect(echoed.headers['x-linkgate-tenant']).toBe('alpha');
          expect(echoed.headers['x-linkgate-link-id']).toBe(LINKS[cloud].alpha);
          expect(echoed.headers['x-linkgate-cloud']).toBe(cloud);
          expect(echoed.headers.forwarded).toMatch(/^for="127\.0\.0\.1:\d+";proto=https;host="alpha\.tenants\.example\.com:\d+"$/);
          expect(echoed.headers.host).toBe(`${ALPHA}:${port}`);
        },
      );

      test('GIVEN an endpoint allowed for beta only WHEN it asks alpha THEN 403 {"error":"link_id_not_allowed"}, counted and logged, never the upstream', async () => {
        const port = await edge(gw, cloud, LINKS[cloud].beta);
        const before = await dropped(gw, 'link_id_not_allowed');
        const answer = await curl({ host: ALPHA, port, caFile: bundle, http: '2', path: '/protected' });
        expect(answer.status).toBe(403);
        expect(JSON.parse(answer.body)).toEqual({ error: 'link_id_not_allowed' });
        expect(await dropped(gw, 'link_id_not_allowed')).toBe(before + 1);
        const d = await gw.waitForDecision((r) => r.reason === 'link_id_not_allowed' && r.linkId === LINKS[cloud].beta);
        expect(d).toMatchObject({ verdict: 'drop', tenant: 'alpha', cloud, hostname: ALPHA });
      });
    });

    test.each(['1.1', '2'] as const)('GIVEN an allowed endpoint WHEN curl --http%s POSTs a body THEN the upstream receives it whole', async (http) => {
      const port = await edge(gw, 'aws', LINKS.aws.alpha);
      const payload = 'x'.repeat(200_000);
      const bodyFile = join(dir, `body-${http}.txt`);
      writeFileSync(bodyFile, payload);
      const answer = await curl({ host: ALPHA, port, caFile: bundle, http, path: '/upload', headers: ['Content-Type: text/plain'], data: bodyFile });
      expect(answer.status).toBe(200);
      const echoed = JSON.parse(answer.body) as { method: string; body: string };
      expect(echoed.method).toBe('POST');
      expect(echoed.body).toBe(payload);
    });

    test('GIVEN an allowed endpoint WHEN the client completes TLS but sends no request THEN it is dropped after headersMs (header_timeout)', async () => {
      const port = await edge(gw, 'aws', LINKS.aws.alpha);
      const before = await dropped(gw, 'header_timeout');
      const socket = tlsConnect({ host: '127.0.0.1', port, servername: ALPHA, ALPNProtocols: ['http/1.1'], ca: pem(wildcard) });
      socket.on('error', () => undefined);
      await new Promise((r) => socket.on('close', r));
      expect(await dropped(gw, 'header_timeout')).toBe(before + 1);
    });

    test('GIVEN SNI of an allowed tenant WHEN Host names another tenant (domain fronting) THEN 421, never the protected body', async () => {
      const port = await edge(gw, 'aws', LINKS.aws.alpha);
      const answer = await curl({ host: ALPHA, port, caFile: bundle, http: '1.1', path: '/protected', headers: [`Host: ${BETA}`] });
      expect(answer.status).toBe(421);
      expect(answer.body).not.toContain('PROTECTED-BODY');
      expect(JSON.parse(answer.body)).toEqual({ error: 'misdirected_request' });
    });

    test('GIVEN SNI of an allowed tenant WHEN Host is outside the certificate THEN 421', async () => {
      const port = await edge(gw, 'aws', LINKS.aws.alpha);
      const answer = await curl({ host: ALPHA, port, caFile: bundle, http: '2', path: '/protected', headers: [`Host: ${SHARED}`] });
      expect(answer.status).toBe(421);
      expect(answer.body).not.toContain('PROTECTED-BODY');
    });

    test('GIVEN an HTTP/2 session opened for alpha WHEN a stream names beta (:authority, coalescing) THEN 421 on that stream and alpha still served', async () => {
      const port = await edge(gw, 'aws', LINKS.aws.alpha);
      const session = await h2(port, ALPHA);
      try {
        const coalesced = await h2get(session, BETA, '/protected');
        expect(coalesced.status).toBe(421);
        expect(coalesced.body).not.toContain('PROTECTED-BODY');
        const own = await h2get(session, ALPHA, '/protected');
        expect(own.status).toBe(200);
        expect(own.body).toContain('PROTECTED-BODY');
      } finally {
        session.destroy();
      }
    });

    test('GIVEN an HTTP/2 session already served for alpha WHEN a later stream names a hostname outside the certificate THEN 421 on that stream, then alpha again 200', async () => {
      const port = await edge(gw, 'aws', LINKS.aws.alpha);
      const session = await h2(port, ALPHA);
      try {
        expect((await h2get(session, ALPHA, '/protected')).status).toBe(200);
        const outside = await h2get(session, SHARED, '/protected');
        expect(outside.status).toBe(421);
        expect(outside.body).not.toContain('PROTECTED-BODY');
        expect((await h2get(session, ALPHA, '/protected')).status).toBe(200);
      } finally {
        session.destroy();
      }
    });

    test('GIVEN a TLS connection WHEN the client sends bytes that are no HTTP request THEN 400 and a counted bad_request drop', async () => {
      const port = await edge(gw, 'aws', LINKS.aws.alpha);
      const before = await dropped(gw, 'bad_request');
      const socket = tlsConnect({ host: '127.0.0.1', port, servername: ALPHA, ALPNProtocols: ['http/1.1'], ca: pem(wildcard) });
      const answer = await readAll(socket, 'GARBAGE /\x01 NOPE\r\n\r\n');
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer).toContain('{"error":"bad_request"}');
      expect(await dropped(gw, 'bad_request')).toBe(before + 1);
    });

    test('GIVEN an endpoint allowed for alpha WHEN it sends a WebSocket upgrade THEN the upstream answers 101 and bytes flow both ways', async () => {
      const port = await edge(gw, 'gcp', LINKS.gcp.alpha);
      const socket = tlsConnect({ host: '127.0.0.1', port, servername: ALPHA, ALPNProtocols: ['http/1.1'], ca: pem(wildcard) });
      await new Promise((r) => socket.once('secureConnect', r));
      let got = '';
      socket.setEncoding('latin1').on('data', (d: string) => (got += d));
      socket.write(
        `GET /ws HTTP/1.1\r\nHost: ${ALPHA}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-Linkgate-Tenant: beta\r\n\r\n`,
      );
      await waitFor(() => got.includes('\r\n\r\n') || undefined, 10_000, 'the 101');
      expect(got).toMatch(/^HTTP\/1\.1 101 /);
      socket.write('frame-bytes');
      await waitFor(() => got.includes('frame-bytes') || undefined, 10_000, 'the echo');
      socket.destroy();
      const seen = upstream.upgrades.at(-1)!;
      expect(seen.headers['x-linkgate-tenant']).toBe('alpha');
      expect(seen.headers['sec-websocket-key']).toBe('dGhlIHNhbXBsZSBub25jZQ==');
    });

    test('GIVEN an endpoint allowed for beta WHEN it sends a WebSocket upgrade for alpha THEN 403, the upstream never sees it', async () => {
      const port = await edge(gw, 'azure', LINKS.azure.beta);
      const before = upstream.upgrades.length;
      const socket = tlsConnect({ host: '127.0.0.1', port, servername: ALPHA, ALPNProtocols: ['http/1.1'], ca: pem(wildcard) });
      const answer = await readAll(socket, `GET /ws HTTP/1.1\r\nHost: ${ALPHA}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`);
      expect(answer).toMatch(/^HTTP\/1\.1 403 /);
      expect(answer).toContain('{"error":"link_id_not_allowed"}');
      expect(upstream.upgrades.length).toBe(before);
    });
  });

  describeWithPeer('curl', 'http mode: tenant from a header, one shared hostname', () => {
    let gw: TestGateway;
    beforeAll(async () => (gw = await startTestGateway(httpConfig({ tenantFrom: { header: 'X-Tenant' } }))));
    afterAll(async () => gw?.close());

    test.each(CLOUDS)('GIVEN the shared hostname on %s WHEN X-Tenant names the endpoint\'s tenant THEN 200; another tenant THEN 403; none THEN 403 no_tenant', async (cloud) => {
      const port = await edge(gw, cloud, LINKS[cloud].alpha);
      const ok = await curl({ host: SHARED, port, caFile: bundle, http: '2', headers: ['X-Tenant: alpha'] });
      expect(ok.status).toBe(200);
      expect((JSON.parse(ok.body) as { headers: Record<string, string> }).headers['x-linkgate-tenant']).toBe('alpha');
      const other = await curl({ host: SHARED, port, caFile: bundle, http: '1.1', headers: ['X-Tenant: beta'] });
      expect(other.status).toBe(403);
      expect(JSON.parse(other.body)).toEqual({ error: 'link_id_not_allowed' });
      const none = await curl({ host: SHARED, port, caFile: bundle, http: '1.1' });
      expect(none.status).toBe(403);
      expect(JSON.parse(none.body)).toEqual({ error: 'no_tenant' });
    });
  });

  describe('http mode: tenant from a path prefix', () => {
    let gw: TestGateway;
    beforeAll(async () => (gw = await startTestGateway(httpConfig({ tenantFrom: 'pathPrefix' }))));
    afterAll(async () => gw?.close());

    test('GIVEN /alpha/... on the shared hostname WHEN the endpoint is alpha\'s THEN the upstream gets /... for alpha; /beta/... THEN 403', async () => {
      const port = await edge(gw, 'aws', LINKS.aws.alpha);
      const session = await h2(port, SHARED);
      try {
        const ok = await h2get(session, SHARED, '/alpha/v1/items?x=1');
        expect(ok.status).toBe(200);
        expect(JSON.parse(ok.body)).toMatchObject({ url: '/v1/items?x=1', headers: { 'x-linkgate-tenant': 'alpha' } });
        const other = await h2get(session, SHARED, '/beta/v1/items');
        expect(other.status).toBe(403);
        expect(JSON.parse(other.body)).toEqual({ error: 'link_id_not_allowed' });
        const unknown = await h2get(session, SHARED, '/gamma/');
        expect(JSON.parse(unknown.body)).toEqual({ error: 'unknown_tenant' });
      } finally {
        session.destroy();
      }
    });
  });

  describeWithPeer('curl', 'http mode on the public listener', () => {
    let gw: TestGateway;
    beforeAll(async () => {
      const config = httpConfig();
      gw = await startTestGateway({
        ...config,
        listeners: { ...config.listeners, public: { port: 0, host: '127.0.0.1', mode: 'http' } },
        tenants: [
          { name: 'alpha', hostnames: [ALPHA], allow: { cidrs: ['127.0.0.0/8'] } },
          { name: 'beta', hostnames: [BETA], allow: { cidrs: ['10.0.0.0/8'] } },
        ],
      } as TestConfig);
    });
    afterAll(async () => gw?.close());

    test('GIVEN a client at 127.0.0.1 WHEN it asks alpha (127.0.0.0/8) THEN 200 with X-Linkgate-Cloud none; beta (10.0.0.0/8) THEN 403 cidr_not_allowed', async () => {
      const ok = await curl({ host: ALPHA, port: gw.publicPort, caFile: bundle, http: '2' });
      expect(ok.status).toBe(200);
      const echoed = JSON.parse(ok.body) as { headers: Record<string, string | undefined> };
      expect(echoed.headers['x-linkgate-cloud']).toBe('none');
      expect(echoed.headers['x-linkgate-link-id']).toBeUndefined();
      const refused = await curl({ host: BETA, port: gw.publicPort, caFile: bundle, http: '1.1' });
      expect(refused.status).toBe(403);
      expect(JSON.parse(refused.body)).toEqual({ error: 'cidr_not_allowed' });
    });
  });

  describeWithPeer('curl', 'http mode: an HTTP/2 upstream over TLS', () => {
    let gw: TestGateway;
    let secure: Http2SecureServer;
    beforeAll(async () => {
      const upstreamCert = await makeCertificate(dir, 'upstream', ['upstream.internal']);
      secure = createSecureServer({ cert: pem(upstreamCert), key: readFileSync(upstreamCert.keyFile) }, (req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ httpVersion: req.httpVersion, headers: req.headers }));
      });
      await new Promise<void>((r) => secure.listen(0, '127.0.0.1', r));
      const config = httpConfig();
      gw = await startTestGateway({
        ...config,
        upstreams: {
          ...config.upstreams,
          secure: { host: '127.0.0.1', port: (secure.address() as AddressInfo).port, http: { protocol: 'http2', tls: true, caFile: upstreamCert.certFile, servername: 'upstream.internal' } },
        },
        tenants: tenants().map((t) => (t.name === 'alpha' ? { ...t, upstream: 'secure' } : t)),
      } as TestConfig);
    });
    afterAll(async () => {
      await gw?.close();
      secure?.close();
    });

    test('GIVEN alpha\'s upstream speaks HTTP/2 over TLS WHEN an HTTP/1.1 client asks alpha THEN the request reaches it over HTTP/2 with the X-Linkgate-* headers', async () => {
      const port = await edge(gw, 'azure', LINKS.azure.alpha);
      const answer = await curl({ host: ALPHA, port, caFile: bundle, http: '1.1', path: '/' });
      expect(answer.status).toBe(200);
      const echoed = JSON.parse(answer.body) as { httpVersion: string; headers: Record<string, string> };
      expect(echoed.httpVersion).toBe('2.0');
      expect(echoed.headers['x-linkgate-tenant']).toBe('alpha');
      expect(echoed.headers['x-linkgate-link-id']).toBe(LINKS.azure.alpha);
    });
  });

  describe('http mode: reload', () => {
    let gw: TestGateway;
    let configPath: string;
    const write = (input: TestConfig) => writeFileSync(configPath, JSON.stringify(input));

    beforeAll(async () => {
      configPath = join(dir, 'reload.json');
      const input = httpConfig({ revokeGraceMs: 300 });
      write(input);
      gw = await startTestGateway(input, { configPath });
    });
    afterAll(async () => gw?.close());

    test.each(['h2', 'http/1.1'] as const)(
      'GIVEN a long %s streaming response for alpha WHEN a reload removes the endpoint THEN the stream ends within the bound and is counted revoked',
      async (alpn) => {
        write(httpConfig({ revokeGraceMs: 300 }));
        expect(gw.gateway.reload().ok).toBe(true);
        const port = await edge(gw, 'aws', LINKS.aws.alpha);
        let received = '';
        let ended: Promise<void>;
        let cleanup: () => void;
        if (alpn === 'h2') {
          const session = await h2(port, ALPHA);
          const stream = session.request({ ':method': 'GET', ':path': '/stream', ':authority': ALPHA });
          stream.setEncoding('utf8').on('data', (d: string) => (received += d));
          stream.on('error', () => undefined);
          ended = new Promise((r) => stream.on('close', () => r()));
          cleanup = () => session.destroy();
        } else {
          const socket = tlsConnect({ host: '127.0.0.1', port, servername: ALPHA, ALPNProtocols: ['http/1.1'], ca: pem(wildcard) });
          socket.on('error', () => undefined);
          socket.setEncoding('latin1').on('data', (d: string) => (received += d));
          socket.write(`GET /stream HTTP/1.1\r\nHost: ${ALPHA}\r\n\r\n`);
          ended = new Promise((r) => socket.on('close', () => r()));
          cleanup = () => socket.destroy();
        }
        try {
          await waitFor(() => received.includes('tick') || undefined, 10_000, 'the stream to flow');
          const closesBefore = gw.closes.length;
          write(httpConfig({ revokeGraceMs: 300 }, []));
          const outcome = gw.gateway.reload();
          expect(outcome).toMatchObject({ ok: true, revoked: 1 });
          await ended; // the test's timeout bounds it; the grace is 300 ms
          expect(gw.closes.slice(closesBefore)).toEqual([expect.objectContaining({ reason: 'revoked', tenant: 'alpha', linkId: LINKS.aws.alpha })]);
          const revoked = (await gw.gateway.metrics.closed.get()).values.find((v) => v.labels.reason === 'revoked');
          expect(revoked?.value).toBeGreaterThanOrEqual(1);
        } finally {
          cleanup();
        }
      },
    );

    test('GIVEN a live HTTP/2 session WHEN a reload brings a new certificate THEN the session keeps working and new connections get the new certificate', async () => {
      const files = await makeCertificate(dir, 'rotating', ['*.tenants.example.com']);
      write({ ...httpConfig(), http: { certificates: [files, shared] } } as TestConfig);
      expect(gw.gateway.reload().ok).toBe(true);
      const port = await edge(gw, 'aws', LINKS.aws.alpha);
      const first = pem(files);
      const session = await new Promise<ClientHttp2Session>((resolve, reject) => {
        const s = http2Connect(`https://${ALPHA}:${port}`, {
          createConnection: () => tlsConnect({ host: '127.0.0.1', port, servername: ALPHA, ALPNProtocols: ['h2'], ca: first }),
        });
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      });
      try {
        expect((await h2get(session, ALPHA)).status).toBe(200);
        await makeCertificate(dir, 'rotating', ['*.tenants.example.com']); // same files, new key and certificate
        const second = pem(files);
        expect(second).not.toBe(first);
        expect(gw.gateway.reload().ok).toBe(true);
        expect((await h2get(session, ALPHA)).status).toBe(200);
        const served = await new Promise<string>((resolve, reject) => {
          const s: TLSSocket = tlsConnect({ host: '127.0.0.1', port, servername: ALPHA, ca: second }, () => {
            resolve(s.getPeerX509Certificate()!.fingerprint256);
            s.destroy();
          });
          s.on('error', reject);
        });
        expect(served).toBe(new X509Certificate(second).fingerprint256);
      } finally {
        session.destroy();
      }
    });

    test('GIVEN a reload naming a certificate file that does not exist THEN the reload is refused and the running certificates stay', async () => {
      write({ ...httpConfig(), http: { certificates: [{ certFile: join(dir, 'missing.crt'), keyFile: join(dir, 'missing.key') }] } } as TestConfig);
      const outcome = gw.gateway.reload();
      expect(outcome.ok).toBe(false);
      expect(outcome.errors).toMatch(/missing\.crt/);
    });
  });
});

/** Writes `request`, resolves with everything read until the server closes. */
function readAll(socket: TLSSocket, request: string): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    socket.setEncoding('latin1').on('data', (d: string) => (got += d));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(got));
    socket.once('secureConnect', () => socket.write(request));
  });
}
