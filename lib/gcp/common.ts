/**
 * What every GCP construct shares: the facts about GCP they rely on (each with where to re-check
 * it), resource naming, and synth-time validation that collects every problem before it throws.
 */
import { createHash } from 'node:crypto';
import { Annotations, Token } from 'cdktf';
import type { Construct } from 'constructs';
import { parseCidr, showValue } from '../tenants';

/**
 * Sources of Google's health check probes for internal passthrough Network Load Balancers (and
 * for MIG autohealing). https://cloud.google.com/load-balancing/docs/firewall-rules
 */
export const INTERNAL_HEALTH_CHECK_RANGES: readonly string[] = ['35.191.0.0/16', '130.211.0.0/22'];

/**
 * Sources of the health check probes for backend service-based external passthrough Network Load
 * Balancers; they differ from the internal ones. https://cloud.google.com/load-balancing/docs/firewall-rules
 */
export const EXTERNAL_HEALTH_CHECK_RANGES: readonly string[] = ['35.191.0.0/16', '209.85.152.0/22', '209.85.204.0/22'];

/**
 * GCE metadata limits (Compute Engine API, `Metadata.items[]`): one value may hold at most
 * 262144 bytes (256 KiB), and all keys and values of one resource together less than 512 KB.
 * https://cloud.google.com/compute/docs/reference/rest/v1/instanceTemplates (metadata.items.value)
 */
export const METADATA_VALUE_MAX_BYTES = 262_144;

/**
 * Seconds Compute Engine gives the guest OS to shut down when a MIG deletes an on-demand VM
 * (graceful shutdown, which extends it, is not available to MIGs).
 * https://cloud.google.com/compute/docs/instances/graceful-shutdown-overview
 */
export const GCE_SHUTDOWN_WINDOW_SEC = 90;

/** Connection draining on a backend service: 0 to 3600 s. https://cloud.google.com/load-balancing/docs/enabling-connection-draining */
export const MAX_CONNECTION_DRAINING_SEC = 3600;

/**
 * Our resource name prefix: short enough that every suffix we append keeps GCP names within 63
 * characters and the service account ID (`<name>-gateway`) within its 30.
 */
const NAME_PATTERN = /^[a-z](?:[a-z0-9-]{0,18}[a-z0-9])?$/;
const NAME_RULE = '1 to 20 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen';

