/**
 * From one tenant declaration to both halves: the gateway's config (what the filter enforces) and
 * the cloud allow-lists (who may create an endpoint at all). The constructs call these; they never
 * build either by hand.
 */
import {
  SHUTDOWN_DEFAULTS,
  SHUTDOWN_EXIT_MARGIN_MS,
  SHUTDOWN_MAX,
  showValue,
  type GatewayConfig,
  type GatewayConfigInput,
  type TenantDeclaration,
  type TenantDeclarationInput,
} from './schema';
import {
  ConfigValidationError,
  validateGatewayConfig,
  validateTenantDeclarations,
  type ValidationIssue,
} from './validate';

export type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** What a construct's `tenants` prop accepts. */
export type TenantDeclarations = readonly DeepReadonly<TenantDeclarationInput>[];

export interface GatewayConfigOptions extends GatewayListenerPorts {
  readonly upstreams: DeepReadonly<GatewayConfigInput['upstreams']>;
  readonly defaultTenant?: string;
  readonly limits?: DeepReadonly<GatewayConfigInput['limits']>;
  readonly shutdown?: DeepReadonly<GatewayConfigInput['shutdown']>;
  readonly log?: DeepReadonly<GatewayConfigInput['log']>;
  /** Where owner rules learn endpoint owners (gateway config `ownership`); the cloud's construct fills in the source. */
  readonly ownership?: DeepReadonly<NonNullable<GatewayConfigInput['ownership']>>;
  /** Present: the private-link listener runs in http mode with these settings. */
  readonly http?: DeepReadonly<GatewayConfigInput['http']>;
}

/** How the gateway reads endpoint owners (gateway config `ownership`), minus the source the construct knows. */
export interface OwnershipSettings {
  /**
   * Seconds between two reads of the endpoint connections: a deleted, rejected or re-owned
   * endpoint is cut within about this long.
   *
   * @default 15
   */
  readonly intervalSec?: number;
  /**
   * With no good read for this long, owner rules admit nobody (explicit link IDs are unaffected).
   *
   * @default 300
   */
  readonly staleAfterSec?: number;
  /**
   * Pending connections: `matching` accepts those a tenant names (owner or link ID),
   * `matching-reject-others` also rejects the rest. Grants the accept/reject permissions too.
   *
   * @default 'none' - pending connections are left to you
   */
  readonly accept?: 'none' | 'matching' | 'matching-reject-others';
}

/**
 * The gateway settings every cloud's gateway construct takes, with the same names, units and
 * meaning on AWS, Azure and GCP. Each construct adds its listener ports and renders them into the
 * gateway config with `resolveGatewaySettings`.
 */
export interface GatewaySettingsProps {
  /**
   * Where allowed connections go: upstream name → host and port (gateway config `upstreams`).
   * Tenants pick one by name (`upstream`, default "default").
   */
  readonly upstreams: GatewayConfigOptions['upstreams'];
  /**
   * Tenant that receives connections without SNI or with an unknown hostname.
   *
   * @default - such connections are dropped (default deny)
   */
  readonly defaultTenant?: string;
  /**
   * Gateway limits (gateway config `limits`): connections per worker, PROXY header and ClientHello
   * timeouts, idle timeout, TCP keepalive.
   *
   * @default - the gateway's defaults: connections per worker sized from the open-files limit
   * (at most 20000; a quarter per endpoint, half per tenant), 5 s for the PROXY header, 10 s for
   * the ClientHello, 600 s idle timeout, 60 s keepalive (see the config reference)
   */
  readonly limits?: GatewayConfigOptions['limits'];
  /**
   * Decision logging (gateway config `log`): which decisions get a line, and how many drop lines.
   *
   * @default - every decision is logged, drop lines limited to 50 per second and worker
   */
  readonly log?: GatewayConfigOptions['log'];
  /**
   * After SIGTERM, seconds during which the gateway's /readyz fails while its listeners still
   * accept, so the load balancer stops sending before the listeners close (0 to 600).
   *
   * @default 5
   */
  readonly drainDelaySec?: number;
  /**
   * Then, seconds in-flight connections get to finish before the gateway closes them (0 to 3600).
   * The container is given the whole drain, plus time to exit, before it is killed.
   *
   * @default 25
   */
  readonly drainTimeoutSec?: number;
  /**
   * Owner rules (`allow.awsAccounts`, `azureSubscriptions`, `gcpProjects`, `gcpNetworks`): how
   * often the gateway reads who owns each endpoint, and whether it accepts pending ones. The
   * construct adds the source (its endpoint service, Private Link Service or service attachment)
   * and the read permission whenever a tenant has owner rules.
   *
   * @default - read every 15 s when a tenant has owner rules, stale after 300 s, no acceptance
   */
  readonly ownership?: OwnershipSettings;
}

