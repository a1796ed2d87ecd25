/**
 * GCP: the instance's service-account token from the metadata server
 * (https://cloud.google.com/compute/docs/access/authenticate-workloads#applications):
 * `GET /computeMetadata/v1/instance/service-accounts/default/token` with `Metadata-Flavor: Google`;
 * the answer has `access_token` and `expires_in` (seconds, a number). The server itself renews a
 * token once it has less than five minutes left, so asking again within our margin brings a new
 * one. Plain fetch rather than google-auth-library: one GET does not justify its size in the image
 * nor its load time at every start.
 */
import { CloudHttpError } from './http';
import { CachedToken, fetchTokenAnswer, seconds, type TokenBounds } from './token';

export const GCE_METADATA_URL = 'http://metadata.google.internal';
export const GCE_TOKEN_PATH = '/computeMetadata/v1/instance/service-accounts/default/token';

export interface GcpMetadataTokenOptions extends TokenBounds {
  /** The metadata server's base URL (tests point it at a stand-in); default GCE_METADATA_URL. */
  readonly metadataUrl?: string;
}

export function gcpMetadataToken(options: GcpMetadataTokenOptions = {}): CachedToken {
  const url = `${(options.metadataUrl ?? GCE_METADATA_URL).replace(/\/+$/, '')}${GCE_TOKEN_PATH}`;
  const what = `service account token (metadata server ${url})`;
  return new CachedToken(async () => {
    const body = await fetchTokenAnswer(url, { 'Metadata-Flavor': 'Google' }, what, options);
    const lifetimeSec = seconds(body.expires_in);
    if (lifetimeSec === undefined) throw new CloudHttpError('bad_response', `${what}: no expires_in in the answer`);
    return { value: body.access_token, lifetimeSec };
  });
}
