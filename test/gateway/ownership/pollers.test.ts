/**
 * The real pollers against local stand-ins of the three clouds' APIs (test/helpers/cloud-apis.ts):
 * what they read, the calls they make (signed, filtered, with a token), acceptance, and every way
 * a read can fail becoming one reason code, never a map.
 */
import { AwsPoller } from '../../../lib/gateway/ownership/aws';
import { AzurePoller } from '../../../lib/gateway/ownership/azure';
import { GcpPoller } from '../../../lib/gateway/ownership/gcp';
import { PollError } from '../../../lib/gateway/ownership/http';
import type { CloudPoller } from '../../../lib/gateway/ownership/scheduler';
import { AZURE_TOKEN, GCP_TOKEN, awsTestEnv, startAwsApi, startAzureApi, startGcpApi } from '../../helpers/cloud-apis';

const SERVICE = 'vpce-svc-0123456789abcdef0';
const PLS = '/subscriptions/00000000-0000-0000-0000-00000000aaaa/resourceGroups/provider-rg/providers/Microsoft.Network/privateLinkServices/linkgate';
const SUB = '11111111-2222-3333-4444-555555555555';
const ATTACHMENT = 'projects/provider-prod/regions/europe-west1/serviceAttachments/linkgate';
const limits = { timeoutMs: 2_000, maxResponseBytes: 64 * 1024 };

const apis: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const api of apis.splice(0)) await api.close();
});
async function track<T extends { close(): Promise<void> }>(api: Promise<T>): Promise<T> {
  const a = await api;
  apis.push(a);
  return a;
}

async function failure(run: () => Promise<unknown>): Promise<PollError> {
  const err = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PollError);
  return err as PollError;
}

