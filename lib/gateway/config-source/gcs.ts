/**
 * Google Cloud Storage: `GET storage.googleapis.com/storage/v1/b/BUCKET/o/OBJECT?alt=media` with
 * a token of the VM's service account from the metadata server. The JSON API's precondition for
 * "changed since" is `ifGenerationNotMatch` (304 when the generation is the same); the
 * generation comes back in `x-goog-generation`.
 */
import { gcpMetadataToken } from '../cloud-auth/gcp-metadata';
import { boundedFetch, statusError } from '../cloud-auth/http';
import { MAX_CONFIG_BYTES, type ConfigFetcher, type FetchOutcome } from './types';

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
  const token = gcpMetadataToken({ metadataUrl: options.metadataHost ? `http://${options.metadataHost}` : undefined });
  return {
    describe: `gs://${options.bucket}/${options.object}`,
    fetch: (validator, signal) =>
      token.use(async (bearer): Promise<FetchOutcome> => {
        const url = `${objectUrl}?alt=media${validator ? `&ifGenerationNotMatch=${encodeURIComponent(validator)}` : ''}`;
        const res = await boundedFetch(url, { headers: { authorization: `Bearer ${bearer}` }, signal, maxBytes: MAX_CONFIG_BYTES });
        if (res.status === 304) return { status: 'unchanged' };
        if (res.status !== 200) throw statusError(`GET gs://${options.bucket}/${options.object}`, res); // 401/403: token.use forgets the token
        return { status: 'changed', bytes: res.body, validator: res.headers.get('x-goog-generation') };
      }),
  };
}
