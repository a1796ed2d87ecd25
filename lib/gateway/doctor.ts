/**
 * `linkgate doctor`, run by a customer from their own network: is my endpoint set up so that my
 * hostname is served? It checks, in the order things go wrong:
 *
 * 1. DNS: the hostname must resolve to a private address (the endpoint) from here. A public
 *    address means the private DNS record is missing, the most common mistake; nothing is sent.
 * 2. The diagnostic exchange (diagnostic.ts): a ClientHello with the hostname as SNI and the
 *    doctor's ALPN marker, through the endpoint to the gateway, which answers with the link ID it
 *    saw and the verdict real traffic would get (when the provider turned diagnostics on).
 * 3. What to do next, and an exit code per outcome (DOCTOR_EXIT_CODES).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, connect, isIP } from 'node:net';
import type { Cloud } from '../tenants/ids';
import { DOCTOR_ALPN, MAX_DOCTOR_REPLY_BYTES, decodeDoctorReply, type DoctorReply } from './diagnostic';
import { joinHostPort } from './net-util';
import { buildClientHello } from './tls/build-client-hello';

/** Exit codes of `linkgate doctor` (1 and 2 are every command's: an error, a usage mistake). */
export const DOCTOR_EXIT_CODES = {
  served: 0,
  dns_not_found: 3,
  dns_public: 4,
  connect_failed: 5,
  no_diagnostic_answer: 6,
  link_id_not_allowed: 7,
  unknown_host: 8,
  dropped: 9,
  rate_limited: 10,
} as const;
export type DoctorOutcome = keyof typeof DOCTOR_EXIT_CODES;

export type AddressKind = 'private' | 'shared' | 'unique-local' | 'link-local' | 'loopback' | 'public';

export interface ResolvedAddress {
  readonly address: string;
  readonly kind: AddressKind;
}

export type Lookup = (hostname: string) => Promise<readonly { address: string; family: number }[]>;

export interface DoctorOptions {
  readonly hostname: string;
  /** Port of the endpoint. Default 443. */
  readonly port?: number;
  /** Skip DNS and connect here (an endpoint's address, or the simulator in tests). */
  readonly connect?: { readonly host: string; readonly port: number };
  /** The resolver; default the system's (getaddrinfo, as applications resolve). */
  readonly lookup?: Lookup;
  /** For the connection and the answer together. Default 10 s. */
  readonly timeoutMs?: number;
}

/** What the gateway end of the exchange showed. */
export type Exchange =
  | { readonly kind: 'answered'; readonly reply: Extract<DoctorReply, { status: 'answered' }> }
  | { readonly kind: 'rate_limited'; readonly retryAfterSec: number }
  /** A TLS handshake record (ServerHello) came back: forwarded to a TLS server (diagnostics off). */
  | { readonly kind: 'tls' }
  /**
   * A TLS alert came back: some TLS stack refused the hello (no protocol in common with the doctor
   * ALPN): an http-mode gateway without diagnostics, or the service. Nothing says it was forwarded.
   */
  | { readonly kind: 'tls_alert' }
  /** Closed or reset without a byte: dropped, and diagnostics off. */
  | { readonly kind: 'closed' }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'unexpected'; readonly firstBytes: string }
  | { readonly kind: 'connect_failed'; readonly error: string };

export interface DoctorReport {
  readonly hostname: string;
  readonly port: number;
  /** Null with --connect (DNS skipped). */
  readonly dns: { readonly addresses: readonly ResolvedAddress[]; readonly error?: string } | null;
  /** Where the exchange went, when it was attempted. */
  readonly target: string | null;
  readonly exchange: Exchange | null;
  readonly outcome: DoctorOutcome;
  readonly exitCode: number;
  /** One sentence: the finding. */
  readonly summary: string;
  readonly nextSteps: readonly string[];
}

