/**
 * Azure Blob Storage: `GET https://ACCOUNT.blob.core.windows.net/CONTAINER/BLOB` with a bearer
 * token for `https://storage.azure.com/` from the VM's managed identity (IMDS). A user-assigned
 * identity is chosen with LINKGATE_AZURE_CLIENT_ID. Blob reads with a bearer token need
 * `x-ms-version` 2017-11-09 or later.
 */
import { AZURE_RESOURCE, azureImdsToken } from '../cloud-auth/azure-imds';
import { boundedFetch, statusError } from '../cloud-auth/http';
import { MAX_CONFIG_BYTES, type ConfigFetcher, type FetchOutcome } from './types';

const BLOB_API_VERSION = '2023-11-03';

export interface AzureBlobOptions {
  readonly url: string;
  /** IMDS token endpoint, full URL (LINKGATE_AZURE_IMDS_ENDPOINT in tests). */
  readonly imdsEndpoint?: string;
  /** A user-assigned identity's client ID; the system-assigned identity otherwise. */
  readonly clientId?: string;
}

export function azureBlobFetcher(options: AzureBlobOptions): ConfigFetcher {
  const token = azureImdsToken({ resource: AZURE_RESOURCE.storage, clientId: options.clientId, tokenUrl: options.imdsEndpoint });
  return {
    describe: options.url,
    fetch: (validator, signal) =>
      // A 401/403 (statusError 'denied') makes token.use forget the token: expired or revoked early.
      token.use(async (bearer): Promise<FetchOutcome> => {
        const headers: Record<string, string> = { authorization: `Bearer ${bearer}`, 'x-ms-version': BLOB_API_VERSION };
        if (validator) headers['if-none-match'] = validator;
        const res = await boundedFetch(options.url, { headers, signal, maxBytes: MAX_CONFIG_BYTES });
        if (res.status === 304) return { status: 'unchanged' };
        if (res.status !== 200) throw statusError(`GET ${options.url}`, res);
        return { status: 'changed', bytes: res.body, validator: res.headers.get('etag') };
      }),
  };
}
