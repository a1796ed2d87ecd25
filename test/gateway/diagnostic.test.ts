/** The doctor's marker, read from ClientHello bytes as the gateway holds them. */
import { DOCTOR_ALPN, decodeDoctorReply, encodeDoctorReply, isDoctorHello, offeredAlpn } from '../../lib/gateway/diagnostic';
import { buildClientHello } from '../../lib/gateway/tls/build-client-hello';
import { parseClientHello } from '../../lib/gateway/tls/client-hello';

function helloLength(hello: Buffer): number {
  const step = parseClientHello(hello);
  if (step.status !== 'done') throw new Error('test hello does not parse');
  return step.length;
}

describe('offeredAlpn / isDoctorHello', () => {
  test('GIVEN a browser-like hello THEN its ALPN list is read and it is no doctor hello', () => {
    const hello = buildClientHello({ serverName: 'a.example.com' });
    expect(offeredAlpn(hello)).toEqual(['h2', 'http/1.1']);
    expect(isDoctorHello([hello], helloLength(hello))).toBe(false);
  });

  test('GIVEN the marker alone THEN a doctor hello, also when the hello spans 7 TLS records and 3 reads', () => {
    const hello = buildClientHello({ serverName: 'a.example.com', alpn: [DOCTOR_ALPN], maxRecordPayload: 100, postQuantum: false });
    expect(offeredAlpn(hello)).toEqual([DOCTOR_ALPN]);
    const parts = [hello.subarray(0, 50), hello.subarray(50, 400), hello.subarray(400)];
    expect(isDoctorHello(parts, helloLength(hello))).toBe(true);
  });

  test('GIVEN the marker next to another protocol, or its bytes outside ALPN THEN no doctor hello', () => {
    const both = buildClientHello({ alpn: ['h2', DOCTOR_ALPN] });
    expect(isDoctorHello([both], helloLength(both))).toBe(false);
    const inSni = buildClientHello({ serverName: 'linkgate-doctor.example.com', alpn: ['h2'] });
    expect(isDoctorHello([inSni], helloLength(inSni))).toBe(false);
  });

  test('GIVEN truncated or mangled bytes THEN an answer, never an exception', () => {
    const hello = buildClientHello({ alpn: [DOCTOR_ALPN], postQuantum: false });
    for (let n = 0; n < hello.length; n += 7) expect(() => offeredAlpn(hello.subarray(0, n))).not.toThrow();
    const mangled = Buffer.from(hello);
    for (let i = 5; i < mangled.length; i += 13) mangled[i] = 0xff;
    expect(() => offeredAlpn(mangled)).not.toThrow();
  });
});

describe('the answer line', () => {
  test('GIVEN an answer THEN it round-trips, and is not read before its line ends', () => {
    const bytes = encodeDoctorReply({ status: 'answered', cloud: 'gcp', linkId: '18446744072646845442', hostname: 'a.example.com', verdict: 'forward', reason: null, tenant: 't' });
    expect(bytes.subarray(0, 18).toString()).toBe('LINKGATE-DOCTOR/1\n');
    expect(decodeDoctorReply(bytes.subarray(0, bytes.length - 1))).toBeNull();
    expect(decodeDoctorReply(bytes)).toMatchObject({ linkId: '18446744072646845442', tenant: 't' });
    expect(decodeDoctorReply(Buffer.from([0x16, 0x03, 0x03]))).toBe('not_doctor');
  });
});
