/**
 * JSON over HTTP for the Azure and GCP pollers, on the one bounded client (../cloud-auth/http.ts):
 * every call has the ownership config's deadline and response-size cap, and every failure is one
 * PollError with a reason code (the label of linkgate_ownership_poll_failures_total).
 */
import { boundedFetch, CloudHttpError, HTTP_FAILURE_REASONS, jsonBody, type HttpFailureReason } from '../cloud-auth/http';

export { isRecord } from '../cloud-auth/http';

/** The ownership name of the cloud client's error: one class, so `instanceof` holds for both. */
export const PollError = CloudHttpError;
export type PollError = CloudHttpError;
export const POLL_FAILURE_REASONS = HTTP_FAILURE_REASONS;
export type PollFailureReason = HttpFailureReason;

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
  const response = await boundedFetch(url, {
    method: request.method,
    headers: { accept: 'application/json', ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}), ...request.headers },
    body: request.body !== undefined ? JSON.stringify(request.body) : undefined,
    timeoutMs: limits.timeoutMs,
    maxBytes: limits.maxResponseBytes,
    what,
  });
  return jsonBody(what, response);
}
