/**
 * Tells, from the first bytes an upstream sends back, whether its answer to the ClientHello is a
 * HelloRetryRequest, an ordinary ServerHello (TLS 1.3 or 1.2), or not a TLS ServerHello at all.
 * Pure and incremental like the ClientHello reader: the answer may arrive in several reads and
 * TLS records, and only its first 38 handshake bytes (type, length, legacy_version, random) are
 * needed, so the common case settles on the first read without waiting for the whole flight.
 *
 * References: RFC 8446 §5.1 (records), §4.1.3 (ServerHello, HelloRetryRequest), §4.1.4.
 */
import { IncrementalReader, type ParseStep } from '../bytes';

export type ServerHelloErrorCode = 'not_tls' | 'bad_record' | 'not_server_hello' | 'malformed' | 'too_large';

export interface ServerHelloInfo {
  /**
   * "For reasons of backward compatibility with middleboxes ... the HelloRetryRequest message uses
   * the same structure as the ServerHello, but with Random set to the special value of the
   * SHA-256 of 'HelloRetryRequest'" (RFC 8446 §4.1.3): the random alone decides.
   */
  readonly helloRetryRequest: boolean;
  /** legacy_version: 0x0303 for TLS 1.2 and 1.3 (TLS 1.3 names itself in supported_versions). */
  readonly legacyVersion: number;
  /** Alert records the server sent before its hello (passed over, see below). */
  readonly alerts: number;
}

/** CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C (RFC 8446 §4.1.3). */
export const HELLO_RETRY_REQUEST_RANDOM: Buffer = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex');

/** Far above a few 1-byte records and alerts before the first 38 handshake bytes; far below harm. */
export const DEFAULT_MAX_SERVER_HELLO_BYTES = 4096;

const RECORD_HEADER = 5;
const CONTENT_ALERT = 0x15;
const CONTENT_HANDSHAKE = 0x16;
const HANDSHAKE_SERVER_HELLO = 0x02;
/** "The length MUST NOT exceed 2^14 bytes." (RFC 8446 §5.1) */
const MAX_RECORD_PAYLOAD = 1 << 14;
/** msg_type (1), length (3), legacy_version (2), random (32). */
const HEAD = 4 + 2 + 32;

type Step = ParseStep<ServerHelloInfo, ServerHelloErrorCode>;
const err = (code: ServerHelloErrorCode, message: string): Step => ({ status: 'error', code, message });

/**
 * `length` in a done step is where the random ends: the bytes up to it settled the answer; what
 * follows (the rest of the hello, the flight) is the server's and not read here.
 */
export function parseServerHello(bytes: Uint8Array, maxBytes = DEFAULT_MAX_SERVER_HELLO_BYTES): Step {
  // The common case: the first record holds the first 38 handshake bytes; read them in place.
  if (bytes.length >= RECORD_HEADER + HEAD && bytes[0] === CONTENT_HANDSHAKE && bytes[1] === 0x03) {
    const payload = (bytes[3]! << 8) | bytes[4]!;
    if (payload >= HEAD && payload <= MAX_RECORD_PAYLOAD) return classify(bytes, RECORD_HEADER, 0, RECORD_HEADER + HEAD);
  }
  const head = new Uint8Array(HEAD);
  let gathered = 0;
  let alerts = 0;
  let at = 0;
  for (;;) {
    if (at >= maxBytes) return err('too_large', `no ServerHello in the first ${maxBytes} bytes`);
    if (bytes.length < at + 1) return { status: 'incomplete', needed: at + 1 };
    const type = bytes[at]!;
    // An alert before the hello (a TLS 1.2 server may warn, e.g. unrecognized_name) is passed
    // over: the hello, if one comes, still decides. Once the hello has begun, records of other
    // types must not interleave with it (RFC 8446 §5.1).
    const alert = type === CONTENT_ALERT && gathered === 0;
    if (type !== CONTENT_HANDSHAKE && !alert) {
      return at === 0
        ? err('not_tls', `first byte 0x${type.toString(16).padStart(2, '0')} is not a TLS handshake or alert record`)
        : err('bad_record', `a record of type ${type} arrived where the ServerHello belongs`);
    }
    if (bytes.length < at + 2) return { status: 'incomplete', needed: at + 2 };
    if (bytes[at + 1] !== 0x03) return at === 0 ? err('not_tls', 'record version major is not 3') : err('bad_record', 'record version major is not 3');
    if (bytes.length < at + RECORD_HEADER) return { status: 'incomplete', needed: at + RECORD_HEADER };
    const payload = (bytes[at + 3]! << 8) | bytes[at + 4]!;
    // "Implementations MUST NOT send zero-length fragments of Handshake or Alert types" (§5.1).
    if (payload === 0) return err('bad_record', 'zero-length record');
    if (payload > MAX_RECORD_PAYLOAD) return err('bad_record', `record of ${payload} bytes exceeds 2^14`);
    const start = at + RECORD_HEADER;
    const end = start + payload;
    if (alert) {
      if (end > maxBytes) return err('too_large', `an alert record runs past ${maxBytes} bytes`);
      alerts++;
      at = end;
      continue;
    }
    // Take what this record holds of the first 38 handshake bytes, even from a partial record.
    const available = Math.min(end, bytes.length);
    const take = Math.min(available - start, HEAD - gathered);
    head.set(bytes.subarray(start, start + take), gathered);
    const before = gathered;
    gathered += take;
    // Fail early, without waiting for the rest of the hello.
    if (before === 0 && gathered > 0 && head[0] !== HANDSHAKE_SERVER_HELLO) return err('not_server_hello', `handshake type ${head[0]} is not ServerHello`);
    if (before < 4 && gathered >= 4) {
      const early = classify(head, 0, alerts, 0);
      if (early.status === 'error') return early;
    }
    if (gathered === HEAD) return classify(head, 0, alerts, start + take);
    if (available < end) return { status: 'incomplete', needed: Math.min(end, start + take + (HEAD - gathered)) };
    at = end;
  }
}

/**
 * Reads the handshake header and random at `src[off]` (38 bytes, or at least 4 for the header
 * checks alone); `length` is where the random ends in the input.
 */
function classify(src: Uint8Array, off: number, alerts: number, length: number): Step {
  if (src[off] !== HANDSHAKE_SERVER_HELLO) return err('not_server_hello', `handshake type ${src[off]} is not ServerHello`);
  const bodyLength = (src[off + 1]! << 16) | (src[off + 2]! << 8) | src[off + 3]!;
  if (bodyLength < HEAD - 4) return err('malformed', `a ServerHello of ${bodyLength} bytes cannot hold its random`);
  let retry = true;
  for (let i = 0; i < 32 && retry; i++) retry = src[off + 6 + i] === HELLO_RETRY_REQUEST_RANDOM[i];
  const legacyVersion = (src[off + 4]! << 8) | src[off + 5]!;
  return { status: 'done', value: { helloRetryRequest: retry, legacyVersion, alerts }, length };
}

export function serverHelloReader(maxBytes = DEFAULT_MAX_SERVER_HELLO_BYTES): IncrementalReader<ServerHelloInfo, ServerHelloErrorCode> {
  return new IncrementalReader((bytes) => parseServerHello(bytes, maxBytes), maxBytes, 'too_large');
}