/** Project IDs (6-30 chars), optionally domain-scoped (`example.com:my-project`). */
const PROJECT_ID_PATTERN = /^(?:[a-z][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const PROJECT_ID_RULE = 'a GCP project ID (6-30 lowercase letters, digits and hyphens, starting with a letter)';
export const REGION_PATTERN = /^[a-z]+-[a-z]+[0-9]+$/;

/**
 * A container image reference (registry/path[:tag][@sha256:digest]). Stricter than Docker's
 * grammar on purpose: the reference lands in a systemd unit, so no spaces, quotes, `%` or `$`.
 */
export const IMAGE_PATTERN =
  /^[a-z0-9]+(?:[.-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

/** `LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE...`: an Artifact Registry Docker image. */
const ARTIFACT_REGISTRY_IMAGE = /^([a-z0-9-]+)-docker\.pkg\.dev\/([a-z][a-z0-9-]{4,28}[a-z0-9])\/([a-z0-9][a-z0-9._-]*)\//;

export interface ArtifactRegistryRepository {
  readonly host: string;
  readonly location: string;
  readonly project: string;
  readonly repository: string;
}

export function parseArtifactRegistryImage(image: string): ArtifactRegistryRepository | undefined {
  const m = ARTIFACT_REGISTRY_IMAGE.exec(image);
  if (!m) return undefined;
  return { host: `${m[1]}-docker.pkg.dev`, location: m[1]!, project: m[2]!, repository: m[3]! };
}

/**
 * The default resource name: the construct ID, lowercased, other characters as hyphens, cut to
 * 20 characters. Two constructs with the same ID in one project need an explicit `name`.
 */
export function defaultName(scope: Construct): string {
  let name = scope.node.id.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^[^a-z]+/, '');
  name = name.slice(0, 20).replace(/-+$/, '');
  return name || 'linkgate';
}

/** A GCP resource name (RFC 1035, at most 63) built from parts; long ones keep a short hash. */
export function resourceName(...parts: string[]): string {
  const name = parts.join('-').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/-$/, '');
  if (name.length <= 63) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, 54).replace(/-+$/, '')}-${hash}`;
}

export function isToken(value: unknown): boolean {
  return (typeof value === 'string' || typeof value === 'number') && Token.isUnresolved(value);
}

/**
 * Collects every invalid prop of one construct, then throws one error naming the construct path,
 * each bad value and what is allowed. Unresolved tokens are skipped: they are checked by GCP.
 */
export class PropValidator {
  private readonly problems: string[] = [];

  constructor(
    private readonly scope: Construct,
    private readonly kind: string,
  ) {}

  fail(prop: string, message: string): void {
    this.problems.push(`${prop}: ${message}`);
  }

  integer(prop: string, value: number | undefined, min: number, max: number, unit = ''): void {
    if (value === undefined || isToken(value)) return;
    if (!Number.isInteger(value) || value < min || value > max) {
      this.fail(prop, `must be a whole number from ${min} to ${max}${unit}, got ${showValue(value)}`);
    }
  }

  port(prop: string, value: number | undefined): void {
    this.integer(prop, value, 1, 65535);
  }

  pattern(prop: string, value: string | undefined, pattern: RegExp, rule: string): void {
    if (value === undefined || isToken(value)) return;
    if (!pattern.test(value)) this.fail(prop, `must be ${rule}, got ${showValue(value)}`);
  }

  /** Our resource name prefix (`NAME_PATTERN`), checked under `name`. */
  name(value: string | undefined): void {
    this.pattern('name', value, NAME_PATTERN, NAME_RULE);
  }

  project(value: string | undefined): void {
    this.pattern('project', value, PROJECT_ID_PATTERN, PROJECT_ID_RULE);
  }

  region(value: string | undefined): void {
    this.pattern('region', value, REGION_PATTERN, 'a GCP region like europe-west1');
  }

  nonEmpty(prop: string, value: string | undefined): void {
    if (value === undefined || isToken(value)) return;
    if (value.trim() === '') this.fail(prop, 'must not be empty');
  }

  /** IPv4 CIDR blocks given as their network address, e.g. 10.0.0.0/24 (not 10.0.0.1/24). */
  ipv4Cidr(prop: string, value: string | undefined, minPrefix = 0, maxPrefix = 32): void {
    if (value === undefined || isToken(value)) return;
    const parsed = parseCidr(value);
    const rule = `an IPv4 CIDR block with a /${minPrefix} to /${maxPrefix} prefix, written as its network address (e.g. 10.10.0.0/24)`;
    if (!parsed || parsed.family !== 'ipv4' || !value.includes('/')) {
      this.fail(prop, `must be ${rule}, got ${showValue(value)}`);
      return;
    }
    if (parsed.prefix < minPrefix || parsed.prefix > maxPrefix) {
      this.fail(prop, `must be ${rule}, got ${showValue(value)}`);
      return;
    }
    const network = ipv4Network(parsed.address, parsed.prefix);
    if (network !== parsed.address) {
      this.fail(prop, `must be ${rule}: ${showValue(value)} has host bits set (did you mean "${network}/${parsed.prefix}"?)`);
    }
  }

  throwIfInvalid(): void {
    if (this.problems.length === 0) return;
    throw new Error(`${this.kind} at ${this.scope.node.path}: invalid props:\n${this.problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

export function warn(scope: Construct, message: string): void {
  Annotations.of(scope).addWarning(`${scope.node.path}: ${message}`);
}

function ipv4Network(address: string, prefix: number): string {
  const n = address.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
  const mask = prefix === 0 ? 0n : ((1n << 32n) - 1n) ^ ((1n << BigInt(32 - prefix)) - 1n);
  const net = n & mask;
  return [24n, 16n, 8n, 0n].map((shift) => String((net >> shift) & 255n)).join('.');
}

/** Addresses in an IPv4 prefix (GCP reserves four of each subnet's). */
export function ipv4Size(cidr: string): number | undefined {
  const parsed = parseCidr(cidr);
  return parsed && parsed.family === 'ipv4' ? 2 ** (32 - parsed.prefix) : undefined;
}