// RFC 1918, RFC 6598 (100.64.0.0/10, shared address space: carrier-grade NAT, and some clouds'
// internal ranges), RFC 4193 (fc00::/7), link-local (RFC 3927, RFC 4291), loopback.
const RANGES: readonly [AddressKind, string, number, 'ipv4' | 'ipv6'][] = [
  ['private', '10.0.0.0', 8, 'ipv4'],
  ['private', '172.16.0.0', 12, 'ipv4'],
  ['private', '192.168.0.0', 16, 'ipv4'],
  ['shared', '100.64.0.0', 10, 'ipv4'],
  ['link-local', '169.254.0.0', 16, 'ipv4'],
  ['loopback', '127.0.0.0', 8, 'ipv4'],
  ['unique-local', 'fc00::', 7, 'ipv6'],
  ['link-local', 'fe80::', 10, 'ipv6'],
  ['loopback', '::1', 128, 'ipv6'],
];
const LISTS = RANGES.map(([kind, address, prefix, family]) => {
  const list = new BlockList();
  list.addSubnet(address, prefix, family);
  return { kind, list, family };
});

/** How an address is reached: a private range (an endpoint can have it) or the internet. */
export function classifyAddress(address: string): AddressKind {
  let plain = address;
  let family: 'ipv4' | 'ipv6' = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) {
    plain = mapped[1]!;
    family = 'ipv4';
  }
  for (const { kind, list, family: f } of LISTS) if (f === family && list.check(plain, family)) return kind;
  return 'public';
}

export const LINK_ID_NAMES: Record<Cloud, string> = {
  aws: 'VPC endpoint ID',
  azure: 'Private Link LinkID',
  gcp: 'PSC connection ID',
};

export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const hostname = options.hostname.toLowerCase().replace(/\.$/, '');
  const port = options.port ?? 443;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const base = { hostname, port };

  if (options.connect) {
    const where = joinHostPort(options.connect.host, options.connect.port);
    return judge(base, null, where, await exchangeWith(options.connect, hostname, timeoutMs));
  }

  let found: readonly { address: string }[];
  try {
    found = await (options.lookup ?? systemLookup)(hostname);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return finish(base, { addresses: [], error: code }, null, null, 'dns_not_found', `${hostname} does not resolve from here (${code}).`, dnsSteps(hostname));
  }
  const addresses = found.map((a) => ({ address: a.address, kind: classifyAddress(a.address) }));
  const dns = { addresses };
  if (addresses.length === 0) return finish(base, dns, null, null, 'dns_not_found', `${hostname} has no address from here.`, dnsSteps(hostname));
  const publicOnes = addresses.filter((a) => a.kind === 'public');
  // One public answer is enough to send some connections around the endpoint: nothing is sent.
  if (publicOnes.length > 0) {
    const summary = `${hostname} resolves to the public address ${publicOnes.map((a) => a.address).join(', ')} from here, not to your private endpoint: the private DNS record is missing (or this network does not use it).`;
    return finish(base, dns, null, null, 'dns_public', summary, dnsSteps(hostname));
  }
  // Each address in turn, as a client falls back: the first one that connects decides.
  let where = '';
  let exchange: Exchange | undefined;
  for (const { address } of addresses) {
    where = joinHostPort(address, port);
    exchange = await exchangeWith({ host: address, port }, hostname, timeoutMs);
    if (exchange.kind !== 'connect_failed') break;
  }
  return judge(base, dns, where, exchange!);
}

const systemLookup: Lookup = (hostname) => dnsLookup(hostname, { all: true });

function finish(
  base: { hostname: string; port: number },
  dns: DoctorReport['dns'],
  target: string | null,
  exchange: Exchange | null,
  outcome: DoctorOutcome,
  summary: string,
  nextSteps: string[],
): DoctorReport {
  return { ...base, dns, target, exchange, outcome, exitCode: DOCTOR_EXIT_CODES[outcome], summary, nextSteps };
}

