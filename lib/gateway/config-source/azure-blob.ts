/**
 * Azure Blob Storage: `GET https://ACCOUNT.blob.core.windows.net/CONTAINER/BLOB` with a bearer
 * token for `https://storage.azure.com/` from the VM's managed identity (IMDS). A user-assigned
 * identity is chosen with LINKGATE_AZURE_CLIENT_ID. Blob reads with a bearer token need
 * `x-ms-version` 2017-11-09 or later.
 */
import { boundedGet, statusError, TOKEN_MARGIN_MS, type Token } from './http-get';
import type { ConfigFetcher, FetchOutcome } from './types';

export const AZURE_IMDS_TOKEN_ENDPOINT = 'http://169.254.169.254/metadata/identity/oauth2/token';
const STORAGE_RESOURCE = 'https://storage.azure.com/';
const BLOB_API_VERSION = '2023-11-03';

export interface AzureBlobOptions {
  readonly url: string;
  /** IMDS token endpoint (LINKGATE_AZURE_IMDS_ENDPOINT in tests). */
  readonly imdsEndpoint?: string;
  /** A user-assigned identity's client ID; the system-assigned identity otherwise. */
  readonly clientId?: string;
}

export function azureBlobFetcher(options: AzureBlobOptions): ConfigFetcher {
  let token: Token | null = null;
  const getToken = async (signal: AbortSignal): Promise<string> => {
    if (token && Date.now() < token.refreshAt) return token.value;
    const q = new URLSearchParams({
      'api-version': '2018-02-01',
      resource: STORAGE_RESOURCE,
    });
    if (options.clientId) q.set('client_id', options.clientId);
    const res = await boundedGet(`${options.imdsEndpoint ?? AZURE_IMDS_TOKEN_ENDPOINT}?${q}`, { Metadata: 'true' }, signal, 64 * 1024);
    if (res.status !== 200) throw statusError('managed identity token (IMDS)', res);
    const body = parseJson(res.body) as {
      access_token?: unknown;
      expires_on?: unknown;
      expires_in?: unknown;
    };
    if (typeof body?.access_token !== 'string') throw new Error('managed identity token (IMDS): no access_token in the answer');
    // expires_on: epoch seconds as a string; expires_in: seconds from now.
    const expiresAt = Number(body.expires_on) * 1000 || Date.now() + (Number(body.expires_in) || 300) * 1000;
    token = {
      value: body.access_token,
      refreshAt: expiresAt - TOKEN_MARGIN_MS,
    };
    return token.value;
  };
  return {
    describe: options.url,
    async fetch(validator, signal): Promise<FetchOutcome> {
      const headers: Record<string, string> = {
        authorization: `Bearer ${await getToken(signal)}`,
        'x-ms-version': BLOB_API_VERSION,
      };
      if (validator) headers['if-none-match'] = validator;
      const res = await boundedGet(options.url, headers, signal);
      if (res.status === 304) return { status: 'unchanged' };
      if (res.status === 401 || res.status === 403) token = null; // an expired or revoked token: fetch a new one next time
      if (res.status !== 200) throw statusError(`GET ${options.url}`, res);
      return {
        status: 'changed',
        bytes: res.body,
        validator: res.headers.get('etag'),
      };
    },
  };
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}
