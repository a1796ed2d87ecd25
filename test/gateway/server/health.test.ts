/** The health listener answers load balancer probes, with or without a leading PROXY v2 header. */
import { request } from 'node:http';
import { connect } from 'node:net';
import { cloudProxyHeader, encodeProxyHeader } from '../../../lib/gateway/proxy-protocol/encoder';
import { CLIENT, ENDPOINT } from '../../helpers/bytes';
import { startTestGateway, type TestGateway } from '../../helpers/gateway';
import { HealthServer } from '../../../lib/gateway/health';
import { holdReopening, openAndHold, startEchoServer, waitFor, type TestServer } from '../../helpers/sockets';

let echo: TestServer;
let gw: TestGateway;
beforeAll(async () => {
  echo = await startEchoServer();
  gw = await startTestGateway({
    upstreams: { default: { host: '127.0.0.1', port: echo.port } },
    tenants: [{ name: 'open', hostnames: ['open.example.com'], open: true }],
    shutdown: { drainDelayMs: 300, drainTimeoutMs: 100 },
  });
});
afterAll(async () => {
  await gw?.close();
  await echo?.close();
});

function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port: gw.healthPort, path }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

/** A raw HTTP GET, optionally behind a PROXY header, as an NLB or Azure probe sends it. */
function rawGet(path: string, prefix?: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const s = connect({ host: '127.0.0.1', port: gw.healthPort }, () => {
      s.write(Buffer.concat([prefix ?? Buffer.alloc(0), Buffer.from(`GET ${path} HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n`)]));
    });
    s.setEncoding('utf8').on('data', (d: string) => (text += d));
    s.on('end', () => resolve(text));
    s.on('error', reject);
  });
}

