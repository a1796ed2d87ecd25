/**
 * PROXY protocol v2 decoder. Pure: given every byte received so far it answers "need N bytes in
 * total", "done: the header is the first `length` bytes", or one error code. It never reads past
 * the length the header declares and never throws on any input.
 *
 * Spec rules that decide behaviour are quoted from haproxy's doc/proxy-protocol.txt.
 */
import { IncrementalReader, type ParseStep } from '../bytes';
import { formatIPv4, formatIPv6 } from './addresses';
import { decodeLinkIdTlv, isLinkIdTlvType, type LinkIdentity } from './cloud-tlv';
import {
  ADDRESS_BLOCK_LENGTH,
  COMMAND_LOCAL,
  COMMAND_PROXY,
  FAMILY_INET,
  FAMILY_INET6,
  FAMILY_UNIX,
  FAMILY_UNSPEC,
  FIXED_HEADER_LENGTH,
  MAX_BODY_LENGTH,
  PP2_TYPE_AUTHORITY,
  PP2_TYPE_CRC32C,
  SIGNATURE,
  SIGNATURE_LENGTH,
  TLV_HEADER_LENGTH,
  TRANSPORT_DGRAM,
  TRANSPORT_STREAM,
  TRANSPORT_UNSPEC,
  VERSION_2,
} from './constants';
import { crc32cWithZeroedField } from './crc32c';

export type ProxyHeaderErrorCode =
  | 'not_proxy_v2'
  | 'bad_version'
  | 'bad_command'
  | 'bad_family'
  | 'bad_address_length'
  | 'too_large'
  | 'bad_tlv'
  | 'bad_crc'
  | 'bad_link_id_tlv'
  | 'duplicate_link_id_tlv'
  | 'bad_authority_tlv'
  | 'bad_tenant_tlv';

export type ProxyCommand = 'LOCAL' | 'PROXY';
export type ProxyFamily = 'UNSPEC' | 'INET' | 'INET6' | 'UNIX';
export type ProxyTransport = 'UNSPEC' | 'STREAM' | 'DGRAM';

export type ProxyAddress = { readonly address: string; readonly port: number } | { readonly path: string };

export interface ProxyTlv {
  readonly type: number;
  /** A view into the received bytes; copy it to keep it beyond the connection. */
  readonly value: Buffer;
}

export interface ProxyHeader {
  readonly version: 2;
  readonly command: ProxyCommand;
  readonly family: ProxyFamily;
  readonly transport: ProxyTransport;
  /** Null for LOCAL, UNSPEC, or when the addresses are not to be used. */
  readonly source: ProxyAddress | null;
  readonly destination: ProxyAddress | null;
  readonly tlvs: readonly ProxyTlv[];
  /** The cloud link ID carried by the header, if any. */
  readonly link: LinkIdentity | null;
  /**
   * PP2_TYPE_AUTHORITY (0x02), "the host name value passed by the client, as an UTF8-encoded
   * string": in linkgate's header to the upstream, the SNI the gateway decided on. Null when absent.
   */
  readonly authority: string | null;
  /** The tenant TLV (type `DecodeOptions.tenantTlvType`) as UTF-8; null when absent or not asked for. */
  readonly tenant: string | null;
  /** 'invalid' only when decoding with verifyCrc: false; otherwise a wrong checksum is an error. */
  readonly crc32c: 'valid' | 'invalid' | 'absent';
  /** Whole header size in bytes: 16 + the declared length. */
  readonly length: number;
}

export interface DecodeOptions {
  /** Largest header accepted, fixed part included. Default 4096. */
  readonly maxHeaderBytes?: number;
  /** Reject a header whose CRC32C TLV does not match. Default true. */
  readonly verifyCrc?: boolean;
  /**
   * Custom TLV type (0xE0-0xEF) that names the tenant, as the gateway's upstream `tenantTlvType`
   * writes it. Default: none (such a TLV is listed like any unknown one).
   */
  readonly tenantTlvType?: number;
}