describe('AWS DescribeVpcEndpointConnections', () => {
  beforeAll(() => {
    const env = awsTestEnv({ url: '' } as never);
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_EC2_METADATA_DISABLED']) process.env[k] = env[k];
  });

  test('GIVEN endpoints of three states WHEN polled THEN each is read with its owner, and the call is signed and filtered by our service', async () => {
    const api = await track(startAwsApi(SERVICE));
    api.connections = [
      { vpcEndpointId: 'vpce-0aaaaaaaaaaaaaaaa', vpcEndpointOwner: '111122223333', vpcEndpointState: 'available' },
      { vpcEndpointId: 'vpce-0bbbbbbbbbbbbbbbb', vpcEndpointOwner: '444455556666', vpcEndpointState: 'pendingAcceptance' },
      { vpcEndpointId: 'vpce-0cccccccccccccccc', vpcEndpointOwner: '111122223333', vpcEndpointState: 'rejected' },
    ];
    const poller = new AwsPoller({ serviceId: SERVICE, region: 'eu-west-1', limits, endpoint: api.url });
    const { connections, skipped } = await poller.poll();
    expect(skipped).toBe(0);
    expect(connections.map((c) => [c.linkId, c.owners.awsAccounts, c.status])).toEqual([
      ['vpce-0aaaaaaaaaaaaaaaa', '111122223333', 'accepted'],
      ['vpce-0bbbbbbbbbbbbbbbb', '444455556666', 'pending'],
      ['vpce-0cccccccccccccccc', '111122223333', 'other'],
    ]);
    expect(api.requests[0]!.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/\d{8}\/eu-west-1\/ec2\//);
  });

  test('GIVEN a pending endpoint WHEN accepted THEN AcceptVpcEndpointConnections names it and our service', async () => {
    const api = await track(startAwsApi(SERVICE));
    api.connections = [{ vpcEndpointId: 'vpce-0bbbbbbbbbbbbbbbb', vpcEndpointOwner: '444455556666', vpcEndpointState: 'pendingAcceptance' }];
    const poller = new AwsPoller({ serviceId: SERVICE, region: 'eu-west-1', limits, endpoint: api.url });
    const [pending] = (await poller.poll()).connections;
    await poller.setState([pending!], 'accept');
    const call = new URLSearchParams(api.requests.at(-1)!.body);
    expect([call.get('Action'), call.get('ServiceId'), call.get('VpcEndpointId.1')]).toEqual(['AcceptVpcEndpointConnections', SERVICE, 'vpce-0bbbbbbbbbbbbbbbb']);
    expect(api.connections[0]!.vpcEndpointState).toBe('available');
  });

  test.each([
    ['throttled', 'throttled'],
    ['garbage', 'bad_response'],
    ['reset', 'unreachable'],
    ['hang', 'timeout'],
  ] as const)('GIVEN the API %s WHEN polled THEN the poll fails with reason %s', async (mode, reason) => {
    const api = await track(startAwsApi(SERVICE));
    api.mode = mode;
    const poller = new AwsPoller({ serviceId: SERVICE, region: 'eu-west-1', limits: { ...limits, timeoutMs: 500 }, endpoint: api.url });
    expect((await failure(() => poller.poll())).reason).toBe(reason);
  });
});

describe('Azure Private Link Service GET', () => {
  test('GIVEN connections of three states WHEN polled THEN each is read with the subscription of its private endpoint, using an IMDS token', async () => {
    const api = await track(startAzureApi(PLS));
    api.connections = [
      { name: 'pe-a', linkIdentifier: '553665985', privateEndpointId: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe-a`, status: 'Approved' },
      { name: 'pe-b', linkIdentifier: '553665986', privateEndpointId: `/subscriptions/${SUB.toUpperCase()}/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe-b`, status: 'Pending' },
      { name: 'pe-c', linkIdentifier: 'not-a-number', privateEndpointId: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe-c`, status: 'Approved' },
    ];
    const poller = new AzurePoller({ privateLinkService: PLS, limits, armUrl: api.url, imdsUrl: api.url });
    const { connections, skipped } = await poller.poll();
    expect(skipped).toBe(1);
    expect(connections.map((c) => [c.linkId, c.owners.azureSubscriptions, c.status])).toEqual([
      ['553665985', SUB, 'accepted'],
      ['553665986', SUB, 'pending'],
    ]);
    const arm = api.requests.find((r) => r.path.startsWith(PLS))!;
    expect(arm.headers.authorization).toBe(`Bearer ${AZURE_TOKEN}`);
    expect(arm.path).toBe(`${PLS}?api-version=2024-05-01`);

    // WHEN it approves the pending one THEN the connection is PUT with status Approved
    await poller.setState([connections[1]!], 'accept');
    expect(api.connections[1]!.status).toBe('Approved');
    // AND the token was fetched once
    expect(api.requests.filter((r) => r.path.startsWith('/metadata/')).length).toBe(1);
  });

  test.each([
    ['throttled', 'throttled'],
    ['garbage', 'bad_response'],
    ['reset', 'unreachable'],
    ['hang', 'timeout'],
  ] as const)('GIVEN the API %s WHEN polled THEN the poll fails with reason %s', async (mode, reason) => {
    const api = await track(startAzureApi(PLS));
    api.mode = mode;
    const poller = new AzurePoller({ privateLinkService: PLS, limits: { ...limits, timeoutMs: 500 }, armUrl: api.url, imdsUrl: api.url });
    expect((await failure(() => poller.poll())).reason).toBe(reason);
  });

  test('GIVEN an answer larger than maxResponseBytes WHEN polled THEN it is refused as too_large', async () => {
    const api = await track(startAzureApi(PLS));
    api.connections = Array.from({ length: 200 }, (_, i) => ({
      name: `pe-${i}`,
      linkIdentifier: String(i),
      privateEndpointId: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe-${i}`,
      status: 'Approved' as const,
    }));
    const poller = new AzurePoller({ privateLinkService: PLS, limits: { ...limits, maxResponseBytes: 4096 }, armUrl: api.url, imdsUrl: api.url });
    expect((await failure(() => poller.poll())).reason).toBe('too_large');
  });
});

describe('GCP serviceAttachments.get', () => {
  test('GIVEN connected endpoints WHEN polled THEN each is read with its consumer project and network, using a metadata-server token', async () => {
    const api = await track(startGcpApi(ATTACHMENT));
    api.connections = [
      {
        pscConnectionId: '18446744072646845442',
        consumerNetwork: 'https://www.googleapis.com/compute/v1/projects/megacorp-prod/global/networks/default',
        endpoint: 'https://www.googleapis.com/compute/v1/projects/megacorp-prod/regions/europe-west1/forwardingRules/linkgate',
        status: 'ACCEPTED',
      },
      {
        pscConnectionId: '18446744072646845443',
        consumerNetwork: 'https://www.googleapis.com/compute/v1/projects/other-prod/global/networks/vpc',
        endpoint: 'https://www.googleapis.com/compute/v1/projects/other-prod/regions/europe-west1/forwardingRules/x',
        status: 'PENDING',
      },
    ];
    const poller = new GcpPoller({ serviceAttachment: ATTACHMENT, limits, computeUrl: api.url, metadataUrl: api.url });
    const { connections } = await poller.poll();
    expect(connections.map((c) => [c.linkId, c.owners, c.status])).toEqual([
      ['18446744072646845442', { gcpProjects: 'megacorp-prod', gcpNetworks: 'projects/megacorp-prod/global/networks/default' }, 'accepted'],
      ['18446744072646845443', { gcpProjects: 'other-prod', gcpNetworks: 'projects/other-prod/global/networks/vpc' }, 'pending'],
    ]);
    expect(api.requests.find((r) => r.path.startsWith('/compute/'))!.headers.authorization).toBe(`Bearer ${GCP_TOKEN}`);
    // Acceptance on GCP is the attachment's accept list, not the gateway's.
    expect((poller as CloudPoller).setState).toBeUndefined();
  });

  test.each([
    ['throttled', 'throttled'],
    ['garbage', 'bad_response'],
    ['reset', 'unreachable'],
    ['hang', 'timeout'],
  ] as const)('GIVEN the API %s WHEN polled THEN the poll fails with reason %s', async (mode, reason) => {
    const api = await track(startGcpApi(ATTACHMENT));
    api.mode = mode;
    const poller = new GcpPoller({ serviceAttachment: ATTACHMENT, limits: { ...limits, timeoutMs: 500 }, computeUrl: api.url, metadataUrl: api.url });
    expect((await failure(() => poller.poll())).reason).toBe(reason);
  });
});
