/** Byte-annotated vectors: each row is hex plus what those bytes mean, so a failure reads like the spec. */
export function annotated(...rows: readonly (readonly [hex: string, meaning: string])[]): Buffer {
  return Buffer.from(rows.map(([hex]) => hex.replace(/\s+/g, '')).join(''), 'hex');
}

/** Every way to cut `bytes` in two, plus one byte at a time. */
export function splits(bytes: Buffer): Buffer[][] {
  const out: Buffer[][] = [];
  for (let at = 0; at <= bytes.length; at++) out.push([bytes.subarray(0, at), bytes.subarray(at)]);
  out.push([...bytes].map((b) => Buffer.from([b])));
  return out;
}

import type { Cloud } from '../../lib/tenants/ids';
import { cloudProxyHeader } from '../../lib/gateway/proxy-protocol/encoder';
import { buildClientHello } from '../../lib/gateway/tls/build-client-hello';

/** The source address a simulated cloud reports for the client (TEST-NET-2). */
export const CLIENT = { address: '198.51.100.77', port: 40_001 } as const;
export const ENDPOINT = { address: '10.0.0.10', port: 8443 } as const;

/** What a cloud edge sends for a client: its PROXY v2 header, then the client's ClientHello. */
export function privateLinkOpening(cloud: Cloud, linkId: string, serverName: string | null): Buffer {
  return privateLinkParts(cloud, linkId, serverName).opening;
}

/** The same opening and its two parts, for a test that checks what the upstream receives (the hello). */
export function privateLinkParts(cloud: Cloud, linkId: string, serverName: string | null): { header: Buffer; hello: Buffer; opening: Buffer } {
  const header = cloudProxyHeader(cloud, linkId, CLIENT, ENDPOINT);
  const hello = buildClientHello({ serverName });
  return { header, hello, opening: Buffer.concat([header, hello]) };
}
