/**
 * Owner rules end to end, over real sockets: `linkgate serve` (its poller in the cluster primary,
 * or in the single process) reads a local stand-in of each cloud's API, and clients come in
 * through `linkgate simulate`, which writes the cloud's PROXY header. An endpoint appearing in the
 * API is admitted within the interval; one deleted, rejected or moved to another owner is cut
 * while live; an API that stops answering keeps the last map until staleAfterSec, then owner
 * admissions stop while explicit link IDs go on.
 */
import { connect, type Socket } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { httpGet, writeFileAtomic } from '../../../bench/harness';
import { buildClientHello } from '../../../lib/gateway/tls/build-client-hello';
import type { Cloud } from '../../../lib/tenants/ids';
import { spawnCli, type CliProcess } from '../../helpers/cli';
import { closedPort, sleep, startEchoServer, waitFor, type TestServer } from '../../helpers/sockets';
import {
  awsTestEnv,
  startAwsApi,
  startAzureApi,
  startGcpApi,
  type AwsConnection,
  type AzureConnection,
  type CloudApi,
  type GcpEndpoint,
} from '../../helpers/cloud-apis';

jest.setTimeout(120_000);

const SERVICE = 'vpce-svc-0123456789abcdef0';
const PLS = '/subscriptions/00000000-0000-0000-0000-00000000aaaa/resourceGroups/provider-rg/providers/Microsoft.Network/privateLinkServices/linkgate';
const SUB = '11111111-2222-3333-4444-555555555555';
const ATTACHMENT = 'projects/provider-prod/regions/europe-west1/serviceAttachments/linkgate';
const HOST = 'megacorp.example.com';
const INTERVAL_SEC = 1;

let echo: TestServer;
beforeAll(async () => (echo = await startEchoServer()));
afterAll(async () => echo?.close());

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

interface Running {
  proc: CliProcess;
  privateLink: number;
  health: number;
}

async function serve(workers: number, ownership: object, tenants: object[], env: NodeJS.ProcessEnv): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'linkgate-ownership-'));
  const file = join(dir, 'gateway.json');
  const privateLink = await closedPort();
  const health = await closedPort();
  writeFileAtomic(
    file,
    JSON.stringify({
      listeners: { privateLink: { port: privateLink, host: '127.0.0.1' }, health: { port: health, host: '127.0.0.1' } },
      upstreams: { default: { host: '127.0.0.1', port: echo.port } },
      tenants,
      ownership: { intervalSec: INTERVAL_SEC, staleAfterSec: 4, timeoutMs: 3000, ...ownership },
    }),
  );
  const proc = spawnCli(['serve', '--config', file, '--workers', String(workers)], env);
  cleanup.push(() => proc.kill('SIGKILL'));
  await waitFor(async () => (await httpGet(health, '/readyz')).status === 200, 30_000, 'readiness').catch((e: Error) => {
    throw new Error(`${e.message}; stderr: ${proc.stderr()}`);
  });
  return { proc, privateLink, health };
}

/** `linkgate simulate`: the cloud's edge for one endpoint, in front of the gateway. */
async function edge(cloud: Cloud, linkId: string, gatewayPort: number): Promise<number> {
  const port = await closedPort();
  const sim = spawnCli(['simulate', '--cloud', cloud, '--link-id', linkId, '--listen', `127.0.0.1:${port}`, '--to', `127.0.0.1:${gatewayPort}`]);
  cleanup.push(() => sim.kill('SIGKILL'));
  await sim.waitForLine((l) => l.msg === 'simulating', 30_000);
  return port;
}


interface Client {
  socket: Socket;
  closed: Promise<void>;
  /** Resolves true once the echo of a fresh token comes back, false if the connection ends first. */
  ping(): Promise<boolean>;
}

/** A TLS client for HOST through the edge; the echo upstream answers only when it was forwarded. */
async function client(port: number): Promise<Client> {
  let received = '';
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  let isClosed = false;
  const closed = new Promise<void>((r) => socket.on('close', () => ((isClosed = true), r())));
  socket.setEncoding('latin1').on('data', (d: string) => (received += d));
  await new Promise((r) => socket.once('connect', r));
  socket.write(buildClientHello({ serverName: HOST }));
  const ping = async () => {
    const token = `t${Math.random()}`;
    if (isClosed) return false;
    socket.write(token);
    return waitFor(() => (received.includes(token) ? 'yes' : isClosed ? 'no' : undefined), 5000).then(
      (r) => r === 'yes',
      () => false,
    );
  };
  cleanup.push(() => socket.destroy());
  return { socket, closed, ping };
}

