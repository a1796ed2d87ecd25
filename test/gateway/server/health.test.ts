/** The health listener answers load balancer probes, with or without a leading PROXY v2 header. */
import { request } from 'node:http';
import { connect } from 'node:net';
import { cloudProxyHeader, encodeProxyHeader } from '../../../lib/gateway/proxy-protocol/encoder';
import { CLIENT, ENDPOINT } from '../../helpers/bytes';
import { startTestGateway, type TestGateway } from '../../helpers/gateway';
import { startEchoServer, type TestServer } from '../../helpers/sockets';

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
