/**
 * linkgate/upstream on its own, over real sockets on 127.0.0.1: what it accepts (the gateway's
 * PROXY header naming a known tenant, then the untouched stream) and what it refuses before the
 * server sees a byte. The whole path through simulate and the gateway is in fronting.test.ts.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttp2Server } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { DEMO_TLS_DIR, demoCa } from '../../examples/demo/upstream';
import { authorityTlv, encodeProxyHeader, linkIdTlv, tenantTlv } from '../../lib/gateway/proxy-protocol/encoder';
import { ConfigValidationError } from '../../lib/tenants/validate';
import { LinkgateUpstream, TenantHostnames, authorityHostname, linkgateInfo, type Refusal } from '../../lib/upstream';
import { sendRaw, waitFor } from '../helpers/sockets';

const TENANTS = { shop: ['shop.example.com'], megacorp: ['megacorp.example.com', '*.megacorp.example.com'] };
const SOURCE = { address: '198.51.100.77', port: 40001 };
const DEST = { address: '10.0.0.10', port: 8443 };

/** The header the gateway writes upstream for `tenant` reached as `sni`. */
const gatewayHeader = (tenant: string, sni: string | null, type = 0xe1) =>
  encodeProxyHeader({
    source: SOURCE,
    destination: DEST,
    tlvs: [linkIdTlv('azure', '553665985'), ...(sni ? [authorityTlv(sni)] : []), tenantTlv(type, tenant)],
    crc32c: true,
  });

