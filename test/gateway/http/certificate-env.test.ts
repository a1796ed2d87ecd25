/**
 * http mode with the certificate in environment variables (`certEnv` / `keyEnv`), as ECS injects
 * a Secrets Manager secret: the gateway serves that certificate over a real TLS connection.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { startSimulator, type Simulator } from '../../../lib/gateway/simulate';
import { validateGatewayConfig } from '../../../lib/tenants/validate';
import { startTestGateway, type TestConfig, type TestGateway } from '../../helpers/gateway';
import { makeCertificate, startEchoUpstream, type CertificateFiles, type EchoUpstream } from '../../helpers/http';
import { describeWithPeer } from '../../helpers/peers';

jest.setTimeout(60_000);

const SHARED = 'api.shared.example.com';
const LINK = 'vpce-0aaaaaaaaaaaaaaaa';
const CERT_ENV = 'LINKGATE_TEST_HTTP_CERT_0';
const KEY_ENV = 'LINKGATE_TEST_HTTP_KEY_0';

function config(upstreamPort: number, certificates: unknown[]): TestConfig {
  return {
    listeners: { privateLink: { port: 0, host: '127.0.0.1', mode: 'http' }, health: { port: 0, host: '127.0.0.1' } },
    upstreams: { default: { host: '127.0.0.1', port: upstreamPort } },
    tenants: [{ name: 'alpha', hostnames: ['alpha.tenants.example.com'], allow: { aws: [LINK] } }],
    http: { certificates, tenantFrom: { header: 'x-tenant' } },
  } as TestConfig;
}

describeWithPeer('openssl', 'http mode: certificate from environment variables', () => {
  let files: CertificateFiles;
  let upstream: EchoUpstream;
  let gw: TestGateway | undefined;
  let sim: Simulator | undefined;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'linkgate-certenv-'));
    files = await makeCertificate(dir, 'shared', [SHARED]);
    upstream = await startEchoUpstream();
  });
  afterEach(async () => {
    await sim?.close();
    await gw?.close();
    sim = gw = undefined;
    delete process.env[CERT_ENV];
    delete process.env[KEY_ENV];
  });
  afterAll(async () => upstream?.close());

  test('GIVEN certEnv/keyEnv holding a PEM pair WHEN a client connects through the edge THEN the handshake presents that certificate and the request is served', async () => {
    process.env[CERT_ENV] = readFileSync(files.certFile, 'utf8');
    process.env[KEY_ENV] = readFileSync(files.keyFile, 'utf8');
    gw = await startTestGateway(config(upstream.port, [{ certEnv: CERT_ENV, keyEnv: KEY_ENV }]));
    sim = await startSimulator({ cloud: 'aws', linkId: LINK, listen: { host: '127.0.0.1', port: 0 }, to: { host: '127.0.0.1', port: gw.privateLinkPort } });

    const { peer, response } = await new Promise<{ peer: PeerCertificate; response: string }>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: sim!.address.port, servername: SHARED, ca: readFileSync(files.certFile) });
      let response = '';
      let peer: PeerCertificate;
      socket.setEncoding('latin1');
      socket.once('secureConnect', () => {
        peer = socket.getPeerCertificate();
        socket.write(`GET /hello HTTP/1.1\r\nHost: ${SHARED}\r\nX-Tenant: alpha\r\nConnection: close\r\n\r\n`);
      });
      socket.on('data', (d: string) => (response += d));
      socket.on('error', reject);
      socket.on('close', () => resolve({ peer, response }));
    });

    expect(peer.fingerprint256).toBe(new X509Certificate(readFileSync(files.certFile)).fingerprint256);
    expect(response).toMatch(/^HTTP\/1\.1 200 /);
    expect(response).toContain('"x-linkgate-tenant":"alpha"');
  });

  test('GIVEN certEnv naming an unset variable WHEN the gateway starts THEN it refuses with a message naming the variable', async () => {
    await expect(startTestGateway(config(upstream.port, [{ certEnv: CERT_ENV, keyEnv: KEY_ENV }]))).rejects.toThrow(
      `environment variable ${CERT_ENV} is not set or empty`,
    );
  });

  test('GIVEN a certificate with both certFile and certEnv, or half a pair THEN validation names the rule', () => {
    const base = config(1, []);
    for (const certificate of [
      { certFile: '/a.pem', keyFile: '/a.key', certEnv: CERT_ENV, keyEnv: KEY_ENV },
      { certEnv: CERT_ENV },
      { certFile: '/a.pem', keyEnv: KEY_ENV },
    ]) {
      const result = validateGatewayConfig({ ...base, listeners: { ...base.listeners, privateLink: { port: 8443, mode: 'http' }, health: { port: 8080 } }, http: { certificates: [certificate] } });
      expect(result.ok).toBe(false);
      expect(result.ok ? [] : result.issues.map((i) => i.message)).toContain('a certificate needs either certFile and keyFile, or certEnv and keyEnv');
    }
    const badName = validateGatewayConfig({ ...base, listeners: { privateLink: { port: 8443, mode: 'http' }, health: { port: 8080 } }, http: { certificates: [{ certEnv: '1BAD', keyEnv: KEY_ENV }] } });
    expect(badName.ok ? [] : badName.issues.map((i) => i.message)).toContain('expected an environment variable name like LINKGATE_CERT, got "1BAD"');
  });
});
