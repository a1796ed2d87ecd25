/**
 * Validation of whole documents: the schema per field, then the rules that need every tenant at
 * once (one owner per hostname and per link ID, references, port clashes). Used by the gateway at
 * start and reload, by `linkgate validate`, and by every construct at synth time.
 */
import type { z } from 'zod';
import { CLOUDS } from './ids';
import {
  gatewayConfigSchema,
  tenantDeclarationsSchema,
  type GatewayConfig,
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
  return issues.map((i) => `${indent}${i.path || '(document)'}: ${i.message}`).join('\n');
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
export function validateGatewayConfig(input: unknown): ValidationResult<GatewayConfig> {
  const parsed = gatewayConfigSchema.safeParse(input, { reportInput: true });
  if (!parsed.success) return { ok: false, issues: fromZod(parsed.error) };
  const config = parsed.data;
  const issues = [...checkTenants(config.tenants, 'tenants'), ...checkReferences(config)];
  return issues.length ? { ok: false, issues } : { ok: true, value: config };
}

/** Validates construct-side tenant declarations (tenants plus `consumers`). */
export function validateTenantDeclarations(input: unknown, basePath = 'tenants'): ValidationResult<TenantDeclaration[]> {
  const parsed = tenantDeclarationsSchema.safeParse(input, { reportInput: true });
  if (!parsed.success) return { ok: false, issues: fromZod(parsed.error, [basePath]) };
  const issues = checkTenants(parsed.data, basePath);
  return issues.length ? { ok: false, issues } : { ok: true, value: parsed.data };
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
 * One owner per tenant name, hostname and link ID. Two claims of the same value are an error
 * naming both tenants, reported at the second claim.
 */
export function checkTenants(tenants: readonly Tenant[], basePath: string): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const names = new Map<string, number>();
  const hostOwners = new Map<string, { tenant: string; path: string }>();
  const linkOwners = new Map<string, { tenant: string; path: string }>();

  tenants.forEach((tenant, t) => {
    const tPath = `${basePath}[${t}]`;
    const firstWithName = names.get(tenant.name);
    if (firstWithName !== undefined) {
      issues.push({
        path: `${tPath}.name`,
        message: `tenant name "${tenant.name}" is already used by ${basePath}[${firstWithName}]`,
      });
    } else {
      names.set(tenant.name, t);
    }

    tenant.hostnames.forEach((host, h) => {
      const path = `${tPath}.hostnames[${h}]`;
      const owner = hostOwners.get(host);
      if (!owner) hostOwners.set(host, { tenant: tenant.name, path });
      else issues.push({ path, message: claimedTwice('hostname', host, owner, tenant.name) });
    });

    for (const cloud of CLOUDS) {
      tenant.allow?.[cloud]?.forEach((id, i) => {
        const path = `${tPath}.allow.${cloud}[${i}]`;
        const key = `${cloud}:${id}`;
        const owner = linkOwners.get(key);
        if (!owner) linkOwners.set(key, { tenant: tenant.name, path });
        else issues.push({ path, message: claimedTwice(`${cloud} link ID`, id, owner, tenant.name) });
      });
    }
  });
  return issues;
}

function claimedTwice(what: string, value: string, owner: { tenant: string; path: string }, tenant: string): string {
  return owner.tenant === tenant
    ? `${what} "${value}" is listed twice in tenant "${tenant}" (first at ${owner.path})`
    : `${what} "${value}" is claimed by tenants "${owner.tenant}" (${owner.path}) and "${tenant}"; it must belong to one`;
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
  const seen = new Map<string, string>();
  for (const [name, listener] of Object.entries(config.listeners)) {
    if (!listener || listener.port === 0) continue;
    const clash = [...seen].find(([, other]) => other === String(listener.port));
    if (clash) {
      issues.push({
        path: `listeners.${name}.port`,
        message: `port ${listener.port} is already used by listeners.${clash[0]}; each listener needs its own port`,
      });
    }
    seen.set(name, String(listener.port));
  }
  return issues;
}
