/**
 * Reads the ClientHello a client sends after a HelloRetryRequest, with the records a client may
 * put in front of it: change_cipher_spec ("the client sends a dummy change_cipher_spec record
 * immediately before its second flight", RFC 8446 §D.4), application_data it sent as early data
 * before the retry (the server skips it, §4.2.10), or an alert (the client gives up; the server
 * then closes). Those are passed over, bounded in number; then the ClientHello reader takes over.
 */
import { IncrementalReader, type ParseStep } from '../bytes';
import { DEFAULT_MAX_CLIENT_HELLO_BYTES, MAX_CLIENT_HELLO_RECORDS, parseClientHello, type ClientHelloErrorCode, type ClientHelloInfo } from './client-hello';

export interface SecondClientHelloInfo extends ClientHelloInfo {
  /** Records passed over before the ClientHello. */
  readonly skippedRecords: number;
}

/** One CCS, a few early-data records, an alert: a legitimate client needs far fewer. */
export const MAX_RECORDS_BEFORE_SECOND_HELLO = 16;
/** Bytes of those records (early data is at most a few records of 2^14 bytes). */
export const MAX_BYTES_BEFORE_SECOND_HELLO = 32 * 1024;

const RECORD_HEADER = 5;
const SKIPPABLE = new Set([0x14 /* change_cipher_spec */, 0x15 /* alert */, 0x17 /* application_data */]);
/** TLSCiphertext may be 256 bytes longer than 2^14 (RFC 8446 §5.2). */
const MAX_CIPHERTEXT = (1 << 14) + 256;

type Step = ParseStep<SecondClientHelloInfo, ClientHelloErrorCode>;
const err = (code: ClientHelloErrorCode, message: string): Step => ({ status: 'error', code, message });

export function parseSecondClientHello(bytes: Uint8Array, maxHelloBytes = DEFAULT_MAX_CLIENT_HELLO_BYTES): Step {
  let at = 0;
  let skipped = 0;
  for (;;) {
    if (bytes.length < at + 1) return { status: 'incomplete', needed: at + 1 };
    const type = bytes[at]!;
    if (!SKIPPABLE.has(type)) break;
    if (++skipped > MAX_RECORDS_BEFORE_SECOND_HELLO) return err('bad_record', `more than ${MAX_RECORDS_BEFORE_SECOND_HELLO} records before the second ClientHello`);
    if (bytes.length < at + RECORD_HEADER) return { status: 'incomplete', needed: at + RECORD_HEADER };
    if (bytes[at + 1] !== 0x03) return err('bad_record', 'record version major is not 3');
    const payload = (bytes[at + 3]! << 8) | bytes[at + 4]!;
    if (payload === 0 || payload > MAX_CIPHERTEXT) return err('bad_record', `record of type ${type} with ${payload} bytes`);
    at += RECORD_HEADER + payload;
    if (at > MAX_BYTES_BEFORE_SECOND_HELLO) return err('too_large', `more than ${MAX_BYTES_BEFORE_SECOND_HELLO} bytes before the second ClientHello`);
  }
  // Re-parsed from the start at each read: the record cap keeps that cost bounded (a hello in
  // thousands of one-byte records would otherwise cost quadratic time).
  const step = parseClientHello(bytes.subarray(at), maxHelloBytes, MAX_CLIENT_HELLO_RECORDS);
  if (step.status === 'incomplete') return { status: 'incomplete', needed: at + step.needed };
  if (step.status === 'error') {
    // parseClientHello names a first byte that is no handshake record "not_tls"; here the stream
    // is TLS already, so that is a record out of place.
    return step.code === 'not_tls' ? err('bad_record', `a record of type ${bytes[at]} where the second ClientHello belongs`) : step;
  }
  return { status: 'done', value: { ...step.value, skippedRecords: skipped }, length: at + step.length };
}

export function secondClientHelloReader(maxHelloBytes = DEFAULT_MAX_CLIENT_HELLO_BYTES): IncrementalReader<SecondClientHelloInfo, ClientHelloErrorCode> {
  return new IncrementalReader((bytes) => parseSecondClientHello(bytes, maxHelloBytes), MAX_BYTES_BEFORE_SECOND_HELLO + maxHelloBytes, 'too_large');
}
