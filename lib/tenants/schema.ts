/**
 * The one schema of linkgate's configuration. It gives the TypeScript types (z.input for what a
 * user writes, z.output for the normalized form), the runtime validation used by the gateway at
 * start and reload and by the constructs at synth time, and the JSON Schema for editors.
 *
 * Cross-field rules (one owner per hostname and link ID, upstream references, port clashes) live
 * in validate.ts because they need the whole document.
 */
import { z } from 'zod';
import { isIP } from 'node:net';
import { AWS_ENDPOINT_ID_PATTERN, LINK_ID_FORMATS, UINT32_MAX, canonicalLinkId } from './ids';
import { CUSTOM_TLV_TYPE_MAX, CUSTOM_TLV_TYPE_MIN, DEFAULT_TENANT_TLV_TYPE, tenantTlvTypeProblem } from './upstream-tlv';

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
/** A DNS name of two or more labels, optionally `*.`-prefixed, optionally with a trailing dot. */
export const HOSTNAME_PATTERN = new RegExp(`^(?:\\*\\.)?(?:${LABEL}\\.)+${LABEL}\\.?$`);
/** Tenant names appear in metric labels, log lines and cloud resource names. */
export const TENANT_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const UPSTREAM_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

const show = (value: unknown): string => {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  return JSON.stringify(value) ?? String(value);
};

const portFrom = (min: 0 | 1) =>
  z
    .number({ error: (iss) => `port must be a number from ${min} to 65535, got ${show(iss.input)}` })
    .int({ error: (iss) => `port must be a whole number from ${min} to 65535, got ${show(iss.input)}` })
    .min(min, { error: (iss) => `port must be from ${min} to 65535, got ${show(iss.input)}` })
    .max(65535, { error: (iss) => `port must be from ${min} to 65535, got ${show(iss.input)}` });

const port = portFrom(1);
/** Listeners may also say 0: the OS picks a free port, which the gateway logs (tests, local runs). */
const listenPort = portFrom(0).describe('TCP port; 0 lets the OS pick one.');

const positiveMs = (what: string, max: number) =>
  z
    .number({ error: (iss) => `${what} must be a number of milliseconds, got ${show(iss.input)}` })
    .int()
    .min(1, { error: (iss) => `${what} must be at least 1 ms, got ${show(iss.input)}` })
    .max(max, { error: (iss) => `${what} must be at most ${max} ms, got ${show(iss.input)}` });

const bindHost = z
  .string()
  .refine((h) => isIP(h) !== 0, { error: (iss) => `host must be an IP address to bind, got ${show(iss.input)}` });

const listener = (description: string) =>
  z
    .strictObject({
      port: listenPort,
      host: bindHost.default('0.0.0.0').describe('Address to bind. Default 0.0.0.0.'),
    })
    .describe(description);

/** The clouds' load balancers take a handful of ports per private-link frontend (GCP: 5 per forwarding rule). */
export const MAX_ADDITIONAL_PRIVATE_LINK_LISTENERS = 4;

const additionalPrivateLinkListener = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,30}$/, {
        error: (iss) => `listener name must be lowercase letters, digits or "-" (at most 31, starting with a letter), got ${show(iss.input)}`,
      })
      .describe('Names the listener in metrics and logs (`listener` label).'),
    port: listenPort,
    host: bindHost.default('0.0.0.0').describe('Address to bind. Default 0.0.0.0.'),
    upstream: z
      .string()
      .describe('Upstream every allowed connection on this port goes to, whatever the tenant\'s own `upstream`.'),
  })
  .describe('A further private-link port: same PROXY v2 and tenant rules as `privateLink`, its own upstream.');
/** Private-link and public listeners also say how they treat traffic: bytes (tcp) or requests (http). */
const trafficListener = (description: string) =>
  listener(description).extend({
    mode: z
      .enum(['tcp', 'http'], { error: (iss) => `mode must be "tcp" or "http", got ${show(iss.input)}` })
      .default('tcp')
      .describe('tcp: decide once per connection on the SNI, forward the TLS stream untouched. http: terminate TLS (`http.certificates`) and decide per request. Default tcp.'),
  });

export const hostnameSchema = z
  .string({ error: (iss) => `hostname must be a string, got ${show(iss.input)}` })
  .max(254, { error: (iss) => `hostname is longer than 253 characters: ${show(iss.input)}` })
  .regex(HOSTNAME_PATTERN, {
    error: (iss) =>
      `${show(iss.input)} is not a hostname (expected DNS labels like api.example.com, optionally starting with "*.")`,
  })
  // Hostnames compare case-insensitively and a trailing dot names the same host (DESIGN.md).
  .transform((h) => h.toLowerCase().replace(/\.$/, ''))
  .describe('DNS name matched against the TLS SNI; "*." matches exactly one more label.');

