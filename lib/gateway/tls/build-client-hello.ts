/**
 * Builds ClientHello bytes shaped like a current browser's: TLS 1.3 extensions and, by default, a
 * post-quantum hybrid key share (X25519MLKEM768, 1216 bytes + X25519), which makes the message
 * larger than one Ethernet packet. Used by the load generator, tests and fuzzers, never by the
 * gateway itself.
 */
import { createECDH, randomBytes } from 'node:crypto';

export interface ClientHelloSpec {
  /** host_name to send; null leaves the server_name extension out. */
  readonly serverName?: string | null;
  /** Include an X25519MLKEM768 key share. Default true. */
  readonly postQuantum?: boolean;
  /** Split the handshake message into TLS records of at most this many payload bytes. */
  readonly maxRecordPayload?: number;
  /** ALPN protocols. Default ["h2", "http/1.1"]. */
  readonly alpn?: readonly string[];
  /** Random bytes source (tests pass a seeded one for reproducible vectors). */
  readonly random?: (n: number) => Buffer;
  /**
   * Groups to send a key share for, in order. Default: X25519MLKEM768 (unless `postQuantum` is
   * false), X25519. A secp256r1 (0x0017) share is a real point, so a server can complete a
   * handshake on it: a test offers X25519 only to a P-256 server to get a HelloRetryRequest,
   * then retries with P-256.
   */
  readonly keyShareGroups?: readonly number[];
  /** legacy_session_id; a hello retried after a HelloRetryRequest repeats the first one's. */
  readonly sessionId?: Buffer;
}

const GROUP_X25519MLKEM768 = 0x11ec;
const GROUP_X25519 = 0x001d;
const GROUP_SECP256R1 = 0x0017;

function keyShare(group: number, rand: (n: number) => Buffer): Buffer {
  if (group === GROUP_SECP256R1) return createECDH('prime256v1').generateKeys(); // uncompressed point, 65 bytes
  return rand(group === GROUP_X25519MLKEM768 ? 1216 : group === GROUP_X25519 ? 32 : 64);
}

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const u24 = (n: number) => Buffer.from([n >> 16, (n >> 8) & 0xff, n & 0xff]);
const vec8 = (b: Buffer) => Buffer.concat([Buffer.from([b.length]), b]);
const vec16 = (b: Buffer) => Buffer.concat([u16(b.length), b]);
const ext = (type: number, body: Buffer) => Buffer.concat([u16(type), vec16(body)]);

export function buildClientHello(spec: ClientHelloSpec = {}): Buffer {
  const rand = spec.random ?? randomBytes;
  const serverName = spec.serverName === undefined ? 'example.com' : spec.serverName;
  const extensions: Buffer[] = [];
  if (serverName !== null) {
    const name = Buffer.from(serverName, 'ascii');
    extensions.push(ext(0x0000, vec16(Buffer.concat([Buffer.from([0x00]), vec16(name)]))));
  }
  extensions.push(ext(0x0017, Buffer.alloc(0))); // extended_master_secret
  extensions.push(ext(0xff01, Buffer.from([0x00]))); // renegotiation_info
  const groups = spec.postQuantum === false ? [0x001d, 0x0017, 0x0018] : [0x11ec, 0x001d, 0x0017, 0x0018];
  extensions.push(ext(0x000a, vec16(Buffer.concat(groups.map(u16))))); // supported_groups
  extensions.push(ext(0x000b, vec8(Buffer.from([0x00])))); // ec_point_formats
  extensions.push(ext(0x0023, Buffer.alloc(0))); // session_ticket
  const alpn = (spec.alpn ?? ['h2', 'http/1.1']).map((p) => vec8(Buffer.from(p, 'ascii')));
  extensions.push(ext(0x0010, vec16(Buffer.concat(alpn))));
  extensions.push(ext(0x0005, Buffer.from([0x01, 0x00, 0x00, 0x00, 0x00]))); // status_request
  const sigAlgs = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601];
  extensions.push(ext(0x000d, vec16(Buffer.concat(sigAlgs.map(u16)))));
  extensions.push(ext(0x0012, Buffer.alloc(0))); // signed_certificate_timestamp
  const shareGroups = spec.keyShareGroups ?? (spec.postQuantum === false ? [GROUP_X25519] : [GROUP_X25519MLKEM768, GROUP_X25519]);
  const shares = shareGroups.map((group) => Buffer.concat([u16(group), vec16(keyShare(group, rand))]));
  extensions.push(ext(0x0033, vec16(Buffer.concat(shares)))); // key_share
  extensions.push(ext(0x002d, vec8(Buffer.from([0x01])))); // psk_key_exchange_modes
  extensions.push(ext(0x002b, vec8(Buffer.concat([u16(0x0304), u16(0x0303)])))); // supported_versions
  extensions.push(ext(0x001b, Buffer.from([0x02, 0x00, 0x02]))); // compress_certificate
  // encrypted_client_hello as browsers send it when they have no ECH config (GREASE): outer type,
  // HPKE suite, config id, a 32-byte enc and a random payload.
  extensions.push(ext(0xfe0d, Buffer.concat([Buffer.from([0x00, 0x00, 0x01, 0x00, 0x01, rand(1)[0]!]), vec16(rand(32)), vec16(rand(208))])));

  const suites = [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8];
  const body = Buffer.concat([
    u16(0x0303), // legacy_version
    rand(32),
    vec8(spec.sessionId ?? rand(32)), // legacy_session_id
    vec16(Buffer.concat(suites.map(u16))),
    vec8(Buffer.from([0x00])), // null compression
    vec16(Buffer.concat(extensions)),
  ]);
  const handshake = Buffer.concat([Buffer.from([0x01]), u24(body.length), body]);
  const maxPayload = spec.maxRecordPayload ?? 16384;
  const records: Buffer[] = [];
  for (let at = 0; at < handshake.length; at += maxPayload) {
    const fragment = handshake.subarray(at, Math.min(handshake.length, at + maxPayload));
    records.push(Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), u16(fragment.length), fragment]));
  }
  return Buffer.concat(records);
}
