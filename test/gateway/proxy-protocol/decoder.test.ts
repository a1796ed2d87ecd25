import fc from 'fast-check';
import awsVectors from '../../fixtures/pp2-aws-nlb.json';
import {
  decodeProxyHeader,
  encodeProxyHeader,
  linkIdTlv,
  proxyHeaderReader,
  startsWithProxySignature,
  type ProxyHeader,
} from '../../../lib/gateway/proxy-protocol';
import { annotated, splits } from '../../helpers/bytes';

const SIG = ['0d0a0d0a000d0a515549540a', 'signature'] as const;

const AZURE_INET = annotated(
  SIG,
  ['21', 'version 2, command PROXY'],
  ['11', 'family INET, transport STREAM'],
  ['0014', 'length 20: 12 address bytes + one 8-byte TLV'],
  ['0a000004', 'source 10.0.0.4'],
  ['0a000105', 'destination 10.0.1.5'],
  ['d431', 'source port 54321'],
  ['20fb', 'destination port 8443'],
  ['ee 0005', 'TLV 0xEE (Azure), length 5'],
  ['01', 'subtype 0x01: LinkID'],
  ['41 6f 00 21', 'LinkID 0x21006f41 = 553676609, little-endian'],
);

const GCP_INET6 = annotated(
  SIG,
  ['21', 'PROXY'],
  ['21', 'family INET6, STREAM'],
  ['002f', 'length 47: 36 address bytes + one 11-byte TLV'],
  ['20010db8000000000000000000000001', 'source 2001:db8::1'],
  ['fd000000000000000000000000000a0b', 'destination fd00::a0b'],
  ['c350', 'source port 50000'],
  ['01bb', 'destination port 443'],
  ['e0 0008', 'TLV 0xE0 (GCP), length 8'],
  ['ffffffff c0a8 6402', 'pscConnectionId 0xffffffffc0a86402 = 18446744072646845442, big-endian'],
);

const LOCAL_WITH_BODY = annotated(
  SIG,
  ['20', 'version 2, command LOCAL (health check)'],
  ['11', 'INET STREAM (ignored for LOCAL)'],
  ['000f', 'length 15: must be skipped even for LOCAL'],
  ['7f000001 7f000001 0001 0002', 'addresses, ignored'],
  ['04 0000', 'NOOP TLV, empty'],
);

const UNSPEC_WITH_UNKNOWN_TLV = annotated(
  SIG,
  ['21', 'PROXY'],
  ['00', 'UNSPEC: no addresses; the receiver uses the socket addresses'],
  ['0006', 'length 6'],
  ['c3 0003 616263', 'TLV 0xC3 (unknown to us), length 3: skipped, not interpreted'],
);

const awsValid = Buffer.from(awsVectors[0]!.hex, 'hex');

const TRAILER = Buffer.from('\x16\x03\x01 client bytes that follow', 'latin1');

function done(bytes: Uint8Array, options?: Parameters<typeof decodeProxyHeader>[1]): ProxyHeader {
  const r = decodeProxyHeader(bytes, options);
  if (r.status !== 'done') throw new Error(`expected done, got ${JSON.stringify(r)}`);
  return r.value;
}

