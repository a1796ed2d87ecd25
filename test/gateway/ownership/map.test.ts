/**
 * Pure parts of ownership: the documented answers parsed (small fixtures), the view the policy
 * asks (accepted only, stale admits nobody, two claiming tenants admit neither), the policy's
 * precedence of explicit link IDs, and the scheduler's failure and staleness handling.
 */
import { Registry } from 'prom-client';
import { fromAwsRecords } from '../../../lib/gateway/ownership/aws';
import { parsePrivateLinkService } from '../../../lib/gateway/ownership/azure';
import { parseServiceAttachment } from '../../../lib/gateway/ownership/gcp';
import { PollError } from '../../../lib/gateway/ownership/http';
import { OwnershipView, type EndpointConnection, type OwnershipSnapshot } from '../../../lib/gateway/ownership/map';
import { OwnershipScheduler, type CloudPoller } from '../../../lib/gateway/ownership/scheduler';
import { Logger } from '../../../lib/gateway/log';
import { Policy } from '../../../lib/gateway/policy';
import { testConfig } from '../../helpers/gateway';
import { validateGatewayConfig } from '../../../lib/tenants/validate';

const SUB = '11111111-2222-3333-4444-555555555555';

describe('parsing the documented answers', () => {
  test('GIVEN an Azure Private Link Service (shape of learn.microsoft.com/rest/api/virtualnetwork/private-link-services/get) THEN LinkIDs, owner subscriptions and states are read', () => {
    const doc = {
      name: 'linkgate',
      type: 'Microsoft.Network/privateLinkServices',
      properties: {
        privateEndpointConnections: [
          {
            id: '/subscriptions/x/resourceGroups/r/providers/Microsoft.Network/privateLinkServices/linkgate/privateEndpointConnections/pe-a.1',
            properties: {
              privateEndpoint: { id: `/subscriptions/${SUB.toUpperCase()}/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe-a` },
              privateLinkServiceConnectionState: { status: 'Approved', description: '', actionsRequired: 'None' },
              linkIdentifier: '553665985',
            },
          },
          // a LinkID above uint32, and one without an endpoint: skipped, counted
          { id: 'x', properties: { privateEndpoint: { id: `/subscriptions/${SUB}/x` }, privateLinkServiceConnectionState: { status: 'Approved' }, linkIdentifier: '4294967296' } },
          { id: 'y', properties: { privateLinkServiceConnectionState: { status: 'Approved' }, linkIdentifier: '1' } },
        ],
      },
    };
    const { connections, skipped } = parsePrivateLinkService(doc);
    expect(skipped).toBe(2);
    expect(connections).toEqual([expect.objectContaining({ linkId: '553665985', owners: { azureSubscriptions: SUB }, status: 'accepted' })]);
  });

  test('GIVEN JSON that is not a Private Link Service THEN it is a bad_response, not an empty map', () => {
    expect(() => parsePrivateLinkService({ value: [] })).toThrow(PollError);
    expect(() => parsePrivateLinkService({ type: 'Microsoft.Network/privateLinkServices', properties: { privateEndpointConnections: {} } })).toThrow(
      /not a list/,
    );
  });

  test('GIVEN a GCP service attachment (shape of cloud.google.com/compute/docs/reference/rest/v1/serviceAttachments/get) THEN IDs stay exact above 2^53 and a numeric ID is refused', () => {
    const doc = {
      kind: 'compute#serviceAttachment',
      connectedEndpoints: [
        { pscConnectionId: '18446744072646845442', consumerNetwork: 'https://www.googleapis.com/compute/v1/projects/megacorp-prod/global/networks/default', endpoint: 'e', status: 'ACCEPTED' },
        // as a JSON number it has already lost digits (18446744072646845442 reads as ...5000)
        { pscConnectionId: Number('18446744072646845442'), consumerNetwork: 'https://www.googleapis.com/compute/v1/projects/megacorp-prod/global/networks/default', endpoint: 'f', status: 'ACCEPTED' },
        { pscConnectionId: '7', consumerNetwork: 'not a network', endpoint: 'g', status: 'ACCEPTED' },
      ],
    };
    const { connections, skipped } = parseServiceAttachment(doc);
    expect(skipped).toBe(2);
    expect(connections.map((c) => [c.linkId, c.owners.gcpProjects, c.owners.gcpNetworks])).toEqual([
      ['18446744072646845442', 'megacorp-prod', 'projects/megacorp-prod/global/networks/default'],
    ]);
    // An attachment nobody connected to has no connectedEndpoints at all: an empty map, legitimately.
    expect(parseServiceAttachment({ kind: 'compute#serviceAttachment' }).connections).toEqual([]);
    expect(() => parseServiceAttachment({ items: [] })).toThrow(/not a compute#serviceAttachment/);
  });

  test('GIVEN AWS records THEN only well-formed ones are kept and only available is accepted', () => {
    const { connections, skipped } = fromAwsRecords([
      { VpcEndpointId: 'vpce-0aaaaaaaaaaaaaaaa', VpcEndpointOwner: '111122223333', VpcEndpointState: 'available' },
      { VpcEndpointId: 'vpce-0bbbbbbbbbbbbbbbb', VpcEndpointOwner: '111122223333', VpcEndpointState: 'Deleted' },
      { VpcEndpointId: 'vpce-0cccccccccccccccc', VpcEndpointOwner: '1111', VpcEndpointState: 'available' },
    ]);
    expect(skipped).toBe(1);
    expect(connections.map((c) => c.status)).toEqual(['accepted', 'other']);
  });
});

const config = testConfig({
  upstreams: { default: { host: '127.0.0.1', port: 1 } },
  ownership: { aws: { serviceId: 'vpce-svc-0123456789abcdef0', region: 'eu-west-1' }, gcp: { serviceAttachment: 'projects/p-prod/regions/r/serviceAttachments/a' } },
  tenants: [
    { name: 'megacorp', hostnames: ['megacorp.example.com'], allow: { awsAccounts: ['111122223333'], gcpProjects: ['megacorp-prod'] } },
    { name: 'listed', hostnames: ['listed.example.com'], allow: { aws: ['vpce-0bbbbbbbbbbbbbbbb'] } },
    { name: 'netco', hostnames: ['netco.example.com'], allow: { gcpNetworks: ['projects/megacorp-prod/global/networks/shared'] } },
  ],
});

function snapshot(fetchedAt: number, aws: [string, string][], gcp: [string, string, string][] = []): OwnershipSnapshot {
  return {
    revision: 1,
    staleAfterMs: 60_000,
    clouds: {
      aws: { fetchedAt, accepted: aws.map(([id, account]) => [id, { awsAccounts: account }]) },
      gcp: { fetchedAt, accepted: gcp.map(([id, project, network]) => [id, { gcpProjects: project, gcpNetworks: network }]) },
    },
  };
}

const facts = (host: string, cloud: 'aws' | 'gcp', linkId: string) =>
  ({ listener: 'privateLink', serverName: host, link: { cloud, linkId }, sourceAddress: null }) as const;

describe('the policy with an ownership view', () => {
  test('GIVEN an accepted endpoint of the tenant\'s account THEN it is admitted; without a view, or stale, it is not', () => {
    const policy = new Policy(config);
    const f = facts('megacorp.example.com', 'aws', 'vpce-0aaaaaaaaaaaaaaaa');
    expect(policy.decide(f)).toMatchObject({ verdict: 'drop', reason: 'link_id_not_allowed' });
    let now = 1_000_000;
    policy.ownership = new OwnershipView(snapshot(now, [['vpce-0aaaaaaaaaaaaaaaa', '111122223333']]), () => now);
    expect(policy.decide(f).verdict).toBe('forward');
    now += 60_001; // past staleAfterMs
    expect(policy.decide(f)).toMatchObject({ verdict: 'drop', reason: 'link_id_not_allowed' });
  });

  test('GIVEN an endpoint of another account, or one a tenant lists explicitly THEN the owner rule does not take it', () => {
    const policy = new Policy(config);
    const now = Date.now();
    policy.ownership = new OwnershipView(
      snapshot(now, [
        ['vpce-0aaaaaaaaaaaaaaaa', '999999999999'],
        ['vpce-0bbbbbbbbbbbbbbbb', '111122223333'],
      ]),
    );
    expect(policy.decide(facts('megacorp.example.com', 'aws', 'vpce-0aaaaaaaaaaaaaaaa')).verdict).toBe('drop');
    // listed by "listed": its own even though megacorp's account owns it
    expect(policy.decide(facts('megacorp.example.com', 'aws', 'vpce-0bbbbbbbbbbbbbbbb')).verdict).toBe('drop');
    expect(policy.decide(facts('listed.example.com', 'aws', 'vpce-0bbbbbbbbbbbbbbbb')).verdict).toBe('forward');
  });

  test('GIVEN a GCP endpoint whose project is one tenant\'s and network another\'s THEN neither is admitted (fail closed)', () => {
    const policy = new Policy(config);
    policy.ownership = new OwnershipView(
      snapshot(Date.now(), [], [
        ['18446744072646845442', 'megacorp-prod', 'projects/megacorp-prod/global/networks/shared'],
        ['18446744072646845443', 'megacorp-prod', 'projects/megacorp-prod/global/networks/default'],
      ]),
    );
    expect(policy.decide(facts('megacorp.example.com', 'gcp', '18446744072646845442')).verdict).toBe('drop');
    expect(policy.decide(facts('netco.example.com', 'gcp', '18446744072646845442')).verdict).toBe('drop');
    expect(policy.decide(facts('megacorp.example.com', 'gcp', '18446744072646845443')).verdict).toBe('forward');
  });
});

describe('the scheduler', () => {
  const connection = (linkId: string, account: string, status: EndpointConnection['status']): EndpointConnection => ({
    cloud: 'aws',
    linkId,
    owners: { awsAccounts: account },
    state: status,
    status,
    ref: linkId,
  });

  function setup(poll: CloudPoller['poll'], extra: Partial<CloudPoller> = {}, accept: 'none' | 'matching' | 'matching-reject-others' = 'none') {
    const published: OwnershipSnapshot[] = [];
    const registry = new Registry();
    const logs: Record<string, unknown>[] = [];
    const ownership = validateGatewayConfig({
      listeners: { privateLink: { port: 0 }, health: { port: 0 } },
      upstreams: {},
      tenants: [],
      ownership: { intervalSec: 1, staleAfterSec: 2, accept, aws: { serviceId: 'vpce-svc-0123456789abcdef0', region: 'eu-west-1' } },
    });
    if (!ownership.ok) throw new Error(JSON.stringify(ownership.issues));
    const scheduler = new OwnershipScheduler({
      config: ownership.value.ownership!,
      pollers: [{ cloud: 'aws', poll, ...extra }],
      registry,
      logger: new Logger({ sink: (t) => t.split('\n').forEach((l) => l && logs.push(JSON.parse(l) as Record<string, unknown>)) }),
      publish: (s) => published.push(s),
      tenantIndex: () => new Policy(config).tenantIndex,
    });
    return { scheduler, published, registry, logs };
  }

  test('GIVEN a good read then failures WHEN the bound passes THEN the last map is kept, failures are counted, and staleness is published once', async () => {
    let fail = false;
    const { scheduler, published, registry } = setup(async () => {
      if (fail) throw new PollError('throttled', 'RequestLimitExceeded');
      return { connections: [connection('vpce-0aaaaaaaaaaaaaaaa', '111122223333', 'accepted')], skipped: 0 };
    });
    await scheduler.pollOnce();
    expect(published).toHaveLength(1);
    // A read that changes nothing is still published (its time keeps the workers' map fresh), same revision.
    await scheduler.pollOnce();
    expect(published).toHaveLength(2);
    expect(published[1]!.revision).toBe(published[0]!.revision);
    expect(published[1]!.clouds.aws!.fetchedAt).toBeGreaterThanOrEqual(published[0]!.clouds.aws!.fetchedAt);
    published.splice(1);
    fail = true;
    await scheduler.pollOnce();
    expect(published).toHaveLength(1); // nothing changed: the map is kept
    const text = await registry.metrics();
    expect(text).toMatch(/linkgate_ownership_poll_failures_total\{cloud="aws",reason="throttled"\} 1/);
    // WHEN the last good read gets older than staleAfterSec (2 s)
    await new Promise((r) => setTimeout(r, 2_100));
    await scheduler.pollOnce();
    // THEN a snapshot goes out (so workers cut stale owner admissions), with the old read in it
    expect(published).toHaveLength(2);
    expect(published[1]!.revision).toBeGreaterThan(published[0]!.revision);
    expect(published[1]!.clouds.aws!.accepted).toEqual([['vpce-0aaaaaaaaaaaaaaaa', { awsAccounts: '111122223333' }]]);
    expect(new OwnershipView(published[1]!).fresh('aws')).toBe(false);
    expect(await registry.metrics()).toMatch(/linkgate_ownership_stale\{cloud="aws"\} 1/);
  });

  test('GIVEN pending connections WHEN accept is matching-reject-others THEN the tenant\'s owner and listed IDs are accepted, the rest rejected', async () => {
    const calls: [string, string[]][] = [];
    const { scheduler } = setup(
      async () => ({
        connections: [
          connection('vpce-0aaaaaaaaaaaaaaaa', '111122223333', 'pending'),
          connection('vpce-0bbbbbbbbbbbbbbbb', '999999999999', 'pending'), // listed by "listed"
          connection('vpce-0cccccccccccccccc', '999999999999', 'pending'),
        ],
        skipped: 0,
      }),
      { setState: async (list, action) => void calls.push([action, list.map((c) => c.linkId)]) },
      'matching-reject-others',
    );
    await scheduler.pollOnce();
    expect(calls).toEqual([
      ['accept', ['vpce-0aaaaaaaaaaaaaaaa', 'vpce-0bbbbbbbbbbbbbbbb']],
      ['reject', ['vpce-0cccccccccccccccc']],
    ]);
    // AND they are not asked about again at the next poll
    await scheduler.pollOnce();
    expect(calls).toHaveLength(2);
  });
});
