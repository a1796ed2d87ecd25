/**
 * Synth-time checks of construct props. Every construct collects all of its issues and throws one
 * ConfigValidationError (the tenant model's error type) naming the construct path, so a user sees
 * every mistake at once, each with the prop, the bad value and what is allowed.
 */
import { Token } from 'cdktf';
import type { IConstruct } from 'constructs';
import { ConfigValidationError, showValue, type ValidationIssue } from '../tenants';

export class PropIssues {
  readonly issues: ValidationIssue[] = [];

  add(path: string, message: string): void {
    this.issues.push({ path, message });
  }

  /** A TCP port (1-65535). Unresolved tokens are skipped: their value is only known at deploy. */
  port(path: string, value: number | undefined): void {
    if (value === undefined || Token.isUnresolved(value)) return;
    if (!Number.isInteger(value) || value < 1 || value > 65535) {
      this.add(path, `must be a TCP port from 1 to 65535, got ${showValue(value)}`);
    }
  }

  /** A whole number within [min, max]; `unit` goes into the message. */
  intRange(path: string, value: number | undefined, min: number, max: number, unit = ''): void {
    if (value === undefined || Token.isUnresolved(value)) return;
    if (!Number.isInteger(value) || value < min || value > max) {
      const u = unit ? ` ${unit}` : '';
      this.add(path, `must be a whole number from ${min} to ${max}${u}, got ${showValue(value)}`);
    }
  }

  /** An Azure resource name: the rule shared by load balancers, scale sets, NSGs and Private Link. */
  resourceName(path: string, value: string | undefined): void {
    if (value === undefined || Token.isUnresolved(value)) return;
    if (!AZURE_NAME_PATTERN.test(value)) {
      this.add(
        path,
        `must be 1 to 64 letters, digits, "_", "." or "-", starting with a letter or digit and ending with a letter, digit or "_", got ${showValue(value)}`,
      );
    }
  }

  /** An Azure resource ID of the given provider type, e.g. Microsoft.ContainerRegistry/registries. */
  resourceId(path: string, value: string | undefined, type: string): void {
    if (value === undefined || Token.isUnresolved(value)) return;
    const pattern = new RegExp(
      `^/subscriptions/${GUID}/resourceGroups/[^/]+/providers/${type.replace(/\./g, '\\.')}/[^/]+$`,
      'i',
    );
    if (!pattern.test(value)) {
      this.add(
        path,
        `must be a resource ID like /subscriptions/<subscription GUID>/resourceGroups/<group>/providers/${type}/<name>, got ${showValue(value)}`,
      );
    }
  }

  throwIfAny(scope: IConstruct, construct: string): void {
    if (this.issues.length) {
      throw new ConfigValidationError(this.issues, `${scope.node.path}: invalid ${construct} props`);
    }
  }
}

const GUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
export const AZURE_NAME_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9_])?$/;

/** A construct ID as lowercase letters, digits and single hyphens inside ('' when nothing is left). */
export function slug(id: string): string {
  return id.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
}

/** A readable, stable default name: the construct ID plus a hash of its path (unique per app). */
export function defaultName(scope: IConstruct, suffix: string): string {
  return `${(slug(scope.node.id) || 'linkgate').slice(0, 40)}-${suffix}-${scope.node.addr.slice(-8)}`;
}

export function isUnresolved(value: unknown): boolean {
  return Token.isUnresolved(value);
}