const awsEndpointId = z
  .string({ error: (iss) => `expected ${LINK_ID_FORMATS.aws}, got ${show(iss.input)}` })
  .regex(AWS_ENDPOINT_ID_PATTERN, { error: (iss) => `expected ${LINK_ID_FORMATS.aws}, got ${show(iss.input)}` });

const azureLinkId = z
  .union([z.string(), z.number()], { error: (iss) => `expected ${LINK_ID_FORMATS.azure}, got ${show(iss.input)}` })
  .transform((v, ctx) => {
    const text = typeof v === 'number' ? (Number.isSafeInteger(v) ? String(v) : '') : v;
    const id = canonicalLinkId('azure', text);
    if (id === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected ${LINK_ID_FORMATS.azure}, got ${show(v)}`, input: v });
      return z.NEVER;
    }
    return id;
  })
  .describe(`Azure Private Link LinkID, 0 to ${UINT32_MAX}.`);

const gcpConnectionId = z
  .unknown()
  .transform((v, ctx) => {
    if (typeof v === 'number' || typeof v === 'bigint') {
      ctx.addIssue({
        code: 'custom',
        message: `GCP PSC connection IDs must be quoted decimal strings ("${v}"): numbers lose precision above 2^53`,
        input: v,
      });
      return z.NEVER;
    }
    const id = typeof v === 'string' ? canonicalLinkId('gcp', v) : undefined;
    if (id === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected ${LINK_ID_FORMATS.gcp}, got ${show(v)}`, input: v });
      return z.NEVER;
    }
    return id;
  })
  .pipe(z.string())
  .describe('GCP PSC connection ID (uint64) as a decimal string.');

export const cidrSchema = z
  .string({ error: (iss) => `expected a CIDR block like 203.0.113.0/24, got ${show(iss.input)}` })
  .transform((v, ctx) => {
    const parsed = parseCidr(v);
    if (!parsed) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a CIDR block like 203.0.113.0/24 or 2001:db8::/32, got ${show(v)}`,
        input: v,
      });
      return z.NEVER;
    }
    // Host bits past the prefix are refused, not masked: "10.0.0.0/1" is most likely "10.0.0.0/16"
    // cut short (a truncated write, a typo), and as written it admits half the address space.
    const network = networkOf(parsed);
    if (network !== parsed.address) {
      ctx.addIssue({
        code: 'custom',
        message: `${show(v)} has address bits set past its /${parsed.prefix} prefix: it would cover ${network}/${parsed.prefix}; write that, or the prefix you meant`,
        input: v,
      });
      return z.NEVER;
    }
    return `${parsed.address}/${parsed.prefix}`;
  })
  .describe('IPv4 or IPv6 CIDR block; a bare address means a single host. No address bits past the prefix.');

/** The network address of a block (host bits cleared), in the notation of its family. */
function networkOf({ address, prefix, family }: ParsedCidr): string {
  const bytes = family === 'ipv4' ? address.split('.').map(Number) : ipv6Bytes(address);
  for (let bit = prefix; bit < bytes.length * 8; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  if (family === 'ipv4') return bytes.join('.');
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  const full = groups.join(':');
  // Same spelling as the input when nothing was cleared: compare canonical forms.
  return full === ipv6Groups(address).join(':') ? address : full;
}

function ipv6Groups(address: string): string[] {
  const bytes = ipv6Bytes(address);
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups;
}

/** 16 bytes of an IPv6 address that isIP() accepted ("::" and a trailing dotted IPv4 allowed). */
function ipv6Bytes(address: string): number[] {
  const toWords = (part: string): number[] => {
    if (!part) return [];
    const words: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const [a, b, c, d] = piece.split('.').map(Number) as [number, number, number, number];
        words.push((a << 8) | b, (c << 8) | d);
      } else words.push(parseInt(piece, 16));
    }
    return words;
  };
  const [head, tail] = address.split('::') as [string, string | undefined];
  const left = toWords(head);
  const right = tail === undefined ? [] : toWords(tail);
  const words = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

export interface ParsedCidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/** Parses `addr/prefix` or a bare address (a /32 or /128). */
export function parseCidr(text: string): ParsedCidr | undefined {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^(?:0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    prefix = Number(p);
    if (prefix > max) return undefined;
  }
  return { address: address.toLowerCase(), prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

// ---- Owner rules: who owns an endpoint, as the cloud's own record of the connection names it.

const AWS_ACCOUNT_PATTERN = /^[0-9]{12}$/;
const SUBSCRIPTION_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** A GCP project ID (6-30 lowercase letters, digits, hyphens) or project number. */
export const GCP_PROJECT_PATTERN = /^(?:[a-z][a-z0-9-]{4,28}[a-z0-9]|[0-9]{1,20})$/;
/** `projects/P/global/networks/N`, optionally behind a Compute API URL prefix, as `consumerNetwork` spells it. */
const GCP_NETWORK_PATTERN =
  /^(?:https:\/\/(?:www|compute)\.googleapis\.com\/compute\/(?:v1|beta|alpha)\/)?(projects\/(?:[a-z][a-z0-9-]{4,28}[a-z0-9]|[0-9]{1,20})\/global\/networks\/[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)$/;

/** The owner-rule lists of `allow`, in one place for validation, policy and rendering. */
export const OWNER_RULES = ['awsAccounts', 'azureSubscriptions', 'gcpProjects', 'gcpNetworks'] as const;
export type OwnerRule = (typeof OWNER_RULES)[number];

const awsAccountId = z
  .unknown()
  .transform((v, ctx) => {
    // A number loses an account ID's leading zeros (012345678901): only the string is the ID.
    if (typeof v === 'string' && AWS_ACCOUNT_PATTERN.test(v)) return v;
    ctx.addIssue({
      code: 'custom',
      message:
        typeof v === 'number'
          ? `AWS account IDs must be quoted 12-digit strings ("${v}"): a number drops leading zeros`
          : `expected an AWS account ID (12 digits, quoted), got ${show(v)}`,
      input: v,
    });
    return z.NEVER;
  })
  .pipe(z.string())
  .describe('AWS account ID, 12 digits as a string.');

const azureSubscriptionId = z
  .string({ error: (iss) => `expected an Azure subscription ID GUID, got ${show(iss.input)}` })
  .regex(SUBSCRIPTION_PATTERN, {
    error: (iss) => `expected an Azure subscription ID GUID like 00000000-0000-0000-0000-000000000000, got ${show(iss.input)}`,
  })
  // ARM resource IDs are case-insensitive; compared in lowercase.
  .transform((v) => v.toLowerCase())
  .describe('Azure subscription ID (GUID).');

const gcpProjectId = z
  .union([z.string(), z.number()], { error: (iss) => `expected a GCP project ID or number, got ${show(iss.input)}` })
  .transform((v, ctx) => {
    const text = typeof v === 'number' ? (Number.isSafeInteger(v) && v >= 0 ? String(v) : '') : v;
    if (GCP_PROJECT_PATTERN.test(text)) return text;
    ctx.addIssue({
      code: 'custom',
      message: `expected a GCP project ID (6-30 lowercase letters, digits, hyphens) or project number, got ${show(v)}`,
      input: v,
    });
    return z.NEVER;
  })
  .describe('GCP project ID or number, as the consumer network URL names it.');

const gcpNetworkUrl = z
  .string({ error: (iss) => `expected a VPC network like projects/P/global/networks/N, got ${show(iss.input)}` })
  .transform((v, ctx) => {
    const m = GCP_NETWORK_PATTERN.exec(v);
    if (m) return m[1]!;
    ctx.addIssue({
      code: 'custom',
      message: `expected a VPC network like projects/megacorp-prod/global/networks/default (or its https://www.googleapis.com/compute/v1/ URL), got ${show(v)}`,
      input: v,
    });
    return z.NEVER;
  })
  .describe('GCP VPC network, projects/P/global/networks/N (a Compute API URL is accepted and shortened).');