function judge(base: { hostname: string; port: number }, dns: DoctorReport['dns'], where: string, exchange: Exchange): DoctorReport {
  const { hostname } = base;
  const done = (outcome: DoctorOutcome, summary: string, steps: string[]) => finish(base, dns, where, exchange, outcome, summary, steps);
  switch (exchange.kind) {
    case 'connect_failed':
      return done('connect_failed', `Could not connect to ${where} (${exchange.error}).`, [
        `Allow TCP ${base.port} from this host to the endpoint (AWS: the endpoint's security group; Azure: the subnet's network security group; GCP: your VPC firewall egress rules).`,
        'Check that the provider accepted the endpoint: AWS "Pending acceptance", Azure "Pending" and GCP "PENDING" endpoints refuse connections.',
      ]);
    case 'timeout':
      return done('no_diagnostic_answer', `No answer from ${where} in time.`, [
        'The connection opened but nothing came back: check the endpoint is accepted by the provider and that nothing between (a proxy, a firewall) holds the connection.',
      ]);
    case 'closed':
      return done('no_diagnostic_answer', `${where} closed the connection without an answer: the gateway dropped it and gave no reason, so its diagnostics are off (or the connection did not come through a Private Link endpoint).`, [
        `Ask your provider to turn on diagnostics (gateway config "diagnostics: { enabled: true }") and run this again, or to look up the decision for ${hostname} in their gateway log.`,
        'Usual causes: your link ID is not registered with the provider yet, or the hostname is not one of your tenant\'s.',
      ]);
    case 'tls':
      return done('served', `A TLS server answered through ${where}: the connection to ${hostname} was forwarded. (The gateway's diagnostics are off, so the link ID and tenant are not shown.)`, []);
    case 'tls_alert':
      return done('no_diagnostic_answer', `A TLS alert came back through ${where}: a TLS server refused the doctor's hello, which says nothing about whether ${hostname} is served (the gateway's diagnostics are off, or it terminates TLS itself).`, [
        `Ask your provider to turn on diagnostics (gateway config "diagnostics: { enabled: true }") and run this again, or to look up the decision for ${hostname} in their gateway log.`,
      ]);
    case 'unexpected':
      return done('no_diagnostic_answer', `${where} answered with neither a linkgate diagnostic nor TLS (first bytes ${exchange.firstBytes}): is this the provider's endpoint?`, [
        'Check the address (DNS or --connect) points at your private endpoint to the provider.',
      ]);
    case 'rate_limited':
      return done('rate_limited', `The gateway limits diagnostics and this endpoint has used its share for now.`, [`Run this again in ${exchange.retryAfterSec} s.`]);
    case 'answered':
      return judgeAnswer(done, hostname, exchange.reply);
  }
}

function judgeAnswer(
  done: (outcome: DoctorOutcome, summary: string, steps: string[]) => DoctorReport,
  hostname: string,
  reply: Extract<DoctorReply, { status: 'answered' }>,
): DoctorReport {
  const seen = reply.cloud && reply.linkId ? `${cloudName(reply.cloud)} ${LINK_ID_NAMES[reply.cloud]} ${reply.linkId}` : 'no link ID';
  if (reply.verdict === 'forward') {
    return done('served', `${hostname} is served through this endpoint (${seen}, tenant ${reply.tenant ?? 'unknown'}).`, []);
  }
  switch (reply.reason) {
    case 'link_id_not_allowed':
      return done('link_id_not_allowed', `The gateway saw ${seen}, which is not registered for ${hostname}: connections are dropped (link_id_not_allowed).`, [
        `Register link ID ${reply.linkId} with your provider for ${hostname}: send them "cloud=${reply.cloud} linkId=${reply.linkId} hostname=${hostname}".`,
        `(Provider: add "${reply.linkId}" to the tenant's allow.${reply.cloud} and deploy.)`,
      ]);
    case 'unknown_host':
    case 'no_sni':
      return done('unknown_host', `The gateway serves no tenant for ${hostname} (it saw ${seen}).`, [
        'Check the spelling; ask your provider which hostnames your tenant has.',
      ]);
    case 'no_link_id':
      return done('dropped', `The connection reached the gateway without a link ID: it did not come through a Private Link endpoint (no_link_id).`, [
        'Connect through your private endpoint (its private DNS name or address), not to the gateway directly.',
      ]);
    default:
      return done('dropped', `The gateway would drop connections to ${hostname} (${seen}): ${reply.reason}.`, [
        `Tell your provider the reason code "${reply.reason}" and your link ID.`,
      ]);
  }
}

function cloudName(cloud: Cloud): string {
  return cloud === 'aws' ? 'AWS' : cloud === 'azure' ? 'Azure' : 'GCP';
}

