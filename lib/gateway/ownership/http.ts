/**
 * Bounded JSON over HTTP for the Azure and GCP pollers and their token endpoints: every call has a
 * deadline and a response-size cap, and every failure becomes one PollError with a reason code (the
 * label of linkgate_ownership_poll_failures_total). Node's built-in fetch: no client library.
 */

export const POLL_FAILURE_REASONS = ['unreachable', 'timeout', 'throttled', 'denied', 'http_error', 'too_large', 'bad_response'] as const;
export type PollFailureReason = (typeof POLL_FAILURE_REASONS)[number];

export class PollError extends Error {
  constructor(
    readonly reason: PollFailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'PollError';
  }
}

export interface HttpLimits {
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
}

export interface JsonRequest {
  readonly method?: 'GET' | 'PUT';
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
}

/** Fetches and parses a JSON document; throws PollError. `what` names the call in messages. */
export async function fetchJson(url: string, request: JsonRequest, limits: HttpLimits, what: string): Promise<unknown> {
  const signal = AbortSignal.timeout(limits.timeoutMs);
  let response: Response;
  try {
    response = await fetch(url, {
      method: request.method ?? 'GET',
      headers: { accept: 'application/json', ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}), ...request.headers },
      body: request.body !== undefined ? JSON.stringify(request.body) : undefined,
      redirect: 'error', // a token must never follow a redirect to another host
      signal,
    });
  } catch (err) {
    throw failure(err, what, limits);
  }
  let text: string;
  try {
    text = await readCapped(response, limits.maxResponseBytes, what);
  } catch (err) {
    throw err instanceof PollError ? err : failure(err, what, limits);
  }
  if (!response.ok) {
    const reason: PollFailureReason =
      response.status === 429 ? 'throttled' : response.status === 401 || response.status === 403 ? 'denied' : 'http_error';
    throw new PollError(reason, `${what}: HTTP ${response.status} ${snippet(text)}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new PollError('bad_response', `${what}: the response is not JSON: ${snippet(text)}`);
  }
}

/** Reads the body, giving up as soon as it passes the cap (a declared length is checked first). */
async function readCapped(response: Response, max: number, what: string): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > max) {
    await response.body?.cancel();
    throw new PollError('too_large', `${what}: response of ${declared} bytes is above maxResponseBytes (${max})`);
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      throw new PollError('too_large', `${what}: response above maxResponseBytes (${max})`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function failure(err: unknown, what: string, limits: HttpLimits): PollError {
  const e = err as Error & { cause?: { code?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return new PollError('timeout', `${what}: no answer within ${limits.timeoutMs} ms`);
  return new PollError('unreachable', `${what}: ${e.cause?.code ?? e.message}`);
}

function snippet(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > 200 ? `${one.slice(0, 200)}…` : one;
}

/** A bearer token and when to fetch a new one. */
export interface CachedToken {
  readonly value: string;
  readonly refreshAt: number;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
