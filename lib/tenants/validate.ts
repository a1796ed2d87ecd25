/**
 * Validation of whole documents: the schema per field, then the rules that need every tenant at
 * once (one owner per hostname and per link ID, references, port clashes). Used by the gateway at
 * start and reload, by `linkgate validate`, and by every construct at synth time.
 */
import type { z } from 'zod';
import type { Cloud } from './ids';
import {
  OWNER_RULES,
  gatewayConfigSchema,
  tenantDeclarationSchema,
  tenantDeclarationsSchema,
  tenantSchema,
  type GatewayConfig,
  type OwnerRule,
  type Tenant,
  type TenantDeclaration,
} from './schema';

export interface ValidationIssue {
  /** Where in the document, e.g. `tenants[2].allow.aws[0]`. Empty for the document itself. */
  readonly path: string;
  readonly message: string;
}

export type ValidationResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly issues: readonly ValidationIssue[] };

/** A valid gateway config with the tenant index built while checking it. */
export type GatewayConfigResult =
  | { readonly ok: true; readonly value: GatewayConfig; readonly index: TenantIndex }
  | { readonly ok: false; readonly issues: readonly ValidationIssue[] };

/** Thrown where a result cannot be returned (constructs, gateway start). Lists every issue. */
export class ConfigValidationError extends Error {
  constructor(
    readonly issues: readonly ValidationIssue[],
    context = 'invalid linkgate configuration',
  ) {
    super(`${context}:\n${formatIssues(issues)}`);
    this.name = 'ConfigValidationError';
  }
}

export function formatIssues(issues: readonly ValidationIssue[], indent = '  '): string {
  return issues.map((i) => `${indent}${formatIssue(i)}`).join('\n');
}

/** `path: message`, the document itself named when the path is empty. */
export function formatIssue(issue: ValidationIssue): string {
  return `${issue.path || '(document)'}: ${issue.message}`;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/** Validates a gateway config document (already parsed from YAML or JSON). */
export function validateGatewayConfig(input: unknown): GatewayConfigResult {
  const parsed = gatewayConfigSchema.safeParse(input, { reportInput: true });
  if (!parsed.success) {
    const tenants = (input as { tenants?: unknown } | null)?.tenants;
    return { ok: false, issues: [...fromZod(parsed.error), ...checkParsedTenants(tenantSchema, tenants, 'tenants')] };
  }
  const config = parsed.data;
  const { index, issues } = indexTenants(config.tenants, 'tenants');
  issues.push(...checkReferences(config), ...checkOwnership(config));
  return issues.length ? { ok: false, issues } : { ok: true, value: config, index };
}

/** Validates construct-side tenant declarations (tenants plus `consumers`). */
export function validateTenantDeclarations(input: unknown, basePath = 'tenants'): ValidationResult<TenantDeclaration[]> {
  const parsed = tenantDeclarationsSchema.safeParse(input, { reportInput: true });
  if (!parsed.success) {
    return { ok: false, issues: [...fromZod(parsed.error, [basePath]), ...checkParsedTenants(tenantDeclarationSchema, input, basePath)] };
  }
  const issues = checkTenants(parsed.data, basePath);
  return issues.length ? { ok: false, issues } : { ok: true, value: parsed.data };
}

/**
 * When the document has schema errors, the claims of the tenants that did parse are still checked
 * (two tenants with one hostname or link ID), so one `validate` run lists every issue instead of
 * showing the clashes only once the other errors are fixed. Tenants that failed stay out (holes).
 */
function checkParsedTenants(schema: z.ZodType<Tenant>, tenants: unknown, basePath: string): ValidationIssue[] {
  if (!Array.isArray(tenants)) return [];
  const parsed = tenants.map((raw: unknown) => {
    const one = schema.safeParse(raw);
    return one.success ? one.data : undefined;
  });
  return indexTenants(parsed, basePath).issues;
}

function fromZod(error: z.ZodError, prefix: PropertyKey[] = []): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({ path: formatPath([...prefix, ...issue.path, key]), message: `unknown field "${key}"` });
      }
      continue;
    }
    if (issue.code === 'invalid_type' && issue.input === undefined) {
      out.push({ path: formatPath([...prefix, ...issue.path]), message: 'is required' });
      continue;
    }
    out.push({ path: formatPath([...prefix, ...issue.path]), message: issue.message });
  }
  return out;
}

/**
 * Who owns each hostname and link ID, by tenant index. Validation builds it to find clashes and
 * the gateway's policy reuses it as its lookup tables, so a reload indexes 100,000 tenants once.
 * Hostname keys are as written (wildcards keep their "*." prefix).
 */
export interface TenantIndex {
  readonly hostnames: ReadonlyMap<string, number>;
  readonly linkIds: { readonly [C in Cloud]: ReadonlyMap<string, number> };
  /** Owner rules (`allow.awsAccounts`, ...): one tenant per owner, like link IDs. */
  readonly owners: { readonly [R in OwnerRule]: ReadonlyMap<string, number> };
}

