import fc from 'fast-check';
import { buildClientHello } from '../../../lib/gateway/tls/build-client-hello';
import { clientHelloReader, parseClientHello } from '../../../lib/gateway/tls/client-hello';
import { annotated, splits } from '../../helpers/bytes';

/** A minimal TLS 1.2 ClientHello with SNI, annotated field by field. */
const MINIMAL = annotated(
  ['16', 'record: handshake'],
  ['0301', 'record version TLS 1.0 (what clients put on the first record)'],
  ['0047', 'record length 71'],
  ['01', 'handshake: ClientHello'],
  ['000043', 'handshake length 67'],
  ['0303', 'legacy_version TLS 1.2'],
  ['00'.repeat(32), 'random'],
  ['00', 'legacy_session_id: empty'],
  ['0002 c02f', 'cipher_suites: one suite'],
  ['01 00', 'compression: null'],
  ['0018', 'extensions length 24'],
  ['0000 0014', 'extension server_name, length 20'],
  ['0012', 'server_name_list length 18'],
  ['00 000f', 'host_name, length 15'],
  [Buffer.from('api.example.com').toString('hex'), '"api.example.com"'],
);

/** Same hello with host "api.example.com" (15 bytes), built by hand for exactness. */
function helloWithExtensions(extensions: Buffer, recordVersion = '0301'): Buffer {
  const body = Buffer.concat([
    Buffer.from('0303', 'hex'),
    Buffer.alloc(32),
    Buffer.from('00', 'hex'),
    Buffer.from('0002c02f', 'hex'),
    Buffer.from('0100', 'hex'),
    extensions === NO_EXTENSIONS ? Buffer.alloc(0) : Buffer.concat([u16(extensions.length), extensions]),
  ]);
  const hs = Buffer.concat([Buffer.from([0x01, 0, body.length >> 8, body.length & 0xff]), body]);
  return Buffer.concat([Buffer.from(`16${recordVersion}`, 'hex'), u16(hs.length), hs]);
}
const NO_EXTENSIONS = Buffer.alloc(0);
const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const sni = (...names: [type: number, name: Buffer][]) => {
  const list = Buffer.concat(names.map(([type, name]) => Buffer.concat([Buffer.from([type]), u16(name.length), name])));
  const body = Buffer.concat([u16(list.length), list]);
  return Buffer.concat([u16(0x0000), u16(body.length), body]);
};
const ext = (type: number, body: Buffer) => Buffer.concat([u16(type), u16(body.length), body]);

function parsed(bytes: Buffer) {
  const r = parseClientHello(bytes);
  if (r.status !== 'done') throw new Error(`expected done, got ${JSON.stringify(r)}`);
  return r;
}

