/** http mode settings: what validation and the certificate loader refuse, and why. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateStore } from '../../../lib/gateway/http/certificates';
import { validateGatewayConfig } from '../../../lib/tenants/validate';
import { makeCertificate } from '../../helpers/http';
import { describeWithPeer } from '../../helpers/peers';

const base = {
  listeners: { privateLink: { port: 8443, mode: 'http' }, health: { port: 8080 } },
  upstreams: { default: { host: 'app.internal', port: 80 } },
  tenants: [{ name: 'megacorp', hostnames: ['megacorp.example.com'], allow: { aws: ['vpce-08d2bf15fac5001c9'] } }],
};

describe('http mode config', () => {
  test('GIVEN a listener in http mode WHEN there is no http section THEN validation says certificates are needed', () => {
    const r = validateGatewayConfig(base);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.issues).toEqual([{ path: 'http', message: 'listeners.privateLink.mode is "http": an `http` section with certificates is required' }]);
  });

  test('GIVEN an unknown mode or tenantFrom THEN each is refused with the allowed values', () => {
    const r = validateGatewayConfig({
      ...base,
      listeners: { privateLink: { port: 8443, mode: 'l7' }, health: { port: 8080 } },
      http: { certificates: [{ certFile: 'a.pem', keyFile: 'a.key' }], tenantFrom: 'cookie' },
    });
    expect(!r.ok && r.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'listeners.privateLink.mode: mode must be "tcp" or "http", got "l7"',
      'http.tenantFrom: tenantFrom must be "host", "pathPrefix" or { header: NAME }, got "cookie"',
    ]);
  });

  test('GIVEN the defaults THEN tcp mode, tenant from host, and the documented timeouts', () => {
    const r = validateGatewayConfig({ ...base, listeners: { privateLink: { port: 8443 }, health: { port: 8080 } }, http: { certificates: [{ certFile: 'a', keyFile: 'b' }] } });
    expect(r.ok && r.value.listeners.privateLink.mode).toBe('tcp');
    expect(r.ok && r.value.http).toEqual({
      certificates: [{ certFile: 'a', keyFile: 'b' }],
      tenantFrom: 'host',
      timeouts: { headersMs: 10_000, idleMs: 60_000, requestMs: 300_000 },
      revokeGraceMs: 5_000,
    });
  });
});

describeWithPeer('openssl', 'http certificates', () => {
  test('GIVEN a key of another certificate THEN loading names both files and the mismatch', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'linkgate-certs-'));
    const a = await makeCertificate(dir, 'a', ['a.example.com']);
    const b = await makeCertificate(dir, 'b', ['b.example.com']);
    expect(() => CertificateStore.load({ certificates: [{ certFile: a.certFile, keyFile: b.keyFile }] })).toThrow(
      `http certificate ${a.certFile} with key ${b.keyFile}: the key does not belong to the certificate`,
    );
  });

  test('GIVEN two certificates THEN the SNI picks the one whose SANs cover it (wildcards one label deep), else the first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'linkgate-certs-'));
    const a = await makeCertificate(dir, 'a', ['a.example.com']);
    const w = await makeCertificate(dir, 'w', ['*.tenants.example.com']);
    const store = CertificateStore.load({ certificates: [a, w] });
    expect(store.select('x.tenants.example.com').certFile).toBe(w.certFile);
    expect(store.select('y.x.tenants.example.com').certFile).toBe(a.certFile);
    expect(store.select(null).certFile).toBe(a.certFile);
  });
});
