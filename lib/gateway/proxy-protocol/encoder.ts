/**
 * PROXY protocol v2 encoder: for the upstream option that forwards the original addresses and link
 * ID, and for `linkgate simulate`, which writes the header a cloud's Private Link edge would.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { Cloud } from '../../tenants/ids';
import { writeIPv4, writeIPv6 } from './addresses';
import { LINK_ID_TLV_TYPE, encodeLinkIdTlvValue } from './cloud-tlv';
import {
  COMMAND_LOCAL,
  COMMAND_PROXY,
  FAMILY_INET,
  FAMILY_INET6,
  FAMILY_UNSPEC,
  FIXED_HEADER_LENGTH,
  MAX_BODY_LENGTH,
  PP2_TYPE_AUTHORITY,
  PP2_TYPE_CRC32C,
  PP2_TYPE_NOOP,
  SIGNATURE,
  TLV_HEADER_LENGTH,
  TRANSPORT_STREAM,
  TRANSPORT_UNSPEC,
  VERSION_2,
} from './constants';
import { crc32cWithZeroedField } from './crc32c';

export interface EncodeTlv {
  readonly type: number;
  readonly value: Uint8Array;
}

export interface EncodeOptions {
  readonly command?: 'PROXY' | 'LOCAL';
  /** Both or neither; IPv4 and IPv6 must not be mixed. Neither: family UNSPEC. */
  readonly source?: { readonly address: string; readonly port: number };
  readonly destination?: { readonly address: string; readonly port: number };
  readonly tlvs?: readonly EncodeTlv[];
  /** Add a CRC32C TLV (first, as AWS NLB writes it). Default false. */
  readonly crc32c?: boolean;
  /** Append a NOOP TLV so the header is at least this many bytes (AWS pads its headers). */
  readonly padToLength?: number;
}

export function encodeProxyHeader(options: EncodeOptions = {}): Buffer {
  const command = options.command === 'LOCAL' ? COMMAND_LOCAL : COMMAND_PROXY;
  const { source, destination } = options;
  if ((source === undefined) !== (destination === undefined)) {
    throw new TypeError('encodeProxyHeader: give both source and destination, or neither');
  }
  let family = FAMILY_UNSPEC;
  let addressLength = 0;
  if (source && destination) {
    if (isIPv4(source.address) && isIPv4(destination.address)) {
      family = FAMILY_INET;
      addressLength = 12;
    } else if (isIPv6(source.address) && isIPv6(destination.address)) {
      family = FAMILY_INET6;
      addressLength = 36;
    } else {
      throw new TypeError(`encodeProxyHeader: source ${source.address} and destination ${destination.address} must both be IPv4 or both IPv6`);
    }
    for (const p of [source.port, destination.port]) {
      if (!Number.isInteger(p) || p < 0 || p > 0xffff) throw new RangeError(`encodeProxyHeader: port ${p} out of range`);
    }
  }

  const tlvs: EncodeTlv[] = [];
  if (options.crc32c) tlvs.push({ type: PP2_TYPE_CRC32C, value: new Uint8Array(4) });
  tlvs.push(...(options.tlvs ?? []));
  let bodyLength = addressLength + tlvs.reduce((n, t) => n + TLV_HEADER_LENGTH + t.value.length, 0);
  if (options.padToLength !== undefined) {
    const missing = options.padToLength - (FIXED_HEADER_LENGTH + bodyLength);
    if (missing > 0) {
      // A NOOP TLV is at least its 3-byte header.
      const padding = Math.max(0, missing - TLV_HEADER_LENGTH);
      tlvs.push({ type: PP2_TYPE_NOOP, value: new Uint8Array(padding) });
      bodyLength += TLV_HEADER_LENGTH + padding;
    }
  }
  if (bodyLength > MAX_BODY_LENGTH) throw new RangeError(`encodeProxyHeader: body of ${bodyLength} bytes exceeds 65535`);

  const out = Buffer.alloc(FIXED_HEADER_LENGTH + bodyLength);
  SIGNATURE.copy(out, 0);
  out[12] = (VERSION_2 << 4) | command;
  out[13] = (family << 4) | (family === FAMILY_UNSPEC ? TRANSPORT_UNSPEC : TRANSPORT_STREAM);
  out.writeUInt16BE(bodyLength, 14);
  let at = FIXED_HEADER_LENGTH;
  if (source && destination) {
    if (family === FAMILY_INET) {
      writeIPv4(out, at, source.address);
      writeIPv4(out, at + 4, destination.address);
      out.writeUInt16BE(source.port, at + 8);
      out.writeUInt16BE(destination.port, at + 10);
    } else {
      writeIPv6(out, at, source.address);
      writeIPv6(out, at + 16, destination.address);
      out.writeUInt16BE(source.port, at + 32);
      out.writeUInt16BE(destination.port, at + 34);
    }
    at += addressLength;
  }
  let crcAt = -1;
  for (const tlv of tlvs) {
    if (tlv.value.length > 0xffff) throw new RangeError(`encodeProxyHeader: TLV 0x${tlv.type.toString(16)} too long`);
    out[at] = tlv.type;
    out.writeUInt16BE(tlv.value.length, at + 1);
    if (tlv.type === PP2_TYPE_CRC32C && options.crc32c && crcAt < 0) crcAt = at + TLV_HEADER_LENGTH;
    out.set(tlv.value, at + TLV_HEADER_LENGTH);
    at += TLV_HEADER_LENGTH + tlv.value.length;
  }
  if (crcAt >= 0) out.writeUInt32BE(crc32cWithZeroedField(out, 0, out.length, crcAt), crcAt);
  return out;
}

/** The link-ID TLV for one cloud, ready for `tlvs`. */
export function linkIdTlv(cloud: Cloud, linkId: string): EncodeTlv {
  return { type: LINK_ID_TLV_TYPE[cloud], value: encodeLinkIdTlvValue(cloud, linkId) };
}

/** PP2_TYPE_AUTHORITY (0x02): the host name the client asked for (the SNI), UTF-8. */
export function authorityTlv(hostname: string): EncodeTlv {
  return { type: PP2_TYPE_AUTHORITY, value: Buffer.from(hostname, 'utf8') };
}

/**
 * The tenant the gateway decided on, in the upstream's custom TLV type (validated by the config
 * schema: 0xE0-0xEF and not a cloud's link-ID type).
 */
export function tenantTlv(type: number, tenant: string): EncodeTlv {
  return { type, value: Buffer.from(tenant, 'utf8') };
}

/**
 * The header as the named cloud writes it: AWS NLB adds CRC32C and pads with NOOP (as in the
 * shared capture vector); Azure and GCP are written with the link-ID TLV alone.
 */
export function cloudProxyHeader(
  cloud: Cloud,
  linkId: string,
  source: { address: string; port: number },
  destination: { address: string; port: number },
): Buffer {
  const tlvs = [linkIdTlv(cloud, linkId)];
  return cloud === 'aws'
    ? encodeProxyHeader({ source, destination, tlvs, crc32c: true, padToLength: 100 })
    : encodeProxyHeader({ source, destination, tlvs });
}
