/**
 * Which tenant owns a hostname, for the service behind the gateway: the same tenant model and the
 * same matching rule as the gateway's policy (lib/tenants/hostnames.ts), so a Host header is owned
 * by exactly the tenant an SNI of that name would have been decided for.
 */
import { lookupHostname, normalizeHostname } from '../tenants/hostnames';
import { formatLocatedIssues, loadConfigFile } from '../tenants/load';
import type { GatewayConfig } from '../tenants/schema';
import { ConfigValidationError, indexTenants, validateTenantDeclarations, type TenantIndex } from '../tenants/validate';

export class TenantHostnames {
  /**
   * Reads the gateway's own config file (YAML or JSON, validated like `linkgate validate`): the
   * tenants, their hostnames and `defaultTenant`. Throws an Error listing every problem.
   */
  static fromConfigFile(path: string): TenantHostnames {
    const result = loadConfigFile(path);
    if (!result.ok) {
      throw new Error(`linkgate/upstream: ${path} is not a valid linkgate config:\n${formatLocatedIssues(result.issues, path)}`);
    }
    return TenantHostnames.fromConfig(result.value, result.index);
  }

  /** From a validated gateway config (and the index validation built, when at hand). */
  static fromConfig(config: GatewayConfig, index?: TenantIndex): TenantHostnames {
    const owners = (index ?? indexTenants(config.tenants, 'tenants').index).hostnames;
    const names = config.tenants.map((t) => t.name);
    return new TenantHostnames(
      new Map([...owners].map(([hostname, i]) => [hostname, names[i]!])),
      new Set(names),
      config.defaultTenant ?? null,
    );
  }

  /**
   * From an explicit map, tenant name → hostnames (exact names and `*.` wildcards, as in the
   * gateway config). Validated by the tenant model: one owner per hostname. `defaultTenant`, as in
   * the gateway config, owns every hostname no tenant lists.
   */
  static fromMap(tenants: Readonly<Record<string, readonly string[]>>, options: { readonly defaultTenant?: string } = {}): TenantHostnames {
    // Who may connect is the gateway's decision, not this map's: `open: true` only satisfies the
    // tenant model's rule that it be stated, so that names and hostnames alone are checked here.
    const result = validateTenantDeclarations(Object.entries(tenants).map(([name, hostnames]) => ({ name, hostnames, open: true })));
    if (!result.ok) throw new ConfigValidationError(result.issues, 'linkgate/upstream: invalid tenant hostnames');
    if (options.defaultTenant !== undefined && !Object.hasOwn(tenants, options.defaultTenant)) {
      throw new Error(`linkgate/upstream: defaultTenant "${options.defaultTenant}" is not one of the tenants`);
    }
    return TenantHostnames.fromConfig({ tenants: result.value, defaultTenant: options.defaultTenant } as GatewayConfig);
  }

  private constructor(
    private readonly owners: ReadonlyMap<string, string>,
    private readonly names: ReadonlySet<string>,
    /** Owner of every hostname no tenant lists (the gateway's `defaultTenant`), or null. */
    readonly defaultTenant: string | null,
  ) {}

  /** The tenant that owns `hostname` (any case, trailing dot allowed), or null. */
  tenantOf(hostname: string): string | null {
    return lookupHostname(this.owners, normalizeHostname(hostname)) ?? this.defaultTenant;
  }

  /** Is `tenant` one of the tenants? */
  has(tenant: string): boolean {
    return this.names.has(tenant);
  }
}