/** The network path of a `consumerNetwork` URL, or undefined when it is not one. */
export function gcpNetworkPath(url: string): string | undefined {
  return GCP_NETWORK_PATTERN.exec(url)?.[1];
}

const list = <T extends z.ZodType>(item: T, what: string) =>
  z.array(item, { error: (iss) => `${what} must be a list, got ${show(iss.input)}` });

export const allowSchema = z
  .strictObject({
    aws: list(awsEndpointId, 'allow.aws').optional().describe('VPC endpoint IDs allowed in.'),
    azure: list(azureLinkId, 'allow.azure').optional().describe('Private Link LinkIDs allowed in.'),
    gcp: list(gcpConnectionId, 'allow.gcp').optional().describe('PSC connection IDs allowed in.'),
    cidrs: list(cidrSchema, 'allow.cidrs').optional().describe('Source ranges allowed on the public listener.'),
    // Owner rules (ownership.ts): every endpoint the cloud records as this owner's, while accepted.
    awsAccounts: list(awsAccountId, 'allow.awsAccounts')
      .optional()
      .describe('AWS account IDs: every accepted VPC endpoint they own is allowed in (needs `ownership.aws`).'),
    azureSubscriptions: list(azureSubscriptionId, 'allow.azureSubscriptions')
      .optional()
      .describe('Azure subscription IDs: every approved private endpoint in them is allowed in (needs `ownership.azure`).'),
    gcpProjects: list(gcpProjectId, 'allow.gcpProjects')
      .optional()
      .describe('GCP projects: every accepted PSC endpoint whose consumer network is in them is allowed in (needs `ownership.gcp`).'),
    gcpNetworks: list(gcpNetworkUrl, 'allow.gcpNetworks')
      .optional()
      .describe('GCP VPC networks: every accepted PSC endpoint in them is allowed in (needs `ownership.gcp`).'),
  })
  .describe(
    'Sources allowed to reach the tenant: only what the named lists hold is allowed, so an emptied list admits nobody. A tenant needs `allow` lists or `open: true`.',
  );

