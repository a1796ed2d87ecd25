/**
 * http mode against a client that does whatever it likes, through `linkgate simulate` → gateway →
 * an upstream that behaves like nginx with name-based virtual hosts (ignores Upgrade, keeps the
 * connection alive, routes an absolute-form target on its authority). The promise under test: a
 * tenant's hostnames are unreachable from an endpoint it did not allow.
 */
import { mkdtempSync } from 'node:fs';
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { runDoctor } from '../../../lib/gateway/doctor';
import { startSimulator, type Simulator } from '../../../lib/gateway/simulate';
import { startTestGateway, type TestConfig, type TestGateway } from '../../helpers/gateway';
import { makeCertificate, pem, startEchoUpstream, startVhostUpstream, type CertificateFiles, type EchoUpstream, type VhostUpstream } from '../../helpers/http';
import { describeWithPeer } from '../../helpers/peers';
import { waitFor } from '../../helpers/sockets';
import { until } from '../../../bench/harness';

jest.setTimeout(60_000);

const ALPHA = 'alpha.tenants.example.com';
const BETA = 'beta.tenants.example.com';
const SHARED = 'api.shared.example.com';
const ALPHA_LINK = 'vpce-0aaaaaaaaaaaaaaaa';
const BETA_LINK = 'vpce-0bbbbbbbbbbbbbbbb';

const TENANTS = [
  { name: 'alpha', hostnames: [ALPHA], allow: { aws: [ALPHA_LINK] } },
  { name: 'beta', hostnames: [BETA], allow: { aws: [BETA_LINK] } },
];

