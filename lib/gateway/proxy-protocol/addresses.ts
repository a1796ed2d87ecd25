/** Binary ↔ text for the IPv4 and IPv6 addresses in a PROXY v2 address block. */
import { isIPv4, isIPv6 } from 'node:net';

export function formatIPv4(bytes: Uint8Array, at: number): string {
  return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
}

/** RFC 5952 text: lowercase, longest run (2+) of zero groups as "::", IPv4-mapped as ::ffff:a.b.c.d. */
export function formatIPv6(bytes: Uint8Array, at: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((bytes[at + 2 * i]! << 8) | bytes[at + 2 * i + 1]!);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${formatIPv4(bytes, at + 12)}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function writeIPv4(out: Uint8Array, at: number, address: string): void {
  if (!isIPv4(address)) throw new TypeError(`not an IPv4 address: ${address}`);
  address.split('.').forEach((part, i) => (out[at + i] = Number(part)));
}

export function writeIPv6(out: Uint8Array, at: number, address: string): void {
  if (!isIPv6(address)) throw new TypeError(`not an IPv6 address: ${address}`);
  let text = address.replace(/%.*$/, '');
  const groups: number[] = [];
  const dotted = text.lastIndexOf('.') >= 0 ? text.slice(text.lastIndexOf(':') + 1) : undefined;
  if (dotted) {
    const [a, b, c, d] = dotted.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, text.lastIndexOf(':') + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (s: string) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  groups.push(...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right);
  groups.forEach((g, i) => {
    out[at + 2 * i] = g >> 8;
    out[at + 2 * i + 1] = g & 0xff;
  });
}