/**
 * The listener ports every cloud's constructs default to (the image's EXPOSE): the private-link
 * listener, the public listener, the health listener.
 */
export const DEFAULT_LISTENER_PORTS = { privateLink: 8443, public: 9443, health: 8080 } as const;

/** The gateway's listener ports, as the construct resolved them. */
export interface GatewayListenerPorts {
  readonly privateLinkPort: number;
  readonly healthPort: number;
  /** Present when a public path is deployed. */
  readonly publicPort?: number;
  /** Further private-link listeners (gateway config `listeners.additionalPrivateLink`). */
  readonly additionalPrivateLink?: readonly ResolvedPrivateLinkPort[];
}

/**
 * A further port customers reach through their endpoint (e.g. 5432 next to 443), with PROXY v2
 * like the first, sending every allowed connection on it to one upstream. The constructs take a
 * list of these as `additionalPrivateLinkPorts`.
 */
export interface AdditionalPrivateLinkPort {
  /** Names the port in the gateway's metrics and logs and in construct IDs: lowercase, digits, "-". */
  readonly name: string;
  /** The port customers connect to on their endpoint (the load balancer's frontend port). */
  readonly port: number;
  /** Upstream (a key of `upstreams`) every allowed connection on this port goes to. */
  readonly upstream: string;
  /**
   * The gateway's listener port behind it.
   *
   * @default - the private-link listener port plus 1 + the entry's index (8444, 8445, ...)
   */
  readonly gatewayPort?: number;
}

/** An `AdditionalPrivateLinkPort` with its gateway port resolved. */
export interface ResolvedPrivateLinkPort {
  readonly name: string;
  readonly port: number;
  readonly gatewayPort: number;
  readonly upstream: string;
}

/**
 * Resolves the constructs' `additionalPrivateLinkPorts`: default gateway ports, and every clash
 * (two entries on one frontend port or one gateway port, or on the first private-link port) as an
 * issue whose path is the prop's. Names and upstreams are checked with the rendered config.
 */
export function resolveAdditionalPrivateLinkPorts(
  ports: readonly AdditionalPrivateLinkPort[] | undefined,
  first: { readonly port: number; readonly gatewayPort: number },
  reservedGatewayPorts: readonly number[] = [],
): { readonly ports: ResolvedPrivateLinkPort[]; readonly issues: ValidationIssue[] } {
  const issues: ValidationIssue[] = [];
  const resolved = (ports ?? []).map((p, i) => ({
    name: p.name,
    port: p.port,
    upstream: p.upstream,
    gatewayPort: p.gatewayPort ?? first.gatewayPort + 1 + i,
  }));
  const frontends = new Map<number, string>([[first.port, 'the private-link port']]);
  const backends = new Map<number, string>([[first.gatewayPort, 'the private-link listener']]);
  for (const reserved of reservedGatewayPorts) backends.set(reserved, 'another gateway listener');
  resolved.forEach((p, i) => {
    const path = `additionalPrivateLinkPorts[${i}]`;
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
      issues.push({ path: `${path}.port`, message: `must be a port from 1 to 65535, got ${showValue(p.port)}` });
    } else if (frontends.has(p.port)) {
      issues.push({ path: `${path}.port`, message: `port ${p.port} is already used by ${frontends.get(p.port)}` });
    } else frontends.set(p.port, path);
    if (!Number.isInteger(p.gatewayPort) || p.gatewayPort < 1 || p.gatewayPort > 65535) {
      issues.push({ path: `${path}.gatewayPort`, message: `must be a port from 1 to 65535, got ${showValue(p.gatewayPort)}` });
    } else if (backends.has(p.gatewayPort)) {
      issues.push({ path: `${path}.gatewayPort`, message: `gateway port ${p.gatewayPort} is already used by ${backends.get(p.gatewayPort)}` });
    } else backends.set(p.gatewayPort, path);
  });
  return { ports: resolved, issues };
}

