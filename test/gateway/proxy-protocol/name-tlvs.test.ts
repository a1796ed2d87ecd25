/**
 * The name TLVs of linkgate's header to the upstream: PP2_TYPE_AUTHORITY (0x02, the SNI) and the
 * tenant in a custom type. One codec: the same decoder reads the clouds' headers and ours.
 */
import {
  authorityTlv,
  decodeProxyHeader,
  encodeProxyHeader,
  linkIdTlv,
  proxyHeaderReader,
  tenantTlv,
} from '../../../lib/gateway/proxy-protocol';
import { annotated, splits } from '../../helpers/bytes';

const source = { address: '198.51.100.77', port: 40001 };
const destination = { address: '10.0.0.10', port: 8443 };

describe('AUTHORITY and tenant TLVs', () => {
  test('GIVEN the byte-annotated header the gateway writes upstream THEN the decoder reads the link ID, SNI and tenant', () => {
    const header = annotated(
      ['0d0a0d0a000d0a515549540a', 'signature'],
      ['21 11 0032', 'PROXY, TCP over IPv4, 50 bytes follow'],
      ['c633644d 0a00000a 9c41 20fb', '198.51.100.77 → 10.0.0.10, 40001 → 8443'],
      ['ee 0005 01 c1450021', 'Azure link ID 553665985'],
      ['02 0010 612e6d656761636f72702e6c6f63616c', 'AUTHORITY "a.megacorp.local"'],
      ['e1 0008 6d65676163 6f7270', 'tenant (0xE1) "megacorp"'],
    );
    expect(encodeProxyHeader({ source, destination, tlvs: [linkIdTlv('azure', '553665985'), authorityTlv('a.megacorp.local'), tenantTlv(0xe1, 'megacorp')] })).toEqual(header);
    const step = decodeProxyHeader(header, { tenantTlvType: 0xe1 });
    expect(step).toMatchObject({
      status: 'done',
      value: { link: { cloud: 'azure', linkId: '553665985' }, authority: 'a.megacorp.local', tenant: 'megacorp', crc32c: 'absent' },
    });
  });

  test('GIVEN the header split at every offset THEN the incremental reader gives the same names', () => {
    const header = encodeProxyHeader({ source, destination, tlvs: [authorityTlv('büro.example.com'), tenantTlv(0xe7, 'initech')], crc32c: true });
    for (const parts of splits(header)) {
      const reader = proxyHeaderReader({ tenantTlvType: 0xe7 });
      let result: ReturnType<typeof reader.feed> | undefined;
      for (const p of parts) if (p.length) result = reader.feed(p);
      expect(result).toMatchObject({ status: 'done', value: { authority: 'büro.example.com', tenant: 'initech', crc32c: 'valid' } });
    }
  });

  test('GIVEN no tenantTlvType option THEN the tenant TLV is listed like any unknown TLV and tenant is null', () => {
    const header = encodeProxyHeader({ source, destination, tlvs: [tenantTlv(0xe1, 'megacorp')] });
    const step = decodeProxyHeader(header);
    expect(step).toMatchObject({ status: 'done', value: { tenant: null, authority: null, tlvs: [{ type: 0xe1 }] } });
  });

  test.each([
    ['AUTHORITY that is not UTF-8', [{ type: 0x02, value: Buffer.from([0x61, 0xc3, 0x28]) }], 'bad_authority_tlv'],
    ['an empty AUTHORITY', [{ type: 0x02, value: Buffer.alloc(0) }], 'bad_authority_tlv'],
    ['two AUTHORITY TLVs', [authorityTlv('a.example.com'), authorityTlv('b.example.com')], 'bad_authority_tlv'],
    ['an AUTHORITY with a newline', [authorityTlv('a.example.com\nx')], 'bad_authority_tlv'],
    ['two tenant TLVs', [tenantTlv(0xe1, 'a'), tenantTlv(0xe1, 'b')], 'bad_tenant_tlv'],
    ['a tenant that is not UTF-8', [{ type: 0xe1, value: Buffer.from([0xff]) }], 'bad_tenant_tlv'],
  ])('GIVEN %s THEN the header is refused with one error code', (_what, tlvs, code) => {
    const step = decodeProxyHeader(encodeProxyHeader({ source, destination, tlvs }), { tenantTlvType: 0xe1 });
    expect(step).toMatchObject({ status: 'error', code, message: expect.stringMatching(code === 'bad_authority_tlv' ? /AUTHORITY TLV \(0x02\)/ : /tenant TLV/) });
  });
});
