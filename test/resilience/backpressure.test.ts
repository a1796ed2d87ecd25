/**
 * A fast upstream and a slow reader: the gateway must hold back the upstream (TCP backpressure)
 * instead of buffering. Its memory stays bounded however much flows through.
 */
import { connect } from 'node:net';
import { startGateway, rssKiB, benchConfig, benchOpening, type GatewayProc } from '../../bench/harness';
import { startTcpServer, type TestServer } from '../helpers/sockets';
import { size } from './support';

const TOTAL = size(1024, 256) * 1024 * 1024;
/**
 * What the bound tells apart: buffering the transfer would take the gateway past base (~80 MiB)
 * + TOTAL (≥ 336 MiB here); with backpressure, what remains is base plus the read buffers already
 * forwarded and not yet collected. On Node.js 24 the gateway lets V8 count those in its global heap
 * limit (lib/gateway/gc-tuning.ts), which trades up to ~130 MiB of such garbage for a quarter to
 * four fifths less CPU per byte: peaks of 147-211 MiB measured here, against 131 MiB with V8's
 * defaults (LINKGATE_GC_TUNING=off). The bound is the same at 256 MiB and 1 GiB: it does not grow
 * with the transfer.
 */
const RSS_LIMIT_KIB = 256 * 1024;

let firehose: TestServer;
let gateway: GatewayProc;
beforeAll(async () => {
  // After the ClientHello, send TOTAL bytes as fast as the socket takes them.
  firehose = await startTcpServer((s) => {
    s.once('data', () => {
      const chunk = Buffer.alloc(256 * 1024, 0x42);
      let sent = 0;
      const pump = () => {
        while (sent < TOTAL) {
          sent += chunk.length;
          if (!s.write(chunk)) return void s.once('drain', pump);
        }
        s.end();
      };
      pump();
    });
  });
  gateway = await startGateway(benchConfig(firehose.port), 1);
}, 60_000);
afterAll(async () => {
  await gateway?.proc.stop();
  await firehose?.close();
});

test(`GIVEN ${TOTAL / 2 ** 20} MiB to a client that reads slowly THEN all of it arrives and the gateway stays under 256 MiB RSS`, async () => {
  const { header, hello } = benchOpening();
  let peakKiB = rssKiB(gateway.pids());
  const sampler = setInterval(() => (peakKiB = Math.max(peakKiB, rssKiB(gateway.pids()))), 50);
  let received = 0;
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: gateway.privateLinkPort }, () => socket.write(Buffer.concat([header, hello])));
    // Read in bursts with pauses: well below what the upstream can send.
    socket.on('data', (d: Buffer) => {
      received += d.length;
      socket.pause();
      setTimeout(() => socket.resume(), 2);
    });
    socket.on('end', () => resolve());
    socket.on('error', reject);
  });
  clearInterval(sampler);
  const seconds = (Date.now() - started) / 1000;
  process.stdout.write(`backpressure: ${(received / 2 ** 20).toFixed(0)} MiB in ${seconds.toFixed(1)} s to a slow reader, gateway peak RSS ${(peakKiB / 1024).toFixed(1)} MiB\n`);
  expect(received).toBe(TOTAL);
  expect(peakKiB).toBeLessThan(RSS_LIMIT_KIB);
}, 300_000);