/**
 * One owner per tenant name, hostname and link ID. Two claims of the same value are an error
 * naming both tenants, reported at the second claim. The maps hold only the owner's index and
 * paths are built for errors alone: this runs on every reload.
 */
export function indexTenants(tenants: readonly (Tenant | undefined)[], basePath: string): { index: TenantIndex; issues: ValidationIssue[] } {
  const issues: ValidationIssue[] = [];
  const names = new Map<string, number>();
  const hostOwners = new Map<string, number>();
  const linkOwners = { aws: new Map<string, number>(), azure: new Map<string, number>(), gcp: new Map<string, number>() };
  const ruleOwners = {
    awsAccounts: new Map<string, number>(),
    azureSubscriptions: new Map<string, number>(),
    gcpProjects: new Map<string, number>(),
    gcpNetworks: new Map<string, number>(),
  };

  for (let t = 0; t < tenants.length; t++) {
    const tenant = tenants[t];
    if (tenant === undefined) continue; // did not parse: its own errors are reported
    const firstWithName = names.get(tenant.name);
    if (firstWithName !== undefined) {
      issues.push({
        path: `${basePath}[${t}].name`,
        message: `tenant name "${tenant.name}" is already used by ${basePath}[${firstWithName}]`,
      });
    } else {
      names.set(tenant.name, t);
    }

    const hosts = tenant.hostnames;
    for (let h = 0; h < hosts.length; h++) {
      const owner = hostOwners.get(hosts[h]!);
      if (owner === undefined) hostOwners.set(hosts[h]!, t);
      else issues.push(clash('hostname', hosts[h]!, owner, t, h, 'hostnames', (x) => x.hostnames, tenants, basePath));
    }

    const allow = tenant.allow;
    if (!allow) continue;
    // One call per cloud with a fixed property: a loop over CLOUDS with allow[cloud] measured
    // half again slower on 100,000 tenants (keyed loads do not stay monomorphic).
    if (allow.aws) claimLinkIds('aws', allow.aws, t, linkOwners.aws, tenants, basePath, issues);
    if (allow.azure) claimLinkIds('azure', allow.azure, t, linkOwners.azure, tenants, basePath, issues);
    if (allow.gcp) claimLinkIds('gcp', allow.gcp, t, linkOwners.gcp, tenants, basePath, issues);
    // Fail closed: an owner claimed by two tenants would hand one's endpoints to the other.
    if (allow.awsAccounts || allow.azureSubscriptions || allow.gcpProjects || allow.gcpNetworks) {
      for (const rule of OWNER_RULES) if (allow[rule]) claimOwners(rule, allow[rule], t, ruleOwners[rule], tenants, basePath, issues);
    }
  }
  return { index: { hostnames: hostOwners, linkIds: linkOwners, owners: ruleOwners }, issues };
}

function claimLinkIds(
  cloud: Cloud,
  ids: readonly string[],
  t: number,
  owners: Map<string, number>,
  tenants: readonly (Tenant | undefined)[],
  basePath: string,
  issues: ValidationIssue[],
): void {
  for (let i = 0; i < ids.length; i++) {
    const owner = owners.get(ids[i]!);
    if (owner === undefined) owners.set(ids[i]!, t);
    else issues.push(clash(`${cloud} link ID`, ids[i]!, owner, t, i, `allow.${cloud}`, (x) => x.allow?.[cloud] ?? [], tenants, basePath));
  }
}

const OWNER_WORDS: Record<OwnerRule, string> = {
  awsAccounts: 'AWS account',
  azureSubscriptions: 'Azure subscription',
  gcpProjects: 'GCP project',
  gcpNetworks: 'GCP network',
};

function claimOwners(
  rule: OwnerRule,
  owners: readonly string[],
  t: number,
  claimed: Map<string, number>,
  tenants: readonly (Tenant | undefined)[],
  basePath: string,
  issues: ValidationIssue[],
): void {
  for (let i = 0; i < owners.length; i++) {
    const owner = claimed.get(owners[i]!);
    if (owner === undefined) claimed.set(owners[i]!, t);
    else issues.push(clash(OWNER_WORDS[rule], owners[i]!, owner, t, i, `allow.${rule}`, (x) => x.allow?.[rule] ?? [], tenants, basePath));
  }
}

/** The `ownership` source each owner rule reads from. */
const OWNER_SOURCES: Record<OwnerRule, 'aws' | 'azure' | 'gcp'> = {
  awsAccounts: 'aws',
  azureSubscriptions: 'azure',
  gcpProjects: 'gcp',
  gcpNetworks: 'gcp',
};

/**
 * Owner rules need somewhere to learn owners from: a tenant naming an AWS account in a gateway
 * that reads no endpoint service would silently admit nobody, so it is an error here.
 */