export interface ResolveGatewaySettingsOptions {
  /**
   * The cloud's own default drain delay in seconds, e.g. derived from its load balancer's probe.
   *
   * @default 5
   */
  readonly drainDelaySec?: number;
  /**
   * Recognizes a value known only at deploy time (the construct library's `Token.isUnresolved`).
   * Such a drain cannot be written into the config, and is reported as an issue.
   *
   * @default - tokens are not recognized (a number token then fails the range check)
   */
  readonly isUnresolved?: (value: unknown) => boolean;
  /**
   * Whether an upstream host or port may be a deploy-time value. Only where the deploy tool fills
   * the config in (CloudFormation does, in a task definition's environment); a config written into
   * a VM's boot data would carry the token's placeholder text instead, so it is an issue there.
   *
   * @default false
   */
  readonly allowUnresolvedUpstreams?: boolean;
}

/** `GatewaySettingsProps` with the defaults applied, checked, and ready for `renderGatewayConfig`. */
export interface ResolvedGatewaySettings {
  readonly drainDelaySec: number;
  readonly drainTimeoutSec: number;
  /**
   * The gateway's own bound after SIGTERM: the whole drain plus the time it gives itself to exit
   * (`SHUTDOWN_EXIT_MARGIN_MS`). A container stop timeout of at least this lets it end by itself.
   */
  readonly stopTimeoutSec: number;
  /** The settings and ports as `renderGatewayConfig` takes them (the drain in milliseconds). */
  readonly configOptions: GatewayConfigOptions;
  /**
   * What is wrong with the drain props, each issue's path the prop's name; empty when they are
   * valid. The construct raises them in its own error style; `configOptions` is only meaningful
   * without issues.
   */
  readonly issues: readonly ValidationIssue[];
}

/** Bounds of the drain props: the gateway config's own, in whole seconds. */
export const MAX_DRAIN_DELAY_SEC = SHUTDOWN_MAX.drainDelayMs / 1000;
export const MAX_DRAIN_TIMEOUT_SEC = SHUTDOWN_MAX.drainTimeoutMs / 1000;

/**
 * Applies the defaults to a construct's gateway settings, checks the drain (whole seconds within
 * the config's bounds; a cloud may check tighter bounds of its own, such as a stop timeout), and
 * turns settings and ports into the options `renderGatewayConfig` takes.
 */