describe('ClientHello SNI: vectors', () => {
  test('GIVEN the annotated minimal hello THEN SNI, record count and sizes are read', () => {
    expect(parseClientHello(MINIMAL)).toEqual({
      status: 'done',
      value: { serverName: 'api.example.com', records: 1, handshakeLength: 71 },
      length: 76,
    });
  });

  test('GIVEN a name ending in an empty label ("a.example.com..") THEN it is not a DNS name', () => {
    expect(parseClientHello(helloWithExtensions(sni([0, Buffer.from('a.example.com..')])))).toMatchObject({ status: 'error', code: 'bad_sni' });
  });

  test('GIVEN a hand-built hello with "API.Example.com." THEN SNI is "api.example.com"', () => {
    const r = parsed(helloWithExtensions(sni([0, Buffer.from('API.Example.com.')])));
    expect(r.value).toEqual({ serverName: 'api.example.com', records: 1, handshakeLength: r.length - 5 });
  });

  test('GIVEN no extensions at all THEN there is no SNI (legal before TLS 1.3)', () => {
    expect(parsed(helloWithExtensions(NO_EXTENSIONS)).value.serverName).toBeNull();
  });

  test('GIVEN extensions without server_name THEN there is no SNI', () => {
    expect(parsed(buildClientHello({ serverName: null })).value.serverName).toBeNull();
  });

  test('GIVEN a post-quantum browser-sized hello (> 1,500 bytes) THEN SNI is read', () => {
    const bytes = buildClientHello({ serverName: 'megacorp.api.example.com' });
    expect(bytes.length).toBeGreaterThan(1500);
    expect(parsed(bytes).value.serverName).toBe('megacorp.api.example.com');
  });

  test('GIVEN the hello spread over 1-byte... 100-byte TLS records THEN SNI is read across records', () => {
    for (const size of [1, 7, 100, 1000]) {
      const r = parsed(buildClientHello({ serverName: 'a.example.com', maxRecordPayload: size }));
      expect(r.value.serverName).toBe('a.example.com');
      expect(r.value.records).toBe(Math.ceil(r.value.handshakeLength / size));
    }
  });

  test('GIVEN an unknown name_type beside host_name THEN it is skipped', () => {
    expect(parsed(helloWithExtensions(sni([7, Buffer.from('x')], [0, Buffer.from('b.example.com')]))).value.serverName).toBe('b.example.com');
  });

  test.each([
    ['HTTP instead of TLS', Buffer.from('GET / HTTP/1.1\r\n'), 'not_tls'],
    ['record major version 2', Buffer.from('1602010005', 'hex'), 'not_tls'],
    ['a zero-length handshake record', Buffer.from('1603010000', 'hex'), 'bad_record'],
    ['a record over 2^14', Buffer.from('1603014001', 'hex'), 'bad_record'],
    ['an alert between the hello records', Buffer.concat([buildClientHello({ maxRecordPayload: 50 }).subarray(0, 55), Buffer.from('15030100020228', 'hex')]), 'bad_record'],
    ['a ServerHello', Buffer.from('16030100040200', 'hex'), 'not_client_hello'],
    ['a 33-byte session id', helloWithExtensions(NO_EXTENSIONS).fill(33, 5 + 4 + 34, 5 + 4 + 35), 'malformed'],
    ['duplicate extensions', helloWithExtensions(Buffer.concat([ext(0x17, Buffer.alloc(0)), ext(0x17, Buffer.alloc(0))])), 'malformed'],
    ['an extension running past the message', helloWithExtensions(Buffer.concat([u16(0x0017), u16(9)])), 'malformed'],
    ['two host_names', helloWithExtensions(sni([0, Buffer.from('a.example.com')], [0, Buffer.from('b.example.com')])), 'bad_sni'],
    ['a host_name with a space', helloWithExtensions(sni([0, Buffer.from('a example.com')])), 'bad_sni'],
    ['a host_name with a NUL', helloWithExtensions(sni([0, Buffer.from('a.example.com\0evil.com')])), 'bad_sni'],
    ['an empty host_name', helloWithExtensions(sni([0, Buffer.alloc(0)])), 'bad_sni'],
    ['a server_name list with no host_name', helloWithExtensions(sni([7, Buffer.from('x')])), 'bad_sni'],
  ])('GIVEN %s THEN the error code is %s', (_name, bytes, code) => {
    expect(parseClientHello(bytes)).toMatchObject({ status: 'error', code });
  });

  test('GIVEN a handshake that declares more than 16 KiB THEN it is refused before buffering it', () => {
    expect(parseClientHello(Buffer.from('16030100040100ffff', 'hex'))).toMatchObject({ status: 'error', code: 'too_large' });
  });

  test('GIVEN records that never complete the hello past 16 KiB THEN it is refused', () => {
    const reader = clientHelloReader();
    const header = Buffer.from('160301000401003000', 'hex'); // declares a 12 KiB hello
    let result = reader.feed(header);
    const record = Buffer.concat([Buffer.from('1603014000', 'hex'), Buffer.alloc(0x4000)]);
    for (let i = 0; i < 3 && result.status === 'incomplete'; i++) result = reader.feed(record);
    expect(result).toMatchObject({ status: 'error', code: 'too_large' });
  });

  test('GIVEN a record cap of 64 WHEN the hello spans more records THEN too_many_records, in one read or record by record', () => {
    const hello = buildClientHello({ serverName: 'a.example.com', maxRecordPayload: 1 });
    expect(parseClientHello(hello, undefined, 64)).toMatchObject({ status: 'error', code: 'too_many_records' });
    const reader = clientHelloReader({ maxRecords: 64 });
    let result: ReturnType<typeof reader.feed> = { status: 'incomplete' };
    let fed = 0;
    for (let at = 0; at < hello.length && result.status === 'incomplete'; at += 6, fed++) result = reader.feed(hello.subarray(at, at + 6));
    expect(result).toMatchObject({ status: 'error', code: 'too_many_records', message: 'the ClientHello is not complete after 64 TLS records' });
    expect(fed).toBe(65);
    // Within the cap the same hello in 100-byte records reads as before.
    expect(parseClientHello(buildClientHello({ serverName: 'a.example.com', maxRecordPayload: 100 }), undefined, 64)).toMatchObject({ status: 'done' });
  });

  test('GIVEN a reader fed record by record THEN it keeps every byte fed, in order, for the replay upstream', () => {
    const hello = buildClientHello({ serverName: 'a.example.com', maxRecordPayload: 3 });
    const reader = clientHelloReader();
    let result: ReturnType<typeof reader.feed> = { status: 'incomplete' };
    for (let at = 0; at < hello.length && result.status === 'incomplete'; at += 8) result = reader.feed(hello.subarray(at, at + 8));
    expect(result.status).toBe('done');
    if (result.status === 'done') expect(result.bytes.equals(hello)).toBe(true);
  });

  test('GIVEN only the first byte THEN a non-TLS stream fails at once', () => {
    expect(parseClientHello(Buffer.from('G'))).toMatchObject({ status: 'error', code: 'not_tls' });
    expect(parseClientHello(Buffer.from([0x16]))).toEqual({ status: 'incomplete', needed: 2 });
    expect(parseClientHello(Buffer.from([0x16, 0x48]))).toMatchObject({ status: 'error', code: 'not_tls' });
  });
});

