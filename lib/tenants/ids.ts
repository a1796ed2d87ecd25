/**
 * Link IDs: the value a cloud writes into the PROXY protocol v2 header to name the customer's
 * endpoint. They are kept as strings everywhere (config, policy, logs, metric labels) because GCP
 * PSC connection IDs are uint64 values above 2^53, which a JavaScript number cannot hold.
 */

export const CLOUDS = ['aws', 'azure', 'gcp'] as const;
export type Cloud = (typeof CLOUDS)[number];

/** AWS VPC endpoint IDs: `vpce-` and 8 (older) or 17 lowercase hex digits. */
export const AWS_ENDPOINT_ID_PATTERN = /^vpce-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

/** Unsigned decimal without leading zeros: the form the clouds' own consoles and APIs print. */
export const UNSIGNED_DECIMAL_PATTERN = /^(?:0|[1-9][0-9]*)$/;

export const UINT32_MAX = 0xffff_ffffn;
export const UINT64_MAX = 0xffff_ffff_ffff_ffffn;

/** What a valid link ID of each cloud looks like, for error messages. */
export const LINK_ID_FORMATS: Record<Cloud, string> = {
  aws: 'a VPC endpoint ID: "vpce-" followed by 8 or 17 lowercase hex digits',
  azure: 'a Private Link LinkID: an unsigned 32-bit integer in decimal (0 to 4294967295)',
  gcp: 'a PSC connection ID: an unsigned 64-bit integer as a decimal string (0 to 18446744073709551615)',
};

/** Returns the canonical form of a link ID, or undefined when it is not valid for the cloud. */
export function canonicalLinkId(cloud: Cloud, raw: string): string | undefined {
  switch (cloud) {
    case 'aws':
      return AWS_ENDPOINT_ID_PATTERN.test(raw) ? raw : undefined;
    case 'azure':
      return isUnsignedDecimalAtMost(raw, UINT32_MAX_TEXT) ? raw : undefined;
    case 'gcp':
      return isUnsignedDecimalAtMost(raw, UINT64_MAX_TEXT) ? raw : undefined;
  }
}

function isUnsignedDecimalAtMost(raw: string, limit: string): boolean {
  if (!UNSIGNED_DECIMAL_PATTERN.test(raw)) return false;
  // Without leading zeros, a shorter numeral is a smaller number and equal lengths compare as
  // text: no BigInt per ID (this runs for every ID of every tenant on each reload).
  return raw.length < limit.length || (raw.length === limit.length && raw <= limit);
}

const UINT64_MAX_TEXT = UINT64_MAX.toString();
const UINT32_MAX_TEXT = UINT32_MAX.toString();
