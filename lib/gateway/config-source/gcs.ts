/**
 * Google Cloud Storage: `GET storage.googleapis.com/storage/v1/b/BUCKET/o/OBJECT?alt=media` with
 * a token of the VM's service account from the metadata server. The JSON API's precondition for
 * "changed since" is `ifGenerationNotMatch` (304 when the generation is the same); the
 * generation comes back in `x-goog-generation`.
 */
import { boundedGet, statusError, TOKEN_MARGIN_MS, type Token } from './http-get';
import type { ConfigFetcher, FetchOutcome } from './types';

export const GCE_METADATA_HOST = 'metadata.google.internal';
export const GCS_ENDPOINT = 'https://storage.googleapis.com';

export interface GcsOptions {
  readonly bucket: string;
  readonly object: string;
  /** Scheme, host and port of the JSON API (LINKGATE_GCS_ENDPOINT in tests). */
  readonly endpoint?: string;
  /** host[:port] of the metadata server (LINKGATE_GCE_METADATA_HOST in tests). */
  readonly metadataHost?: string;
}

export function gcsFetcher(options: GcsOptions): ConfigFetcher {
  const endpoint = (options.endpoint ?? GCS_ENDPOINT).replace(/\/+$/, '');
  const objectUrl = `${endpoint}/storage/v1/b/${encodeURIComponent(options.bucket)}/o/${encodeURIComponent(options.object)}`;
  const tokenUrl = `http://${options.metadataHost ?? GCE_METADATA_HOST}/computeMetadata/v1/instance/service-accounts/default/token`;
  let token: Token | null = null;
  const getToken = async (signal: AbortSignal): Promise<string> => {
    if (token && Date.now() < token.refreshAt) return token.value;
    const res = await boundedGet(tokenUrl, { 'Metadata-Flavor': 'Google' }, signal, 64 * 1024);
    if (res.status !== 200) throw statusError('service account token (metadata server)', res);
    let body: { access_token?: unknown; expires_in?: unknown } | undefined;
    try {
      body = JSON.parse(res.body.toString('utf8')) as typeof body;
    } catch {
      body = undefined;
    }
    if (typeof body?.access_token !== 'string') throw new Error('service account token (metadata server): no access_token in the answer');
    token = {
      value: body.access_token,
      refreshAt: Date.now() + (Number(body.expires_in) || 300) * 1000 - TOKEN_MARGIN_MS,
    };
    return token.value;
  };
  return {
    describe: `gs://${options.bucket}/${options.object}`,
    async fetch(validator, signal): Promise<FetchOutcome> {
      const url = `${objectUrl}?alt=media${validator ? `&ifGenerationNotMatch=${encodeURIComponent(validator)}` : ''}`;
      const res = await boundedGet(url, { authorization: `Bearer ${await getToken(signal)}` }, signal);
      if (res.status === 304) return { status: 'unchanged' };
      if (res.status === 401 || res.status === 403) token = null;
      if (res.status !== 200) throw statusError(`GET gs://${options.bucket}/${options.object}`, res);
      return {
        status: 'changed',
        bytes: res.body,
        validator: res.headers.get('x-goog-generation'),
      };
    },
  };
}