export const DEFAULT_MAX_HEADER_BYTES = 4096;

const FAMILIES: Readonly<Record<number, ProxyFamily>> = {
  [FAMILY_UNSPEC]: 'UNSPEC',
  [FAMILY_INET]: 'INET',
  [FAMILY_INET6]: 'INET6',
  [FAMILY_UNIX]: 'UNIX',
};
const TRANSPORTS: Readonly<Record<number, ProxyTransport>> = {
  [TRANSPORT_UNSPEC]: 'UNSPEC',
  [TRANSPORT_STREAM]: 'STREAM',
  [TRANSPORT_DGRAM]: 'DGRAM',
};

type Step = ParseStep<ProxyHeader, ProxyHeaderErrorCode>;

const err = (code: ProxyHeaderErrorCode, message: string): Step => ({ status: 'error', code, message });

/**
 * "Whether a header is present" is never guessed: a listener that requires one calls this, and a
 * mismatch in the first bytes is an error at once, without waiting for more.
 */
export function decodeProxyHeader(bytes: Uint8Array, options: DecodeOptions = {}): Step {
  const maxHeaderBytes = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  const available = bytes.length;

  const signatureBytes = Math.min(available, SIGNATURE_LENGTH);
  for (let i = 0; i < signatureBytes; i++) {
    if (bytes[i] !== SIGNATURE[i]) return err('not_proxy_v2', 'the stream does not start with the PROXY v2 signature');
  }
  // Within the signature every byte can decide, so ask for one more at a time (12 at most).
  if (available < SIGNATURE_LENGTH) return { status: 'incomplete', needed: available + 1 };
  if (available < FIXED_HEADER_LENGTH) return { status: 'incomplete', needed: FIXED_HEADER_LENGTH };

  const verCmd = bytes[12]!;
  // "The highest four bits contains the version ... must always be sent as \x2".
  if (verCmd >> 4 !== VERSION_2) return err('bad_version', `version ${verCmd >> 4} is not 2`);
  const commandCode = verCmd & 0x0f;
  // "Other values are unassigned and must not be emitted by senders. Receivers must drop
  // connections presenting unexpected values here."
  if (commandCode !== COMMAND_LOCAL && commandCode !== COMMAND_PROXY) {
    return err('bad_command', `command 0x${commandCode.toString(16)} is neither LOCAL nor PROXY`);
  }
  const famTrans = bytes[13]!;
  const family = FAMILIES[famTrans >> 4];
  const transport = TRANSPORTS[famTrans & 0x0f];
  if (family === undefined || transport === undefined) {
    return err('bad_family', `address family/transport byte 0x${famTrans.toString(16).padStart(2, '0')} is not defined`);
  }
  const bodyLength = (bytes[14]! << 8) | bytes[15]!;
  const total = FIXED_HEADER_LENGTH + bodyLength;
  if (total > maxHeaderBytes) return err('too_large', `header of ${total} bytes exceeds the ${maxHeaderBytes}-byte limit`);
  if (available < total) return { status: 'incomplete', needed: total };

  if (commandCode === COMMAND_LOCAL) {
    // "the receiver must accept this connection as valid and must use the real connection
    // endpoints and discard the protocol block including the family which is ignored."
    // Receivers always skip `length` bytes; TLVs are reported when they are well formed.
    const tlvs = readTlvs(bytes, FIXED_HEADER_LENGTH + (ADDRESS_BLOCK_LENGTH[famTrans >> 4] ?? 0), total, -1);
    return done({
      command: 'LOCAL',
      family,
      transport,
      source: null,
      destination: null,
      tlvs: typeof tlvs === 'string' ? [] : tlvs.list,
      link: null,
      authority: null,
      tenant: null,
      crc32c: 'absent',
      length: total,
    });
  }

  const addressLength = ADDRESS_BLOCK_LENGTH[famTrans >> 4]!;
  if (bodyLength < addressLength) {
    return err('bad_address_length', `${family} needs a ${addressLength}-byte address block, the header declares ${bodyLength}`);
  }
  let source: ProxyAddress | null = null;
  let destination: ProxyAddress | null = null;
  const a = FIXED_HEADER_LENGTH;
  if (family === 'INET') {
    source = { address: formatIPv4(bytes, a), port: (bytes[a + 8]! << 8) | bytes[a + 9]! };
    destination = { address: formatIPv4(bytes, a + 4), port: (bytes[a + 10]! << 8) | bytes[a + 11]! };
  } else if (family === 'INET6') {
    source = { address: formatIPv6(bytes, a), port: (bytes[a + 32]! << 8) | bytes[a + 33]! };
    destination = { address: formatIPv6(bytes, a + 16), port: (bytes[a + 34]! << 8) | bytes[a + 35]! };
  } else if (family === 'UNIX') {
    source = { path: unixPath(bytes, a) };
    destination = { path: unixPath(bytes, a + 108) };
  }

  const tlvs = readTlvs(bytes, a + addressLength, total, options.tenantTlvType ?? -1);
  if (typeof tlvs === 'string') return err(tlvs, tlvErrorMessage(tlvs));

  let crc32c: ProxyHeader['crc32c'] = 'absent';
  if (tlvs.crcAt >= 0) {
    const expected = ((bytes[tlvs.crcAt]! << 24) | (bytes[tlvs.crcAt + 1]! << 16) | (bytes[tlvs.crcAt + 2]! << 8) | bytes[tlvs.crcAt + 3]!) >>> 0;
    // "the checksum is computed over the whole PROXY protocol header, with the checksum field
    // itself filled with zeros"; "If the checksum ... doesn't match, the receiver MUST reject".
    const actual = crc32cWithZeroedField(bytes, 0, total, tlvs.crcAt);
    crc32c = actual === expected ? 'valid' : 'invalid';
    if (crc32c === 'invalid' && options.verifyCrc !== false) {
      return err('bad_crc', `CRC32C mismatch: header says ${hex32(expected)}, bytes give ${hex32(actual)}`);
    }
  }
  const { list, link, authority, tenant } = tlvs;
  return done({ command: 'PROXY', family, transport, source, destination, tlvs: list, link, authority, tenant, crc32c, length: total });
}