/** The lists `allow` may name; a tenant that names none of them has said nothing about who may connect. */
const ALLOW_LISTS = ['aws', 'azure', 'gcp', 'cidrs', ...OWNER_RULES] as const satisfies readonly (keyof z.input<typeof allowSchema>)[];

export const tenantSchema = z.strictObject({
  name: z
    .string({ error: (iss) => `tenant name must be a string, got ${show(iss.input)}` })
    .regex(TENANT_NAME_PATTERN, {
      error: (iss) =>
        `tenant name must be lowercase letters, digits and inner hyphens (at most 63), got ${show(iss.input)}`,
    }),
  hostnames: z
    .array(hostnameSchema, { error: (iss) => `hostnames must be a list, got ${show(iss.input)}` })
    .min(1, { error: 'a tenant needs at least one hostname' }),
  upstream: z
    .string()
    .regex(UPSTREAM_NAME_PATTERN, { error: (iss) => `upstream must be an upstream name, got ${show(iss.input)}` })
    .default('default')
    .describe('Name of the upstream in `upstreams`. Default "default".'),
  allow: allowSchema.optional(),
  open: z
    .boolean({ error: (iss) => `open must be true or false, got ${show(iss.input)}` })
    .optional()
    .describe('true: every source may reach the tenant (no `allow` then). Never implied: a tenant needs `allow` lists or `open: true`.'),
})
  // Fail closed: openness is stated, never inferred from a missing `allow`, so a file caught half
  // written (tenant present, rules not yet) is refused instead of opening the tenant. Runs even when
  // other fields of the tenant are wrong, so `validate` lists this with the rest in one run.
  .superRefine(checkOpenness, { when: (payload) => isRecord(payload.value) });

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkOpenness(tenant: { name?: unknown; open?: unknown; allow?: unknown }, ctx: z.RefinementCtx): void {
  const who = typeof tenant.name === 'string' ? `tenant "${tenant.name}"` : 'a tenant';
  const allow = tenant.allow;
  if (tenant.open === true) {
    if (allow !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `${who} has both \`open: true\` and \`allow\`: open admits every source whatever the lists say; remove \`allow\` to open it, or \`open\` to admit only what the lists hold`,
        input: tenant,
      });
    }
    return;
  }
  if (tenant.open !== undefined && typeof tenant.open !== 'boolean') return; // its own error says enough
  // A non-object `allow` is the schema's own error; an object naming no list says nothing.
  if (allow === undefined || (isRecord(allow) && !ALLOW_LISTS.some((k) => allow[k] !== undefined))) {
    ctx.addIssue({
      code: 'custom',
      message: `${who}: say who may connect: \`allow\` lists, or \`open: true\` to admit every source`,
      input: tenant,
    });
  }
}

/** How an `http`-mode listener talks to an upstream (tcp mode ignores it). */
export const upstreamHttpSchema = z
  .strictObject({
    protocol: z
      .enum(['http1', 'http2'], { error: (iss) => `protocol must be "http1" or "http2", got ${show(iss.input)}` })
      .default('http1')
      .describe('HTTP/1.1 or HTTP/2 to the upstream (with tls: ALPN h2; without: prior knowledge, h2c). Default http1.'),
    tls: z.boolean().default(false).describe('Connect with TLS. Default false.'),
    caFile: z.string().min(1).optional().describe('With tls: PEM file of the CAs to trust instead of the system\'s.'),
    servername: hostnameSchema.optional().describe('With tls: the SNI and the name the certificate must cover. Default: the upstream host.'),
    maxConnections: z.number().int().min(1).max(10_000).default(64).describe('Pooled connections to this upstream per worker. Default 64.'),
  })
  .describe('Upstream protocol for http-mode listeners.');

export const upstreamSchema = z.strictObject({
  host: z
    .string()
    .min(1, { error: 'upstream host must not be empty' })
    .max(253)
    .describe('Host name or IP address of the upstream service.'),
  port,
  proxyProtocol: z
    .boolean()
    .default(false)
    .describe('Send a PROXY v2 header upstream with the original addresses, link-ID TLV, SNI (AUTHORITY) and tenant TLV. Default false.'),
  tenantTlvType: z
    .number({ error: (iss) => `tenantTlvType must be a number from 0xE0 to 0xEF, got ${show(iss.input)}` })
    .int({ error: (iss) => tenantTlvTypeProblem(Number(iss.input)) })
    .min(CUSTOM_TLV_TYPE_MIN, { error: (iss) => tenantTlvTypeProblem(Number(iss.input)) })
    .max(CUSTOM_TLV_TYPE_MAX, { error: (iss) => tenantTlvTypeProblem(Number(iss.input)) })
    .superRefine((type, ctx) => {
      // Range and integer problems are reported by the checks above; this adds the clouds' types.
      const inRange = Number.isInteger(type) && type >= CUSTOM_TLV_TYPE_MIN && type <= CUSTOM_TLV_TYPE_MAX;
      const problem = inRange ? tenantTlvTypeProblem(type) : undefined;
      if (problem) ctx.addIssue({ code: 'custom', message: problem, input: type });
    })
    .default(DEFAULT_TENANT_TLV_TYPE)
    .describe('With proxyProtocol: the custom TLV type (0xE0-0xEF, not a cloud\'s) carrying the tenant name. Default 0xE1 (225).'),
  connectTimeoutMs: positiveMs('connectTimeoutMs', 120_000).default(5_000).describe('Default 5000.'),
  http: upstreamHttpSchema.optional(),
});

