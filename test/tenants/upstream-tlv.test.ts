/** The upstream's tenant TLV type: a custom PROXY v2 type that no cloud uses, stated in the config. */
import { parseConfigText, validateGatewayConfig } from '../../lib/tenants';

const config = (upstream: Record<string, unknown>) => ({
  listeners: { privateLink: { port: 8443 }, health: { port: 8080 } },
  upstreams: { default: { host: 'app.internal', port: 443, proxyProtocol: true, ...upstream } },
  tenants: [{ name: 'a', hostnames: ['a.example.com'], open: true }],
});

describe('upstreams.<name>.tenantTlvType', () => {
  test('GIVEN no tenantTlvType THEN it defaults to 0xE1, a custom type no cloud writes', () => {
    const r = validateGatewayConfig(config({}));
    expect(r.ok && r.value.upstreams.default!.tenantTlvType).toBe(0xe1);
  });

  test('GIVEN YAML with tenantTlvType: 0xE5 THEN the hex literal is read as 229', () => {
    const r = parseConfigText(
      'listeners: { privateLink: { port: 8443 }, health: { port: 8080 } }\nupstreams:\n  default: { host: a, port: 443, proxyProtocol: true, tenantTlvType: 0xE5 }\ntenants: []\n',
    );
    expect(r.ok && r.value.upstreams.default!.tenantTlvType).toBe(0xe5);
  });

  test.each([
    [0xea, /tenantTlvType 0xEA is the AWS link-ID TLV; pick a type no cloud uses .*e\.g\. 0xE1/],
    [0xee, /tenantTlvType 0xEE is the AZURE link-ID TLV/],
    [0xe0, /tenantTlvType 0xE0 is the GCP link-ID TLV/],
    [0xf0, /from 0xE0 to 0xEF \(224 to 239\), got 240/],
    [0x02, /from 0xE0 to 0xEF \(224 to 239\), got 2$/],
    [225.5, /got 225.5/],
    ['0xE1', /must be a number from 0xE0 to 0xEF, got "0xE1"/],
  ])('GIVEN tenantTlvType %p THEN validation refuses it saying why', (type, message) => {
    const r = validateGatewayConfig(config({ tenantTlvType: type }));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0]!.path).toBe('upstreams.default.tenantTlvType');
    expect(r.issues[0]!.message).toMatch(message);
  });
});