function done(header: Omit<ProxyHeader, 'version'>): Step {
  return { status: 'done', value: { version: 2, ...header }, length: header.length };
}

interface TlvScan {
  list: ProxyTlv[];
  link: LinkIdentity | null;
  authority: string | null;
  tenant: string | null;
  /** Offset of the CRC32C value, or -1. */
  crcAt: number;
}

type TlvError = 'bad_tlv' | 'bad_link_id_tlv' | 'duplicate_link_id_tlv' | 'bad_authority_tlv' | 'bad_tenant_tlv';

/** Strict: a name that is not valid UTF-8 must not be repaired into another name. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A UTF-8 name TLV: non-empty, valid UTF-8, no control characters (it goes into logs). */
function readName(bytes: Uint8Array, start: number, end: number): string | null {
  if (end <= start || end - start > 255) return null;
  let text: string;
  try {
    text = UTF8.decode(bytes.subarray(start, end));
  } catch {
    return null;
  }
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(text) ? null : text;
}

function readTlvs(bytes: Uint8Array, start: number, end: number, tenantType: number): TlvScan | TlvError {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const scan: TlvScan = { list: [], link: null, authority: null, tenant: null, crcAt: -1 };
  let at = start;
  while (at < end) {
    if (at + TLV_HEADER_LENGTH > end) return 'bad_tlv';
    const type = bytes[at]!;
    const valueStart = at + TLV_HEADER_LENGTH;
    const valueEnd = valueStart + ((bytes[at + 1]! << 8) | bytes[at + 2]!);
    if (valueEnd > end) return 'bad_tlv';
    if (type === PP2_TYPE_CRC32C) {
      if (valueEnd - valueStart !== 4 || scan.crcAt >= 0) return 'bad_tlv';
      scan.crcAt = valueStart;
    } else if (type === PP2_TYPE_AUTHORITY) {
      // One name per header: two would leave the receiver to guess which the gateway decided on.
      const name = scan.authority === null ? readName(bytes, valueStart, valueEnd) : null;
      if (name === null) return 'bad_authority_tlv';
      scan.authority = name;
    } else if (type === tenantType) {
      const name = scan.tenant === null ? readName(bytes, valueStart, valueEnd) : null;
      if (name === null) return 'bad_tenant_tlv';
      scan.tenant = name;
    } else if (isLinkIdTlvType(type)) {
      const link = decodeLinkIdTlv(type, bytes, valueStart, valueEnd);
      if (link === 'malformed') return 'bad_link_id_tlv';
      if (link) {
        // Two link IDs in one header would make the decision ambiguous; no cloud writes that.
        if (scan.link) return 'duplicate_link_id_tlv';
        scan.link = link;
      }
    }
    // "Receivers must ignore unknown TLV types" — they are listed, not interpreted.
    scan.list.push({ type, value: buf.subarray(valueStart, valueEnd) });
    at = valueEnd;
  }
  return scan;
}