export const limitsSchema = z.strictObject({
  maxConnections: z
    .number()
    .int()
    .min(1, { error: (iss) => `maxConnections must be at least 1, got ${show(iss.input)}` })
    .optional()
    .describe(
      'Concurrent connections per worker; above it new connections are dropped (over_capacity). Default: what the open-files limit allows (2 descriptors per connection, headroom kept), at most 20000.',
    ),
  headerTimeoutMs: positiveMs('headerTimeoutMs', 600_000).default(5_000).describe('Time to receive the PROXY header.'),
  clientHelloTimeoutMs: positiveMs('clientHelloTimeoutMs', 600_000)
    .default(10_000)
    .describe('Time to receive the whole TLS ClientHello, from accept.'),
  maxProxyHeaderBytes: z.number().int().min(232).max(65_551).default(4_096).describe('Largest PROXY header accepted.'),
  idleTimeoutSec: z
    .number()
    .int()
    .min(0)
    .default(600)
    .describe(
      'Close forwarded connections idle this long; 0 disables. Default 600: longer than the load balancers\' idle timeouts (AWS NLB 350 s, Azure Private Link about 5 min, GCP passthrough NLB 600 s), so a flow the load balancer keeps is never cut by the gateway first.',
    ),
  tcpKeepAliveSec: z
    .number()
    .int()
    .min(0)
    .default(60)
    .describe(
      'TCP keepalive on both sides of forwarded connections; 0 disables. Keeps long-lived flows alive through load balancer idle timeouts (Azure Private Link: about 5 minutes).',
    ),
  maxConnectionsPerLinkId: z
    .number()
    .int()
    .min(1, { error: (iss) => `maxConnectionsPerLinkId must be at least 1, got ${show(iss.input)}` })
    .optional()
    .describe('Connections per worker from one private endpoint (link ID); above it: link_over_capacity. Default maxConnections / 4.'),
  maxConnectionsPerTenant: z
    .number()
    .int()
    .min(1, { error: (iss) => `maxConnectionsPerTenant must be at least 1, got ${show(iss.input)}` })
    .optional()
    .describe('Forwarded connections per worker to one tenant, both listeners; above it: tenant_over_capacity. Default maxConnections / 2.'),
  maxConnectionsPerSource: z
    .number()
    .int()
    .min(1, { error: (iss) => `maxConnectionsPerSource must be at least 1, got ${show(iss.input)}` })
    .optional()
    .describe('Connections per worker from one address on the public listener; above it: source_over_capacity. Default maxConnections / 4.'),
  maxUnattributedConnections: z
    .number()
    .int()
    .min(1, { error: (iss) => `maxUnattributedConnections must be at least 1, got ${show(iss.input)}` })
    .optional()
    .describe(
      'Private Link connections per worker still waiting for their PROXY header (so counted against no endpoint); above it the oldest is dropped: unattributed_over_capacity. Default maxConnections / 4.',
    ),
});

/** Bounds and defaults of the gateway's drain on SIGTERM (`shutdown`); the constructs take seconds. */
export const SHUTDOWN_DEFAULTS = { drainDelayMs: 5_000, drainTimeoutMs: 25_000 } as const;
export const SHUTDOWN_MAX = { drainDelayMs: 600_000, drainTimeoutMs: 3_600_000 } as const;
/**
 * After drain delay + drain timeout, a gateway that has not stopped is stopped: it has this long to
 * close what is left and exit. Containers are given the same total before they are killed.
 */
export const SHUTDOWN_EXIT_MARGIN_MS = 5_000;

export const shutdownSchema = z.strictObject({
  drainDelayMs: z
    .number()
    .int()
    .min(0)
    .max(SHUTDOWN_MAX.drainDelayMs)
    .default(SHUTDOWN_DEFAULTS.drainDelayMs)
    .describe('After SIGTERM, time /readyz fails while listeners still accept, so the LB stops sending.'),
  drainTimeoutMs: z
    .number()
    .int()
    .min(0)
    .max(SHUTDOWN_MAX.drainTimeoutMs)
    .default(SHUTDOWN_DEFAULTS.drainTimeoutMs)
    .describe('Then, time in-flight connections get to finish before they are closed.'),
});