export function resolveGatewaySettings(
  settings: GatewaySettingsProps,
  ports: GatewayListenerPorts,
  options: ResolveGatewaySettingsOptions = {},
): ResolvedGatewaySettings {
  const drainDelaySec = settings.drainDelaySec ?? options.drainDelaySec ?? SHUTDOWN_DEFAULTS.drainDelayMs / 1000;
  const drainTimeoutSec = settings.drainTimeoutSec ?? SHUTDOWN_DEFAULTS.drainTimeoutMs / 1000;
  const issues: ValidationIssue[] = [];
  const check = (path: string, value: number, max: number) => {
    if (options.isUnresolved?.(value)) {
      issues.push({ path, message: 'must be known at synth time (it is written into the gateway config), got an unresolved token' });
    } else if (!Number.isInteger(value) || value < 0 || value > max) {
      issues.push({ path, message: `must be a whole number from 0 to ${max} seconds, got ${typeof value === 'number' ? String(value) : showValue(value)}` });
    }
  };
  check('drainDelaySec', drainDelaySec, MAX_DRAIN_DELAY_SEC);
  check('drainTimeoutSec', drainTimeoutSec, MAX_DRAIN_TIMEOUT_SEC);
  if (options.isUnresolved && !options.allowUnresolvedUpstreams) {
    for (const [name, upstream] of Object.entries(settings.upstreams ?? {})) {
      for (const field of ['host', 'port'] as const) {
        if (!options.isUnresolved(upstream?.[field])) continue;
        issues.push({
          path: `upstreams.${name}.${field}`,
          message: 'must be known at synth time: the gateway config is written into the VMs’ boot data, where a deploy-time value would stay unresolved; use a literal value',
        });
      }
    }
  }
  return {
    drainDelaySec,
    drainTimeoutSec,
    stopTimeoutSec: drainDelaySec + drainTimeoutSec + SHUTDOWN_EXIT_MARGIN_MS / 1000,
    configOptions: {
      ...ports,
      upstreams: settings.upstreams,
      defaultTenant: settings.defaultTenant,
      limits: settings.limits,
      log: settings.log,
      shutdown: { drainDelayMs: drainDelaySec * 1000, drainTimeoutMs: drainTimeoutSec * 1000 },
    },
    issues,
  };
}

export interface RenderedGatewayConfig {
  readonly config: GatewayConfig;
  /** Compact JSON, stable for the same input (it feeds asset hashes and rolling updates). */
  readonly json: string;
}

/**
 * Validates tenant declarations, throwing one error that lists every issue. `context` names the
 * caller (a construct path) so that synth errors say where they come from.
 */
export function parseTenantDeclarations(tenants: unknown, context = 'tenants'): TenantDeclaration[] {
  const result = validateTenantDeclarations(tenants);
  if (!result.ok) throw new ConfigValidationError(result.issues, `${context}: invalid tenant declarations`);
  return result.value;
}

/** Renders the gateway config for validated declarations; throws if the result would not load. */
export function renderGatewayConfig(
  tenants: readonly TenantDeclaration[],
  options: GatewayConfigOptions,
  context = 'gateway config',
  render: { readonly isUnresolved?: (value: unknown) => boolean } = {},
): RenderedGatewayConfig {
  // A deploy-time ownership source (an endpoint service ID, a Region) is checked as a placeholder
  // and put back after validation; the deploy tool fills it in.
  const { ownership, restore } = placeholdOwnership(options.ownership, render.isUnresolved);
  const document = {
    listeners: {
      privateLink: { port: options.privateLinkPort, ...(options.http ? { mode: 'http' as const } : {}) },
      ...(options.publicPort !== undefined ? { public: { port: options.publicPort } } : {}),
      health: { port: options.healthPort },
      ...(options.additionalPrivateLink?.length
        ? {
            additionalPrivateLink: options.additionalPrivateLink.map((p) => ({
              name: p.name,
              port: p.gatewayPort,
              upstream: p.upstream,
            })),
          }
        : {}),
    },
    upstreams: options.upstreams,
    tenants: tenants.map(({ consumers: _cloudSideOnly, ...gatewaySide }) => gatewaySide),
    ...(options.defaultTenant !== undefined ? { defaultTenant: options.defaultTenant } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.shutdown ? { shutdown: options.shutdown } : {}),
    ...(options.log ? { log: options.log } : {}),
    ...(ownership ? { ownership } : {}),
    ...(options.http ? { http: options.http } : {}),
  };
  const result = validateGatewayConfig(document);
  if (!result.ok) throw new ConfigValidationError(result.issues, `${context}: the rendered gateway config is invalid`);
  const config = restore(result.value);
  return { config, json: JSON.stringify(config) };
}

