/**
 * The diagnostic exchange `linkgate doctor` runs with the gateway (opt-in: `diagnostics.enabled`).
 *
 * The request is an ordinary TLS ClientHello whose SNI is the hostname asked about and whose ALPN
 * extension offers exactly one protocol, `linkgate-doctor/1`. So it travels the whole real path
 * (the cloud's endpoint and load balancer add their PROXY header; the gateway reads header and
 * hello with its usual parsers and decides with the running policy), and the verdict it reports is
 * the one real traffic for that hostname through that endpoint gets. No browser or TLS library
 * offers that protocol: a real client cannot be mistaken for a doctor.
 *
 * The answer replaces forwarding: the gateway never connects upstream for a doctor hello (with
 * diagnostics on), writes one bounded plaintext line and closes. It starts with `LINKGATE-DOCTOR/1`,
 * not a TLS record, so a TLS stack that somehow got it fails at once rather than misreading it.
 *
 * What the answer holds, and why it leaks nothing of another tenant:
 * - cloud and link ID: what the caller's own endpoint wrote into the header (customers struggle to
 *   find Azure LinkIDs and PSC connection IDs; this is the point);
 * - the hostname asked about, the verdict and its reason code for that hostname only (no list,
 *   no rule, no other hostname or link ID is ever consulted for the reply);
 * - the tenant name only when the verdict is `forward`: the caller's endpoint is then admitted by
 *   that tenant (or the tenant is open to all), so it is that tenant's own customer. A caller that
 *   is not admitted learns the reason code only, never whose hostname it is.
 * The reason does tell `unknown_host` from `link_id_not_allowed`, i.e. whether a hostname is
 * served by this gateway: that is what a customer needs to fix their setup, it is bounded by the
 * rate limits below, and with diagnostics off (the default) nothing of it is revealed.
 *
 * Rate limits, per worker, in fixed one-minute windows: `maxPerMinutePerLinkId` per endpoint and
 * `maxPerMinute` in all. Above either, the caller gets a `rate_limited` answer (still never
 * forwarded) and the drop is counted as `diagnostic_rate_limited`.
 */
import type { LinkIdentity } from './proxy-protocol/cloud-tlv';
import type { Decision, DropReason } from './policy';

/** The ALPN protocol ID that marks a ClientHello as a doctor request. */
export const DOCTOR_ALPN = 'linkgate-doctor/1';
/** First line of every answer. */
export const DOCTOR_REPLY_PREFIX = 'LINKGATE-DOCTOR/1\n';
/** An answer is far smaller (hostname ≤ 253, tenant ≤ 63, link ID ≤ 21 characters): clients stop reading here. */
export const MAX_DOCTOR_REPLY_BYTES = 4096;

export interface DiagnosticsSettings {
  readonly enabled: boolean;
  readonly maxPerMinutePerLinkId: number;
  readonly maxPerMinute: number;
}

/** The JSON line after the prefix. */
export type DoctorReply =
  | {
      readonly status: 'answered';
      readonly cloud: LinkIdentity['cloud'] | null;
      readonly linkId: string | null;
      readonly hostname: string | null;
      readonly verdict: 'forward' | 'drop';
      /** Null when the verdict is forward. */
      readonly reason: DropReason | null;
      /** Only with verdict forward (see the file comment). */
      readonly tenant?: string;
    }
  | { readonly status: 'rate_limited'; readonly retryAfterSec: number };

export interface DiagnosticAnswer {
  readonly reply: Buffer;
  /** How the connection is counted: it is never forwarded. */
  readonly reason: 'diagnostic_answered' | 'diagnostic_rate_limited';
  readonly detail: string;
}

const MARKER = Buffer.from(DOCTOR_ALPN, 'ascii');
const WINDOW_MS = 60_000;

/** Per-worker state: the settings and the current window's counts. */
export class Diagnostics {
  private settings: DiagnosticsSettings;
  private windowStart = -Infinity;
  private total = 0;
  /** Bounded: a key is added only while the global count is under maxPerMinute. */
  private readonly perLink = new Map<string, number>();

  constructor(
    settings: DiagnosticsSettings,
    private readonly now: () => number = Date.now,
  ) {
    this.settings = settings;
  }

  get enabled(): boolean {
    return this.settings.enabled;
  }

  /** On reload: new limits apply from the next request; this window's counts stay. */
  configure(settings: DiagnosticsSettings): void {
    this.settings = settings;
  }

  /** The answer for a doctor hello the policy made `decision` on. */
  answer(link: LinkIdentity | null, hostname: string | null, decision: Decision): DiagnosticAnswer {
    const limited = this.take(link ? `${link.cloud}:${link.linkId}` : '');
    if (limited !== null) {
      return { reply: encodeDoctorReply({ status: 'rate_limited', retryAfterSec: limited }), reason: 'diagnostic_rate_limited', detail: 'linkgate doctor: above the diagnostics rate limit' };
    }
    const reason = decision.verdict === 'drop' ? decision.reason : null;
    const reply: DoctorReply = {
      status: 'answered',
      cloud: link?.cloud ?? null,
      linkId: link?.linkId ?? null,
      hostname,
      verdict: decision.verdict,
      reason,
      ...(decision.verdict === 'forward' ? { tenant: decision.tenant.name } : {}),
    };
    return {
      reply: encodeDoctorReply(reply),
      reason: 'diagnostic_answered',
      detail: `linkgate doctor: would ${decision.verdict === 'forward' ? 'forward' : `drop (${reason})`}`,
    };
  }

