/**
 * HAProxy (Debian's package) on both sides of the gateway:
 *  - as a PROXY v2 sender (send-proxy-v2, with CRC32C and unique-id TLVs) in front of the gateway's
 *    private-link listener: our decoder reads a real implementation's headers;
 *  - as a PROXY v2 receiver (accept-proxy) upstream of the gateway: a real implementation reads our
 *    encoder's headers and logs the original client address they carry.
 */
import { join } from 'node:path';
import { DEMO_TLS_DIR, startDemoUpstream, type DemoUpstream } from '../../examples/demo/upstream';
import { cloudProxyHeader } from '../../lib/gateway/proxy-protocol/encoder';
import { startHAProxy, type HAProxy } from '../helpers/haproxy';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { describeWithPeer, runPeer } from '../helpers/peers';
import { closedPort, httpsThrough, waitFor } from '../helpers/sockets';

const CA = join(DEMO_TLS_DIR, 'ca.crt');

describeWithPeer('haproxy', 'HAProxy as a PROXY v2 sender into the gateway', () => {
  let upstream: DemoUpstream;
  let gw: TestGateway;
  let haproxy: HAProxy;
  let frontPort: number;

  beforeAll(async () => {
    upstream = await startDemoUpstream();
    gw = await startTestGateway({
      upstreams: { default: { host: '127.0.0.1', port: upstream.port } },
      tenants: [
        { name: 'open', hostnames: ['open.example.com'], open: true },
        { name: 'locked', hostnames: ['locked.megacorp.example.com'], allow: { aws: ['vpce-08d2bf15fac5001c9'] } },
      ],
    });
    frontPort = await closedPort();
    haproxy = await startHAProxy(
      `frontend front
  bind 127.0.0.1:${frontPort}
  default_backend gateway

backend gateway
  server gw 127.0.0.1:${gw.privateLinkPort} send-proxy-v2 proxy-v2-options crc32c,unique-id
  unique-id-format %{+X}o%ci:%cp`,
      frontPort,
    );
  });
  afterAll(async () => {
    await haproxy?.stop();
    await gw?.close();
    await upstream?.close();
  });

  test('GIVEN curl through HAProxy THEN the gateway reads HAProxy’s header (CRC32C verified) and forwards an open tenant', async () => {
    const r = await runPeer('curl', ['-sS', '--max-time', '10', '--cacert', CA, '--resolve', `open.example.com:${frontPort}:127.0.0.1`, `https://open.example.com:${frontPort}/via-haproxy`]);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({ servername: 'open.example.com', path: '/via-haproxy' });
    const d = await gw.waitForDecision((x) => x.hostname === 'open.example.com');
    // HAProxy reports the real client, 127.0.0.1 with curl's port, and writes no link ID.
    expect(d).toMatchObject({ verdict: 'forward', linkId: null, source: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
  });

  test('GIVEN a restricted tenant THEN a header without a cloud link ID is refused (no_link_id)', async () => {
    const outcome = await httpsThrough(frontPort, 'locked.megacorp.example.com');
    expect(outcome.ok).toBe(false);
    await gw.waitForDecision((x) => x.hostname === 'locked.megacorp.example.com' && x.reason === 'no_link_id');
  });
});

describeWithPeer('haproxy', 'HAProxy as a PROXY v2 receiver upstream of the gateway', () => {
  let upstream: DemoUpstream;
  let gw: TestGateway;
  let haproxy: HAProxy;

  beforeAll(async () => {
    upstream = await startDemoUpstream();
    const acceptPort = await closedPort();
    haproxy = await startHAProxy(
      `frontend accept
  bind 127.0.0.1:${acceptPort} accept-proxy
  log-format "seen client=%ci:%cp frontend_dst=%fi:%fp"
  default_backend app

backend app
  server app 127.0.0.1:${upstream.port}`,
      acceptPort,
    );
    gw = await startTestGateway({
      upstreams: { default: { host: '127.0.0.1', port: acceptPort, proxyProtocol: true } },
      tenants: [{ name: 'megacorp', hostnames: ['megacorp.api.example.com'], allow: { gcp: ['18446744072646845442'] } }],
    });
  });
  afterAll(async () => {
    await gw?.close();
    await haproxy?.stop();
    await upstream?.close();
  });

  test('GIVEN a GCP client WHEN the gateway forwards with proxyProtocol THEN HAProxy accepts our header and logs the original client and destination', async () => {
    const header = cloudProxyHeader('gcp', '18446744072646845442', { address: '198.51.100.77', port: 40001 }, { address: '10.0.0.10', port: 443 });
    const outcome = await httpsThrough(gw.privateLinkPort, 'megacorp.api.example.com', header);
    expect(outcome.ok).toBe(true);
    expect(JSON.parse(outcome.body!)).toMatchObject({ servername: 'megacorp.api.example.com' });
    await waitFor(() => haproxy.output().includes('seen client='), 5000, 'an HAProxy log line');
    expect(haproxy.output()).toContain('seen client=198.51.100.77:40001 frontend_dst=10.0.0.10:443');
  });
});