const OWNERSHIP_PLACEHOLDERS = { serviceId: 'vpce-svc-00000000000000000', region: 'us-east-1' } as const;

function placeholdOwnership(
  ownership: GatewayConfigOptions['ownership'],
  isUnresolved: ((value: unknown) => boolean) | undefined,
): { ownership: GatewayConfigOptions['ownership']; restore: (config: GatewayConfig) => GatewayConfig } {
  const aws = ownership?.aws;
  if (!aws || !isUnresolved) return { ownership, restore: (c) => c };
  const tokens = (['serviceId', 'region'] as const).filter((k) => isUnresolved(aws[k]));
  if (!tokens.length) return { ownership, restore: (c) => c };
  const checked = { ...aws };
  for (const k of tokens) checked[k] = OWNERSHIP_PLACEHOLDERS[k];
  return {
    ownership: { ...ownership, aws: checked },
    restore: (c) => ({ ...c, ownership: { ...c.ownership!, aws: { ...c.ownership!.aws!, ...Object.fromEntries(tokens.map((k) => [k, aws[k]])) } } }),
  };
}

/** Whether any tenant names owners of this cloud (then its construct configures `ownership`). */
export function usesOwnerRules(tenants: readonly TenantDeclaration[], cloud: 'aws' | 'azure' | 'gcp'): boolean {
  return tenants.some((t) => {
    const a = t.allow;
    if (!a) return false;
    if (cloud === 'aws') return a.awsAccounts !== undefined;
    if (cloud === 'azure') return a.azureSubscriptions !== undefined;
    return a.gcpProjects !== undefined || a.gcpNetworks !== undefined;
  });
}

export interface ConsumerAllowLists {
  /** AWS endpoint service allowed principals, sorted, without duplicates. */
  readonly awsPrincipals: string[];
  /** Azure Private Link Service visibility subscriptions. */
  readonly azureVisibility: string[];
  /** Azure auto-approval subscriptions (a subset of visibility). */
  readonly azureAutoApproval: string[];
  /** GCP service attachment accept list; a project named twice gets the larger limit. */
  readonly gcpProjects: { readonly id: string; readonly connectionLimit: number }[];
}

/** The accept-list limit of a project named only by an owner rule (the `consumers.gcp` default). */
const DEFAULT_GCP_CONNECTION_LIMIT = 10;

export function collectConsumers(tenants: readonly TenantDeclaration[]): ConsumerAllowLists {
  const aws = new Set<string>();
  const visibility = new Set<string>();
  const autoApproval = new Set<string>();
  const gcp = new Map<string, number>();
  for (const tenant of tenants) {
    const c = tenant.consumers;
    c?.aws?.principals.forEach((p) => aws.add(p));
    for (const sub of c?.azure?.subscriptions ?? []) {
      visibility.add(sub.toLowerCase());
      if (c?.azure?.autoApprove) autoApproval.add(sub.toLowerCase());
    }
    for (const project of c?.gcp?.projects ?? []) {
      gcp.set(project.id, Math.max(gcp.get(project.id) ?? 0, project.connectionLimit));
    }
    // Owner rules name who may connect, so they may also create the endpoint: the cloud-side list
    // follows from the same declaration (an account named only in allow.awsAccounts could not
    // create an endpoint to admit otherwise).
    const allow = tenant.allow;
    allow?.awsAccounts?.forEach((account) => aws.add(`arn:aws:iam::${account}:root`));
    allow?.azureSubscriptions?.forEach((sub) => visibility.add(sub));
    for (const project of allow?.gcpProjects ?? []) if (!gcp.has(project)) gcp.set(project, DEFAULT_GCP_CONNECTION_LIMIT);
  }
  const sorted = (s: Iterable<string>) => [...s].sort();
  return {
    awsPrincipals: sorted(aws),
    azureVisibility: sorted(visibility),
    azureAutoApproval: sorted(autoApproval),
    gcpProjects: sorted(gcp.keys()).map((id) => ({ id, connectionLimit: gcp.get(id)! })),
  };
}