function tlvErrorMessage(code: TlvError): string {
  switch (code) {
    case 'bad_tlv':
      return 'a TLV runs past the declared header length or is malformed';
    case 'bad_link_id_tlv':
      return 'a cloud link-ID TLV has the wrong size or content';
    case 'duplicate_link_id_tlv':
      return 'the header carries more than one cloud link ID';
    case 'bad_authority_tlv':
      return 'the AUTHORITY TLV (0x02) is empty, repeated, over 255 bytes, or not printable UTF-8';
    case 'bad_tenant_tlv':
      return 'the tenant TLV is empty, repeated, over 255 bytes, or not printable UTF-8';
  }
}

function unixPath(bytes: Uint8Array, at: number): string {
  let end = at;
  while (end < at + 108 && bytes[end] !== 0) end++;
  return Buffer.from(bytes.buffer, bytes.byteOffset + at, end - at).toString('utf8');
}

const hex32 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

/** The largest header the format allows (16 bytes + a 65,535-byte body): what `linkgate decode` accepts. */
export const MAX_PROXY_HEADER_BYTES = FIXED_HEADER_LENGTH + MAX_BODY_LENGTH;

/** Incremental reader: feed TCP reads until it answers done or error. */
export function proxyHeaderReader(options: DecodeOptions = {}): IncrementalReader<ProxyHeader, ProxyHeaderErrorCode> {
  const max = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  return new IncrementalReader((bytes) => decodeProxyHeader(bytes, options), max, 'too_large');
}

/**
 * Does `bytes` (what follows a trusted header) start with another PROXY header, v2 or v1?
 * 'maybe' means the bytes so far are a prefix of a signature. A client that prepends its own
 * header must not get it read as the cloud's (DESIGN.md: spoofing).
 */
export function startsWithProxySignature(bytes: Uint8Array): 'yes' | 'no' | 'maybe' {
  if (bytes.length === 0) return 'maybe';
  return matchPrefix(bytes, SIGNATURE) ?? matchPrefix(bytes, V1_SIGNATURE) ?? 'no';
}

const V1_SIGNATURE = Buffer.from('PROXY ', 'ascii');

function matchPrefix(bytes: Uint8Array, signature: Buffer): 'yes' | 'maybe' | undefined {
  const n = Math.min(bytes.length, signature.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== signature[i]) return undefined;
  return n === signature.length ? 'yes' : 'maybe';
}
