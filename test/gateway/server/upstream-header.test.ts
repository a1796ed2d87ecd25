/**
 * With `proxyProtocol: true` the gateway tells the upstream what it decided: the link ID, the SNI as
 * PP2_TYPE_AUTHORITY (0x02) and the tenant in the upstream's custom TLV type, with a CRC32C. The
 * service needs the tenant to refuse requests for other tenants' hostnames (421).
 */
import { connect, type Socket } from 'node:net';
import { decodeProxyHeader } from '../../../lib/gateway/proxy-protocol/decoder';
import { buildClientHello } from '../../../lib/gateway/tls/build-client-hello';
import { privateLinkParts } from '../../helpers/bytes';
import { startTestGateway, type TestGateway } from '../../helpers/gateway';
import { startTcpServer, waitFor, type TestServer } from '../../helpers/sockets';

const OWN = 'vpce-08d2bf15fac5001c9';

let captured: Buffer[] = [];
let capture: TestServer;
let gw: TestGateway;
const clients: Socket[] = [];

beforeAll(async () => {
  capture = await startTcpServer((s) => s.on('data', (d) => captured.push(d)));
  gw = await startTestGateway({
    upstreams: {
      default: { host: '127.0.0.1', port: capture.port, proxyProtocol: true },
      custom: { host: '127.0.0.1', port: capture.port, proxyProtocol: true, tenantTlvType: 0xe7 },
    },
    tenants: [
      { name: 'megacorp', hostnames: ['*.megacorp.example.com'], allow: { aws: [OWN] } },
      { name: 'initech', hostnames: ['initech.example.com'], upstream: 'custom', allow: { cidrs: ['127.0.0.1'] } },
      { name: 'fallback', hostnames: ['fallback.example.com'], allow: { cidrs: ['127.0.0.1'] } },
    ],
    defaultTenant: 'fallback',
  });
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await gw?.close();
  await capture?.close();
});

/** Sends `opening` to `port` and returns the PROXY header the upstream received and what followed it. */
async function upstreamSees(port: number, opening: Buffer, tenantTlvType: number) {
  captured = [];
  const socket = connect({ port, host: '127.0.0.1' }, () => socket.write(opening));
  socket.on('error', () => undefined);
  clients.push(socket);
  const step = await waitFor(() => {
    const s = decodeProxyHeader(Buffer.concat(captured), { tenantTlvType });
    return s.status === 'done' ? s : undefined;
  });
  return { header: step.value, rest: Buffer.concat(captured).subarray(step.length) };
}

describe('the PROXY header sent upstream', () => {
  test('GIVEN an allowed private-link connection THEN the upstream gets CRC32C, link ID, AUTHORITY = the SNI and the tenant in 0xE1, then the hello', async () => {
    // GIVEN a client that wrote its SNI in mixed case with a trailing dot
    const { hello, opening } = privateLinkParts('aws', OWN, 'WWW.Megacorp.Example.com.');
    // WHEN the gateway forwards it
    const { header, rest } = await upstreamSees(gw.privateLinkPort, opening, 0xe1);
    // THEN the header names what was decided, in the order it is written
    expect(header.tlvs.map((t) => t.type)).toEqual([0x03, 0xea, 0x02, 0xe1]);
    expect(header).toMatchObject({
      crc32c: 'valid',
      link: { cloud: 'aws', linkId: OWN },
      authority: 'www.megacorp.example.com',
      tenant: 'megacorp',
    });
    expect(rest.equals(hello)).toBe(true);
  });

  test('GIVEN an upstream with tenantTlvType 0xE7 THEN the tenant travels in 0xE7 (a reader of 0xE1 sees none)', async () => {
    const { header } = await upstreamSees(gw.publicPort, buildClientHello({ serverName: 'initech.example.com' }), 0xe7);
    expect(header).toMatchObject({ authority: 'initech.example.com', tenant: 'initech', link: null });
    expect(header.tlvs.map((t) => t.type)).toEqual([0x03, 0x02, 0xe7]);
    const asDefault = decodeProxyHeader(Buffer.concat(captured), { tenantTlvType: 0xe1 });
    expect(asDefault).toMatchObject({ status: 'done', value: { tenant: null } });
  });

  test('GIVEN no SNI and a defaultTenant THEN there is no AUTHORITY TLV and the tenant is the default one', async () => {
    const { header } = await upstreamSees(gw.publicPort, buildClientHello({ serverName: null }), 0xe1);
    expect(header).toMatchObject({ authority: null, tenant: 'fallback' });
    expect(header.tlvs.map((t) => t.type)).toEqual([0x03, 0xe1]);
  });
});
