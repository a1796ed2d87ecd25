/**
 * The one hostname rule, shared by the gateway's policy (SNI) and linkgate/upstream (HTTP Host and
 * :authority): case-insensitive, a trailing dot ignored, an exact name beats a `*.` wildcard, and
 * `*.` matches exactly one more label.
 */

/** Lowercase, without the trailing dot: the form hostnames are stored in after validation. */
export function normalizeHostname(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * The owner of a normalized `hostname` in `owners` (keys as validated: exact names and `*.`
 * wildcards): the exact entry first, else the wildcard one label up, else undefined.
 */
export function lookupHostname<T>(owners: ReadonlyMap<string, T>, hostname: string): T | undefined {
  const exact = owners.get(hostname);
  if (exact !== undefined) return exact;
  const dot = hostname.indexOf('.');
  return dot > 0 ? owners.get(`*${hostname.slice(dot)}`) : undefined;
}
