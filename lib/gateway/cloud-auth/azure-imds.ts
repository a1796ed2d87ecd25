/**
 * Azure: a managed identity's token from the VM's Instance Metadata Service
 * (https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token#get-a-token-using-http):
 * `GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=R[&client_id=C]` with
 * `Metadata: true`; the answer has `access_token`, `expires_on` (epoch seconds, a string) and
 * `expires_in` (seconds, a string). Plain fetch rather than @azure/identity: one GET does not
 * justify its size in the image nor its load time at every start.
 */
import { CloudHttpError, redact } from './http';
import { CachedToken, fetchTokenAnswer, seconds, type TokenBounds } from './token';

export const AZURE_IMDS_URL = 'http://169.254.169.254';
export const AZURE_IMDS_TOKEN_PATH = '/metadata/identity/oauth2/token';
const IMDS_API_VERSION = '2018-02-01';

/** Audiences the gateway asks tokens for. */
export const AZURE_RESOURCE = {
  storage: 'https://storage.azure.com/',
  arm: 'https://management.azure.com/',
} as const;

export interface AzureImdsTokenOptions extends TokenBounds {
  /** The audience, e.g. AZURE_RESOURCE.storage. */
  readonly resource: string;
  /** A user-assigned identity's client ID; the system-assigned identity otherwise. */
  readonly clientId?: string;
  /** The token endpoint's full URL (tests point it at a stand-in); default IMDS's. */
  readonly tokenUrl?: string;
}

/** The token endpoint under an IMDS base URL (`http://169.254.169.254` by default). */
export function azureImdsTokenUrl(baseUrl: string = AZURE_IMDS_URL): string {
  return `${baseUrl.replace(/\/+$/, '')}${AZURE_IMDS_TOKEN_PATH}`;
}

export function azureImdsToken(options: AzureImdsTokenOptions): CachedToken {
  const query = new URLSearchParams({ 'api-version': IMDS_API_VERSION, resource: options.resource });
  if (options.clientId) query.set('client_id', options.clientId);
  const url = `${options.tokenUrl ?? azureImdsTokenUrl()}?${query}`;
  const what = `managed identity token (IMDS ${redact(url)})`;
  return new CachedToken(async () => {
    const body = await fetchTokenAnswer(url, { Metadata: 'true' }, what, options);
    // expires_on is absolute (epoch seconds); expires_in, relative, stands in when it is absent.
    const expiresOn = seconds(body.expires_on);
    const lifetimeSec = expiresOn !== undefined ? expiresOn - Date.now() / 1000 : seconds(body.expires_in);
    if (lifetimeSec === undefined) throw new CloudHttpError('bad_response', `${what}: no expires_on or expires_in in the answer`);
    return { value: body.access_token, lifetimeSec };
  });
}
