/**
 * Azure: who owns each private endpoint connected to our Private Link Service.
 *
 * GET {arm}/{privateLinkServiceId}?api-version=2024-05-01 (Private Link Services - Get,
 * https://learn.microsoft.com/rest/api/virtualnetwork/private-link-services/get) returns the
 * service with `properties.privateEndpointConnections[]`, each with `properties.linkIdentifier`
 * (the LinkID the PROXY TLV carries), `properties.privateEndpoint.id` (its subscription is the
 * owner) and `properties.privateLinkServiceConnectionState.status` (Pending, Approved, Rejected,
 * Disconnected). Approving is a PUT of that connection with status Approved
 * (https://learn.microsoft.com/rest/api/virtualnetwork/private-link-services/update-private-endpoint-connection).
 *
 * The token comes from the VM's managed identity through IMDS
 * (https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token#get-a-token-using-http).
 * Plain fetch rather than @azure/identity and @azure/arm-network: two REST calls do not justify
 * some 20 MB of packages in the image and their load time at every start.
 */
import { canonicalLinkId } from '../../tenants/ids';
import { AZURE_IMDS_URL, AZURE_RESOURCE, azureImdsToken, azureImdsTokenUrl } from '../cloud-auth/azure-imds';
import { TOKEN_MAX_BYTES, type CachedToken } from '../cloud-auth/token';
import { PollError, fetchJson, isRecord, type HttpLimits, type JsonRequest } from './http';
import type { EndpointConnection } from './map';
import type { CloudPoller } from './scheduler';

export const AZURE_NETWORK_API_VERSION = '2024-05-01';

export interface AzurePollerOptions {
  readonly privateLinkService: string;
  readonly clientId?: string;
  readonly limits: HttpLimits;
  /** ARM base URL. Default https://management.azure.com (tests point it at a stand-in). */
  readonly armUrl?: string;
  /** IMDS base URL. Default http://169.254.169.254 (tests point it at a stand-in). */
  readonly imdsUrl?: string;
}

const SUBSCRIPTION_IN_ID = /^\/subscriptions\/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\//;

/** Pure: the connections of a Private Link Service document; entries that make no sense are skipped and counted. */
export function parsePrivateLinkService(doc: unknown): { connections: EndpointConnection[]; skipped: number } {
  // The type says this is the service and not some other JSON, whose missing list would read as
  // "no endpoints" and cut everyone.
  if (!isRecord(doc) || typeof doc.type !== 'string' || doc.type.toLowerCase() !== 'microsoft.network/privatelinkservices' || !isRecord(doc.properties)) {
    throw new PollError('bad_response', 'not a Microsoft.Network/privateLinkServices resource');
  }
  const list = doc.properties.privateEndpointConnections ?? [];
  if (!Array.isArray(list)) throw new PollError('bad_response', 'Private Link Service: privateEndpointConnections is not a list');
  const connections: EndpointConnection[] = [];
  let skipped = 0;
  for (const item of list as unknown[]) {
    const props = isRecord(item) && isRecord(item.properties) ? item.properties : undefined;
    const raw = props?.linkIdentifier;
    const linkId = typeof raw === 'string' ? canonicalLinkId('azure', raw) : undefined;
    const endpointId = isRecord(props?.privateEndpoint) ? props.privateEndpoint.id : undefined;
    const subscription = typeof endpointId === 'string' ? SUBSCRIPTION_IN_ID.exec(endpointId)?.[1] : undefined;
    const state = isRecord(props?.privateLinkServiceConnectionState) ? props.privateLinkServiceConnectionState.status : undefined;
    const ref = isRecord(item) ? item.id : undefined;
    if (linkId === undefined || subscription === undefined || typeof state !== 'string' || typeof ref !== 'string') {
      skipped++;
      continue;
    }
    connections.push({
      cloud: 'azure',
      linkId,
      owners: { azureSubscriptions: subscription.toLowerCase() },
      state,
      status: state === 'Approved' ? 'accepted' : state === 'Pending' ? 'pending' : 'other',
      ref,
    });
  }
  return { connections, skipped };
}

export class AzurePoller implements CloudPoller {
  readonly cloud = 'azure' as const;
  private readonly token: CachedToken;
  private readonly arm: string;

  constructor(private readonly options: AzurePollerOptions) {
    this.arm = (options.armUrl ?? 'https://management.azure.com').replace(/\/$/, '');
    this.token = azureImdsToken({
      resource: AZURE_RESOURCE.arm,
      clientId: options.clientId,
      tokenUrl: azureImdsTokenUrl(options.imdsUrl ?? AZURE_IMDS_URL),
      timeoutMs: options.limits.timeoutMs,
      maxBytes: Math.min(TOKEN_MAX_BYTES, options.limits.maxResponseBytes),
    });
  }

  async poll(): Promise<{ connections: EndpointConnection[]; skipped: number }> {
    const doc = await this.callArm(`${this.arm}${this.options.privateLinkService}?api-version=${AZURE_NETWORK_API_VERSION}`, {}, 'Private Link Service GET');
    return parsePrivateLinkService(doc);
  }

  async setState(connections: readonly EndpointConnection[], status: 'accept' | 'reject'): Promise<void> {
    for (const c of connections) {
      const name = c.ref.slice(c.ref.lastIndexOf('/') + 1);
      await this.callArm(
        `${this.arm}${c.ref}?api-version=${AZURE_NETWORK_API_VERSION}`,
        {
          method: 'PUT',
          body: {
            name,
            properties: {
              privateLinkServiceConnectionState: {
                status: status === 'accept' ? 'Approved' : 'Rejected',
                description: status === 'accept' ? 'linkgate: owner matches a tenant' : 'linkgate: no tenant names this owner',
              },
            },
          },
        },
        `private endpoint connection ${status}`,
      );
    }
  }

  /** An ARM call with the managed identity's token (a token refused with 401/403 is not reused). */
  private callArm(url: string, request: JsonRequest, what: string): Promise<unknown> {
    return this.token.use((bearer) => fetchJson(url, { ...request, headers: { authorization: `Bearer ${bearer}` } }, this.options.limits, what));
  }
}
