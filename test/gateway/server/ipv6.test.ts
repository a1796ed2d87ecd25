/**
 * IPv6: a private-link listener bound to `::` (dual-stack) behind `linkgate simulate` on ::1. The
 * cloud's header carries AF_INET6 addresses; the decision log names the v6 client and the
 * upstream's PROXY header carries it on. An IPv4 client on the same listener is shown as IPv4.
 */
import { connect } from 'node:net';
import { decodeProxyHeader, type ProxyHeader } from '../../../lib/gateway/proxy-protocol/decoder';
import { startSimulator, type Simulator } from '../../../lib/gateway/simulate';
import { buildClientHello } from '../../../lib/gateway/tls/build-client-hello';
import { spawnCli } from '../../helpers/cli';
import { startTestGateway, type TestGateway } from '../../helpers/gateway';
import { closedPort, startTcpServer, waitFor, type TestServer } from '../../helpers/sockets';

const OWN = 'vpce-08d2bf15fac5001c9';
const HOST = 'megacorp.example.com';

let upstream: TestServer;
let received: Buffer[] = [];
let gw: TestGateway;
let edge: Simulator;

beforeAll(async () => {
  upstream = await startTcpServer((s) => s.on('data', (d) => received.push(d)));
  gw = await startTestGateway({
    listeners: { privateLink: { port: 0, host: '::' }, public: { port: 0, host: '::1' }, health: { port: 0, host: '::1' } },
    upstreams: { default: { host: '127.0.0.1', port: upstream.port, proxyProtocol: true } },
    tenants: [{ name: 'megacorp', hostnames: [HOST], allow: { aws: [OWN], cidrs: ['::1/128'] } }],
  });
  edge = await startSimulator({ cloud: 'aws', linkId: OWN, listen: { host: '::1', port: 0 }, to: { host: '::1', port: gw.privateLinkPort } });
});
afterAll(async () => {
  await edge?.close();
  await gw?.close();
  await upstream?.close();
});
beforeEach(() => (received = []));

/** Sends a ClientHello from `from` to host:port; resolves with the client's local port. */
function hello(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port }, () => {
      socket.write(buildClientHello({ serverName: HOST }));
      resolve(socket.localPort!);
    });
    socket.on('error', reject);
    setTimeout(() => socket.destroy(), 3000).unref();
  });
}

async function upstreamHeader(): Promise<ProxyHeader> {
  const result = await waitFor(() => {
    const r = decodeProxyHeader(Buffer.concat(received));
    return r.status === 'done' ? r.value : undefined;
  }, 5000, 'the upstream PROXY header');
  return result;
}

test('GIVEN a client on ::1 behind the simulated edge WHEN it is forwarded THEN the decision log and the upstream PROXY header carry its IPv6 address', async () => {
  const clientPort = await hello('::1', edge.address.port);

  const decision = await gw.waitForDecision((d) => d.verdict === 'forward' && d.listener === 'privateLink');
  expect(decision).toMatchObject({ source: `[::1]:${clientPort}`, linkId: OWN, tenant: 'megacorp' });
  const header = await upstreamHeader();
  expect(header).toMatchObject({ family: 'INET6', source: { address: '::1', port: clientPort }, destination: { address: '::1', port: edge.address.port }, link: { cloud: 'aws', linkId: OWN } });
});

test('GIVEN the dual-stack listener WHEN an IPv4 client comes through an IPv4 edge THEN it is logged as IPv4, not as ::ffff:', async () => {
  const v4edge = await startSimulator({ cloud: 'aws', linkId: OWN, listen: { host: '127.0.0.1', port: 0 }, to: { host: '127.0.0.1', port: gw.privateLinkPort } });
  try {
    const clientPort = await hello('127.0.0.1', v4edge.address.port);
    const decision = await gw.waitForDecision((d) => d.verdict === 'forward' && d.source === `127.0.0.1:${clientPort}`);
    expect(decision.source).toBe(`127.0.0.1:${clientPort}`);
    expect(await upstreamHeader()).toMatchObject({ family: 'INET', source: { address: '127.0.0.1', port: clientPort } });
  } finally {
    await v4edge.close();
  }
});

test('GIVEN a public listener on ::1 and a tenant CIDR ::1/128 WHEN a v6 client connects THEN it is forwarded with its v6 address upstream', async () => {
  const clientPort = await hello('::1', gw.publicPort);
  const decision = await gw.waitForDecision((d) => d.verdict === 'forward' && d.listener === 'public');
  expect(decision.source).toBe(`[::1]:${clientPort}`);
  expect(await upstreamHeader()).toMatchObject({ family: 'INET6', source: { address: '::1', port: clientPort } });
});

test('GIVEN `linkgate simulate --listen [::1]:PORT --to [::1]:PORT` THEN it forwards a v6 client behind an AF_INET6 header', async () => {
  const port = await closedPort();
  const sim = spawnCli(['simulate', '--cloud', 'aws', '--link-id', OWN, '--listen', `[::1]:${port}`, '--to', `[::1]:${gw.privateLinkPort}`]);
  try {
    expect(await sim.waitForLine((l) => l.msg === 'simulating')).toMatchObject({ listen: `[::1]:${port}` });
    const clientPort = await hello('::1', port);
    expect(await upstreamHeader()).toMatchObject({ family: 'INET6', source: { address: '::1', port: clientPort } });
  } finally {
    sim.kill();
  }
});