const request = (host: string, path = '/') => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`;

describe('linkgate/upstream guarding a plain http server', () => {
  let server: HttpServer;
  let gate: LinkgateUpstream;
  let port: number;
  const refusals: Refusal[] = [];

  beforeAll(async () => {
    server = createHttpServer((req, res) => {
      res.end(`${JSON.stringify({ host: req.headers.host, info: linkgateInfo(req) })}\n`);
    });
    gate = new LinkgateUpstream(server, { tenants: TENANTS, headerTimeoutMs: 500 });
    gate.on('refused', (r: Refusal) => refusals.push(r));
    port = (await gate.listen(0, '127.0.0.1')).port;
  });
  afterAll(async () => gate.close());

  test('GIVEN the header and two requests in one write THEN the bytes after the header reach the server: 421 for the other tenant, 200 for its own', async () => {
    // GIVEN a connection the gateway decided for "shop"
    const bytes = Buffer.concat([gatewayHeader('shop', 'shop.example.com'), Buffer.from(request('megacorp.example.com') + request('SHOP.example.com.:8443', '/own'))]);
    // WHEN both requests arrive on it
    const seen = await sendRaw(port, [bytes], { waitMs: 1500 });
    const text = seen.data.toString('utf8');
    // THEN the fronted one is refused and the own one served, in order, on the same connection
    expect(text).toMatch(/^HTTP\/1\.1 421 Misdirected Request\r\n/);
    expect(text.indexOf('HTTP/1.1 200 OK')).toBeGreaterThan(text.indexOf('421'));
    const body = JSON.parse(text.slice(text.lastIndexOf('\r\n\r\n') + 4));
    expect(body).toEqual({
      host: 'SHOP.example.com.:8443',
      info: { tenant: 'shop', hostname: 'shop.example.com', cloud: 'azure', linkId: '553665985', source: SOURCE },
    });
    expect(text).not.toContain('"host":"megacorp.example.com"');
  });

  test('GIVEN a wildcard tenant THEN any one-label name under it is its own, and a sibling tenant’s exact name is not', async () => {
    const bytes = Buffer.concat([gatewayHeader('megacorp', 'a.megacorp.example.com'), Buffer.from(request('b.megacorp.example.com') + request('shop.example.com'))]);
    const text = (await sendRaw(port, [bytes], { waitMs: 1500 })).data.toString('utf8');
    expect(text.match(/^HTTP\/1\.1 \d{3}/gm)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 421']);
  });

  const withRequest = (header: Buffer) => Buffer.concat([header, Buffer.from(request('shop.example.com'))]);
  const badCrc = () => {
    const h = gatewayHeader('shop', 'shop.example.com');
    h[h.length - 1]! ^= 1; // the last byte of the tenant name: covered by the checksum
    return h;
  };

  test.each([
    ['no PROXY header', Buffer.from(request('shop.example.com')), 'no_proxy_header', /not_proxy_v2/],
    ['a header with a wrong CRC32C', withRequest(badCrc()), 'bad_proxy_header', /bad_crc/],
    ['a header without the tenant TLV', withRequest(encodeProxyHeader({ source: SOURCE, destination: DEST, tlvs: [authorityTlv('shop.example.com')] })), 'no_tenant', /no tenant TLV 0xe1/],
    ['a tenant in another TLV type', withRequest(gatewayHeader('shop', 'shop.example.com', 0xe2)), 'no_tenant', /no tenant TLV/],
    ['a LOCAL header', withRequest(encodeProxyHeader({ command: 'LOCAL' })), 'no_tenant', /LOCAL/],
    ['an unknown tenant', withRequest(gatewayHeader('initech', 'initech.example.com')), 'unknown_tenant', /"initech" is not among the tenants/],
    ['half a header, then silence', gatewayHeader('shop', 'shop.example.com').subarray(0, 20), 'header_timeout', /within 500 ms/],
    ['half a header, then FIN', gatewayHeader('shop', 'shop.example.com').subarray(0, 20), 'client_closed', /closed before a complete PROXY header/, true],
  ])('GIVEN %s THEN the connection is destroyed unserved and counted', async (_what, bytes, reason, detail, end = false) => {
    const before = gate.counts[reason as Refusal['reason']];
    const seen = await sendRaw(port, [bytes], { waitMs: 5000, end });
    expect(seen.closed).toBe(true);
    expect(seen.data.length).toBe(0);
    expect(gate.counts[reason as Refusal['reason']]).toBe(before + 1);
    expect(refusals.at(-1)).toMatchObject({ reason, detail: expect.stringMatching(detail), remoteAddress: '127.0.0.1' });
  });

  test('GIVEN a header larger than maxHeaderBytes THEN it is refused after a bounded read', async () => {
    const big = encodeProxyHeader({ tlvs: [{ type: 0x04, value: Buffer.alloc(5000) }] });
    const seen = await sendRaw(port, [big], { waitMs: 3000 });
    expect(seen).toMatchObject({ closed: true });
    expect(refusals.at(-1)).toMatchObject({ reason: 'bad_proxy_header', detail: expect.stringMatching(/too_large/) });
  });

  test('GIVEN the server also listens by itself THEN a connection it accepts directly is refused, not served', async () => {
    const direct = createHttpServer(() => undefined);
    const sneaky = new LinkgateUpstream(direct, { tenants: TENANTS });
    const refused = once(sneaky, 'refused');
    await new Promise<void>((resolve) => direct.listen(0, '127.0.0.1', resolve));
    try {
      const seen = await sendRaw((direct.address() as { port: number }).port, [Buffer.from(request('shop.example.com'))], { waitMs: 3000 });
      expect(seen).toMatchObject({ closed: true, data: Buffer.alloc(0) });
      expect((await refused)[0]).toMatchObject({ reason: 'not_via_linkgate' });
    } finally {
      direct.close();
    }
  });
});

describe('linkgate/upstream guarding an https server', () => {
  test('GIVEN a TLS client whose SNI is not the one the gateway decided on THEN the connection is refused (sni_mismatch)', async () => {
    const tls = { key: readFileSync(join(DEMO_TLS_DIR, 'server.key')), cert: readFileSync(join(DEMO_TLS_DIR, 'server.crt')) };
    const gate = new LinkgateUpstream(createHttpsServer(tls, (_req, res) => res.end('served')), { tenants: TENANTS });
    const refusals: Refusal[] = [];
    gate.on('refused', (r: Refusal) => refusals.push(r));
    const { port } = await gate.listen(0, '127.0.0.1');
    try {
      // The gateway's header goes first on the raw TCP stream, then the TLS client speaks.
      const via = (sni: string, decided: string) =>
        new Promise<string>((resolve) => {
          const raw = connect({ host: '127.0.0.1', port }, () => {
            raw.write(gatewayHeader('shop', decided));
            const socket = tlsConnect({ socket: raw, servername: sni, ca: demoCa(), checkServerIdentity: () => undefined }, () => socket.write(`GET / HTTP/1.1\r\nHost: ${decided}\r\nConnection: close\r\n\r\n`));
            let text = '';
            socket.on('data', (d) => (text += d.toString()));
            socket.on('error', (e) => resolve(`error ${(e as NodeJS.ErrnoException).code ?? e.message}`));
            socket.on('close', () => resolve(text));
          });
          raw.on('error', () => undefined);
        });
      expect(await via('shop.example.com', 'shop.example.com')).toMatch(/^HTTP\/1\.1 200[\s\S]*served$/);
      expect(await via('megacorp.example.com', 'shop.example.com')).not.toContain('served');
      await waitFor(() => refusals.find((r) => r.reason === 'sni_mismatch'));
      expect(refusals.find((r) => r.reason === 'sni_mismatch')!.detail).toBe('TLS SNI "megacorp.example.com" is not the gateway\'s "shop.example.com"');
    } finally {
      await gate.close();
    }
  });
});

describe('TenantHostnames and authorityHostname', () => {
  test('GIVEN hostnames in the gateway’s form THEN ownership follows the gateway’s rule: exact beats wildcard, one label per wildcard', () => {
    const hosts = TenantHostnames.fromMap({ a: ['*.example.com'], b: ['b.example.com'] });
    expect(hosts.tenantOf('x.example.com')).toBe('a');
    expect(hosts.tenantOf('B.Example.COM.')).toBe('b');
    expect(hosts.tenantOf('x.y.example.com')).toBeNull();
    expect(hosts.tenantOf('example.com')).toBeNull();
    expect(TenantHostnames.fromMap({ a: ['a.example.com'], d: ['d.example.com'] }, { defaultTenant: 'd' }).tenantOf('other.test')).toBe('d');
  });

  test('GIVEN a hostname claimed twice, a cloud’s TLV type or an h2c server THEN construction fails saying why', () => {
    expect(() => TenantHostnames.fromMap({ a: ['x.example.com'], b: ['X.example.com'] })).toThrow(ConfigValidationError);
    expect(() => TenantHostnames.fromMap({ a: ['x.example.com'], b: ['X.example.com'] })).toThrow(/"x.example.com" is claimed by tenants "a".*and "b"/);
    expect(() => new LinkgateUpstream(createHttpServer(), { tenants: TENANTS, tenantTlvType: 0xea })).toThrow(/0xEA is the AWS link-ID TLV/);
    expect(() => new LinkgateUpstream(createHttp2Server() as never, { tenants: TENANTS })).toThrow(/h2c\) is not supported/);
  });

  test.each([
    ['Shop.Example.com:443', 'shop.example.com'],
    ['shop.example.com.', 'shop.example.com'],
    ['[::1]:8443', '[::1]'],
    ['', null],
    [undefined, null],
  ])('GIVEN Host %p THEN the hostname compared is %p', (authority, host) => {
    expect(authorityHostname(authority)).toBe(host);
  });
});