export const logSchema = z.strictObject({
  decisions: z.enum(['all', 'drops', 'none']).default('all').describe('Which decisions get a log line.'),
  maxDropLinesPerSec: z
    .number()
    .int()
    .min(0)
    .default(50)
    .describe('Drop log lines per second and worker; the rest are counted and summarized.'),
});

/** Bounds of the ownership poller (`ownership`); the constructs render the same defaults. */
export const OWNERSHIP_DEFAULTS = { intervalSec: 15, staleAfterSec: 300, timeoutMs: 5_000, maxResponseBytes: 8 * 1024 * 1024 } as const;
const AWS_SERVICE_ID_PATTERN = /^vpce-svc-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
const AWS_REGION_PATTERN = /^[a-z]{2}(?:-[a-z]+)+-[0-9]+$/;
const AZURE_PLS_ID_PATTERN =
  /^\/subscriptions\/[0-9a-fA-F-]{36}\/resourceGroups\/[-\w.()]{1,90}\/providers\/Microsoft\.Network\/privateLinkServices\/[-\w.]{1,80}$/i;
const GCP_ATTACHMENT_PATTERN =
  /^(?:https:\/\/(?:www|compute)\.googleapis\.com\/compute\/v1\/)?(projects\/[a-z0-9-]{1,30}\/regions\/[a-z0-9-]{1,63}\/serviceAttachments\/[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)$/;

export const ownershipSchema = z
  .strictObject({
    intervalSec: z
      .number()
      .int()
      .min(1, { error: (iss) => `ownership.intervalSec must be at least 1, got ${show(iss.input)}` })
      .max(3_600, { error: (iss) => `ownership.intervalSec must be at most 3600, got ${show(iss.input)}` })
      .default(OWNERSHIP_DEFAULTS.intervalSec)
      .describe('Seconds between two reads of the cloud\'s endpoint connections. Default 15.'),
    staleAfterSec: z
      .number()
      .int()
      .min(1, { error: (iss) => `ownership.staleAfterSec must be at least 1, got ${show(iss.input)}` })
      .max(86_400, { error: (iss) => `ownership.staleAfterSec must be at most 86400, got ${show(iss.input)}` })
      .default(OWNERSHIP_DEFAULTS.staleAfterSec)
      .describe('When the last good read is older than this, owner rules admit nobody (explicit link IDs still do). Default 300.'),
    timeoutMs: positiveMs('ownership.timeoutMs', 120_000)
      .default(OWNERSHIP_DEFAULTS.timeoutMs)
      .describe('Bound on each API call, token requests included. Default 5000.'),
    maxResponseBytes: z
      .number()
      .int()
      .min(1_024)
      .max(256 * 1024 * 1024)
      .default(OWNERSHIP_DEFAULTS.maxResponseBytes)
      .describe('Largest API response read; a larger one is a failed poll. Default 8 MiB.'),
    accept: z
      .enum(['none', 'matching', 'matching-reject-others'])
      .default('none')
      .describe('Pending connections: none (leave them), matching (accept those a tenant\'s owner rule names), matching-reject-others (and reject the rest). Default none.'),
    aws: z
      .strictObject({
        serviceId: z.string().regex(AWS_SERVICE_ID_PATTERN, {
          error: (iss) => `expected an endpoint service ID like vpce-svc-0123456789abcdef0, got ${show(iss.input)}`,
        }).describe('The VPC endpoint service whose connections are read.'),
        region: z.string().regex(AWS_REGION_PATTERN, {
          error: (iss) => `expected an AWS Region like eu-west-1, got ${show(iss.input)}`,
        }).describe('Its Region.'),
      })
      .optional()
      .describe('AWS: read DescribeVpcEndpointConnections for this endpoint service.'),
    azure: z
      .strictObject({
        privateLinkService: z.string().regex(AZURE_PLS_ID_PATTERN, {
          error: (iss) =>
            `expected a Private Link Service resource ID like /subscriptions/<GUID>/resourceGroups/<rg>/providers/Microsoft.Network/privateLinkServices/<name>, got ${show(iss.input)}`,
        }).describe('Resource ID of the Private Link Service whose connections are read.'),
        clientId: z.string().regex(SUBSCRIPTION_PATTERN, {
          error: (iss) => `expected the managed identity's client ID (a GUID), got ${show(iss.input)}`,
        }).optional().describe('Client ID of a user-assigned managed identity. Default: the system-assigned identity.'),
      })
      .optional()
      .describe('Azure: read the Private Link Service\'s private endpoint connections.'),
    gcp: z
      .strictObject({
        serviceAttachment: z
          .string()
          .transform((v, ctx) => {
            const m = GCP_ATTACHMENT_PATTERN.exec(v);
            if (m) return m[1]!;
            ctx.addIssue({
              code: 'custom',
              message: `expected a service attachment like projects/P/regions/R/serviceAttachments/N, got ${show(v)}`,
              input: v,
            });
            return z.NEVER;
          })
          .describe('The service attachment whose connected endpoints are read, projects/P/regions/R/serviceAttachments/N.'),
      })
      .optional()
      .describe('GCP: read the service attachment\'s connected endpoints.'),
  })
  .describe('Owner rules: where the gateway learns who owns each endpoint connection to this service.');
export const diagnosticsSchema = z.strictObject({
  enabled: z
    .boolean()
    .default(false)
    .describe('Answer `linkgate doctor` requests on the private-link listener (cloud, link ID, verdict for the hostname asked). Default false: a doctor request is decided like any connection.'),
  maxPerMinutePerLinkId: z.number().int().min(1).max(10_000).default(10).describe('Doctor answers per minute and worker to one endpoint (link ID); above it: diagnostic_rate_limited.'),
  maxPerMinute: z.number().int().min(1).max(100_000).default(120).describe('Doctor answers per minute and worker in all; above it: diagnostic_rate_limited.'),
});
/** An HTTP header name (RFC 9110 token), lowercased. */
const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/, { error: (iss) => `expected an HTTP header name like x-tenant, got ${show(iss.input)}` })
  .transform((h) => h.toLowerCase());

