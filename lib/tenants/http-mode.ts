/**
 * The cloud-neutral part of the constructs' `httpMode` prop: what every cloud checks at synth time
 * before it wires certificates from its secret store and a shared hostname into its private DNS
 * integration. Each cloud's construct raises the issues in its own error style.
 */
import type { GatewayConfigInput } from './schema';
import { hostnameSchema } from './schema';
import type { ValidationIssue } from './validate';

/** Where a request names its tenant (gateway config `http.tenantFrom`). */
export type HttpTenantFrom = 'host' | 'pathPrefix' | { readonly header: string };

/** The settings of `httpMode` every cloud shares; each cloud adds how its certificates are stored. */
export interface HttpModeCommonProps {
  /**
   * Where a request names its tenant: `host` (Host / `:authority`, one hostname per tenant),
   * `{ header: 'x-tenant' }` or `pathPrefix` (one shared hostname for every customer).
   *
   * @default 'host'
   */
  readonly tenantFrom?: HttpTenantFrom;
  /**
   * The one hostname every customer uses (with `tenantFrom` a header or `pathPrefix`), published
   * through the cloud's private DNS integration so that consumers' endpoints resolve it without
   * records of their own. No wildcard: no cloud's private DNS integration takes one.
   *
   * @default - no shared hostname: customers use their tenants' hostnames
   */
  readonly sharedHostname?: string;
  /**
   * Gateway http timeouts (gateway config `http.timeouts`: headersMs, idleMs, requestMs).
   *
   * @default - the gateway's: 10 s for headers, 60 s idle, 300 s per request
   */
  readonly timeouts?: NonNullable<GatewayConfigInput['http']>['timeouts'];
  /**
   * Milliseconds a connection revoked by a reload gets after GOAWAY / `Connection: close`.
   *
   * @default 5000
   */
  readonly revokeGraceMs?: number;
}

/** One certificate as the synth-time checks see it: the DNS names it is declared to cover, if given. */
export interface DeclaredCertificate {
  readonly names?: readonly string[];
}

/** A certificate DNS name covers `host`: equal, or `*.` standing for exactly one label. */
export function certificateNameCovers(name: string, host: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  const h = host.toLowerCase().replace(/\.$/, '');
  if (n === h) return true;
  if (!n.startsWith('*.')) return false;
  const dot = h.indexOf('.');
  return dot > 0 && h.slice(dot + 1) === n.slice(2);
}

/**
 * Checks `httpMode` at synth time; `isUnresolved` skips deploy-time values. Issue paths are the
 * prop's (`httpMode.sharedHostname`, ...).
 */
export function checkHttpMode(
  props: HttpModeCommonProps & { readonly certificates: readonly DeclaredCertificate[] },
  isUnresolved: (value: unknown) => boolean = () => false,
): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (!Array.isArray(props.certificates) || props.certificates.length === 0) {
    issues.push({
      path: 'httpMode.certificates',
      message: 'http mode terminates TLS and needs at least one certificate from the secret store, got none',
    });
  }
  const shared = props.sharedHostname;
  if (shared === undefined || isUnresolved(shared)) return issues;
  const parsed = hostnameSchema.safeParse(shared);
  if (!parsed.success || shared.startsWith('*.')) {
    issues.push({
      path: 'httpMode.sharedHostname',
      message: `${JSON.stringify(shared)} is not a host name; expected DNS labels like api.example.com (no wildcard: private DNS integration takes none)`,
    });
    return issues;
  }
  const tenantFrom = props.tenantFrom ?? 'host';
  if (tenantFrom === 'host') {
    issues.push({
      path: 'httpMode.tenantFrom',
      message:
        `is "host" (the default) with sharedHostname ${JSON.stringify(parsed.data)}: with one hostname for every customer the ` +
        'Host cannot name the tenant; set tenantFrom to { header: "x-tenant" } or "pathPrefix"',
    });
  }
  const declared = (props.certificates ?? []).filter((c) => c.names !== undefined && !c.names.some(isUnresolved));
  // Only a certificate whose names are declared can be checked; one without may cover it.
  if (declared.length > 0 && declared.length === props.certificates.length && !declared.some((c) => c.names!.some((n) => certificateNameCovers(n, parsed.data)))) {
    issues.push({
      path: 'httpMode.sharedHostname',
      message: `${JSON.stringify(parsed.data)} is covered by no certificate's names (${declared.flatMap((c) => c.names!).map((n) => JSON.stringify(n)).join(', ')}); clients would refuse the handshake`,
    });
  }
  return issues;
}

/** The gateway config's `http` section for certificates the cloud delivers (files or variables). */
export function renderHttpSettings(
  props: HttpModeCommonProps,
  certificates: NonNullable<GatewayConfigInput['http']>['certificates'],
): NonNullable<GatewayConfigInput['http']> {
  return {
    certificates,
    ...(props.tenantFrom !== undefined ? { tenantFrom: props.tenantFrom as { header: string } | 'host' | 'pathPrefix' } : {}),
    ...(props.timeouts !== undefined ? { timeouts: props.timeouts } : {}),
    ...(props.revokeGraceMs !== undefined ? { revokeGraceMs: props.revokeGraceMs } : {}),
  };
}
