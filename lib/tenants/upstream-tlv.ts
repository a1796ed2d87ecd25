/**
 * The custom PROXY v2 TLV in which the gateway names the tenant to the upstream. PROXY v2 reserves
 * 0xE0–0xEF for custom use (PP2_TYPE_MIN_CUSTOM … PP2_TYPE_MAX_CUSTOM); the clouds took three of
 * them for their link IDs (shared/CLOUD-FACTS.md), and reusing one would let a cloud's TLV be read
 * as a tenant name.
 */
import type { Cloud } from './ids';

export const CUSTOM_TLV_TYPE_MIN = 0xe0;
export const CUSTOM_TLV_TYPE_MAX = 0xef;
/** GCP 0xE0, AWS 0xEA, Azure 0xEE. */
export const CLOUD_TLV_TYPES: Readonly<Record<Cloud, number>> = { aws: 0xea, azure: 0xee, gcp: 0xe0 };
/** The first custom type no cloud uses. */
export const DEFAULT_TENANT_TLV_TYPE = 0xe1;

const hex = (n: number) => `0x${n.toString(16).toUpperCase().padStart(2, '0')}`;

/** Why `type` cannot carry the tenant name, or undefined when it can. */
export function tenantTlvTypeProblem(type: number): string | undefined {
  if (!Number.isInteger(type) || type < CUSTOM_TLV_TYPE_MIN || type > CUSTOM_TLV_TYPE_MAX) {
    return `tenantTlvType must be a custom PROXY v2 TLV type from 0xE0 to 0xEF (224 to 239), got ${String(type)}`;
  }
  const cloud = (Object.keys(CLOUD_TLV_TYPES) as Cloud[]).find((c) => CLOUD_TLV_TYPES[c] === type);
  if (cloud) {
    return `tenantTlvType ${hex(type)} is the ${cloud.toUpperCase()} link-ID TLV; pick a type no cloud uses (0xE0 GCP, 0xEA AWS, 0xEE Azure are taken), e.g. ${hex(DEFAULT_TENANT_TLV_TYPE)}`;
  }
  return undefined;
}
