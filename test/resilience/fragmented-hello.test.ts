/**
 * A ClientHello sent as many tiny TLS records, one per TCP write: before any allow check, the
 * gateway must spend little CPU on it (reassembly is linear, not a re-parse per record) and refuse
 * one split into more records than any TLS stack sends.
 *
 * Reports the CPU per connection (process.cpuUsage around N connections, the same client sending
 * to a plain sink subtracted, so the figure is the gateway's); asserts only what was decided.
 */
import { cloudProxyHeader } from '../../lib/gateway/proxy-protocol/encoder';
import { buildClientHello } from '../../lib/gateway/tls/build-client-hello';
import { clientHelloReader } from '../../lib/gateway/tls/client-hello';
import { CLIENT, ENDPOINT } from '../helpers/bytes';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { startEchoServer, startTcpServer, waitFor, type TestServer } from '../helpers/sockets';
import { connect } from 'node:net';
import { size } from './support';

const LINK = 'vpce-0f1a90e0000000001';
const HOST = 'tenant.example.com';
const CONNECTIONS = size(20, 6);

let echo: TestServer;
let sink: TestServer;
let gw: TestGateway;

beforeAll(async () => {
  echo = await startEchoServer();
  sink = await startTcpServer((s) => s.resume());
  gw = await startTestGateway({
    upstreams: { default: { host: '127.0.0.1', port: echo.port } },
    tenants: [{ name: 'tenant', hostnames: [HOST], allow: { aws: [LINK] } }],
    limits: { clientHelloTimeoutMs: 60_000 },
    log: { decisions: 'none' },
  });
});
afterAll(async () => {
  await gw?.close();
  await echo?.close();
  await sink?.close();
});

/** The hello's records, each one a TCP write of its own (one record per read at the gateway). */
function recordsOf(hello: Buffer): Buffer[] {
  const records: Buffer[] = [];
  for (let at = 0; at < hello.length; ) {
    const end = at + 5 + hello.readUInt16BE(at + 3);
    records.push(hello.subarray(at, end));
    at = end;
  }
  return records;
}

/** Two turns of the event loop: the gateway (same process) reads one write before the next. */
const turn = () => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));

/**
 * Sends the PROXY header then each record as its own write; resolves, once the peer closed or a
 * moment after the last record, with how many records were written.
 */
function sendRecords(port: number, records: readonly Buffer[]): Promise<number> {
  return new Promise((resolve) => {
    let written = 0;
    const socket = connect({ port, host: '127.0.0.1', noDelay: true });
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    socket.on('close', () => resolve(written));
    socket.on('connect', async () => {
      socket.write(cloudProxyHeader('aws', LINK, CLIENT, ENDPOINT));
      await turn();
      for (const record of records) {
        if (socket.destroyed || socket.readableEnded) return;
        socket.write(record);
        written++;
        await turn();
      }
      // Sent in full: leave once the gateway has forwarded it (the echo answers) or dropped it.
      setTimeout(() => socket.destroy(), 200);
    });
  });
}

/** CPU (user + system, this process) per connection, and the records each wrote on average. */
async function cpuPerConnection(port: number, records: readonly Buffer[]): Promise<{ ms: number; written: number }> {
  const start = process.cpuUsage();
  let written = 0;
  for (let i = 0; i < CONNECTIONS; i++) written += await sendRecords(port, records);
  const used = process.cpuUsage(start);
  return { ms: (used.user + used.system) / 1000 / CONNECTIONS, written: Math.round(written / CONNECTIONS) };
}

test(`GIVEN a ClientHello sent as 1-byte TLS records, one per write WHEN ${CONNECTIONS} clients send it THEN each is dropped at the record cap (bad_client_hello) and the CPU per connection is reported`, async () => {
  const hello = buildClientHello({ serverName: HOST, maxRecordPayload: 1 });
  const records = recordsOf(hello);
  expect(records.length).toBeGreaterThan(1000);

  // The client alone (the same writes to a plain sink) is subtracted: the rest is the gateway's.
  const viaGateway = await cpuPerConnection(gw.privateLinkPort, records);
  await waitFor(() => gw.decisions.length >= CONNECTIONS, 30_000, 'a decision per connection');
  const viaSink = await cpuPerConnection(sink.port, records.slice(0, viaGateway.written));
  process.stdout.write(
    `fragmented hello: ${records.length} records of 1 byte, one per write; the gateway read ${viaGateway.written} of them per connection; ` +
      `CPU per connection ${viaGateway.ms.toFixed(1)} ms with the gateway, ${viaSink.ms.toFixed(1)} ms for the client alone: ` +
      `${(viaGateway.ms - viaSink.ms).toFixed(1)} ms spent by the gateway\n`,
  );

  // THEN every one of them was dropped as a malformed hello, for its record count, never forwarded.
  const decisions = gw.decisions.slice(0, CONNECTIONS);
  expect(decisions.map((d) => d.verdict)).toEqual(Array(CONNECTIONS).fill('drop'));
  for (const d of decisions) {
    expect(d.reason).toBe('bad_client_hello');
    expect(d.detail).toMatch(/^too_many_records: /);
  }
}, 600_000);

test('GIVEN the hello as 1-byte records fed to the reader one at a time (no record cap) THEN it is read, and the reassembly time is reported', () => {
  const records = recordsOf(buildClientHello({ serverName: HOST, maxRecordPayload: 1 }));
  const start = process.cpuUsage();
  const reader = clientHelloReader();
  let result: ReturnType<typeof reader.feed> = { status: 'incomplete' };
  for (const record of records) result = reader.feed(record);
  const used = process.cpuUsage(start);
  process.stdout.write(`fragmented hello: reassembling ${records.length} one-byte records, one feed each: ${((used.user + used.system) / 1000).toFixed(1)} ms\n`);
  expect(result).toMatchObject({ status: 'done', value: { serverName: HOST, records: records.length } });
});

test('GIVEN the same hello in a few records (as TLS stacks send it) THEN it is still forwarded', async () => {
  const hello = buildClientHello({ serverName: HOST, maxRecordPayload: 512 });
  const before = gw.decisions.length;
  await sendRecords(gw.privateLinkPort, recordsOf(hello));
  const d = await gw.waitForDecision((x) => gw.decisions.indexOf(x) >= before, 10_000);
  expect(d).toMatchObject({ verdict: 'forward', tenant: 'tenant' });
}, 60_000);