describeWithPeer('openssl', 'http mode under attack', () => {
  let wildcard: CertificateFiles;
  let shared: CertificateFiles;
  let vhosts: VhostUpstream;
  const simulators: Simulator[] = [];
  const gateways: TestGateway[] = [];

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'linkgate-http-attacks-'));
    wildcard = await makeCertificate(dir, 'wildcard', ['*.tenants.example.com']);
    shared = await makeCertificate(dir, 'shared', [SHARED]);
    vhosts = await startVhostUpstream();
  });

  afterAll(async () => {
    for (const s of simulators) await s.close();
    for (const g of gateways) await g.close();
    await vhosts?.close();
  });

  async function gateway(http: Record<string, unknown> = {}, upstream: Record<string, unknown> = { host: '127.0.0.1', port: vhosts.port }): Promise<TestGateway> {
    const gw = await startTestGateway({
      listeners: { privateLink: { port: 0, host: '127.0.0.1', mode: 'http' }, health: { port: 0, host: '127.0.0.1' } },
      upstreams: { default: upstream },
      tenants: TENANTS,
      http: { certificates: [wildcard, shared], ...http },
    } as unknown as TestConfig);
    gateways.push(gw);
    return gw;
  }

  async function edge(gw: TestGateway, linkId: string): Promise<number> {
    const sim = await startSimulator({ cloud: 'aws', linkId, listen: { host: '127.0.0.1', port: 0 }, to: { host: '127.0.0.1', port: gw.privateLinkPort } });
    simulators.push(sim);
    return sim.address.port;
  }

  async function dropped(gw: TestGateway, reason: string): Promise<number> {
    const metric = await gw.gateway.metrics.dropped.get();
    return metric.values.filter((v) => v.labels.reason === reason).reduce((n, v) => n + v.value, 0);
  }

  /** A TLS client writing `payload` as is; `text()` is what came back so far, `closed` settles on close. */
  function raw(port: number, servername: string, payload: string, alpn = 'http/1.1') {
    const socket: TLSSocket = tlsConnect({ host: '127.0.0.1', port, servername, ALPNProtocols: [alpn], ca: pem(wildcard) + pem(shared), ...(servername ? {} : { rejectUnauthorized: false }) });
    let got = '';
    let isClosed = false;
    socket.setEncoding('latin1').on('data', (d: string) => (got += d));
    socket.on('error', () => undefined);
    socket.on('close', () => (isClosed = true));
    socket.once('secureConnect', () => socket.write(payload));
    return { socket, text: () => got, isClosed: () => isClosed };
  }

  function h2(port: number, servername: string): Promise<ClientHttp2Session> {
    return new Promise((resolve, reject) => {
      const session = http2Connect(`https://${servername}:${port}`, {
        createConnection: () => tlsConnect({ host: '127.0.0.1', port, servername, ALPNProtocols: ['h2'], ca: pem(wildcard) + pem(shared) }),
      });
      session.once('connect', () => resolve(session));
      session.once('error', reject);
    });
  }

  function h2ask(session: ClientHttp2Session, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const stream = session.request(headers);
      let status = 0;
      let text = '';
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.setEncoding('utf8').on('data', (d: string) => (text += d));
      stream.on('end', () => resolve({ status, body: text }));
      stream.on('error', reject);
      stream.end(body);
    });
  }

  const betaSeen = () => vhosts.seen.filter((r) => r.vhost === BETA || r.headers['x-linkgate-tenant'] === 'beta');

  describe('tenant from Host', () => {
    let gw: TestGateway;
    let alphaPort: number;
    beforeAll(async () => {
      gw = await gateway();
      alphaPort = await edge(gw, ALPHA_LINK);
    });

    test('GIVEN alpha\'s endpoint and an upstream that ignores Upgrade WHEN the client sends an upgrade for alpha then a request for beta on the same connection THEN the upstream sees only the upgrade, the client gets its answer and the connection closes (F1)', async () => {
      const before = vhosts.seen.length;
      const client = raw(
        alphaPort,
        ALPHA,
        `GET /ws HTTP/1.1\r\nHost: ${ALPHA}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n` +
          `GET /secret-of-beta HTTP/1.1\r\nHost: ${BETA}\r\nX-Linkgate-Tenant: beta\r\n\r\n`,
      );
      try {
        await waitFor(() => client.isClosed() || betaSeen().length > 0 || undefined, 20_000, 'the connection to close or the smuggled request to arrive');
        expect(betaSeen()).toEqual([]);
        expect(vhosts.seen.slice(before).map((r) => r.target)).toEqual(['/ws']);
        expect(client.text()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
        expect(client.text()).toMatch(/\r\nconnection: close\r\n/i);
        expect(client.text()).toContain(`vhost=${ALPHA} path=/ws tenant=alpha`);
        expect(client.text()).not.toContain('secret-of-beta');
      } finally {
        client.socket.destroy();
      }
    });

    test('GIVEN alpha\'s endpoint WHEN an upgrade request carries a body THEN 400, never upstream', async () => {
      const before = vhosts.seen.length;
      const client = raw(alphaPort, ALPHA, `POST /ws HTTP/1.1\r\nHost: ${ALPHA}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 5\r\n\r\nhello`);
      await waitFor(() => client.isClosed() || undefined, 20_000, 'the close');
      expect(client.text()).toMatch(/^HTTP\/1\.1 400 /);
      expect(vhosts.seen.length).toBe(before);
    });

    test('GIVEN alpha\'s endpoint WHEN the request-target is absolute-form naming beta with Host alpha THEN 400 bad_request, counted, the upstream never sees it (F2)', async () => {
      const before = await dropped(gw, 'bad_request');
      const client = raw(alphaPort, ALPHA, `GET http://${BETA}/secret-of-beta HTTP/1.1\r\nHost: ${ALPHA}\r\n\r\n`);
      try {
        await waitFor(() => client.text().includes('}') || betaSeen().length > 0 || client.isClosed() || undefined, 20_000, 'an answer');
        expect(betaSeen()).toEqual([]);
        expect(client.text()).toMatch(/^HTTP\/1\.1 400 /);
        expect(client.text()).toContain('{"error":"bad_request"}');
        expect(await dropped(gw, 'bad_request')).toBe(before + 1);
      } finally {
        client.socket.destroy();
      }
    });

    test('GIVEN alpha\'s endpoint WHEN the request-target is absolute-form naming alpha THEN 200 and the upstream gets it in origin-form', async () => {
      const client = raw(alphaPort, ALPHA, `GET https://${ALPHA}/x?y=1 HTTP/1.1\r\nHost: ${ALPHA}\r\n\r\n`);
      try {
        await waitFor(() => client.text().includes('\n', client.text().indexOf('\r\n\r\n') + 4) || client.isClosed() || undefined, 20_000, 'the answer');
        expect(client.text()).toMatch(/^HTTP\/1\.1 200 /);
        expect(client.text()).toContain(`vhost=${ALPHA} path=/x?y=1 tenant=alpha`);
      } finally {
        client.socket.destroy();
      }
    });

    test('GIVEN alpha\'s endpoint WHEN HTTP/2 :path is absolute-form naming beta, or `*` with GET THEN the stream is refused and beta never reached (guard: nghttp2 resets these before the gateway sees them)', async () => {
      const session = await h2(alphaPort, ALPHA);
      try {
        for (const path of [`https://${BETA}/secret-of-beta`, '*']) {
          const outcome = await h2ask(session, { ':method': 'GET', ':scheme': 'https', ':authority': ALPHA, ':path': path }).then(
            (a) => a.status,
            (err: Error) => err.message,
          );
          expect(outcome === 400 || /PROTOCOL_ERROR/.test(String(outcome))).toBe(true);
        }
        expect(betaSeen()).toEqual([]);
      } finally {
        session.destroy();
      }
    });

    test('GIVEN alpha\'s endpoint WHEN the client sends X-Forwarded-For / -Host / -Proto, X-Real-IP, X-Original-URL, X-Rewrite-URL THEN none reaches the upstream; X-Forwarded-* are the gateway\'s (F7)', async () => {
      const before = vhosts.seen.length;
      const client = raw(
        alphaPort,
        ALPHA,
        `GET /f7 HTTP/1.1\r\nHost: ${ALPHA}\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Host: ${BETA}\r\nX-Forwarded-Proto: http\r\nX-Real-IP: 6.6.6.6\r\nX-Original-URL: /secret-of-beta\r\nX-Rewrite-URL: /secret-of-beta\r\n\r\n`,
      );
      try {
        await waitFor(() => vhosts.seen.length > before || undefined, 20_000, 'the request upstream');
        const got = vhosts.seen[before]!.headers;
        expect(got['x-real-ip']).toBeUndefined();
        expect(got['x-original-url']).toBeUndefined();
        expect(got['x-rewrite-url']).toBeUndefined();
        expect(got['x-forwarded-for']).toBe('127.0.0.1');
        expect(got['x-forwarded-host']).toBe(ALPHA);
        expect(got['x-forwarded-proto']).toBe('https');
      } finally {
        client.socket.destroy();
      }
    });

    test('GIVEN a ClientHello without SNI WHEN requests name alpha, beta and the shared hostname THEN alpha 200 (first certificate), beta 403 (its own link check), the shared hostname 421 (not covered)', async () => {
      const ask = (host: string) => {
        const client = raw(alphaPort, '', `GET /nosni HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
        return waitFor(() => (/\r\n\r\n[\s\S]*(\}|\n)$/.test(client.text()) || client.isClosed() ? client.text() : undefined), 20_000, 'the answer').finally(() => client.socket.destroy());
      };
      expect(await ask(ALPHA)).toMatch(/^HTTP\/1\.1 200 [\s\S]*tenant=alpha/);
      expect(await ask(BETA)).toMatch(/^HTTP\/1\.1 403 [\s\S]*link_id_not_allowed/);
      expect(await ask(SHARED)).toMatch(/^HTTP\/1\.1 421 /);
    });

    test('GIVEN alpha\'s endpoint WHEN an HTTP/2 client sends CONNECT THEN 405, counted bad_request (F8)', async () => {
      const before = await dropped(gw, 'bad_request');
      const session = await h2(alphaPort, ALPHA);
      try {
        const answer = await h2ask(session, { ':method': 'CONNECT', ':authority': `${ALPHA}:443` });
        expect(answer.status).toBe(405);
        expect(JSON.parse(answer.body)).toEqual({ error: 'bad_request' });
        expect(await dropped(gw, 'bad_request')).toBe(before + 1);
      } finally {
        session.destroy();
      }
    });
  });

  describe('tenant from a header', () => {
    let alphaPort: number;
    beforeAll(async () => {
      const gw = await gateway({ tenantFrom: { header: 'X-Tenant' } });
      alphaPort = await edge(gw, ALPHA_LINK);
    });

    test('GIVEN alpha\'s endpoint and X-Tenant: alpha WHEN Host is beta\'s hostname THEN 421 misdirected_request and beta never reached; the shared hostname THEN 200 (F6)', async () => {
      const session = await h2(alphaPort, ALPHA);
      try {
        const fronted = await h2ask(session, { ':method': 'GET', ':path': '/secret-of-beta', ':authority': BETA, 'x-tenant': 'alpha' });
        expect(fronted.status).toBe(421);
        expect(JSON.parse(fronted.body)).toEqual({ error: 'misdirected_request' });
        expect(betaSeen()).toEqual([]);
      } finally {
        session.destroy();
      }
      const sharedSession = await h2(alphaPort, SHARED);
      try {
        const ok = await h2ask(sharedSession, { ':method': 'GET', ':path': '/ok', ':authority': SHARED, 'x-tenant': 'alpha' });
        expect(ok.status).toBe(200);
        expect(ok.body).toContain(`vhost=${SHARED} path=/ok tenant=alpha`);
      } finally {
        sharedSession.destroy();
      }
    });
  });

  describe('tenant from a path prefix', () => {
    let alphaPort: number;
    beforeAll(async () => {
      const gw = await gateway({ tenantFrom: 'pathPrefix' });
      alphaPort = await edge(gw, ALPHA_LINK);
    });

    test.each(['/alpha/../beta/x', '/alpha/%2e%2e/beta/x', '/alpha/..%2Fbeta/x', '/alpha/.\\..\\beta/x'])(
      'GIVEN alpha\'s endpoint WHEN the path is %s THEN 400, nothing forwarded (F8)',
      async (path) => {
        const before = vhosts.seen.length;
        const session = await h2(alphaPort, SHARED);
        try {
          const answer = await h2ask(session, { ':method': 'GET', ':path': path, ':authority': SHARED });
          expect(answer.status).toBe(400);
          expect(vhosts.seen.length).toBe(before);
        } finally {
          session.destroy();
        }
      },
    );
  });

  describe('linkgate doctor against an http-mode gateway (F5)', () => {
    test('GIVEN diagnostics on WHEN the doctor asks for alpha from alpha\'s endpoint, then from beta\'s THEN served with the tenant, then link_id_not_allowed; ordinary requests still served', async () => {
      const withDiagnostics = await startTestGateway({
        listeners: { privateLink: { port: 0, host: '127.0.0.1', mode: 'http' }, health: { port: 0, host: '127.0.0.1' } },
        upstreams: { default: { host: '127.0.0.1', port: vhosts.port } },
        tenants: TENANTS,
        diagnostics: { enabled: true },
        http: { certificates: [wildcard, shared] },
      } as unknown as TestConfig);
      gateways.push(withDiagnostics);
      const allowed = await runDoctor({ hostname: ALPHA, connect: { host: '127.0.0.1', port: await edge(withDiagnostics, ALPHA_LINK) } });
      expect(allowed).toMatchObject({ outcome: 'served', exchange: { kind: 'answered', reply: { verdict: 'forward', tenant: 'alpha', linkId: ALPHA_LINK } } });
      const other = await runDoctor({ hostname: ALPHA, connect: { host: '127.0.0.1', port: await edge(withDiagnostics, BETA_LINK) } });
      expect(other).toMatchObject({ outcome: 'link_id_not_allowed', exchange: { kind: 'answered', reply: { verdict: 'drop', reason: 'link_id_not_allowed' } } });
      const session = await h2(await edge(withDiagnostics, ALPHA_LINK), ALPHA);
      try {
        const ok = await h2ask(session, { ':method': 'GET', ':path': '/doctor-neighbour', ':authority': ALPHA });
        expect(ok.status).toBe(200);
      } finally {
        session.destroy();
      }
    });

    test('GIVEN diagnostics off WHEN the doctor asks from an endpoint alpha does not allow THEN the gateway\'s TLS alert is not taken for "served"', async () => {
      const gw = await gateway();
      const report = await runDoctor({ hostname: ALPHA, connect: { host: '127.0.0.1', port: await edge(gw, BETA_LINK) } });
      expect(report.exchange).toEqual({ kind: 'tls_alert' });
      expect(report.outcome).toBe('no_diagnostic_answer');
    });
  });

  describe('HTTP/2 stream flood (F3)', () => {
    let blackhole: Server;
    let upstreamRequests = 0;
    let port: number;
    beforeAll(async () => {
      // Accepts and never answers: every request forwarded holds one pooled connection of its own.
      blackhole = createNetServer((s: Socket) => {
        upstreamRequests++;
        s.on('error', () => undefined);
      });
      await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
      const gw = await gateway({}, { host: '127.0.0.1', port: (blackhole.address() as AddressInfo).port, http: { protocol: 'http1', tls: false, maxConnections: 4000 } });
      port = await edge(gw, ALPHA_LINK);
    });
    afterAll(() => blackhole?.close());

    test('GIVEN a client that ignores SETTINGS_MAX_CONCURRENT_STREAMS WHEN it opens 1,000 streams on one session THEN the excess is refused (RST_STREAM, GOAWAY or the session closed) and at most 100 requests reach the upstream', async () => {
      const socket: TLSSocket = tlsConnect({ host: '127.0.0.1', port, servername: ALPHA, ALPNProtocols: ['h2'], ca: pem(wildcard) });
      socket.on('error', () => undefined);
      let received = Buffer.alloc(0);
      let reset = 0;
      let goaway = false;
      let closed = false;
      let sent = false;
      socket.on('close', () => (closed = true));
      socket.on('data', (d: Buffer) => {
        received = Buffer.concat([received, d]);
        while (received.length >= 9) {
          const length = received.readUIntBE(0, 3);
          if (received.length < 9 + length) break;
          const type = received[3]!;
          if (type === 0x3) reset++;
          if (type === 0x7) goaway = true;
          received = received.subarray(9 + length);
          if (type === 0x4 && !sent) {
            // The server's SETTINGS (with its stream limit) are read: acknowledged, then ignored.
            sent = true;
            const frames = [frame(0x4, 0x1, 0, Buffer.alloc(0))];
            for (let i = 0; i < 1000; i++) frames.push(frame(0x1, 0x5, 1 + 2 * i, requestBlock(ALPHA, `/f${i}`)));
            socket.write(Buffer.concat(frames));
          }
        }
      });
      await new Promise((r) => socket.once('secureConnect', r));
      socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), frame(0x4, 0, 0, Buffer.alloc(0))]));
      try {
        await until(
          () => upstreamRequests + reset >= 1000 || goaway || closed || undefined,
          30_000,
          () => `every stream forwarded or refused (${upstreamRequests} upstream, ${reset} reset, goaway ${goaway}, closed ${closed})`,
        );
        expect(reset > 0 || goaway || closed).toBe(true);
        expect(upstreamRequests).toBeLessThanOrEqual(100);
      } finally {
        socket.destroy();
      }
    });
  });

  describe('one tenant\'s slow bodies on a shared upstream (F4)', () => {
    let echo: EchoUpstream;
    let gw: TestGateway;
    beforeAll(async () => {
      echo = await startEchoUpstream();
      gw = await gateway({ timeouts: { requestMs: 60_000, idleMs: 60_000 } }, { host: '127.0.0.1', port: echo.port, http: { protocol: 'http1', tls: false, maxConnections: 4 } });
    });
    afterAll(async () => echo?.close());

    test('GIVEN an upstream with 4 pooled connections WHEN alpha holds 4 requests with bodies it never finishes THEN alpha gets 503 tenant_over_capacity above 2 and beta is still answered 200', async () => {
      let started = 0;
      echo.server.on('request', () => started++);
      const alphaSession = await h2(await edge(gw, ALPHA_LINK), ALPHA);
      const betaSession = await h2(await edge(gw, BETA_LINK), BETA);
      const over: number[] = [];
      try {
        for (let i = 0; i < 4; i++) {
          const stream = alphaSession.request({ ':method': 'POST', ':path': `/slow${i}`, ':authority': ALPHA });
          stream.on('response', (h) => over.push(Number(h[':status'])));
          stream.on('error', () => undefined);
          stream.write('x'); // and never ends
        }
        await waitFor(() => started + over.length >= 4 || undefined, 20_000, 'alpha\'s requests to be forwarded or refused');
        const beta = await Promise.race([
          h2ask(betaSession, { ':method': 'GET', ':path': '/b', ':authority': BETA }),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error('beta was not answered within 20 s: starved behind alpha')), 20_000).unref()),
        ]);
        expect(beta.status).toBe(200);
        expect(over).toEqual([503, 503]);
        expect(await dropped(gw, 'tenant_over_capacity')).toBe(2);
      } finally {
        alphaSession.destroy();
        betaSession.destroy();
      }
    });
  });
});

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK: :method GET, :scheme https (static 2, 7), :authority and :path as literals without indexing. */
function requestBlock(authority: string, path: string): Buffer {
  const literal = (index: number, value: string) => Buffer.concat([Buffer.from([index, value.length]), Buffer.from(value, 'latin1')]);
  return Buffer.concat([Buffer.from([0x82, 0x87]), literal(0x01, authority), literal(0x04, path)]);
}
