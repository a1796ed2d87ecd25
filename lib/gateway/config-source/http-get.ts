/**
 * Bounded HTTP GETs for the object stores and their token endpoints (Node's fetch): a timeout
 * on the whole exchange, and a body read in chunks that stops above a size limit rather than
 * buffering whatever the server sends.
 */
import { MAX_CONFIG_BYTES } from '../../tenants/load';

export interface GetResult {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
}

export async function boundedGet(url: string, headers: Record<string, string>, signal: AbortSignal, maxBytes = MAX_CONFIG_BYTES): Promise<GetResult> {
  let res: Response;
  try {
    res = await fetch(url, { headers, signal, redirect: 'error' });
  } catch (err) {
    throw new Error(`GET ${redact(url)}: ${describeError(err)}`, { cause: err });
  }
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw new Error(`GET ${redact(url)}: the object is ${declared} bytes; the limit is ${maxBytes}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  if (res.body) {
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > maxBytes) {
          await reader.cancel();
          throw new Error(`GET ${redact(url)}: the object is larger than the limit of ${maxBytes} bytes`);
        }
        chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      }
    } catch (err) {
      if (size > maxBytes) throw err;
      throw new Error(`GET ${redact(url)}: reading the body: ${describeError(err)}`, { cause: err });
    }
  }
  return {
    status: res.status,
    headers: res.headers,
    body: Buffer.concat(chunks, size),
  };
}

/** An HTTP error status as a message: the status, and the start of what the server said. */
export function statusError(what: string, result: GetResult): Error {
  const said = result.body.subarray(0, 300).toString('utf8').replace(/\s+/g, ' ').trim();
  return new Error(`${what}: HTTP ${result.status}${said ? `: ${said}` : ''}`);
}

/** Query strings are dropped from logged URLs (a signed URL would carry its signature there). */
export function redact(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : `${url.slice(0, q)}?…`;
}

export function describeError(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timed out';
  const cause = e?.cause;
  return cause?.code ? `${cause.code}${cause.message ? ` (${cause.message})` : ''}` : e?.message ?? String(err);
}

/** A bearer token and when to fetch a new one. */
export interface Token {
  readonly value: string;
  /** Epoch ms after which the token is fetched again (a margin before it expires). */
  readonly refreshAt: number;
}

/** Tokens are renewed this long before they expire. */
export const TOKEN_MARGIN_MS = 5 * 60_000;