  /** Null when the request may be answered, else seconds until the window ends. */
  private take(key: string): number | null {
    const now = this.now();
    if (now - this.windowStart >= WINDOW_MS) {
      this.windowStart = now;
      this.total = 0;
      this.perLink.clear();
    }
    const retryAfterSec = Math.max(1, Math.ceil((this.windowStart + WINDOW_MS - now) / 1000));
    if (this.total >= this.settings.maxPerMinute) return retryAfterSec;
    const used = this.perLink.get(key) ?? 0;
    if (used >= this.settings.maxPerMinutePerLinkId) return retryAfterSec;
    this.perLink.set(key, used + 1);
    this.total++;
    return null;
  }
}

export function encodeDoctorReply(reply: DoctorReply): Buffer {
  return Buffer.from(`${DOCTOR_REPLY_PREFIX}${JSON.stringify(reply)}\n`, 'utf8');
}

/**
 * Whether the ClientHello at the start of `pending` (its `helloLength` bytes, already validated
 * by the gateway's parser) offers exactly the doctor's ALPN protocol. Only called with diagnostics
 * on; a scan for the marker's bytes first keeps the cost for ordinary hellos to one search.
 */
export function isDoctorHello(pending: readonly Buffer[], helloLength: number): boolean {
  const first = pending[0];
  if (!first) return false;
  const bytes = first.length >= helloLength ? first.subarray(0, helloLength) : Buffer.concat(pending).subarray(0, helloLength);
  if (bytes.indexOf(MARKER) < 0) return false;
  const alpn = offeredAlpn(bytes);
  return alpn !== null && alpn.length === 1 && alpn[0] === DOCTOR_ALPN;
}

/**
 * The ALPN protocols (RFC 7301 §3.1) a ClientHello offers, or null when it has no ALPN extension
 * or is malformed. `bytes` are the hello's TLS records; every read is bounds-checked, so any
 * input gives an answer, never an exception.
 */
export function offeredAlpn(bytes: Buffer): string[] | null {
  // Join the records' payloads: the handshake message may span several.
  const fragments: Buffer[] = [];
  for (let at = 0; at + 5 <= bytes.length; ) {
    const end = at + 5 + bytes.readUInt16BE(at + 3);
    if (bytes[at] !== 0x16 || end > bytes.length) return null;
    fragments.push(bytes.subarray(at + 5, end));
    at = end;
  }
  const message = fragments.length === 1 ? fragments[0]! : Buffer.concat(fragments);
  if (message.length < 4 || message[0] !== 0x01) return null;
  const body = message.subarray(4, Math.min(message.length, 4 + message.readUIntBE(1, 3)));
  const n = body.length;
  let at = 2 + 32; // legacy_version, random
  if (at >= n) return null;
  at += 1 + body[at]!; // legacy_session_id
  if (at + 2 > n) return null;
  at += 2 + body.readUInt16BE(at); // cipher_suites
  if (at >= n) return null;
  at += 1 + body[at]!; // legacy_compression_methods
  if (at + 2 > n) return null;
  const extensionsEnd = Math.min(n, at + 2 + body.readUInt16BE(at));
  at += 2;
  while (at + 4 <= extensionsEnd) {
    const type = body.readUInt16BE(at);
    const start = at + 4;
    const end = start + body.readUInt16BE(at + 2);
    if (end > extensionsEnd) return null;
    if (type === EXT_ALPN) return protocolNames(body.subarray(start, end));
    at = end;
  }
  return null;
}

const EXT_ALPN = 0x0010;

function protocolNames(ext: Buffer): string[] | null {
  if (ext.length < 2 || ext.readUInt16BE(0) !== ext.length - 2) return null;
  const names: string[] = [];
  for (let at = 2; at < ext.length; ) {
    const length = ext[at]!;
    // "Empty strings MUST NOT be included" (RFC 7301 §3.1).
    if (length === 0 || at + 1 + length > ext.length) return null;
    names.push(ext.toString('latin1', at + 1, at + 1 + length));
    at += 1 + length;
  }
  return names;
}

/** Reads an answer: null while it is incomplete (no full JSON line yet) or not a doctor answer. */
export function decodeDoctorReply(bytes: Buffer): DoctorReply | 'not_doctor' | null {
  const prefix = Buffer.from(DOCTOR_REPLY_PREFIX, 'ascii');
  const head = bytes.subarray(0, prefix.length);
  if (!prefix.subarray(0, head.length).equals(head)) return 'not_doctor';
  const end = bytes.indexOf(0x0a, prefix.length);
  if (end < 0) return null;
  try {
    const value = JSON.parse(bytes.toString('utf8', prefix.length, end)) as DoctorReply;
    return typeof value === 'object' && value !== null && (value.status === 'answered' || value.status === 'rate_limited') ? value : 'not_doctor';
  } catch {
    return 'not_doctor';
  }
}