/** Retries new connections until one is forwarded; returns it and when. */
async function admitted(port: number, timeoutMs: number): Promise<{ client: Client; at: number }> {
  return waitFor(
    async () => {
      const c = await client(port);
      if (await c.ping()) return { client: c, at: performance.now() };
      c.socket.destroy();
      return undefined;
    },
    timeoutMs,
    'an admitted connection',
  );
}

function metric(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').pop()) : NaN;
}

const figures: string[] = [];
afterAll(() => {
  // The measured figures, for the report (performance is never asserted).
  if (figures.length) process.stdout.write(`\nownership figures (interval ${INTERVAL_SEC} s):\n  ${figures.join('\n  ')}\n`);
});

describe('AWS, cluster of 2 workers (poller in the primary)', () => {
  const A = 'vpce-0aaaaaaaaaaaaaaaa';
  const LISTED = 'vpce-0bbbbbbbbbbbbbbbb';
  let api: CloudApi<AwsConnection>;
  beforeEach(async () => {
    api = await startAwsApi(SERVICE);
    cleanup.push(() => api.close());
  });
  const tenants = [
    { name: 'megacorp', hostnames: [HOST], allow: { awsAccounts: ['111122223333'], aws: [LISTED] } },
  ];

  test('GIVEN an owner rule WHEN the endpoint appears in the API THEN its connections are admitted; WHEN it is deleted THEN a live one is cut', async () => {
    const gw = await serve(2, { aws: { serviceId: SERVICE, region: 'eu-west-1' } }, tenants, awsTestEnv(api));
    const port = await edge('aws', A, gw.privateLink);
    // GIVEN the API knows no endpoint: the connection is dropped
    await waitFor(() => api.apiCalls() >= 2, 10_000, 'two polls');
    const early = await client(port);
    expect(await early.ping()).toBe(false);
    await waitFor(() => gw.proc.lines.find((l) => l.msg === 'drop' && l.reason === 'link_id_not_allowed' && l.linkId === A), 5_000, 'the drop line');

    // WHEN the endpoint of the tenant's account is accepted in the API
    const appeared = performance.now();
    api.connections.push({ vpcEndpointId: A, vpcEndpointOwner: '111122223333', vpcEndpointState: 'available' });
    // THEN within about an interval its connections are admitted
    const { client: live, at } = await admitted(port, 15_000);
    figures.push(`AWS: endpoint accepted in the API → first connection admitted: ${Math.round(at - appeared)} ms`);

    // WHEN it is deleted in the API
    const deleted = performance.now();
    api.connections[0]!.vpcEndpointState = 'deleted';
    // THEN the live connection is cut, as revoked
    await live.closed;
    const cutMs = performance.now() - deleted;
    figures.push(`AWS: endpoint deleted in the API → live connection cut: ${Math.round(cutMs)} ms`);
    await waitFor(() => gw.proc.lines.find((l) => l.msg === 'close' && l.reason === 'revoked' && l.linkId === A), 5_000, 'the revoked close line');
    expect(await (await client(port)).ping()).toBe(false);
  });

  test('GIVEN admitted connections WHEN the API stops answering THEN the last map is kept and failures counted; after staleAfterSec owner admissions stop, explicit IDs go on', async () => {
    api.connections.push({ vpcEndpointId: A, vpcEndpointOwner: '111122223333', vpcEndpointState: 'available' });
    api.connections.push({ vpcEndpointId: LISTED, vpcEndpointOwner: '999999999999', vpcEndpointState: 'available' });
    // A wider bound here, so the check that the last map is kept cannot race the bound on a loaded machine.
    const gw = await serve(2, { staleAfterSec: 8, aws: { serviceId: SERVICE, region: 'eu-west-1' } }, tenants, awsTestEnv(api));
    const byOwner = (await admitted(await edge('aws', A, gw.privateLink), 15_000)).client;
    const byId = (await admitted(await edge('aws', LISTED, gw.privateLink), 15_000)).client;

    // WHEN the API resets every connection
    api.mode = 'reset';
    const down = performance.now();
    await waitFor(
      async () => metric((await httpGet(gw.health, '/metrics')).body, 'linkgate_ownership_poll_failures_total', 'reason="unreachable"') >= 1,
      15_000,
      'a counted failure',
    );
    // THEN the last map is kept: the owner-admitted connection still works
    expect(await byOwner.ping()).toBe(true);
    // (the log line is written in a batch up to 25 ms after the metric moved)
    await waitFor(
      () => gw.proc.lines.some((l) => l.msg === 'ownership poll failed; keeping the last good map' && l.reason === 'unreachable'),
      5_000,
      'the failure log line',
    );

    // WHEN the last good read is older than staleAfterSec (8 s) THEN the owner-admitted connection is cut
    await byOwner.closed;
    figures.push(`AWS: API down → owner admissions stopped after ${Math.round(performance.now() - down)} ms (staleAfterSec 8)`);
    const metrics = (await httpGet(gw.health, '/metrics')).body;
    expect(metric(metrics, 'linkgate_ownership_stale', 'cloud="aws"')).toBe(1);
    expect(metric(metrics, 'linkgate_ownership_map_age_seconds', 'cloud="aws"')).toBeGreaterThan(8);
    await waitFor(() => gw.proc.lines.some((l) => l.msg === 'ownership map stale: owner rules admit nobody until a read succeeds'), 5_000, 'the stale log line');
    // AND the explicitly listed endpoint is unaffected
    expect(await byId.ping()).toBe(true);
    // AND new owner-based connections are refused
    expect(await (await client(await edge('aws', A, gw.privateLink))).ping()).toBe(false);
  });
});

