/**
 * The one bounded HTTP exchange of the gateway's cloud clients (config stores, ownership pollers,
 * their token endpoints), on Node's fetch: a deadline on the whole exchange, body included; a body
 * read in chunks that stops as soon as it passes a size cap (a declared length is checked first)
 * rather than buffering whatever a server sends; no redirects (a bearer token must never follow
 * one to another host). Every failure is one CloudHttpError with a reason code, whose message names
 * the call.
 */

/** Why a call failed; the ownership poller's failure metric uses these as its label values. */
export const HTTP_FAILURE_REASONS = ['unreachable', 'timeout', 'throttled', 'denied', 'http_error', 'too_large', 'bad_response'] as const;
export type HttpFailureReason = (typeof HTTP_FAILURE_REASONS)[number];

export class CloudHttpError extends Error {
  constructor(
    readonly reason: HttpFailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'CloudHttpError';
  }
}

export interface BoundedRequest {
  readonly method?: 'GET' | 'PUT';
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** Bytes of body beyond which the answer is refused (too_large). */
  readonly maxBytes: number;
  /** A deadline of this call's own; with `signal` too, whichever comes first ends it. */
  readonly timeoutMs?: number;
  /** The caller's deadline (or shutdown). */
  readonly signal?: AbortSignal;
  /** Names the call in messages; default `METHOD url` (query left out). */
  readonly what?: string;
}

export interface BoundedResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
}

/** One request and its whole body, within the deadline and the cap; any status is returned. */
export async function boundedFetch(url: string, request: BoundedRequest): Promise<BoundedResponse> {
  const method = request.method ?? 'GET';
  const what = request.what ?? `${method} ${redact(url)}`;
  const signals = [request.signal, request.timeoutMs !== undefined ? AbortSignal.timeout(request.timeoutMs) : undefined].filter((s) => s !== undefined);
  const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
  const failed = (err: unknown, inBody: boolean) => {
    const e = err as Error;
    if (e?.name === 'TimeoutError' || e?.name === 'AbortError') {
      const within = request.timeoutMs !== undefined ? `${request.timeoutMs} ms` : 'the deadline';
      return new CloudHttpError('timeout', `${what}: ${inBody ? 'the body did not arrive' : 'no answer'} within ${within}`);
    }
    return new CloudHttpError('unreachable', `${what}: ${inBody ? 'reading the body: ' : ''}${describeError(err)}`);
  };
  let response: Response;
  try {
    response = await fetch(url, { method, headers: request.headers, body: request.body, redirect: 'error', signal });
  } catch (err) {
    throw failed(err, false);
  }
  const max = request.maxBytes;
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > max) {
    await response.body?.cancel().catch(() => undefined);
    throw new CloudHttpError('too_large', `${what}: the response is ${declared} bytes; the limit is ${max}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  if (response.body) {
    const reader = response.body.getReader();
    for (;;) {
      const next = await reader.read().catch((err: unknown) => {
        throw failed(err, true);
      });
      if (next.done) break;
      const chunk = next.value;
      size += chunk.byteLength;
      if (size > max) {
        await reader.cancel().catch(() => undefined);
        throw new CloudHttpError('too_large', `${what}: the response is larger than the limit of ${max} bytes`);
      }
      chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    }
  }
  return { status: response.status, headers: response.headers, body: Buffer.concat(chunks, size) };
}

/** An HTTP error status as an error: the status, and the start of what the server said. */
export function statusError(what: string, response: BoundedResponse): CloudHttpError {
  const { status } = response;
  const reason: HttpFailureReason = status === 429 ? 'throttled' : status === 401 || status === 403 ? 'denied' : 'http_error';
  const said = snippet(response.body.subarray(0, 400).toString('utf8'));
  return new CloudHttpError(reason, `${what}: HTTP ${status}${said ? `: ${said}` : ''}`);
}

/** A 2xx answer's body as JSON; any other status, or a body that is not JSON, is an error. */
export function jsonBody(what: string, response: BoundedResponse): unknown {
  if (response.status < 200 || response.status > 299) throw statusError(what, response);
  const text = response.body.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CloudHttpError('bad_response', `${what}: the response is not JSON: ${snippet(text)}`);
  }
}

/** Query strings are left out of URLs in messages (a signed URL would carry its signature there). */
export function redact(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : `${url.slice(0, q)}?…`;
}

/** A failure in a few words: ours as written, a timeout as such, a socket error by its code. */
export function describeError(err: unknown): string {
  if (err instanceof CloudHttpError) return err.message;
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timed out';
  const cause = e?.cause;
  return cause?.code ? `${cause.code}${cause.message ? ` (${cause.message})` : ''}` : (e?.message ?? String(err));
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function snippet(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > 200 ? `${one.slice(0, 200)}…` : one;
}
