/** What a tenant's `allow` block means, in one place for the gateway's policy and the constructs. */
import type { TenantAllow } from './schema';

/**
 * Open (every source allowed) only when the tenant names no list at all: no `allow`, or `allow: {}`.
 * A named list, even an emptied one, admits only its entries, so removing a customer's last
 * endpoint cuts that tenant off instead of opening it to everyone.
 */
export function isOpenTenant(allow: TenantAllow | undefined): boolean {
  return allow === undefined || (allow.aws === undefined && allow.azure === undefined && allow.gcp === undefined && allow.cidrs === undefined);
}

/** A tenant that names lists but none has an entry: it accepts no connection at all. */
export function isClosedTenant(allow: TenantAllow | undefined): boolean {
  return !isOpenTenant(allow) && Object.values(allow!).every((list) => list === undefined || list.length === 0);
}
