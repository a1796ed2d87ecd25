/**
 * Additional private-link listeners (`listeners.additionalPrivateLink`): each requires the cloud's
 * PROXY v2 header exactly like `privateLink`, applies the same tenant rules, and sends every
 * allowed connection to its own upstream. Traffic goes through `linkgate simulate`'s edge.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { cloudProxyHeader } from '../../../lib/gateway/proxy-protocol/encoder';
import { startSimulator, type Simulator } from '../../../lib/gateway/simulate';
import { buildClientHello } from '../../../lib/gateway/tls/build-client-hello';
import { startTestGateway, type TestConfig, type TestGateway } from '../../helpers/gateway';
import { sendRaw, startTcpServer, waitFor, type TestServer } from '../../helpers/sockets';

const OWN = 'vpce-08d2bf15fac5001c9';
const OTHER = 'vpce-0000000000000000a';
const HOST = 'megacorp.example.com';

/** An upstream that answers the first bytes it gets with its own name, so a test sees where a connection went. */
const namedUpstream = (name: string) => startTcpServer((s) => s.once('data', () => s.end(name)));

/** Connects through `port`, sends a ClientHello for `serverName`, resolves with what came back before the close. */
function helloThrough(port: number, serverName: string): Promise<string> {
  return new Promise((resolve) => {
    let received = '';
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(buildClientHello({ serverName })));
    socket.setEncoding('latin1').on('data', (d: string) => (received += d));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(received));
  });
}

let web: TestServer;
let db: TestServer;
let gw: TestGateway;
const edges: Simulator[] = [];

const config = (dbPort: number): TestConfig => ({
  listeners: {
    privateLink: { port: 0, host: '127.0.0.1' },
    health: { port: 0, host: '127.0.0.1' },
    additionalPrivateLink: [{ name: 'postgres', port: 0, host: '127.0.0.1', upstream: 'db' }],
  },
  upstreams: { default: { host: '127.0.0.1', port: web.port }, db: { host: '127.0.0.1', port: dbPort } },
  tenants: [{ name: 'megacorp', hostnames: [HOST], allow: { aws: [OWN] } }],
});

async function edge(linkId: string, to: number): Promise<number> {
  const sim = await startSimulator({ cloud: 'aws', linkId, listen: { host: '127.0.0.1', port: 0 }, to: { host: '127.0.0.1', port: to } });
  edges.push(sim);
  return sim.address.port;
}

beforeAll(async () => {
  web = await namedUpstream('web');
  db = await namedUpstream('db');
});
afterAll(async () => {
  await Promise.all(edges.map((e) => e.close()));
  await gw?.close();
  await Promise.all([web?.close(), db?.close()]);
});

