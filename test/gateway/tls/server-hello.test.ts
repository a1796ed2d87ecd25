import fc from 'fast-check';
import { HELLO_RETRY_REQUEST_RANDOM, parseServerHello, serverHelloReader } from '../../../lib/gateway/tls/server-hello';
import { annotated, splits } from '../../helpers/bytes';

/** The HelloRetryRequest OpenSSL 3.0 (`s_server -groups P-256`) sends to a client offering only X25519, then its CCS. */
const HRR = annotated(
  ['16', 'record: handshake'],
  ['0303', 'record version TLS 1.2'],
  ['0058', 'record length 88'],
  ['02', 'handshake: ServerHello'],
  ['000054', 'handshake length 84'],
  ['0303', 'legacy_version TLS 1.2'],
  ['cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'random: SHA-256("HelloRetryRequest"), RFC 8446 §4.1.3'],
  ['20' + '11'.repeat(32), 'legacy_session_id_echo: 32 bytes'],
  ['1301', 'cipher_suite TLS_AES_128_GCM_SHA256'],
  ['00', 'legacy_compression_method'],
  ['000c', 'extensions length 12'],
  ['002b 0002 0304', 'supported_versions: TLS 1.3'],
  ['0033 0002 0017', 'key_share: selected_group secp256r1 (send a share for it)'],
);
const CCS = annotated(['14 0303 0001', 'record: change_cipher_spec, 1 byte'], ['01', 'the dummy CCS of middlebox compatibility mode']);

/** An ordinary TLS 1.3 ServerHello: same shape, any other random, and a key share. */
const SERVER_HELLO_13 = annotated(
  ['16 0303 007a', 'record: handshake, TLS 1.2, 122 bytes'],
  ['02 000076', 'handshake: ServerHello, 118 bytes'],
  ['0303', 'legacy_version TLS 1.2'],
  ['a0'.repeat(32), 'random'],
  ['20' + '11'.repeat(32), 'legacy_session_id_echo'],
  ['1301 00', 'cipher_suite, compression'],
  ['002e', 'extensions length 46'],
  ['002b 0002 0304', 'supported_versions: TLS 1.3'],
  ['0033 0024 001d 0020' + '5b'.repeat(32), 'key_share: X25519, 32-byte key'],
);

/** A TLS 1.2 first flight's ServerHello (no supported_versions), followed by the start of its Certificate. */
const SERVER_HELLO_12 = annotated(
  ['16 0303 003b', 'record: handshake, TLS 1.2, 59 bytes'],
  ['02 000037', 'handshake: ServerHello, 55 bytes'],
  ['0303', 'server_version TLS 1.2'],
  ['b1'.repeat(32), 'random'],
  ['00', 'session_id: empty'],
  ['c02f 00', 'cipher_suite ECDHE_RSA_AES_128_GCM_SHA256, compression'],
  ['000f', 'extensions length 15'],
  ['ff01 0001 00', 'renegotiation_info'],
  ['0017 0000', 'extended_master_secret'],
  ['000b 0002 0100', 'ec_point_formats'],
  ['16 0303 0004 0b000000', 'record: handshake, Certificate (start of the flight)'],
);

const hrr = { helloRetryRequest: true, legacyVersion: 0x0303, alerts: 0 };
const plain = { helloRetryRequest: false, legacyVersion: 0x0303, alerts: 0 };

/** The same handshake bytes cut into records of `size` payload bytes. */
function refragment(record: Buffer, size: number): Buffer {
  const hs = record.subarray(5, 5 + record.readUInt16BE(3));
  const out: Buffer[] = [];
  for (let at = 0; at < hs.length; at += size) {
    const part = hs.subarray(at, at + size);
    out.push(Buffer.from([0x16, 0x03, 0x03, part.length >> 8, part.length & 0xff]), part);
  }
  return Buffer.concat(out);
}

describe('ServerHello or HelloRetryRequest: vectors', () => {
  test('GIVEN OpenSSL’s HelloRetryRequest THEN it is one, settled where its random ends (byte 43)', () => {
    expect(parseServerHello(Buffer.concat([HRR, CCS]))).toEqual({ status: 'done', value: hrr, length: 43 });
  });

  test('GIVEN an ordinary TLS 1.3 ServerHello THEN it is no retry', () => {
    expect(parseServerHello(SERVER_HELLO_13)).toEqual({ status: 'done', value: plain, length: 43 });
  });

  test('GIVEN a TLS 1.2 first flight THEN its ServerHello is no retry', () => {
    expect(parseServerHello(SERVER_HELLO_12)).toEqual({ status: 'done', value: plain, length: 43 });
  });

  test('GIVEN a ServerHello whose random differs from the retry value in its last byte only THEN it is no retry', () => {
    const almost = Buffer.from(HRR);
    almost[42] = almost[42]! ^ 0x01;
    expect(parseServerHello(almost)).toMatchObject({ status: 'done', value: { helloRetryRequest: false } });
  });

  test('GIVEN the HelloRetryRequest in 1-byte records THEN it is still one, settled in the 38th record', () => {
    const bytes = refragment(HRR, 1);
    expect(parseServerHello(bytes)).toEqual({ status: 'done', value: hrr, length: 38 * 6 });
  });

  test('GIVEN a warning alert (unrecognized_name) before the hello THEN it is passed over and the hello decides', () => {
    const alert = annotated(['15 0303 0002', 'record: alert, 2 bytes'], ['01 70', 'warning, unrecognized_name']);
    expect(parseServerHello(Buffer.concat([alert, HRR]))).toEqual({ status: 'done', value: { ...hrr, alerts: 1 }, length: 7 + 43 });
  });

  test('GIVEN the first 42 bytes of the HelloRetryRequest THEN one more byte is needed', () => {
    expect(parseServerHello(HRR.subarray(0, 42))).toEqual({ status: 'incomplete', needed: 43 });
  });
});

describe('ServerHello or HelloRetryRequest: not a hello', () => {
  test.each([
    ['an HTTP answer', 'not_tls', Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'), /first byte 0x48/],
    ['a record version 2.x', 'not_tls', Buffer.from('1602030005020000', 'hex'), /version major/],
    ['an echoed ClientHello (an echo upstream)', 'not_server_hello', Buffer.from('1603010005010000', 'hex'), /handshake type 1/],
    ['a change_cipher_spec first', 'not_tls', CCS, /0x14/],
    ['a zero-length handshake record', 'bad_record', Buffer.from('1603030000', 'hex'), /zero-length/],
    ['a record over 2^14', 'bad_record', Buffer.from('1603034001', 'hex'), /exceeds 2\^14/],
    ['a ServerHello too short for a random', 'malformed', Buffer.from('16030300060200000203030000', 'hex'), /2 bytes cannot hold its random/],
    ['an alert inside the hello’s records', 'bad_record', Buffer.concat([Buffer.from('160303000102', 'hex'), Buffer.from('15030300020170', 'hex')]), /type 21/],
  ])('GIVEN %s THEN the error is %s', (_what, code, bytes, message) => {
    const r = parseServerHello(bytes);
    expect(r).toMatchObject({ status: 'error', code });
    if (r.status === 'error') expect(r.message).toMatch(message);
  });

  test('GIVEN the first 6 bytes of an echoed ClientHello record THEN it is refused without waiting for the record', () => {
    expect(parseServerHello(Buffer.from('160301020001', 'hex'))).toMatchObject({ status: 'error', code: 'not_server_hello' });
  });

  test('GIVEN alerts and nothing else past the bound THEN too_large, from the parser and from the reader', () => {
    const alerts = Buffer.concat(Array.from({ length: 700 }, () => Buffer.from('15030300020170', 'hex')));
    expect(parseServerHello(alerts)).toMatchObject({ status: 'error', code: 'too_large' });
    const reader = serverHelloReader(1024);
    let result = reader.feed(alerts.subarray(0, 100));
    for (let at = 100; result.status === 'incomplete' && at < alerts.length; at += 100) result = reader.feed(alerts.subarray(at, at + 100));
    expect(result).toMatchObject({ status: 'error', code: 'too_large' });
  });
});

describe('ServerHello or HelloRetryRequest: split reads', () => {
  test.each([
    ['the HelloRetryRequest and its CCS', Buffer.concat([HRR, CCS]), true],
    ['the TLS 1.3 ServerHello', SERVER_HELLO_13, false],
    ['the TLS 1.2 flight', SERVER_HELLO_12, false],
    ['the HelloRetryRequest in 5-byte records', refragment(HRR, 5), true],
  ])('GIVEN %s split at every offset (and byte by byte) THEN the reader gives the whole-buffer answer', (_what, bytes, retry) => {
    const whole = parseServerHello(bytes);
    expect(whole).toMatchObject({ status: 'done', value: { helloRetryRequest: retry } });
    for (const parts of splits(bytes)) {
      const reader = serverHelloReader();
      let result: ReturnType<typeof reader.feed> = { status: 'incomplete' };
      for (const part of parts) {
        result = reader.feed(part);
        if (result.status !== 'incomplete') break;
      }
      expect(result).toMatchObject({ status: 'done', value: whole.status === 'done' ? whole.value : null, length: whole.status === 'done' ? whole.length : -1 });
    }
  });
});

describe('ServerHello or HelloRetryRequest: properties', () => {
  test('GIVEN any record size and any random THEN the retry is recognised exactly when the random is the retry value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.boolean(), fc.uint8Array({ minLength: 32, maxLength: 32 }), (size, retry, random) => {
        const record = Buffer.from(SERVER_HELLO_13);
        (retry ? HELLO_RETRY_REQUEST_RANDOM : Buffer.from(random)).copy(record, 11);
        const expected = retry || HELLO_RETRY_REQUEST_RANDOM.equals(Buffer.from(random));
        expect(parseServerHello(refragment(record, size))).toMatchObject({ status: 'done', value: { helloRetryRequest: expected } });
      }),
      { numRuns: 1000 },
    );
  });

  test('GIVEN any bytes (with or without a handshake record header) THEN it never throws and never claims past the input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom('', '160303', '150303', '16030300'), (tail, prefix) => {
        const bytes = Buffer.concat([Buffer.from(prefix, 'hex'), tail]);
        const r = parseServerHello(bytes);
        if (r.status === 'done') expect(r.length).toBeLessThanOrEqual(bytes.length);
        if (r.status === 'incomplete') expect(r.needed).toBeGreaterThan(bytes.length);
      }),
      { numRuns: 5000 },
    );
  });
});
