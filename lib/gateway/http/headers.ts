/**
 * Header rewriting between the client and the upstream in http mode. Node's parsers (http, http2)
 * and undici's do the parsing; this only chooses which fields cross and adds what the gateway
 * decided.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** Fields that describe one hop's connection (RFC 9110 §7.6.1), never passed on. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'http2-settings',
  'proxy-authenticate',
  'proxy-authorization',
]);

/** Names the gateway writes itself: a client's own are removed, so the upstream can trust them. */
export const TENANT_HEADER = 'x-linkgate-tenant';
export const LINK_ID_HEADER = 'x-linkgate-link-id';
export const CLOUD_HEADER = 'x-linkgate-cloud';
const OWN_PREFIX = 'x-linkgate-';
/**
 * Fields proxies and frameworks trust for the client's address, host, scheme or the original URL
 * (a rewrite in front of a path-based router). A client's own would be believed by the upstream
 * (an IP allow list, a tenant chosen from X-Forwarded-Host): removed, and the X-Forwarded-* trio
 * written from what the gateway saw, as most upstream frameworks read those rather than Forwarded.
 */
const PROXY_FIELDS = new Set(['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'x-real-ip', 'x-original-url', 'x-rewrite-url', 'x-forwarded-server', 'x-host']);

export interface Decided {
  readonly tenant: string;
  readonly linkId: string | null;
  readonly cloud: string | null;
  /** Client address:port as the cloud reported it (private link) or as seen (public). */
  readonly source: string;
  /** Host / :authority as the client sent it (with its port, if any). */
  readonly host: string;
}

export type OutgoingHeaders = Record<string, string | string[]>;

/** Names listed in Connection are hop-by-hop too (RFC 9110 §7.6.1). */
function connectionTokens(value: string | string[] | undefined): Set<string> | null {
  if (value === undefined) return null;
  const text = Array.isArray(value) ? value.join(',') : value;
  return new Set(text.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean));
}

/**
 * What the upstream receives: the client's end-to-end fields, minus pseudo-headers, hop-by-hop
 * fields, `Forwarded` and every `x-linkgate-*` the client wrote, plus the gateway's own. With
 * `upgrade`, Connection and Upgrade cross (a WebSocket handshake needs them).
 */
export function upstreamRequestHeaders(incoming: IncomingHttpHeaders, decided: Decided, upgrade = false): OutgoingHeaders {
  const named = connectionTokens(incoming.connection);
  const out: OutgoingHeaders = {};
  for (const name of Object.keys(incoming)) {
    const value = incoming[name];
    if (value === undefined || name.charCodeAt(0) === 58 /* ':' */) continue;
    if (name === 'host' || name === 'forwarded' || name.startsWith(OWN_PREFIX) || PROXY_FIELDS.has(name)) continue;
    if (HOP_BY_HOP.has(name) || named?.has(name)) continue;
    out[name] = value;
  }
  out.host = decided.host;
  if (upgrade) {
    out.connection = 'Upgrade';
    if (incoming.upgrade !== undefined) out.upgrade = incoming.upgrade;
  }
  out.forwarded = `for=${quoted(decided.source)};proto=https;host=${quoted(decided.host)}`;
  out['x-forwarded-for'] = addressOf(decided.source);
  out['x-forwarded-proto'] = 'https';
  out['x-forwarded-host'] = decided.host;
  out[TENANT_HEADER] = decided.tenant;
  if (decided.linkId !== null) out[LINK_ID_HEADER] = decided.linkId;
  out[CLOUD_HEADER] = decided.cloud ?? 'none';
  return out;
}

/** What the client receives from the upstream's answer: its end-to-end fields only. */
export function clientResponseHeaders(incoming: Record<string, string | string[] | undefined>): OutgoingHeaders {
  const named = connectionTokens(incoming.connection);
  const out: OutgoingHeaders = {};
  for (const name of Object.keys(incoming)) {
    const value = incoming[name];
    if (value === undefined || name.charCodeAt(0) === 58) continue;
    if (HOP_BY_HOP.has(name) || named?.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** `1.2.3.4:5` → `1.2.3.4`, `[::1]:5` → `::1`; `unknown` stays. */
function addressOf(source: string): string {
  const m = /^\[([^\]]+)\]:\d+$/.exec(source) ?? /^([^:]+):\d+$/.exec(source);
  return m ? m[1]! : source;
}

/** RFC 7239 §4: a node with ':' (a port, IPv6) must be a quoted-string. */
function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * Host / :authority → the hostname a tenant is looked up by: no port, lowercase, trailing dot
 * removed. Null when it is not a plausible host (then the request is malformed).
 */
export function hostnameOf(authority: string | undefined): string | null {
  if (!authority || authority.length > 262) return null;
  let host = authority;
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    if (end < 0) return null;
    host = host.slice(1, end);
  } else {
    const colon = host.lastIndexOf(':');
    if (colon >= 0) {
      if (!/^\d{1,5}$/.test(host.slice(colon + 1))) return null;
      host = host.slice(0, colon);
    }
  }
  host = host.toLowerCase().replace(/\.$/, '');
  return /^[a-z0-9.:_-]+$/.test(host) && host.length <= 253 ? host : null;
}
