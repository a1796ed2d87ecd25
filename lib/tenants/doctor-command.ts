/**
 * The `linkgate doctor` command a consumer construct outputs, so a customer can check their new
 * endpoint with one copy-paste (README "Onboarding a customer").
 */

/**
 * For the first hostname that names one host; a tenant with only wildcards gets a name the
 * first wildcard covers (`*.megacorp.example.com` matches exactly one more label).
 */
export function doctorCommand(hostnames: readonly string[], port = 443): string {
  const exact = hostnames.find((h) => !h.startsWith('*.'));
  const hostname = exact ?? `check${hostnames[0]!.slice(1)}`;
  return `linkgate doctor ${hostname} --port ${port}`;
}