describe('ClientHello SNI: incremental reads', () => {
  test.each([
    ['post-quantum', buildClientHello({ serverName: 'megacorp.api.example.com' })],
    ['three records', buildClientHello({ serverName: 'x.initech.example.com', postQuantum: false, maxRecordPayload: 100 })],
    ['no SNI', buildClientHello({ serverName: null, postQuantum: false })],
  ])('GIVEN a %s hello split at every offset THEN the result equals one read', (_name, bytes) => {
    const whole = parseClientHello(bytes);
    for (const parts of splits(bytes)) {
      const reader = clientHelloReader();
      let result: ReturnType<typeof reader.feed> = { status: 'incomplete' };
      for (const part of parts) {
        result = reader.feed(part);
        if (result.status !== 'incomplete') break;
      }
      expect(result.status).toBe('done');
      if (result.status === 'done' && whole.status === 'done') expect(result.value).toEqual(whole.value);
    }
  });
});

describe('ClientHello SNI: properties', () => {
  const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/);
  const hostname = fc.array(label, { minLength: 2, maxLength: 5 }).map((l) => l.join('.'));

  test('GIVEN any hostname and record size WHEN built and parsed THEN the same name comes back', () => {
    fc.assert(
      fc.property(hostname, fc.integer({ min: 1, max: 3000 }), fc.boolean(), (name, size, pq) => {
        const r = parseClientHello(buildClientHello({ serverName: name, maxRecordPayload: size, postQuantum: pq }));
        expect(r).toMatchObject({ status: 'done', value: { serverName: name } });
      }),
      { numRuns: 500 },
    );
  });

  test('GIVEN any bytes (with or without a handshake record header) THEN it never throws and never claims past the input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), fc.boolean(), (tail, prefix) => {
        const bytes = prefix ? Buffer.concat([Buffer.from('160301', 'hex'), tail]) : Buffer.from(tail);
        const r = parseClientHello(bytes);
        if (r.status === 'done') expect(r.length).toBeLessThanOrEqual(bytes.length);
        if (r.status === 'incomplete') expect(r.needed).toBeGreaterThan(bytes.length);
      }),
      { numRuns: 5000 },
    );
  });

  test('GIVEN a real-shaped hello with one byte mutated THEN it never throws and any SNI found is a clean name', () => {
    const base = buildClientHello({ serverName: 'megacorp.api.example.com', random: (n) => Buffer.alloc(n, 0x5a) });
    fc.assert(
      fc.property(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 }), (at, value) => {
        const copy = Buffer.from(base);
        copy[at] = value;
        const r = parseClientHello(copy);
        if (r.status === 'done' && r.value.serverName !== null) expect(r.value.serverName).toMatch(/^[a-z0-9._-]+$/);
      }),
      { numRuns: 5000 },
    );
  });
});