describe('health listener', () => {
  test('GIVEN a running gateway THEN /healthz and /readyz answer 200 and /metrics lists the linkgate series', async () => {
    expect(await get('/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect(await get('/readyz')).toEqual({ status: 200, body: 'ready\n' });
    const metrics = await get('/metrics');
    expect(metrics.status).toBe(200);
    for (const name of ['linkgate_connections_accepted_total', 'linkgate_connections_dropped_total', 'linkgate_active_connections', 'linkgate_config_reloads_total', 'linkgate_decision_duration_seconds', 'linkgate_bytes_total']) {
      expect(metrics.body).toContain(`# TYPE ${name}`);
    }
    expect((await get('/nope')).status).toBe(404);
  });

  test.each([
    ['a LOCAL header (AWS NLB health check)', encodeProxyHeader({ command: 'LOCAL' })],
    ['a PROXY header with a link ID', cloudProxyHeader('aws', 'vpce-08d2bf15fac5001c9', CLIENT, ENDPOINT)],
    ['no header', undefined],
  ])('GIVEN a probe with %s THEN /readyz answers 200', async (_name, prefix) => {
    expect(await rawGet('/readyz', prefix)).toMatch(/^HTTP\/1\.1 200 OK/);
  });

  test('GIVEN a broken PROXY header on the health port THEN the probe connection is closed, nothing else happens', async () => {
    const bad = cloudProxyHeader('aws', 'vpce-08d2bf15fac5001c9', CLIENT, ENDPOINT);
    bad[12] = 0x2f;
    expect(await rawGet('/readyz', bad)).toBe('');
    expect((await get('/healthz')).status).toBe(200);
  });

  test('GIVEN shutdown begins THEN /readyz fails at once while /healthz still answers', async () => {
    const done = gw.gateway.shutdown();
    expect((await get('/readyz')).status).toBe(503);
    expect((await get('/healthz')).status).toBe(200);
    await done;
  });
});

describe('health listener limits', () => {
  const handlers = { isLive: () => true, isReady: () => true, metrics: async () => ({ contentType: 'text/plain', body: '' }) };

  async function withHealth(limits: ConstructorParameters<typeof HealthServer>[1], body: (port: number) => Promise<void>) {
    const health = new HealthServer(handlers, limits);
    const { port } = await health.listen(0, '127.0.0.1');
    try {
      await body(port);
    } finally {
      await health.close();
    }
  }

  /** Sends `bytes` one byte every `gapMs`; resolves with how many were sent when the server closed, or null if all were sent first. */
  function trickle(port: number, bytes: Buffer, gapMs: number): Promise<number | null> {
    return new Promise((resolve) => {
      let sent = 0;
      let closed = false;
      const s = connect({ host: '127.0.0.1', port });
      s.on('error', () => undefined);
      s.on('data', () => undefined);
      s.on('close', () => {
        closed = true;
        resolve(sent);
      });
      s.on('connect', () => {
        const timer = setInterval(() => {
          if (closed) return clearInterval(timer);
          if (sent === bytes.length) {
            clearInterval(timer);
            s.destroy();
            return resolve(null);
          }
          s.write(bytes.subarray(sent, ++sent));
        }, gapMs);
      });
    });
  }

  // A byte every 200 ms (the attack sends one every 4 s: an idle timer never fires), for over 10 s.
  const slowRequest = Buffer.from(`GET /healthz HTTP/1.1\r\nHost: probe\r\nX-Pad: ${'a'.repeat(10)}\r\n\r\n`);
  const slowHeader = Buffer.concat([encodeProxyHeader({ command: 'LOCAL' }).subarray(0, 14), Buffer.from([0x00, 0x28]), Buffer.alloc(0x28)]);

  test.each([
    ['an HTTP request', slowRequest],
    ['a 56-byte PROXY header', slowHeader],
  ])('GIVEN a 500 ms request deadline WHEN a client trickles %s a byte at a time THEN the server closes it before it is done', async (_name, bytes) => {
    await withHealth({ requestDeadlineMs: 500 }, async (port) => {
      expect(bytes.length * 200).toBeGreaterThan(10_000);
      const sentWhenClosed = await trickle(port, bytes, 200);
      // THEN closed by the server (not null: the client never got to the end), after a few bytes
      expect(sentWhenClosed).not.toBeNull();
      expect(sentWhenClosed!).toBeLessThan(bytes.length);
    });
  }, 30_000);

  const probe = Buffer.from('GET /healthz HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n');

  /** One /healthz probe on a new connection: its status, or 0 when closed without an answer. */
  function probeStatus(port: number): Promise<number> {
    return new Promise((resolve) => {
      let text = '';
      const s = connect({ host: '127.0.0.1', port }, () => s.write(probe));
      s.setEncoding('latin1').on('data', (d: string) => (text += d));
      s.on('error', () => undefined);
      s.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
    });
  }

  test.each([
    ['silent connections', Buffer.alloc(0)],
    ['connections part-way through a request', slowRequest.subarray(0, 20)],
  ])('GIVEN a cap of 4 held by %s, re-opened as they close WHEN the load balancer probes THEN every probe is answered 200', async (_name, opening) => {
    await withHealth({ maxConnections: 4, requestDeadlineMs: 60_000, firstByteDeadlineMs: 60_000 }, async (port) => {
      // GIVEN every slot taken by an attacker that re-opens each connection the server closes
      const attacker = await holdReopening(port, 4, opening);
      try {
        // WHEN 20 probes arrive one after another
        const statuses: number[] = [];
        for (let i = 0; i < 20; i++) statuses.push(await probeStatus(port));
        // THEN all are answered: each pushed out the oldest held connection instead of being refused
        process.stdout.write(`health cap 4 held by ${_name}: ${statuses.filter((s) => s === 200).length}/20 probes answered 200, attacker re-opened ${attacker.reopened()}\n`);
        expect(statuses).toEqual(Array(20).fill(200));
        expect(attacker.reopened()).toBeGreaterThan(0);
      } finally {
        attacker.stop();
      }
    });
  }, 30_000);

  test('GIVEN a 200 ms first-byte deadline and a 60 s request deadline WHEN a client connects and sends nothing THEN the server closes it', async () => {
    await withHealth({ requestDeadlineMs: 60_000, firstByteDeadlineMs: 200 }, async (port) => {
      // THEN closed by the server long before the request deadline (openAndHold gives up after 10 s)
      expect((await openAndHold(port, Buffer.alloc(0), { timeoutMs: 10_000 })).outcome).toBe('closed');
      // THEN a probe that speaks at once is not affected
      expect(await probeStatus(port)).toBe(200);
    });
  });

  test('GIVEN a cap of 2 WHEN both connections are being answered THEN a third is closed at once, and probes work again once the answers are out', async () => {
    let release: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const health = new HealthServer(
      { ...handlers, metrics: async () => (await slow, { contentType: 'text/plain', body: 'm\n' }) },
      { maxConnections: 2, requestDeadlineMs: 20_000 },
    );
    const { port } = await health.listen(0, '127.0.0.1');
    try {
      // GIVEN two /metrics requests whose answers are still being prepared
      const scrape = Buffer.from('GET /metrics HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n');
      const scrapes = [1, 2].map(() => openAndHold(port, scrape, { timeoutMs: 10_000 }));
      await waitFor(() => health.connections().answering === 2, 5000, 'two answers pending');
      // THEN a third is closed without an answer: the cap still bounds the connections
      expect(await probeStatus(port)).toBe(0);
      // THEN once the answers are out, probes are answered again
      release();
      expect((await Promise.all(scrapes)).map((s) => s.outcome)).toEqual(['answered', 'answered']);
      await waitFor(async () => (await probeStatus(port)) === 200, 5000, 'a probe answered');
    } finally {
      await health.close();
    }
  });
});
