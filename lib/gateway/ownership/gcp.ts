/**
 * GCP: who owns each Private Service Connect endpoint connected to our service attachment.
 *
 * GET {compute}/compute/v1/projects/P/regions/R/serviceAttachments/N (serviceAttachments.get,
 * https://cloud.google.com/compute/docs/reference/rest/v1/serviceAttachments/get) returns
 * `connectedEndpoints[]` with `pscConnectionId` (uint64 as a JSON string, the value of the 0xE0
 * TLV), `consumerNetwork` (the network's URL: its project is the owner for `gcpProjects`, the
 * network itself for `gcpNetworks`), `endpoint` (the consumer's forwarding rule) and `status`
 * (ACCEPTED, PENDING, REJECTED, CLOSED, NEEDS_ATTENTION; only ACCEPTED admits).
 *
 * Acceptance stays with the attachment's consumer accept list (ACCEPT_MANUAL, derived by the
 * constructs from the tenants): changing it from the gateway would need
 * compute.serviceAttachments.update, the right to rewrite the whole attachment.
 *
 * The token comes from the metadata server
 * (https://cloud.google.com/compute/docs/access/authenticate-workloads#applications). Plain fetch
 * rather than googleapis / google-auth-library: one GET does not justify their size in the image
 * nor their load time at every start.
 */
import { canonicalLinkId } from '../../tenants/ids';
import { gcpNetworkPath } from '../../tenants/schema';
import { GCE_METADATA_URL, gcpMetadataToken } from '../cloud-auth/gcp-metadata';
import { TOKEN_MAX_BYTES, type CachedToken } from '../cloud-auth/token';
import { PollError, fetchJson, isRecord, type HttpLimits } from './http';
import type { EndpointConnection } from './map';
import type { CloudPoller } from './scheduler';

export interface GcpPollerOptions {
  /** projects/P/regions/R/serviceAttachments/N */
  readonly serviceAttachment: string;
  readonly limits: HttpLimits;
  /** Compute API base URL. Default https://compute.googleapis.com (tests point it at a stand-in). */
  readonly computeUrl?: string;
  /** Metadata server base URL. Default http://metadata.google.internal. */
  readonly metadataUrl?: string;
}

/** Pure: the connected endpoints of a service attachment document; nonsensical entries are skipped and counted. */
export function parseServiceAttachment(doc: unknown): { connections: EndpointConnection[]; skipped: number } {
  // Compute leaves out an empty connectedEndpoints: `kind` is what says this is the attachment and
  // not some other JSON (which would otherwise read as "nobody connected" and cut everyone).
  if (!isRecord(doc) || doc.kind !== 'compute#serviceAttachment') throw new PollError('bad_response', 'service attachment: not a compute#serviceAttachment');
  const list = doc.connectedEndpoints ?? [];
  if (!Array.isArray(list)) throw new PollError('bad_response', 'service attachment: connectedEndpoints is not a list');
  const connections: EndpointConnection[] = [];
  let skipped = 0;
  for (const item of list as unknown[]) {
    if (!isRecord(item)) {
      skipped++;
      continue;
    }
    // A JSON number above 2^53 has already lost digits: only the string form is trusted.
    const linkId = typeof item.pscConnectionId === 'string' ? canonicalLinkId('gcp', item.pscConnectionId) : undefined;
    const network = typeof item.consumerNetwork === 'string' ? gcpNetworkPath(item.consumerNetwork) : undefined;
    const state = item.status;
    if (linkId === undefined || network === undefined || typeof state !== 'string') {
      skipped++;
      continue;
    }
    const project = network.split('/')[1]!;
    connections.push({
      cloud: 'gcp',
      linkId,
      owners: { gcpProjects: project, gcpNetworks: network },
      state,
      status: state === 'ACCEPTED' ? 'accepted' : state === 'PENDING' ? 'pending' : 'other',
      ref: typeof item.endpoint === 'string' ? item.endpoint : linkId,
    });
  }
  return { connections, skipped };
}

export class GcpPoller implements CloudPoller {
  readonly cloud = 'gcp' as const;
  private readonly token: CachedToken;
  private readonly compute: string;

  constructor(private readonly options: GcpPollerOptions) {
    this.compute = (options.computeUrl ?? 'https://compute.googleapis.com').replace(/\/$/, '');
    this.token = gcpMetadataToken({
      metadataUrl: options.metadataUrl ?? GCE_METADATA_URL,
      timeoutMs: options.limits.timeoutMs,
      maxBytes: Math.min(TOKEN_MAX_BYTES, options.limits.maxResponseBytes),
    });
  }

  async poll(): Promise<{ connections: EndpointConnection[]; skipped: number }> {
    // A token refused with 401/403 is not reused (token.use).
    const doc = await this.token.use((bearer) =>
      fetchJson(`${this.compute}/compute/v1/${this.options.serviceAttachment}`, { headers: { authorization: `Bearer ${bearer}` } }, this.options.limits, 'serviceAttachments.get'),
    );
    return parseServiceAttachment(doc);
  }
}
