import { buildClientHello } from '../../../lib/gateway/tls/build-client-hello';
import { MAX_RECORDS_BEFORE_SECOND_HELLO, parseSecondClientHello, secondClientHelloReader } from '../../../lib/gateway/tls/second-client-hello';
import { annotated, splits } from '../../helpers/bytes';

const CCS = annotated(['14 0303 0001', 'record: change_cipher_spec, 1 byte'], ['01', 'dummy CCS (RFC 8446 §D.4)']);
const EARLY_DATA = annotated(['17 0303 0010', 'record: application_data, 16 bytes (early data the server skips)'], ['ee'.repeat(16), 'ciphertext']);
const seeded = (n: number) => Buffer.alloc(n, 0x5a);
const hello = (serverName: string | null, maxRecordPayload?: number) =>
  buildClientHello({ serverName, postQuantum: false, keyShareGroups: [0x001d], random: seeded, maxRecordPayload });

describe('ClientHello after a HelloRetryRequest', () => {
  test('GIVEN the hello alone THEN its SNI is read and nothing was skipped', () => {
    const bytes = hello('open.example.com');
    expect(parseSecondClientHello(bytes)).toMatchObject({ status: 'done', value: { serverName: 'open.example.com', skippedRecords: 0 }, length: bytes.length });
  });

  test('GIVEN a CCS and early data before the hello THEN they are passed over and counted in the length', () => {
    const bytes = Buffer.concat([CCS, EARLY_DATA, hello('Open.Example.com.')]);
    expect(parseSecondClientHello(bytes)).toMatchObject({ status: 'done', value: { serverName: 'open.example.com', skippedRecords: 2 }, length: bytes.length });
  });

  test('GIVEN a hello without server_name THEN the name is null (the watch treats that as a change)', () => {
    expect(parseSecondClientHello(Buffer.concat([CCS, hello(null)]))).toMatchObject({ status: 'done', value: { serverName: null } });
  });

  test('GIVEN a CCS and a hello in 64-byte records, split at every offset THEN the reader reads the same name', () => {
    const bytes = Buffer.concat([CCS, hello('protected.example.com', 64)]);
    for (const parts of splits(bytes)) {
      const reader = secondClientHelloReader();
      let result: ReturnType<typeof reader.feed> = { status: 'incomplete' };
      for (const part of parts) {
        result = reader.feed(part);
        if (result.status !== 'incomplete') break;
      }
      expect(result).toMatchObject({ status: 'done', value: { serverName: 'protected.example.com', skippedRecords: 1 }, length: bytes.length });
    }
  });

  test.each([
    ['more CCS records than a client sends', 'bad_record', Buffer.concat([...Array.from({ length: MAX_RECORDS_BEFORE_SECOND_HELLO + 1 }, () => CCS), hello('a.example.com')]), /more than 16 records/],
    ['plain text', 'bad_record', Buffer.from('GET / HTTP/1.1\r\n\r\n'), /type 71/],
    ['a handshake record that is no ClientHello', 'not_client_hello', Buffer.from('1603030004 0b000000'.replace(/ /g, ''), 'hex'), /handshake type 11/],
    ['a zero-length CCS', 'bad_record', Buffer.from('1403030000', 'hex'), /with 0 bytes/],
    ['33 KiB of early data', 'too_large', Buffer.concat(Array.from({ length: 3 }, () => Buffer.concat([Buffer.from('1703032c00', 'hex'), Buffer.alloc(0x2c00)]))), /more than 32768 bytes/],
  ])('GIVEN %s THEN the error is %s', (_what, code, bytes, message) => {
    const r = parseSecondClientHello(bytes);
    expect(r).toMatchObject({ status: 'error', code });
    if (r.status === 'error') expect(r.message).toMatch(message);
  });
});
