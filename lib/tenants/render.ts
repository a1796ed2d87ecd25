/**
 * From one tenant declaration to both halves: the gateway's config (what the filter enforces) and
 * the cloud allow-lists (who may create an endpoint at all). The constructs call these; they never
 * build either by hand.
 */
import {
  type GatewayConfig,
  type GatewayConfigInput,
  type TenantDeclaration,
  type TenantDeclarationInput,
} from './schema';
import { ConfigValidationError, validateGatewayConfig, validateTenantDeclarations } from './validate';

export type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** What a construct's `tenants` prop accepts. */
export type TenantDeclarations = readonly DeepReadonly<TenantDeclarationInput>[];

export interface GatewayConfigOptions {
  readonly privateLinkPort: number;
  readonly healthPort: number;
  /** Present when a public path is deployed. */
  readonly publicPort?: number;
  readonly upstreams: DeepReadonly<GatewayConfigInput['upstreams']>;
  readonly defaultTenant?: string;
  readonly limits?: DeepReadonly<GatewayConfigInput['limits']>;
  readonly shutdown?: DeepReadonly<GatewayConfigInput['shutdown']>;
  readonly log?: DeepReadonly<GatewayConfigInput['log']>;
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
): RenderedGatewayConfig {
  const document = {
    listeners: {
      privateLink: { port: options.privateLinkPort },
      ...(options.publicPort !== undefined ? { public: { port: options.publicPort } } : {}),
      health: { port: options.healthPort },
    },
    upstreams: options.upstreams,
    tenants: tenants.map(({ consumers: _cloudSideOnly, ...gatewaySide }) => gatewaySide),
    ...(options.defaultTenant !== undefined ? { defaultTenant: options.defaultTenant } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.shutdown ? { shutdown: options.shutdown } : {}),
    ...(options.log ? { log: options.log } : {}),
  };
  const result = validateGatewayConfig(document);
  if (!result.ok) throw new ConfigValidationError(result.issues, `${context}: the rendered gateway config is invalid`);
  return { config: result.value, json: JSON.stringify(result.value) };
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
  }
  const sorted = (s: Iterable<string>) => [...s].sort();
  return {
    awsPrincipals: sorted(aws),
    azureVisibility: sorted(visibility),
    azureAutoApproval: sorted(autoApproval),
    gcpProjects: sorted(gcp.keys()).map((id) => ({ id, connectionLimit: gcp.get(id)! })),
  };
}
