import awsVectors from '../../fixtures/pp2-aws-nlb.json';
import { cloudProxyHeader, decodeProxyHeader, encodeProxyHeader, linkIdTlv } from '../../../lib/gateway/proxy-protocol';

describe('PROXY v2 encoder', () => {
  test('GIVEN the addresses and VPCE ID of the shared AWS vector THEN the AWS-style header is byte-identical to the capture', () => {
    const vector = awsVectors[0]!;
    const header = cloudProxyHeader('aws', vector.expectLinkId, { address: '172.31.7.113', port: 51442 }, { address: '172.31.10.31', port: 80 });
    expect(header.toString('hex')).toBe(vector.hex);
  });

  test.each([
    ['azure', '553665985', 'ee000501c1450021'],
    ['gcp', '18446744072646845442', 'e00008ffffffffc0a86402'],
    ['aws', 'vpce-08d2bf15fac5001c9', 'ea001701767063652d3038643262663135666163353030316339'],
  ] as const)('GIVEN a %s link ID THEN its TLV has the cloud layout', (cloud, id, hex) => {
    const header = encodeProxyHeader({ tlvs: [linkIdTlv(cloud, id)] });
    expect(header.subarray(16).toString('hex')).toBe(hex);
  });

  test('GIVEN LOCAL THEN the header is the 16-byte fixed part with UNSPEC', () => {
    expect(encodeProxyHeader({ command: 'LOCAL' }).toString('hex')).toBe('0d0a0d0a000d0a515549540a20000000');
  });

  test('GIVEN padToLength THEN a NOOP TLV fills the header to that size and it still decodes', () => {
    const header = encodeProxyHeader({ tlvs: [linkIdTlv('azure', '1')], crc32c: true, padToLength: 128 });
    expect(header.length).toBe(128);
    expect(decodeProxyHeader(header)).toMatchObject({ status: 'done', value: { crc32c: 'valid', link: { linkId: '1' } } });
  });

  test.each([
    [() => encodeProxyHeader({ source: { address: '10.0.0.1', port: 1 } }), /both source and destination/],
    [() => encodeProxyHeader({ source: { address: '10.0.0.1', port: 1 }, destination: { address: '::1', port: 2 } }), /both be IPv4 or both IPv6/],
    [() => encodeProxyHeader({ source: { address: '10.0.0.1', port: 70000 }, destination: { address: '10.0.0.2', port: 2 } }), /port 70000/],
    [() => linkIdTlv('azure', '4294967296'), /uint32 range/],
    [() => linkIdTlv('gcp', '18446744073709551616'), /uint64 range/],
  ])('GIVEN bad input THEN it throws a clear error', (call, message) => {
    expect(call).toThrow(message);
  });
});
