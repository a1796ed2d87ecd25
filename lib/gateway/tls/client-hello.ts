/**
 * Reads the server name (SNI) from a TLS ClientHello without terminating TLS. Pure and
 * incremental like the PROXY decoder: the ClientHello may arrive in many TCP reads and span several
 * TLS records (post-quantum key shares make it larger than one packet), and it is bounded.
 *
 * References: RFC 8446 §5.1 (records), §4.1.2 (ClientHello), §4.2 (extensions); RFC 6066 §3 (SNI).
 */
import { INCOMPLETE, type FeedResult, type ParseStep } from '../bytes';

export type ClientHelloErrorCode =
  | 'not_tls'
  | 'bad_record'
  | 'not_client_hello'
  | 'malformed'
  | 'bad_sni'
  | 'too_large'
  | 'too_many_records';

export interface ClientHelloInfo {
  /** Lowercased host_name without a trailing dot, or null when the extension is absent. */
  readonly serverName: string | null;
  /** TLS records the ClientHello occupied. */
  readonly records: number;
  /** Length of the ClientHello handshake message, its 4-byte header included. */
  readonly handshakeLength: number;
}

/** Reads stop at 16 KiB: far above a post-quantum ClientHello (~1.8 KiB), far below harm. */
export const DEFAULT_MAX_CLIENT_HELLO_BYTES = 16 * 1024;

const RECORD_HEADER = 5;
const CONTENT_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
/** "The length MUST NOT exceed 2^14 bytes." (RFC 8446 §5.1) */
const MAX_RECORD_PAYLOAD = 1 << 14;
const EXT_SERVER_NAME = 0x0000;
const NAME_TYPE_HOST_NAME = 0x00;

type Step = ParseStep<ClientHelloInfo, ClientHelloErrorCode>;
const err = (code: ClientHelloErrorCode, message: string): Step => ({ status: 'error', code, message });

/**
 * More TLS records than any TLS stack splits a ClientHello into (browsers and TLS libraries send
 * one, two above 16 KiB). The gateway refuses more, so a hello sent a byte per record costs at most
 * this many record walks before any allow check; the pure parser has no cap unless asked.
 */
export const MAX_CLIENT_HELLO_RECORDS = 64;

export interface ClientHelloLimits {
  readonly maxBytes?: number;
  readonly maxRecords?: number;
}

export function parseClientHello(bytes: Uint8Array, maxBytes = DEFAULT_MAX_CLIENT_HELLO_BYTES, maxRecords = Infinity): Step {
  return new RecordWalk(maxBytes, maxRecords).advance(bytes);
}

/**
 * Walks whole records, gathering the handshake bytes they carry. It resumes where it stopped, so
 * a reader that feeds it more bytes of the same stream never walks a record twice: reassembly
 * costs O(bytes), however many records and reads the hello spans.
 */
