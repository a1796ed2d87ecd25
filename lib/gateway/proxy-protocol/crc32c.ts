/**
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78), as PROXY v2's PP2_TYPE_CRC32C requires.
 * Table-driven, eight bytes per step: headers are small but every private-link connection pays it.
 */
const POLY = 0x82f63b78;

const TABLES: Uint32Array[] = (() => {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  const t0 = tables[0]!;
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t0[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t0[n]!;
    for (let k = 1; k < 8; k++) {
      c = t0[c & 0xff]! ^ (c >>> 8);
      tables[k]![n] = c >>> 0;
    }
  }
  return tables;
})();
const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES as [
  Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array,
];

/** Continues a CRC32C over `bytes[start, end)`; start from 0 for a new checksum. */
export function crc32cUpdate(crc: number, bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = ~crc >>> 0;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const lo = (c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24))) >>> 0;
    c =
      T7[lo & 0xff]! ^
      T6[(lo >>> 8) & 0xff]! ^
      T5[(lo >>> 16) & 0xff]! ^
      T4[lo >>> 24]! ^
      T3[bytes[i + 4]!]! ^
      T2[bytes[i + 5]!]! ^
      T1[bytes[i + 6]!]! ^
      T0[bytes[i + 7]!]!;
  }
  for (; i < end; i++) c = T0[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

export function crc32c(bytes: Uint8Array): number {
  return crc32cUpdate(0, bytes);
}

const ZEROS = new Uint8Array(4);

/**
 * CRC32C of `bytes[start, end)` as if the four bytes at `zeroAt` were zero: PROXY v2 checksums
 * the whole header with the checksum field itself zeroed, and this avoids copying the header.
 */
export function crc32cWithZeroedField(bytes: Uint8Array, start: number, end: number, zeroAt: number): number {
  let c = crc32cUpdate(0, bytes, start, zeroAt);
  c = crc32cUpdate(c, ZEROS, 0, 4);
  return crc32cUpdate(c, bytes, zeroAt + 4, end);
}