describe('GIVEN a gateway with privateLink (tenant upstream "web") and an additional listener "postgres" (upstream "db")', () => {
  let postgresPort: number;
  beforeAll(async () => {
    gw = await startTestGateway(config(db.port));
    postgresPort = gw.gateway.address('postgres')!.port;
  });

  test('WHEN the allowed endpoint connects on each listener THEN privateLink reaches the tenant upstream and postgres the listener upstream', async () => {
    expect(await helloThrough(await edge(OWN, gw.privateLinkPort), HOST)).toBe('web');
    expect(await helloThrough(await edge(OWN, postgresPort), HOST)).toBe('db');
    expect(gw.decisions.filter((d) => d.verdict === 'forward')).toEqual([
      expect.objectContaining({ listener: 'privateLink', tenant: 'megacorp', linkId: OWN, upstream: 'default' }),
      expect.objectContaining({ listener: 'postgres', tenant: 'megacorp', linkId: OWN, upstream: 'db' }),
    ]);
    const metrics = await gw.gateway.metrics.registry.metrics();
    expect(metrics).toContain('linkgate_connections_accepted_total{listener="postgres",tenant="megacorp",cloud="aws"} 1');
  });

  test('WHEN a bare connection (no PROXY header) reaches the postgres listener THEN it is dropped no_proxy_header and never reaches "db"', async () => {
    const dbConnections = db.sockets.size;
    const seen = await sendRaw(postgresPort, [buildClientHello({ serverName: HOST })]);
    expect(seen).toMatchObject({ closed: true, data: Buffer.alloc(0) });
    const d = await gw.waitForDecision((x) => x.listener === 'postgres' && x.verdict === 'drop');
    expect(d).toMatchObject({ reason: 'no_proxy_header', tenant: null });
    expect(db.sockets.size).toBe(dbConnections);
  });

  test('WHEN an endpoint the tenant does not list connects on postgres THEN it is dropped link_id_not_allowed', async () => {
    expect(await helloThrough(await edge(OTHER, postgresPort), HOST)).toBe('');
    await gw.waitForDecision((x) => x.listener === 'postgres' && x.reason === 'link_id_not_allowed' && x.linkId === OTHER);
    expect(await gw.gateway.metrics.registry.metrics()).toContain(
      'linkgate_connections_dropped_total{listener="postgres",reason="link_id_not_allowed",tenant="megacorp"} 1',
    );
  });

  test('WHEN a second PROXY header follows the edge\'s on postgres THEN it is dropped spoofed_proxy_header', async () => {
    const port = await edge(OWN, postgresPort);
    const spoof = cloudProxyHeader('aws', OWN, { address: '10.1.1.1', port: 1 }, { address: '10.0.0.1', port: 2 });
    await sendRaw(port, [spoof, buildClientHello({ serverName: HOST })]);
    await gw.waitForDecision((x) => x.listener === 'postgres' && x.reason === 'spoofed_proxy_header');
  });
});

describe('reload with additional listeners', () => {
  let reloadGw: TestGateway | undefined;
  afterEach(async () => reloadGw?.close());

  test('GIVEN postgres sends to "db" WHEN a reloaded file drops upstream "db" THEN the reload is refused and postgres still reaches "db"', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'linkgate-listeners-'));
    const file = join(dir, 'config.json');
    const initial = config(db.port);
    writeFileSync(file, JSON.stringify(initial));
    reloadGw = await startTestGateway(initial, { configPath: file });
    const { db: _dropped, ...upstreams } = initial.upstreams;
    writeFileSync(file, JSON.stringify({ ...initial, listeners: { privateLink: initial.listeners!.privateLink, health: initial.listeners!.health }, upstreams }));

    const outcome = reloadGw.gateway.reload();

    expect(outcome).toMatchObject({ ok: false, errors: expect.stringMatching(/listener "postgres" .* sends to upstream "db", which the new config no longer defines; restart to change listeners/) });
    const port = reloadGw.gateway.address('postgres')!.port;
    expect(await helloThrough(await edge(OWN, port), HOST)).toBe('db');
  });

  test('GIVEN postgres on a port WHEN a reloaded file moves it to another port THEN the reload applies, the listener stays where it is, and a warning says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'linkgate-listeners-'));
    const file = join(dir, 'config.json');
    const initial = config(db.port);
    writeFileSync(file, JSON.stringify(initial));
    reloadGw = await startTestGateway(initial, { configPath: file });
    const port = reloadGw.gateway.address('postgres')!.port;
    writeFileSync(file, JSON.stringify({ ...initial, listeners: { ...initial.listeners, additionalPrivateLink: [{ name: 'postgres', port: 1, host: '127.0.0.1', upstream: 'db' }] } }));

    expect(reloadGw.gateway.reload()).toMatchObject({ ok: true });

    await waitFor(() => reloadGw!.logs.find((l) => l.msg === 'listener changes take effect at the next restart'));
    expect(reloadGw.logs).toContainEqual(expect.objectContaining({ listeners: ['additionalPrivateLink'] }));
    expect(await helloThrough(await edge(OWN, port), HOST)).toBe('db');
  });
});