class RecordWalk {
  private readonly fragments: Uint8Array[] = [];
  private handshakeBytes = 0;
  private handshakeLength = -1; // message length incl. its 4-byte header, once known
  private at = 0;
  private records = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly maxRecords: number,
  ) {}

  /** `bytes` is every byte of the stream so far: the bytes of earlier calls, then more. */
  advance(bytes: Uint8Array): Step {
    const { maxBytes } = this;
    for (;;) {
      const at = this.at;
      if (this.handshakeLength >= 0 && this.handshakeBytes >= this.handshakeLength) break;
      if (at >= maxBytes) return err('too_large', `no complete ClientHello in the first ${maxBytes} bytes`);
      if (bytes.length < at + 1) return { status: 'incomplete', needed: at + 1 };
      if (bytes[at] !== CONTENT_HANDSHAKE) {
        return at === 0
          ? err('not_tls', `first byte 0x${bytes[0]!.toString(16).padStart(2, '0')} is not a TLS handshake record`)
          : err('bad_record', 'a non-handshake record arrived before the ClientHello was complete');
      }
      if (bytes.length < at + 2) return { status: 'incomplete', needed: at + 2 };
      if (bytes[at + 1] !== 0x03) {
        return at === 0 ? err('not_tls', 'record version major is not 3') : err('bad_record', 'record version major is not 3');
      }
      if (this.records >= this.maxRecords) {
        return err('too_many_records', `the ClientHello is not complete after ${this.records} TLS records`);
      }
      if (bytes.length < at + RECORD_HEADER) return { status: 'incomplete', needed: at + RECORD_HEADER };
      const payload = (bytes[at + 3]! << 8) | bytes[at + 4]!;
      // "Implementations MUST NOT send zero-length fragments of Handshake types" (RFC 8446 §5.1).
      if (payload === 0) return err('bad_record', 'zero-length handshake record');
      if (payload > MAX_RECORD_PAYLOAD) return err('bad_record', `record of ${payload} bytes exceeds 2^14`);
      const end = at + RECORD_HEADER + payload;
      if (end > maxBytes) return err('too_large', `the ClientHello runs past ${maxBytes} bytes`);
      if (bytes.length < end) {
        // Fail early on a wrong handshake type without waiting for the whole record.
        if (this.records === 0) {
          if (bytes.length === at + RECORD_HEADER) return { status: 'incomplete', needed: at + RECORD_HEADER + 1 };
          if (bytes[at + RECORD_HEADER] !== HANDSHAKE_CLIENT_HELLO) {
            return err('not_client_hello', `handshake type ${bytes[at + RECORD_HEADER]} is not ClientHello`);
          }
        }
        return { status: 'incomplete', needed: end };
      }
      // A view, not a copy: a reader never rewrites the bytes it already holds.
      const fragment = bytes.subarray(at + RECORD_HEADER, end);
      this.fragments.push(fragment);
      this.handshakeBytes += fragment.length;
      this.records++;
      this.at = end;
      if (this.handshakeLength < 0 && this.handshakeBytes >= 4) {
        // Joins at most four fragments: the length is known once 4 handshake bytes are in.
        const head = this.fragments.length === 1 ? fragment : concat(this.fragments, this.handshakeBytes);
        if (head[0] !== HANDSHAKE_CLIENT_HELLO) return err('not_client_hello', `handshake type ${head[0]} is not ClientHello`);
        this.handshakeLength = 4 + ((head[1]! << 16) | (head[2]! << 8) | head[3]!);
        if (this.handshakeLength > maxBytes) {
          return err('too_large', `ClientHello of ${this.handshakeLength} bytes exceeds the ${maxBytes}-byte limit`);
        }
      }
    }
    const { fragments, handshakeBytes, handshakeLength, records } = this;
    const message = fragments.length === 1 ? fragments[0]! : concat(fragments, handshakeBytes);
    const result = readServerName(message.subarray(4, handshakeLength));
    if (result !== null && typeof result === 'object') return err(result.code, result.message);
    return { status: 'done', value: { serverName: result, records, handshakeLength }, length: this.at };
  }
}

type BodyError = { code: ClientHelloErrorCode; message: string };
const malformed = (message: string): BodyError => ({ code: 'malformed', message });

/** Walks a ClientHello body (after the 4-byte handshake header) to the server_name extension. */
function readServerName(body: Uint8Array): string | null | BodyError {
  const n = body.length;
  let at = 2 + 32; // legacy_version, random
  if (n < at + 1) return malformed('truncated before legacy_session_id');
  const sessionIdLength = body[at]!;
  if (sessionIdLength > 32) return malformed(`legacy_session_id of ${sessionIdLength} bytes exceeds 32`);
  at += 1 + sessionIdLength;
  if (n < at + 2) return malformed('truncated before cipher_suites');
  const suitesLength = (body[at]! << 8) | body[at + 1]!;
  if (suitesLength < 2 || suitesLength % 2 !== 0) return malformed(`cipher_suites length ${suitesLength} is not a positive even number`);
  at += 2 + suitesLength;
  if (n < at + 1) return malformed('truncated before legacy_compression_methods');
  const compressionLength = body[at]!;
  if (compressionLength < 1) return malformed('legacy_compression_methods is empty');
  at += 1 + compressionLength;
  if (at > n) return malformed('truncated in legacy_compression_methods');
  if (at === n) return null; // no extensions at all: allowed before TLS 1.3, and no SNI
  if (n < at + 2) return malformed('truncated extensions length');
  const extensionsLength = (body[at]! << 8) | body[at + 1]!;
  at += 2;
  if (at + extensionsLength !== n) return malformed('extensions length does not match the message length');

  const seen = new Set<number>();
  let serverName: string | null = null;
  while (at < n) {
    if (n < at + 4) return malformed('truncated extension header');
    const type = (body[at]! << 8) | body[at + 1]!;
    const length = (body[at + 2]! << 8) | body[at + 3]!;
    const start = at + 4;
    const end = start + length;
    if (end > n) return malformed(`extension 0x${type.toString(16)} runs past the message`);
    // "There MUST NOT be more than one extension of the same type in a given extension block."
    if (seen.has(type)) return malformed(`extension 0x${type.toString(16)} appears twice`);
    seen.add(type);
    if (type === EXT_SERVER_NAME) {
      const name = readServerNameList(body, start, end);
      if (typeof name === 'object') return name;
      serverName = name;
    }
    at = end;
  }
  return serverName;
}