function checkOwnership(config: GatewayConfig): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const own = config.ownership;
  if (own) {
    if (!own.aws && !own.azure && !own.gcp) {
      issues.push({ path: 'ownership', message: 'names no source to read: add ownership.aws, ownership.azure or ownership.gcp, or remove ownership' });
    }
    if (own.staleAfterSec < 2 * own.intervalSec) {
      issues.push({
        path: 'ownership.staleAfterSec',
        message: `must be at least twice intervalSec (${own.intervalSec}), got ${own.staleAfterSec}: one late poll would otherwise stop every owner-based admission`,
      });
    }
  }
  const reported = new Set<OwnerRule>();
  config.tenants.forEach((tenant, t) => {
    for (const rule of OWNER_RULES) {
      if (!tenant.allow?.[rule]?.length || reported.has(rule)) continue;
      const source = OWNER_SOURCES[rule];
      if (own?.[source]) continue;
      reported.add(rule);
      issues.push({
        path: `tenants[${t}].allow.${rule}`,
        message: `owner rules need ownership.${source} (the service whose connections name the owners); without it they would admit nobody`,
      });
    }
  });
  return issues;
}

export function checkTenants(tenants: readonly Tenant[], basePath: string): ValidationIssue[] {
  return indexTenants(tenants, basePath).issues;
}

function clash(
  what: string,
  value: string,
  firstTenant: number,
  tenant: number,
  index: number,
  field: string,
  list: (t: Tenant) => readonly string[],
  tenants: readonly (Tenant | undefined)[],
  basePath: string,
): ValidationIssue {
  const first = `${basePath}[${firstTenant}].${field}[${list(tenants[firstTenant]!).indexOf(value)}]`;
  const firstName = tenants[firstTenant]!.name;
  const name = tenants[tenant]!.name;
  return {
    path: `${basePath}[${tenant}].${field}[${index}]`,
    message:
      firstTenant === tenant
        ? `${what} "${value}" is listed twice in tenant "${name}" (first at ${first})`
        : `${what} "${value}" is claimed by tenants "${firstName}" (${first}) and "${name}"; it must belong to one`,
  };
}

function checkReferences(config: GatewayConfig): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const upstreamNames = Object.keys(config.upstreams);
  config.tenants.forEach((tenant, t) => {
    if (!Object.hasOwn(config.upstreams, tenant.upstream)) {
      issues.push({
        path: `tenants[${t}].upstream`,
        message: `upstream "${tenant.upstream}" is not defined in upstreams (defined: ${upstreamNames.join(', ') || 'none'})`,
      });
    }
  });
  if (config.defaultTenant !== undefined && !config.tenants.some((t) => t.name === config.defaultTenant)) {
    issues.push({ path: 'defaultTenant', message: `no tenant is named "${config.defaultTenant}"` });
  }
  const { additionalPrivateLink = [], ...single } = config.listeners;
  const listeners: [string, { port: number }][] = [
    ...Object.entries(single).flatMap(([name, l]): [string, { port: number }][] => (l ? [[name, l]] : [])),
    ...additionalPrivateLink.map((l, i): [string, { port: number }] => [`additionalPrivateLink[${i}]`, l]),
  ];
  const names = new Map<string, number>();
  additionalPrivateLink.forEach((l, i) => {
    const first = names.get(l.name);
    // The name is the listener's `listener` label, beside privateLink (the regex cannot match it) and these.
    if (l.name === 'public' || l.name === 'health') {
      issues.push({
        path: `listeners.additionalPrivateLink[${i}].name`,
        message: `listener name "${l.name}" is taken by listeners.${l.name}; pick another`,
      });
    } else if (first !== undefined) {
      issues.push({
        path: `listeners.additionalPrivateLink[${i}].name`,
        message: `listener name "${l.name}" is already used by listeners.additionalPrivateLink[${first}]`,
      });
    } else names.set(l.name, i);
    if (!Object.hasOwn(config.upstreams, l.upstream)) {
      issues.push({
        path: `listeners.additionalPrivateLink[${i}].upstream`,
        message: `upstream "${l.upstream}" is not defined in upstreams (defined: ${upstreamNames.join(', ') || 'none'})`,
      });
    }
  });
  const seen = new Map<string, string>();
  for (const [name, listener] of listeners) {
    if (listener.port === 0) continue;
    const clash = [...seen].find(([, other]) => other === String(listener.port));
    if (clash) {
      issues.push({
        path: `listeners.${name}.port`,
        message: `port ${listener.port} is already used by listeners.${clash[0]}; each listener needs its own port`,
      });
    }
    seen.set(name, String(listener.port));
  }
  const httpListeners = (['privateLink', 'public'] as const).filter((k) => config.listeners[k]?.mode === 'http');
  if (httpListeners.length && !config.http) {
    issues.push({ path: 'http', message: `listeners.${httpListeners[0]}.mode is "http": an \`http\` section with certificates is required` });
  }
  return issues;
}