/** Which record to create, per cloud (the doctor cannot tell the cloud before it connects). */
function dnsSteps(hostname: string): string[] {
  return [
    `Create the private DNS record for ${hostname} pointing at your endpoint, visible to this network (the linkgate consumer constructs create it):`,
    `  AWS:   a Route 53 private hosted zone "${hostname}" associated with your VPC, with an alias A record to the interface endpoint's DNS name (or "aws ec2 modify-vpc-endpoint --vpc-endpoint-id vpce-… --private-dns-enabled" when the provider has a verified private DNS name).`,
    `  Azure: a private DNS zone "${hostname}" linked to your VNet, with an A record "@" to the private endpoint's IP: az network private-dns record-set a add-record -g <rg> -z ${hostname} -n @ -a <endpoint IP>`,
    `  GCP:   a Cloud DNS private zone visible to your VPC network, with an A record to the PSC endpoint's IP: gcloud dns record-sets create ${hostname}. --zone=<zone> --type=A --ttl=300 --rrdatas=<endpoint IP>`,
    'Then run this again from a host in that network (or check one endpoint directly with --connect ADDRESS:PORT).',
  ];
}

/** Sends the doctor's ClientHello and reads what comes back, bounded in bytes and time. */
function exchangeWith(target: { host: string; port: number }, hostname: string, timeoutMs: number): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port, noDelay: true });
    let received = Buffer.alloc(0);
    let connected = false;
    let settled = false;
    const settle = (exchange: Exchange) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(exchange);
    };
    const timer = setTimeout(() => settle(connected ? { kind: 'timeout' } : { kind: 'connect_failed', error: `no connection within ${timeoutMs} ms` }), timeoutMs);
    socket.on('connect', () => {
      connected = true;
      socket.write(buildClientHello({ serverName: hostname, alpn: [DOCTOR_ALPN], postQuantum: false }));
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]).subarray(0, MAX_DOCTOR_REPLY_BYTES);
      // A handshake record (a ServerHello) means a TLS server accepted the hello: forwarded. An
      // alert proves nothing: the gateway itself terminates TLS in http mode and refuses the ALPN.
      if ((received[0] === 0x15 || received[0] === 0x16) && (received.length < 2 || received[1] === 0x03)) return settle({ kind: received[0] === 0x16 ? 'tls' : 'tls_alert' });
      const reply = decodeDoctorReply(received);
      if (reply === 'not_doctor' || (reply === null && received.length >= MAX_DOCTOR_REPLY_BYTES)) {
        return settle({ kind: 'unexpected', firstBytes: received.subarray(0, 8).toString('hex') });
      }
      if (reply === null) return;
      settle(reply.status === 'rate_limited' ? { kind: 'rate_limited', retryAfterSec: reply.retryAfterSec } : { kind: 'answered', reply });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!connected) settle({ kind: 'connect_failed', error: err.code ?? err.message });
      // After connecting, a reset is a drop: 'close' follows.
    });
    socket.on('close', () => {
      if (received.length === 0) settle({ kind: 'closed' });
      else settle({ kind: 'unexpected', firstBytes: received.subarray(0, 8).toString('hex') });
    });
  });
}

/** The human-readable report, one fact per line. */
export function formatDoctorReport(report: DoctorReport): string {
  const lines: string[] = [`linkgate doctor ${report.hostname} (port ${report.port})`];
  if (report.dns === null) lines.push('  DNS        skipped (--connect)');
  else if (report.dns.error) lines.push(`  DNS        ${report.dns.error}`);
  else lines.push(`  DNS        ${report.dns.addresses.map((a) => `${a.address} (${a.kind})`).join(', ')}`);
  if (report.target) lines.push(`  address    ${report.target}`);
  const ex = report.exchange;
  if (ex?.kind === 'answered') {
    const r = ex.reply;
    lines.push(`  cloud      ${r.cloud ?? 'none'}`);
    lines.push(`  link ID    ${r.linkId ?? 'none'}${r.cloud ? ` (${LINK_ID_NAMES[r.cloud]})` : ''}`);
    const hidden = r.reason === 'unknown_host' || r.reason === 'no_sni' ? 'none' : 'not shown (only to an endpoint the tenant admits)';
    lines.push(`  tenant     ${r.tenant ?? hidden}`);
    lines.push(`  verdict    ${r.verdict}${r.reason ? ` (${r.reason})` : ''}`);
  }
  lines.push('', `${report.exitCode === 0 ? 'OK' : 'PROBLEM'}: ${report.summary}`);
  if (report.nextSteps.length) lines.push('', 'Next:', ...report.nextSteps.map((s) => (s.startsWith('  ') ? `  ${s}` : `  - ${s}`)));
  return `${lines.join('\n')}\n`;
}
