/**
 * Who the service attachment lets connect: connection preference, consumer accept list (by project
 * or by network, from the tenants' `consumers.gcp`), reject list, propagated connection limit.
 *
 * GCP's rules this checks at synth time (google_compute_service_attachment, Compute API
 * `serviceAttachments`): an attachment manages connections either per project or per network, so
 * its accept and reject lists hold only projects or only networks; an accept list entry names one
 * of the two and a connection limit. With ACCEPT_AUTOMATIC the accept list is not used.
 */
import type { TenantDeclaration } from '../tenants';
import { isToken, type PropValidator } from './common';

export type ConnectionPreference = 'ACCEPT_MANUAL' | 'ACCEPT_AUTOMATIC';
const PREFERENCES: readonly ConnectionPreference[] = ['ACCEPT_MANUAL', 'ACCEPT_AUTOMATIC'];

const PROJECT = /^(?:[a-z][a-z0-9-]{4,28}[a-z0-9]|[0-9]{1,20})$/;
const NETWORK =
  /^(?:https:\/\/(?:www|compute)\.googleapis\.com\/compute\/(?:v1|beta)\/)?projects\/(?:[a-z][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]\/global\/networks\/[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** The project ID in a network URL, normalized so a self link and an ID compare equal. */
const networkKey = (url: string) => url.replace(/^https:\/\/(?:www|compute)\.googleapis\.com\/compute\/(?:v1|beta)\//, '');

export interface AttachmentPolicyOptions {
  /**
   * `ACCEPT_MANUAL`: only the accept list (the tenants' `consumers.gcp`) may connect.
   * `ACCEPT_AUTOMATIC`: every project may connect; the accept list is ignored and only the
   * gateway's per-tenant `allow.gcp` filters (synth warns).
   * @default 'ACCEPT_MANUAL'
   */
  readonly connectionPreference?: ConnectionPreference;
  /**
   * Projects (IDs or numbers) or VPC network URLs refused outright, whatever the accept list says;
   * the same kind as the accept list (projects or networks).
   * @default - none
   */
  readonly consumerRejectLists?: readonly string[];
  /**
   * How many Network Connectivity Center spokes each accepted consumer's endpoints may be
   * propagated to (0 to turn propagation off).
   * @default - GCP's default (250)
   */
  readonly propagatedConnectionLimit?: number;
}

export interface AcceptListEntry {
  readonly projectIdOrNum?: string;
  readonly networkUrl?: string;
  readonly connectionLimit: number;
}

/** The accept list from the tenants: sorted, a project or network named twice gets the larger limit. */
export function acceptList(tenants: readonly TenantDeclaration[]): { kind: 'project' | 'network' | 'none'; entries: AcceptListEntry[]; mixed: boolean } {
  const projects = new Map<string, number>();
  const networks = new Map<string, { url: string; limit: number }>();
  for (const tenant of tenants) {
    for (const p of tenant.consumers?.gcp?.projects ?? []) projects.set(p.id, Math.max(projects.get(p.id) ?? 0, p.connectionLimit));
    for (const n of tenant.consumers?.gcp?.networks ?? []) {
      const key = networkKey(n.url);
      networks.set(key, { url: key, limit: Math.max(networks.get(key)?.limit ?? 0, n.connectionLimit) });
    }
  }
  const mixed = projects.size > 0 && networks.size > 0;
  if (networks.size > 0 && projects.size === 0) {
    return {
      kind: 'network',
      mixed,
      entries: [...networks.keys()].sort().map((k) => ({ networkUrl: networks.get(k)!.url, connectionLimit: networks.get(k)!.limit })),
    };
  }
  return {
    kind: projects.size > 0 ? 'project' : 'none',
    mixed,
    entries: [...projects.keys()].sort().map((id) => ({ projectIdOrNum: id, connectionLimit: projects.get(id)! })),
  };
}

export function validateAttachmentPolicy(
  v: PropValidator,
  options: AttachmentPolicyOptions,
  accept: ReturnType<typeof acceptList>,
): void {
  const preference = options.connectionPreference ?? 'ACCEPT_MANUAL';
  if (!isToken(preference) && !PREFERENCES.includes(preference)) {
    v.fail('connectionPreference', `must be "ACCEPT_MANUAL" or "ACCEPT_AUTOMATIC", got ${JSON.stringify(preference)}`);
  }
  if (accept.mixed) {
    v.fail(
      'tenants',
      'consumers.gcp lists both projects and networks across the tenants; a service attachment accepts either projects or networks, not both. ' +
        'Use one kind for every tenant.',
    );
  }
  const rejects = options.consumerRejectLists ?? [];
  const rejectKinds = new Set<string>();
  rejects.forEach((entry, i) => {
    if (isToken(entry)) return;
    if (NETWORK.test(entry)) rejectKinds.add('network');
    else if (PROJECT.test(entry)) rejectKinds.add('project');
    else v.fail(`consumerRejectLists[${i}]`, `must be a project ID or number, or a network URL like projects/PROJECT/global/networks/NAME, got ${JSON.stringify(entry)}`);
    if (rejects.indexOf(entry) !== i) v.fail(`consumerRejectLists[${i}]`, `${JSON.stringify(entry)} is listed twice`);
  });
  if (rejectKinds.size > 1) v.fail('consumerRejectLists', 'mixes projects and networks; list only one kind');
  const rejectKind = [...rejectKinds][0];
  if (rejectKind !== undefined && accept.kind !== 'none' && rejectKind !== accept.kind) {
    v.fail('consumerRejectLists', `lists ${rejectKind}s but the accept list (the tenants' consumers.gcp) lists ${accept.kind}s; both must be the same kind`);
  }
  const rejected = new Set(rejects.map(networkKeyOrSelf));
  for (const entry of accept.entries) {
    const key = entry.projectIdOrNum ?? entry.networkUrl!;
    if (rejected.has(key)) v.fail('consumerRejectLists', `${JSON.stringify(key)} is on both the reject list and a tenant's consumers.gcp`);
  }
  v.integer('propagatedConnectionLimit', options.propagatedConnectionLimit, 0, 2_147_483_647);
}

function networkKeyOrSelf(entry: string): string {
  return NETWORK.test(entry) ? networkKey(entry) : entry;
}
