/**
 * Real TLS clients — openssl s_client and curl — through simulated AWS, Azure and GCP edges into the
 * gateway and on to a real HTTPS upstream. The gateway never terminates TLS: the certificate the
 * clients verify is the upstream's.
 */
import { join } from 'node:path';
import { DEMO_TLS_DIR } from '../../examples/demo/upstream';
import { describeWithPeer, runPeer } from '../helpers/peers';
import { startLocalStack, type LocalStack } from '../helpers/stack';

const CA = join(DEMO_TLS_DIR, 'ca.crt');
const AWS_OWN = 'vpce-08d2bf15fac5001c9';
const AWS_OTHER = 'vpce-0000000000000000a';
const AZURE = '553665985';
const GCP = '18446744072646845442';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack(
    {
      tenants: [
        { name: 'megacorp', hostnames: ['megacorp.api.example.com', '*.megacorp.example.com'], allow: { aws: [AWS_OWN], azure: [AZURE], gcp: [GCP] } },
      ],
    },
    [
      { cloud: 'aws', linkId: AWS_OWN },
      { cloud: 'aws', linkId: AWS_OTHER },
      { cloud: 'azure', linkId: AZURE },
      { cloud: 'gcp', linkId: GCP },
    ],
  );
});
afterAll(async () => stack?.close());

describeWithPeer('curl', 'curl --resolve through each cloud edge', () => {
  const curl = (host: string, port: number) =>
    runPeer('curl', ['-sS', '--max-time', '10', '--cacert', CA, '--resolve', `${host}:${port}:127.0.0.1`, `https://${host}:${port}/hello`]);

  test.each([
    ['aws', AWS_OWN],
    ['azure', AZURE],
    ['gcp', GCP],
  ] as const)('GIVEN the tenant’s own %s endpoint THEN curl gets the upstream’s answer over verified TLS', async (cloud, id) => {
    const r = await curl('megacorp.api.example.com', stack.edgePort(cloud, id));
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ upstream: 'demo', servername: 'megacorp.api.example.com', path: '/hello' });
  });

  test('GIVEN another customer’s endpoint THEN curl’s connection is closed during the handshake', async () => {
    const r = await curl('megacorp.api.example.com', stack.edgePort('aws', AWS_OTHER));
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe('');
    const d = await stack.gw.waitForDecision((x) => x.linkId === AWS_OTHER);
    expect(d).toMatchObject({ verdict: 'drop', reason: 'link_id_not_allowed', tenant: 'megacorp' });
  });
});

describeWithPeer('openssl', 'openssl s_client through each cloud edge', () => {
  const sClient = (servername: string, port: number) =>
    runPeer('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', servername, '-CAfile', CA, '-verify_return_error', '-brief', '-ign_eof'], {
      input: 'GET /openssl HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    });

  test.each([
    ['azure', AZURE, 'shop.megacorp.example.com'],
    ['gcp', GCP, 'megacorp.api.example.com'],
  ] as const)('GIVEN %s THEN the handshake verifies the upstream certificate and the request is answered', async (cloud, id, name) => {
    const r = await sClient(name, stack.edgePort(cloud, id));
    expect(r.status).toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(/Verification: OK/);
    expect(r.stdout).toContain(`"servername":"${name}"`);
  });

  test('GIVEN an unknown hostname THEN openssl sees the connection closed before any certificate', async () => {
    const r = await sClient('nobody.example.com', stack.edgePort('gcp', GCP));
    expect(r.status).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/Verification: OK/);
    await stack.gw.waitForDecision((x) => x.hostname === 'nobody.example.com' && x.reason === 'unknown_host');
  });

  test('GIVEN the gateway saw openssl’s real ClientHello THEN the SNI and link ID were read from it', async () => {
    const d = await stack.gw.waitForDecision((x) => x.hostname === 'shop.megacorp.example.com');
    expect(d).toMatchObject({ verdict: 'forward', cloud: 'azure', linkId: AZURE, tenant: 'megacorp' });
  });
});