/** An environment variable name (POSIX portable: letters, digits, "_", not starting with a digit). */
const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, { error: (iss) => `expected an environment variable name like LINKGATE_CERT, got ${show(iss.input)}` });

export const httpSchema = z
  .strictObject({
    certificates: z
      .array(
        z
          .strictObject({
            certFile: z.string().min(1).optional().describe('PEM certificate chain, leaf first.'),
            keyFile: z.string().min(1).optional().describe('PEM private key of that certificate.'),
            // ECS Fargate cannot mount a secret as a file; it can put one into an environment variable.
            certEnv: envName.optional().describe('Environment variable holding the PEM certificate chain (instead of certFile).'),
            keyEnv: envName.optional().describe('Environment variable holding the PEM private key (instead of keyFile).'),
          })
          .refine(
            (c) =>
              c.certFile !== undefined && c.keyFile !== undefined
                ? c.certEnv === undefined && c.keyEnv === undefined
                : c.certEnv !== undefined && c.keyEnv !== undefined && c.certFile === undefined && c.keyFile === undefined,
            { error: 'a certificate needs either certFile and keyFile, or certEnv and keyEnv' },
          ),
        { error: (iss) => `certificates must be a list, got ${show(iss.input)}` },
      )
      .min(1, { error: 'http needs at least one certificate' })
      .describe('Chosen by SNI from each certificate\'s DNS SANs; re-read on every reload.'),
    tenantFrom: z
      .union([z.enum(['host', 'pathPrefix']), z.strictObject({ header: headerName })], {
        error: (iss) => `tenantFrom must be "host", "pathPrefix" or { header: NAME }, got ${show(iss.input)}`,
      })
      .default('host')
      .describe('host: the tenant owning Host / :authority. { header: NAME }: the tenant named by that header. pathPrefix: the tenant named by the first path segment (removed before forwarding). Default host.'),
    timeouts: z
      .strictObject({
        headersMs: positiveMs('headersMs', 600_000).default(10_000).describe('TLS handshake and request headers, from accept or the previous response.'),
        idleMs: positiveMs('idleMs', 3_600_000).default(60_000).describe('A connection with no traffic this long is closed.'),
        requestMs: positiveMs('requestMs', 86_400_000).default(300_000).describe('One request, first byte to last of its response.'),
      })
      .prefault({}),
    revokeGraceMs: z
      .number()
      .int()
      .min(0)
      .max(600_000)
      .default(5_000)
      .describe('After a reload revokes a connection: GOAWAY / Connection: close at once, destroyed after this long.'),
  })
  .describe('Settings of listeners in http mode.');

export const gatewayConfigSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Path or URL of this JSON Schema, for editors.'),
    listeners: z.strictObject({
      privateLink: trafficListener('Receives Private Link traffic; a PROXY v2 header is required.'),
      public: trafficListener('Receives internet traffic; a PROXY header is forbidden, CIDR rules apply.').optional(),
      health: listener('HTTP /healthz /readyz /metrics; tolerates a leading PROXY v2 header.'),
      additionalPrivateLink: z
        .array(additionalPrivateLinkListener, {
          error: (iss) => `additionalPrivateLink must be a list of listeners, got ${show(iss.input)}`,
        })
        .max(MAX_ADDITIONAL_PRIVATE_LINK_LISTENERS, {
          error: `at most ${MAX_ADDITIONAL_PRIVATE_LINK_LISTENERS} additional private-link listeners`,
        })
        .optional()
        .describe('More private-link ports (PROXY v2 required on each), each sending every tenant to one upstream.'),
    }),
    upstreams: z.record(
      z.string().regex(UPSTREAM_NAME_PATTERN, {
        error: (iss) => `upstream name must be letters, digits, "_" or "-", got ${show(iss.input)}`,
      }),
      upstreamSchema,
    ),
    tenants: z.array(tenantSchema, { error: (iss) => `tenants must be a list, got ${show(iss.input)}` }),
    defaultTenant: z
      .string()
      .optional()
      .describe('Tenant that gets connections with no SNI or an unknown hostname. Default: drop them.'),
    limits: limitsSchema.prefault({}),
    shutdown: shutdownSchema.prefault({}),
    log: logSchema.prefault({}),
    ownership: ownershipSchema.optional(),
    diagnostics: diagnosticsSchema.prefault({}),
    http: httpSchema.optional(),
  })
  .describe('linkgate gateway configuration');