describe('PROXY v2 decoder: vectors', () => {
  test.each(awsVectors)('GIVEN the shared $name THEN it decodes to its VPCE ID with a valid CRC32C', (vector) => {
    const bytes = Buffer.from(vector.hex, 'hex');
    const header = done(bytes);
    expect(header.link).toEqual({ cloud: 'aws', linkId: vector.expectLinkId });
    expect(header.crc32c).toBe('valid');
    expect(header.length).toBe(bytes.length);
    expect(header.tlvs.map((t) => t.type)).toEqual([0x03, 0xea, 0x04]);
  });

  test('GIVEN an Azure header THEN the LinkID is read little-endian as a decimal string', () => {
    const header = done(AZURE_INET);
    expect(header).toMatchObject({
      command: 'PROXY',
      family: 'INET',
      source: { address: '10.0.0.4', port: 54321 },
      destination: { address: '10.0.1.5', port: 8443 },
      link: { cloud: 'azure', linkId: '553676609' },
      crc32c: 'absent',
      length: 36,
    });
  });

  test('GIVEN a GCP header THEN the uint64 PSC ID above 2^53 is exact', () => {
    const header = done(GCP_INET6);
    expect(header.link).toEqual({ cloud: 'gcp', linkId: '18446744072646845442' });
    expect(header.source).toEqual({ address: '2001:db8::1', port: 50000 });
    expect(header.destination).toEqual({ address: 'fd00::a0b', port: 443 });
  });

  test('GIVEN LOCAL with a body THEN the whole declared length is skipped and no addresses are used', () => {
    const header = done(Buffer.concat([LOCAL_WITH_BODY, TRAILER]));
    expect(header).toMatchObject({ command: 'LOCAL', source: null, destination: null, link: null, length: 31 });
  });

  test('GIVEN UNSPEC with an unknown TLV THEN it is accepted and the TLV listed', () => {
    const header = done(UNSPEC_WITH_UNKNOWN_TLV);
    expect(header.family).toBe('UNSPEC');
    expect(header.source).toBeNull();
    expect(header.tlvs).toEqual([{ type: 0xc3, value: Buffer.from('abc') }]);
  });

  const withByte = (bytes: Buffer, at: number, value: number) => {
    const copy = Buffer.from(bytes);
    copy[at] = value;
    return copy;
  };
  test.each([
    ['not a signature', Buffer.from('GET / HTTP/1.1\r\n'), 'not_proxy_v2'],
    ['PROXY v1 text', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n'), 'not_proxy_v2'],
    ['version 1 in the v2 layout', withByte(AZURE_INET, 12, 0x11), 'bad_version'],
    ['command 0x2', withByte(AZURE_INET, 12, 0x22), 'bad_command'],
    ['family 0x4', withByte(AZURE_INET, 13, 0x41), 'bad_family'],
    ['transport 0x3', withByte(AZURE_INET, 13, 0x13), 'bad_family'],
    ['INET with 8 address bytes', annotated(SIG, ['21 11 0008', 'INET, length 8'], ['0102030405060708', '8 bytes']), 'bad_address_length'],
    ['a TLV past the end', annotated(SIG, ['21 00 0004', 'UNSPEC, length 4'], ['c3 0005 00', 'TLV claims 5 bytes, 1 present']), 'bad_tlv'],
    ['a CRC32C TLV of 3 bytes', annotated(SIG, ['21 00 0006', 'length 6'], ['03 0003 000000', 'CRC of 3 bytes']), 'bad_tlv'],
    ['a wrong CRC32C', withByte(awsValid, 32, awsValid[32]! ^ 0xff), 'bad_crc'],
    ['a changed byte under a CRC32C', withByte(awsValid, 16, 0x0b), 'bad_crc'],
    ['an Azure TLV of 4 bytes', annotated(SIG, ['21 00 0007', 'length 7'], ['ee 0004 01 000000', 'Azure LinkID of 3 bytes']), 'bad_link_id_tlv'],
    ['a GCP TLV of 7 bytes', annotated(SIG, ['21 00 000a', 'length 10'], ['e0 0007 00000000000000', 'GCP ID of 7 bytes']), 'bad_link_id_tlv'],
    ['a VPCE TLV with a control character', annotated(SIG, ['21 00 0006', 'length 6'], ['ea 0003 01 76 0a', 'vpce "v\\n"']), 'bad_link_id_tlv'],
    [
      'two link-ID TLVs',
      annotated(SIG, ['21 00 0013', 'length 19'], ['ee 0005 01 01000000', 'Azure 1'], ['e0 0008 0000000000000002', 'GCP 2']),
      'duplicate_link_id_tlv',
    ],
  ])('GIVEN %s THEN the error code is %s', (_name, bytes, code) => {
    const r = decodeProxyHeader(bytes);
    expect(r).toMatchObject({ status: 'error', code });
  });

  test('GIVEN a header larger than the cap THEN it is refused from the fixed part alone', () => {
    const big = encodeProxyHeader({ tlvs: [{ type: 0xc0, value: Buffer.alloc(5000) }] });
    expect(decodeProxyHeader(big.subarray(0, 16))).toMatchObject({ status: 'error', code: 'too_large' });
    expect(decodeProxyHeader(big, { maxHeaderBytes: 6000 }).status).toBe('done');
  });

  test('GIVEN a wrong CRC32C and verifyCrc false THEN it decodes and says invalid', () => {
    const bad = withByte(awsValid, 32, awsValid[32]! ^ 0xff);
    expect(done(bad, { verifyCrc: false }).crc32c).toBe('invalid');
  });

  test('GIVEN a partial header THEN it asks for exactly the missing total', () => {
    expect(decodeProxyHeader(awsValid.subarray(0, 5))).toEqual({ status: 'incomplete', needed: 6 });
    expect(decodeProxyHeader(awsValid.subarray(0, 12))).toEqual({ status: 'incomplete', needed: 16 });
    expect(decodeProxyHeader(awsValid.subarray(0, 20))).toEqual({ status: 'incomplete', needed: 100 });
  });

  test('GIVEN a wrong first byte THEN it fails at once without waiting for more', () => {
    expect(decodeProxyHeader(Buffer.from([0x16]))).toMatchObject({ status: 'error', code: 'not_proxy_v2' });
  });
});

describe('PROXY v2 decoder: incremental reads', () => {
  const vectors: [string, Buffer][] = [
    ['aws', Buffer.from(awsVectors[0]!.hex, 'hex')],
    ['azure', AZURE_INET],
    ['gcp', GCP_INET6],
    ['local', LOCAL_WITH_BODY],
    ['unspec', UNSPEC_WITH_UNKNOWN_TLV],
  ];
  test.each(vectors)('GIVEN the %s vector with trailing client bytes, split at every offset THEN the result is the same as one read', (_n, header) => {
    const stream = Buffer.concat([header, TRAILER]);
    const whole = decodeProxyHeader(stream);
    for (const parts of splits(stream)) {
      const reader = proxyHeaderReader();
      let result: ReturnType<typeof reader.feed> = { status: 'incomplete' };
      for (const part of parts) {
        result = reader.feed(part);
        if (result.status !== 'incomplete') break;
      }
      expect(result.status).toBe('done');
      if (result.status !== 'done' || whole.status !== 'done') return;
      expect(result.value).toEqual(whole.value);
      // THEN the bytes after the header are exactly the client's, untouched.
      expect(result.bytes.subarray(result.length).toString('latin1')).toBe(
        stream.subarray(header.length, result.bytes.length).toString('latin1'),
      );
    }
  });

  test('GIVEN a wrong byte trickled inside the signature THEN the reader fails at that byte, as a whole read would', () => {
    const reader = proxyHeaderReader();
    const bytes = Buffer.from('0d0a0d0a00ff', 'hex');
    const results = [...bytes].map((b) => reader.feed(Buffer.from([b])).status);
    expect(results).toEqual(['incomplete', 'incomplete', 'incomplete', 'incomplete', 'incomplete', 'error']);
  });

  test('GIVEN a stream that stops mid-header THEN the reader keeps waiting, never guessing', () => {
    const reader = proxyHeaderReader();
    for (const b of awsValid.subarray(0, 99)) expect(reader.feed(Buffer.from([b]))).toEqual({ status: 'incomplete' });
  });
});

describe('PROXY v2 decoder: properties', () => {
  test('GIVEN any bytes after the signature THEN it never throws and never claims bytes past the declared length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (tail, withSig) => {
        const bytes = withSig ? Buffer.concat([Buffer.from(SIG[0], 'hex'), tail]) : Buffer.from(tail);
        const r = decodeProxyHeader(bytes);
        if (r.status === 'done') {
          const declared = 16 + ((bytes[14]! << 8) | bytes[15]!);
          expect(r.length).toBe(declared);
          expect(r.length).toBeLessThanOrEqual(bytes.length);
          // Bytes past the header cannot change the verdict.
          expect(decodeProxyHeader(bytes.subarray(0, r.length))).toEqual(r);
        }
      }),
      { numRuns: 3000 },
    );
  });

  test('GIVEN a valid header with one byte mutated THEN it never throws', () => {
    fc.assert(
      fc.property(fc.constantFrom(awsValid, AZURE_INET, GCP_INET6), fc.nat(), fc.integer({ min: 0, max: 255 }), (v, at, value) => {
        const copy = Buffer.from(v);
        copy[at % copy.length] = value;
        expect(['done', 'error', 'incomplete']).toContain(decodeProxyHeader(copy).status);
      }),
      { numRuns: 5000 },
    );
  });

  const ipPair = fc.oneof(
    fc.tuple(fc.ipV4(), fc.ipV4()),
    fc.tuple(fc.ipV6(), fc.ipV6()).map(([a, b]) => [a, b] as [string, string]),
  );
  const link = fc.oneof(
    fc.stringMatching(/^vpce-[0-9a-f]{17}$/).map((id) => ['aws', id] as const),
    fc.integer({ min: 0, max: 0xffffffff }).map((n) => ['azure', String(n)] as const),
    fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((n) => ['gcp', n.toString()] as const),
  );
  const otherTlv = fc.record({
    type: fc.integer({ min: 0x05, max: 0xdf }),
    value: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
  });

  test('GIVEN any addresses, link ID and extra TLVs WHEN encoded THEN decoding gives them back', () => {
    fc.assert(
      fc.property(ipPair, fc.nat(65535), fc.nat(65535), link, fc.array(otherTlv, { maxLength: 4 }), fc.boolean(), (ips, sp, dp, [cloud, id], extra, crc) => {
        const bytes = encodeProxyHeader({
          source: { address: ips[0], port: sp },
          destination: { address: ips[1], port: dp },
          tlvs: [linkIdTlv(cloud, id), ...extra],
          crc32c: crc,
        });
        const header = done(bytes);
        expect(header.link).toEqual({ cloud, linkId: id });
        expect(header.crc32c).toBe(crc ? 'valid' : 'absent');
        expect(header.length).toBe(bytes.length);
        const port = (a: ProxyHeader['source']) => (a && 'port' in a ? a.port : -1);
        expect([port(header.source), port(header.destination)]).toEqual([sp, dp]);
        // Address text is canonical; compare through a second encode to stay representation-free.
        const again = encodeProxyHeader({
          source: header.source as { address: string; port: number },
          destination: header.destination as { address: string; port: number },
          tlvs: [linkIdTlv(cloud, id), ...extra],
          crc32c: crc,
        });
        expect(again.equals(bytes)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('signature after a trusted header', () => {
  test.each([
    [Buffer.from(SIG[0], 'hex'), 'yes'],
    [Buffer.from('0d0a0d', 'hex'), 'maybe'],
    [Buffer.from('PROXY TCP4 ', 'latin1'), 'yes'],
    [Buffer.from('PRO', 'latin1'), 'maybe'],
    [Buffer.from([0x16, 0x03, 0x01]), 'no'],
    [Buffer.from('0d0a0d0b', 'hex'), 'no'],
  ])('GIVEN %p THEN %s', (bytes, expected) => {
    expect(startsWithProxySignature(bytes)).toBe(expected);
  });
});