function readServerNameList(body: Uint8Array, start: number, end: number): string | BodyError {
  const badSni = (message: string): BodyError => ({ code: 'bad_sni', message });
  if (end - start < 2) return badSni('server_name extension too short');
  const listLength = (body[start]! << 8) | body[start + 1]!;
  if (start + 2 + listLength !== end || listLength === 0) return badSni('server_name list length does not match');
  let at = start + 2;
  let hostName: string | undefined;
  while (at < end) {
    if (end < at + 3) return badSni('truncated server_name entry');
    const nameType = body[at]!;
    const length = (body[at + 1]! << 8) | body[at + 2]!;
    const nameStart = at + 3;
    const nameEnd = nameStart + length;
    if (nameEnd > end) return badSni('server_name entry runs past the extension');
    if (nameType === NAME_TYPE_HOST_NAME) {
      // "The ServerNameList MUST NOT contain more than one name of the same name_type."
      if (hostName !== undefined) return badSni('more than one host_name');
      const name = readHostName(body, nameStart, nameEnd);
      if (name === undefined) return badSni('host_name is not a DNS name');
      hostName = name;
    }
    at = nameEnd;
  }
  if (hostName === undefined) return badSni('server_name has no host_name entry');
  return hostName;
}

/**
 * ASCII letters, digits, '-', '_' and '.', in labels of 1 to 63 characters, 253 in all; one
 * trailing dot allowed (it names the same host). Anything else cannot match a tenant and is refused.
 */
function readHostName(body: Uint8Array, start: number, end: number): string | undefined {
  if (end > start && body[end - 1] === 0x2e) end--;
  const length = end - start;
  if (length < 1 || length > 253) return undefined;
  let name = '';
  let label = 0;
  for (let i = start; i < end; i++) {
    let c = body[i]!;
    if (c === 0x2e) {
      if (label === 0) return undefined; // empty label
      label = 0;
    } else {
      if (c >= 0x41 && c <= 0x5a) c += 0x20; // lowercase
      const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f;
      if (!ok || ++label > 63) return undefined;
    }
    name += String.fromCharCode(c);
  }
  return label === 0 ? undefined : name;
}

function concat(parts: Uint8Array[], total: number): Buffer {
  return Buffer.concat(parts, total);
}

export function clientHelloReader(limits: ClientHelloLimits = {}): ClientHelloReader {
  return new ClientHelloReader(limits.maxBytes ?? DEFAULT_MAX_CLIENT_HELLO_BYTES, limits.maxRecords ?? Infinity);
}

/**
 * Reads a ClientHello over TCP reads. Bytes go into one buffer that doubles when full (bounded by
 * maxBytes, so at most twice that), and the record walk resumes where it stopped: each byte is
 * copied O(1) times and walked once, so a hello sent as one record per read costs O(bytes), not
 * a join and a re-parse from the start per read.
 */
export class ClientHelloReader {
  private buffer: Buffer = EMPTY;
  private total = 0;
  private needed = 1;
  private settled = false;
  private readonly walk: RecordWalk;

  constructor(
    private readonly maxBytes: number,
    maxRecords: number,
  ) {
    this.walk = new RecordWalk(maxBytes, maxRecords);
  }

  /** Starts from a first read the parser already answered "need `needed` bytes" for. */
  startWith(chunk: Buffer, needed: number): this {
    this.append(chunk);
    this.needed = Math.min(Math.max(needed, this.total + 1), this.maxBytes);
    return this;
  }

  /** Every byte fed so far. */
  bytes(): Buffer {
    return this.buffer.subarray(0, this.total);
  }

  feed(chunk: Buffer): FeedResult<ClientHelloInfo, ClientHelloErrorCode> {
    if (this.settled) throw new Error('ClientHelloReader: feed after a result');
    this.append(chunk);
    if (this.total < this.needed) return INCOMPLETE;
    const all = this.bytes();
    const step = this.walk.advance(all);
    if (step.status === 'incomplete') {
      if (step.needed > this.maxBytes || this.total >= this.maxBytes) {
        this.settled = true;
        return { status: 'error', code: 'too_large', message: `more than ${this.maxBytes} bytes buffered without a complete ClientHello` };
      }
      this.needed = Math.max(step.needed, this.total + 1);
      return INCOMPLETE;
    }
    this.settled = true;
    if (step.status === 'error') return step;
    return { status: 'done', value: step.value, length: step.length, bytes: all };
  }

  private append(chunk: Buffer): void {
    const total = this.total + chunk.length;
    if (total > this.buffer.length) {
      // Past maxBytes the next walk refuses the hello; the buffer never holds much more than that.
      const grown = Buffer.allocUnsafe(Math.max(total, Math.min(this.buffer.length * 2 || 1024, this.maxBytes + MAX_RECORD_PAYLOAD + RECORD_HEADER)));
      this.buffer.copy(grown, 0, 0, this.total);
      this.buffer = grown;
    }
    chunk.copy(this.buffer, this.total);
    this.total = total;
  }
}

const EMPTY = Buffer.alloc(0);