/** What a user writes (optional fields optional, IDs as numbers or strings where allowed). */
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;
/** The normalized configuration: defaults applied, hostnames lowercased, IDs canonical strings. */
export type GatewayConfig = z.output<typeof gatewayConfigSchema>;
export type TenantInput = z.input<typeof tenantSchema>;
export type Tenant = z.output<typeof tenantSchema>;
export type TenantAllow = z.output<typeof allowSchema>;
export type UpstreamConfig = z.output<typeof upstreamSchema>;
export type Limits = z.output<typeof limitsSchema>;
export type OwnershipConfig = z.output<typeof ownershipSchema>;
export type HttpSettings = z.output<typeof httpSchema>;
export type UpstreamHttp = z.output<typeof upstreamHttpSchema>;

// ---- Construct-side declarations: a tenant plus who may create an endpoint (never sent to the gateway).

const AWS_PRINCIPAL_PATTERN = /^(?:\*|arn:aws(?:-[a-z]+)*:iam::[0-9]{12}:(?:root|role\/[\w+=,.@/-]+|user\/[\w+=,.@/-]+))$/;
const GUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const GCP_NETWORK_URL_PATTERN =
  /^(?:https:\/\/(?:www|compute)\.googleapis\.com\/compute\/(?:v1|beta)\/)?projects\/(?:[a-z][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]\/global\/networks\/[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export const consumersSchema = z
  .strictObject({
    aws: z
      .strictObject({
        principals: z.array(
          z.string().regex(AWS_PRINCIPAL_PATTERN, {
            error: (iss) =>
              `expected an IAM principal ARN like arn:aws:iam::111122223333:root (or "*"), got ${show(iss.input)}`,
          }),
        ),
      })
      .optional()
      .describe('Endpoint service allowed principals.'),
    azure: z
      .strictObject({
        subscriptions: z.array(
          z.string().regex(GUID_PATTERN, {
            error: (iss) =>
              `expected a subscription ID GUID like 00000000-0000-0000-0000-000000000000, got ${show(iss.input)}`,
          }),
        ),
        autoApprove: z
          .boolean()
          .default(false)
          .describe('Add the subscriptions to auto-approval as well as visibility. Default false.'),
      })
      .optional()
      .describe('Private Link Service visibility (and optionally auto-approval) subscriptions.'),
    gcp: z
      .strictObject({
        projects: z.array(
          z.strictObject({
            id: z.string().regex(GCP_PROJECT_PATTERN, {
              error: (iss) =>
                `expected a GCP project ID (6-30 lowercase letters, digits, hyphens) or project number, got ${show(iss.input)}`,
            }),
            connectionLimit: z
              .number()
              .int({ error: (iss) => `connectionLimit must be a whole number, got ${show(iss.input)}` })
              .min(1, { error: (iss) => `connectionLimit must be at least 1, got ${show(iss.input)}` })
              .max(10_000, { error: (iss) => `connectionLimit must be at most 10000, got ${show(iss.input)}` })
              .default(10),
          }),
        ).default([]),
        // A service attachment accepts by project or by network, never both (GCP refuses the mix).
        networks: z
          .array(
            z.strictObject({
              url: z.string().regex(GCP_NETWORK_URL_PATTERN, {
                error: (iss) =>
                  `expected a VPC network URL like projects/PROJECT/global/networks/NAME, got ${show(iss.input)}`,
              }),
              connectionLimit: z
                .number()
                .int({ error: (iss) => `connectionLimit must be a whole number, got ${show(iss.input)}` })
                .min(1, { error: (iss) => `connectionLimit must be at least 1, got ${show(iss.input)}` })
                .max(10_000, { error: (iss) => `connectionLimit must be at most 10000, got ${show(iss.input)}` })
                .default(10),
            }),
          )
          .optional()
          .describe('Accept by consumer VPC network instead of project.'),
      })
      .optional()
      .describe('Service attachment consumer accept list (by project, or by network).'),
  })
  .describe('Who may create an endpoint to the service; enforced by the cloud, never by the gateway.');

export const tenantDeclarationSchema = tenantSchema.extend({ consumers: consumersSchema.optional() });
export const tenantDeclarationsSchema = z.array(tenantDeclarationSchema);

export type TenantDeclarationInput = z.input<typeof tenantDeclarationSchema>;
export type TenantDeclaration = z.output<typeof tenantDeclarationSchema>;
export type Consumers = z.output<typeof consumersSchema>;

export { show as showValue };
