/**
 * Reading a gateway config from text or a file: JSON or YAML, validated, with the line and
 * column of each issue when it can be found in the source.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import YAML, { LineCounter, isNode, type Document } from 'yaml';
import { scanJson } from './json-scan';
import type { GatewayConfig } from './schema';
import { formatIssue, formatPath, validateGatewayConfig, type TenantIndex, type ValidationIssue } from './validate';

/** Larger files are refused before reading: 100,000 tenants fit in about 15 MB. */
export const MAX_CONFIG_BYTES = 64 * 1024 * 1024;

/** Inline configs (environment variables) may carry this prefix to hold gzip-compressed text. */
export const GZIP_BASE64_PREFIX = 'gzip+base64:';

/**
 * Packs config text for an environment variable or instance metadata: gzip (level 9, no name or
 * time in the header, so the same text always gives the same value) and base64, with the prefix.
 */
export function encodeInlineConfig(text: string): string {
  return `${GZIP_BASE64_PREFIX}${gzipSync(Buffer.from(text, 'utf8'), { level: 9 }).toString('base64')}`;
}

export interface LocatedIssue extends ValidationIssue {
  /** 1-based line and column in the source, when the path could be found there. */
  readonly line?: number;
  readonly column?: number;
}

export type LoadResult =
  | { readonly ok: true; readonly value: GatewayConfig; readonly index: TenantIndex }
  | {
      readonly ok: false;
      readonly issues: readonly LocatedIssue[];
      /** The bytes were not the settled ones asked for (a write under way): try again once settled. */
      readonly changedSinceSettled?: true;
    };

export interface LoadConfigFileOptions {
  /**
   * SHA-256 (hex) the bytes must have: the content a file watcher found settled. Bytes that differ
   * were written after that (a new write is under way) and are refused; the watcher sees that
   * write and hands it on once it settles.
   *
   * @default - any content
   */
  readonly sha256?: string;
}

export function loadConfigFile(path: string, options: LoadConfigFileOptions = {}): LoadResult {
  let bytes: Buffer;
  try {
    const size = statSync(path).size;
    if (size > MAX_CONFIG_BYTES) {
      return fail(`${path} is ${size} bytes; the limit is ${MAX_CONFIG_BYTES}`);
    }
    bytes = readFileSync(path);
  } catch (err) {
    return fail(`cannot read ${path}: ${(err as Error).message}`);
  }
  if (options.sha256 !== undefined && createHash('sha256').update(bytes).digest('hex') !== options.sha256) {
    const message = `${path} changed again after it was found settled; it is applied once the new content settles`;
    return { ok: false, issues: [{ path: '', message }], changedSinceSettled: true };
  }
  return parseConfigText(bytes.toString('utf8'));
}

/** Parses config text: JSON, YAML, or either behind `gzip+base64:`. */
export function parseConfigText(text: string): LoadResult {
  if (text.startsWith(GZIP_BASE64_PREFIX)) {
    try {
      const raw = gunzipSync(Buffer.from(text.slice(GZIP_BASE64_PREFIX.length), 'base64'), {
        maxOutputLength: MAX_CONFIG_BYTES,
      });
      text = raw.toString('utf8');
    } catch (err) {
      return fail(`cannot decompress ${GZIP_BASE64_PREFIX} config: ${(err as Error).message}`);
    }
  }
  const parsed = parseDocumentText(text);
  if (!parsed.ok) return parsed;
  const result = validateGatewayConfig(parsed.value);
  if (result.ok) return result;
  return { ok: false, issues: locateIssues(text, result.issues) };
}

function parseDocumentText(text: string): { ok: true; value: unknown } | { ok: false; issues: LocatedIssue[] } {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) {
    // JSON is the fast path for large generated files; YAML would also read it, about 150 times
    // slower (15 MB: 0.3 s against 49 s), so what JSON.parse hides is found by a scan of our own.
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined; // Fall through: YAML gives the error with a line and column.
    }
    if (value !== undefined) return checkJson(text, value);
  }
  const lineCounter = new LineCounter();
  const doc = YAML.parseDocument(text, { intAsBigInt: true, lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    return {
      ok: false,
      issues: doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return { path: '', message: e.message.split('\n')[0] ?? e.message, line: pos.line, column: pos.col };
      }),
    };
  }
  // Integers are read as BigInt so that a uint64 written unquoted is not silently rounded; the
  // schema then explains that it must be quoted. Everything that fits a double goes back to number.
  const value = doc.toJS({
    maxAliasCount: 100,
    reviver: (_key: unknown, v: unknown) =>
      typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(v)
        : v,
  });
  return { ok: true, value };
}

/**
 * A key written twice is refused, as YAML refuses it: JSON.parse would keep the last silently, so
 * `"allow": {...}, "allow": {}` would drop a tenant's rules. Integers above 2^53 are put back as
 * the BigInt of their digits, as YAML reads them, so that an error shows what the user wrote.
 */
function checkJson(text: string, value: unknown): { ok: true; value: unknown } | { ok: false; issues: LocatedIssue[] } {
  const scan = scanJson(text);
  if (scan.duplicates.length) {
    return {
      ok: false,
      issues: scan.duplicates.map((d) => ({
        path: formatPath(d.path),
        message: `key "${d.key}" is written twice in one object (first at line ${d.firstLine}); JSON would keep only the last, so the file is refused`,
        line: d.line,
        column: d.column,
      })),
    };
  }
  for (const big of scan.unsafeIntegers) {
    const keys = big.path;
    if (keys.length === 0) return { ok: true, value: BigInt(big.text) };
    let parent = value as Record<string | number, unknown>;
    for (const key of keys.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
    parent[keys[keys.length - 1]!] = BigInt(big.text);
  }
  return { ok: true, value };
}

/** Adds line/column to issues by following their path in a YAML (or JSON) parse of the source. */
export function locateIssues(text: string, issues: readonly ValidationIssue[]): LocatedIssue[] {
  let doc: Document | undefined;
  const lineCounter = new LineCounter();
  try {
    doc = YAML.parseDocument(text, { lineCounter, uniqueKeys: false });
  } catch {
    return [...issues];
  }
  return issues.map((issue) => {
    const keys = parsePath(issue.path);
    // Walk up until a node exists: a missing field is reported where its parent is.
    for (let n = keys.length; n >= 0; n--) {
      const node = doc!.getIn(keys.slice(0, n), true);
      if (isNode(node) && node.range) {
        const pos = lineCounter.linePos(node.range[0]);
        return { ...issue, line: pos.line, column: pos.col };
      }
    }
    return issue;
  });
}

/** `tenants[2].allow.aws[0]` → ['tenants', 2, 'allow', 'aws', 0]. */
export function parsePath(path: string): (string | number)[] {
  const keys: (string | number)[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/g;
  for (const m of path.matchAll(re)) {
    if (m[1] !== undefined) keys.push(m[1]);
    else if (m[2] !== undefined) keys.push(Number(m[2]));
    else if (m[3] !== undefined) keys.push(JSON.parse(`"${m[3]}"`) as string);
  }
  return keys;
}

export function formatLocatedIssues(issues: readonly LocatedIssue[], file?: string): string {
  return issues
    .map((i) => {
      const where = i.line !== undefined ? `${file ?? ''}:${i.line}:${i.column ?? 1}` : (file ?? '');
      return `${where ? `${where}: ` : ''}${formatIssue(i)}`;
    })
    .join('\n');
}

function fail(message: string): LoadResult {
  return { ok: false, issues: [{ path: '', message }] };
}