describe('Azure, single process, with acceptance', () => {
  test('GIVEN accept: matching WHEN a pending endpoint of the tenant\'s subscription appears THEN it is approved and admitted; WHEN rejected THEN a live connection is cut', async () => {
    const api = await startAzureApi(PLS);
    cleanup.push(() => api.close());
    api.connections.push({
      name: 'pe-megacorp.0d2a',
      linkIdentifier: '553665985',
      privateEndpointId: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe-megacorp`,
      status: 'Pending',
    } satisfies AzureConnection);
    api.connections.push({
      name: 'pe-stranger.77aa',
      linkIdentifier: '553665986',
      privateEndpointId: '/subscriptions/99999999-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe-x',
      status: 'Pending',
    } satisfies AzureConnection);
    const gw = await serve(
      1,
      { accept: 'matching', azure: { privateLinkService: PLS } },
      [{ name: 'megacorp', hostnames: [HOST], allow: { azureSubscriptions: [SUB] } }],
      { LINKGATE_OWNERSHIP_AZURE_ARM_URL: api.url, LINKGATE_OWNERSHIP_AZURE_IMDS_URL: api.url },
    );
    const { client: live } = await admitted(await edge('azure', '553665985', gw.privateLink), 15_000);
    expect(api.connections.map((c) => c.status)).toEqual(['Approved', 'Pending']); // the stranger is left pending

    const rejected = performance.now();
    api.connections[0]!.status = 'Rejected';
    await live.closed;
    figures.push(`Azure: connection rejected in the API → live connection cut: ${Math.round(performance.now() - rejected)} ms`);
  });
});

describe('GCP, cluster of 2 workers', () => {
  test('GIVEN a project rule WHEN the endpoint is accepted THEN admitted; WHEN its consumer network moves to another project THEN a live connection is cut', async () => {
    const api = await startGcpApi(ATTACHMENT);
    cleanup.push(() => api.close());
    const ID = '18446744072646845442';
    api.connections.push({
      pscConnectionId: ID,
      consumerNetwork: 'https://www.googleapis.com/compute/v1/projects/megacorp-prod/global/networks/default',
      endpoint: 'https://www.googleapis.com/compute/v1/projects/megacorp-prod/regions/europe-west1/forwardingRules/linkgate',
      status: 'ACCEPTED',
    } satisfies GcpEndpoint);
    const gw = await serve(
      2,
      { gcp: { serviceAttachment: ATTACHMENT } },
      [{ name: 'megacorp', hostnames: [HOST], allow: { gcpProjects: ['megacorp-prod'] } }],
      { LINKGATE_OWNERSHIP_GCP_COMPUTE_URL: api.url, LINKGATE_OWNERSHIP_GCP_METADATA_URL: api.url },
    );
    const { client: live } = await admitted(await edge('gcp', ID, gw.privateLink), 15_000);
    // AND it stays admitted past staleAfterSec (4 s) while the API keeps answering the same
    await sleep(5_000);
    expect(await live.ping()).toBe(true);

    const moved = performance.now();
    api.connections[0]!.consumerNetwork = 'https://www.googleapis.com/compute/v1/projects/other-prod/global/networks/default';
    await live.closed;
    figures.push(`GCP: endpoint moved to another project → live connection cut: ${Math.round(performance.now() - moved)} ms`);
    await waitFor(() => gw.proc.lines.find((l) => l.msg === 'close' && l.reason === 'revoked' && l.linkId === ID), 5_000, 'the revoked close line');
  });
});
