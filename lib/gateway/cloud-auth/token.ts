/**
 * An instance credential's bearer token, fetched when first needed and reused by every caller until
 * shortly before it expires. Callers that ask while a fetch is under way share it (one request to
 * the token endpoint, not one per caller). A failed fetch is the caller's error, and the next call
 * tries again: nothing is cached from a failure.
 */
import { boundedFetch, CloudHttpError, isRecord, jsonBody } from './http';

/** Tokens are renewed this long before they expire (or at half their life, if that is shorter). */
export const TOKEN_MARGIN_MS = 5 * 60_000;
/** A token answer is a few KB; anything much larger is not one. */
export const TOKEN_MAX_BYTES = 64 * 1024;
/** Deadline of one token request, unless the user of the token says otherwise. */
export const TOKEN_TIMEOUT_MS = 5_000;

export interface FetchedToken {
  readonly value: string;
  /** Seconds the token is valid for, from when it was fetched. */
  readonly lifetimeSec: number;
}

export class CachedToken {
  private token: { value: string; refreshAt: number } | undefined;
  private pending: Promise<string> | undefined;

  constructor(private readonly fetchToken: () => Promise<FetchedToken>) {}

  /** The token, fetched again once it is within its margin of expiry. Throws what the fetch threw. */
  get(): Promise<string> {
    if (this.token && Date.now() < this.token.refreshAt) return Promise.resolve(this.token.value);
    this.pending ??= this.refresh().finally(() => (this.pending = undefined));
    return this.pending;
  }

  /**
   * Runs a call with the token. A call refused for it (401/403: CloudHttpError 'denied') forgets
   * it, expired or revoked early, so that the next caller fetches a new one.
   */
  async use<T>(call: (bearer: string) => Promise<T>): Promise<T> {
    const value = await this.get();
    try {
      return await call(value);
    } catch (err) {
      // Only this token: another caller may have fetched a newer one meanwhile.
      if (err instanceof CloudHttpError && err.reason === 'denied' && this.token?.value === value) this.invalidate();
      throw err;
    }
  }

  /** Forgets the token; the next get() fetches one. */
  invalidate(): void {
    this.token = undefined;
  }

  private async refresh(): Promise<string> {
    const fetchedAt = Date.now();
    const { value, lifetimeSec } = await this.fetchToken();
    const lifetimeMs = Math.max(0, lifetimeSec * 1000);
    this.token = { value, refreshAt: fetchedAt + lifetimeMs - Math.min(TOKEN_MARGIN_MS, lifetimeMs / 2) };
    return value;
  }
}

export interface TokenBounds {
  readonly timeoutMs?: number;
  readonly maxBytes?: number;
}

/** GETs a token endpoint's JSON answer within the token bounds; it must carry an access_token. */
export async function fetchTokenAnswer(
  url: string,
  headers: Record<string, string>,
  what: string,
  bounds: TokenBounds,
): Promise<Record<string, unknown> & { access_token: string }> {
  const response = await boundedFetch(url, { headers, timeoutMs: bounds.timeoutMs ?? TOKEN_TIMEOUT_MS, maxBytes: bounds.maxBytes ?? TOKEN_MAX_BYTES, what });
  const body = jsonBody(what, response);
  if (!isRecord(body) || typeof body.access_token !== 'string' || !body.access_token) {
    throw new CloudHttpError('bad_response', `${what}: no access_token in the answer`);
  }
  return body as Record<string, unknown> & { access_token: string };
}

/** A count of seconds as the token endpoints write it: a number, or a decimal string. */
export function seconds(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
  return Number.isFinite(n) ? n : undefined;
}
