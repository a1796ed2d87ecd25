/**
 * The link-ID TLVs each cloud writes (shared/CLOUD-FACTS.md, "Link-ID TLVs"):
 *   AWS   0xEA, subtype 0x01, then the VPC endpoint ID in ASCII (length - 1 bytes)
 *   Azure 0xEE, subtype 0x01, then the LinkID as uint32 little-endian (value is 5 bytes)
 *   GCP   0xE0, the PSC connection ID as uint64 big-endian (8 bytes, no subtype)
 * IDs come out as strings: GCP's exceed 2^53.
 */
import { UINT32_MAX, UINT64_MAX, type Cloud } from '../../tenants/ids';
import {
  PP2_SUBTYPE_AWS_VPCE_ID,
  PP2_SUBTYPE_AZURE_LINK_ID,
  PP2_TYPE_AWS,
  PP2_TYPE_AZURE,
  PP2_TYPE_GCP,
} from './constants';

export interface LinkIdentity {
  readonly cloud: Cloud;
  readonly linkId: string;
}

export const LINK_ID_TLV_TYPE: Readonly<Record<Cloud, number>> = {
  aws: PP2_TYPE_AWS,
  azure: PP2_TYPE_AZURE,
  gcp: PP2_TYPE_GCP,
};

/** Longest VPC endpoint ID we accept in a TLV; real ones are 22 characters. */
const MAX_AWS_ID_LENGTH = 64;

export function isLinkIdTlvType(type: number): boolean {
  return type === PP2_TYPE_AWS || type === PP2_TYPE_AZURE || type === PP2_TYPE_GCP;
}

/**
 * Decodes a link-ID TLV value `bytes[start, end)`. Returns null for a subtype that carries no link
 * ID (skipped like any unknown TLV) and 'malformed' for a value of the wrong size or content.
 */
export function decodeLinkIdTlv(
  type: number,
  bytes: Uint8Array,
  start: number,
  end: number,
): LinkIdentity | null | 'malformed' {
  const length = end - start;
  switch (type) {
    case PP2_TYPE_AWS: {
      if (length < 1 || bytes[start] !== PP2_SUBTYPE_AWS_VPCE_ID) return null;
      if (length < 2 || length - 1 > MAX_AWS_ID_LENGTH) return 'malformed';
      let id = '';
      for (let i = start + 1; i < end; i++) {
        const b = bytes[i]!;
        if (b < 0x21 || b > 0x7e) return 'malformed'; // printable ASCII only: it goes into logs
        id += String.fromCharCode(b);
      }
      return { cloud: 'aws', linkId: id };
    }
    case PP2_TYPE_AZURE: {
      if (length < 1 || bytes[start] !== PP2_SUBTYPE_AZURE_LINK_ID) return null;
      if (length !== 5) return 'malformed';
      const id =
        (bytes[start + 1]! | (bytes[start + 2]! << 8) | (bytes[start + 3]! << 16) | (bytes[start + 4]! << 24)) >>> 0;
      return { cloud: 'azure', linkId: String(id) };
    }
    case PP2_TYPE_GCP: {
      if (length !== 8) return 'malformed';
      const hi = ((bytes[start]! << 24) | (bytes[start + 1]! << 16) | (bytes[start + 2]! << 8) | bytes[start + 3]!) >>> 0;
      const lo = ((bytes[start + 4]! << 24) | (bytes[start + 5]! << 16) | (bytes[start + 6]! << 8) | bytes[start + 7]!) >>> 0;
      // Exact: BigInt for the full 64 bits, a plain number when it fits in 53.
      const id = hi < 0x200000 ? String(hi * 0x1_0000_0000 + lo) : ((BigInt(hi) << 32n) | BigInt(lo)).toString();
      return { cloud: 'gcp', linkId: id };
    }
    default:
      return null;
  }
}

/** The TLV value (subtype included) a cloud would write for `linkId`. */
export function encodeLinkIdTlvValue(cloud: Cloud, linkId: string): Buffer {
  switch (cloud) {
    case 'aws':
      return Buffer.concat([Buffer.from([PP2_SUBTYPE_AWS_VPCE_ID]), Buffer.from(linkId, 'ascii')]);
    case 'azure': {
      const value = Buffer.alloc(5);
      value[0] = PP2_SUBTYPE_AZURE_LINK_ID;
      const id = BigInt(linkId);
      if (id < 0n || id > UINT32_MAX) throw new RangeError(`Azure LinkID out of uint32 range: ${linkId}`);
      value.writeUInt32LE(Number(id), 1);
      return value;
    }
    case 'gcp': {
      const value = Buffer.alloc(8);
      const id = BigInt(linkId);
      if (id < 0n || id > UINT64_MAX) throw new RangeError(`GCP PSC connection ID out of uint64 range: ${linkId}`);
      value.writeBigUInt64BE(id);
      return value;
    }
  }
}
