/**
 * A slowloris attack on the private-link listener: thousands of clients sending their PROXY header
 * one byte per second. Every one must be closed at the header timeout, and legitimate clients must
 * keep their connection rate meanwhile.
 */
import { benchConfig, benchTarget, runLoadgen, startEchoUpstream, startGateway, type GatewayProc, type Upstream } from '../../bench/harness';
import type { RateResult, SlowlorisResult } from '../../bench/loadgen';
import { size, FULL } from './support';

const ATTACKERS = size(5000, 600);
const HEADER_TIMEOUT_MS = 2000;

let upstream: Upstream;
let gateway: GatewayProc;
beforeAll(async () => {
  upstream = await startEchoUpstream();
  gateway = await startGateway(
    {
      ...benchConfig(upstream.port),
      limits: { headerTimeoutMs: HEADER_TIMEOUT_MS, maxConnections: 50_000 },
      log: { maxDropLinesPerSec: 20 },
    },
    2,
  );
}, 120_000);
afterAll(async () => {
  await gateway?.proc.stop();
  await upstream?.proc.stop();
});

const legitimate = () =>
  runLoadgen<RateResult>({ kind: 'rate', ...benchTarget(gateway.privateLinkPort), concurrency: 16, warmupMs: 500, durationMs: size(6000, 3000) });

test(`GIVEN ${ATTACKERS} clients sending one byte per second THEN each is closed at the ${HEADER_TIMEOUT_MS} ms header timeout and legitimate clients keep their rate`, async () => {
  const before = await legitimate();

  const attack = runLoadgen<SlowlorisResult>(
    { kind: 'slowloris', ...benchTarget(gateway.privateLinkPort), expectBytes: 0, count: ATTACKERS, byteIntervalMs: 1000, giveUpMs: HEADER_TIMEOUT_MS * 4 },
    120_000,
  );
  // Let the attack build up (connects are spread over its first second), then measure.
  await new Promise((r) => setTimeout(r, 1200));
  const during = await legitimate();
  const attacked = await attack;

  // THEN every slow client was closed by the gateway, not before and not long after the timeout.
  expect(attacked.opened).toBe(ATTACKERS);
  expect(attacked.closedByServer).toBe(ATTACKERS);
  expect(attacked.minCloseMs).toBeGreaterThanOrEqual(HEADER_TIMEOUT_MS - 50);
  expect(attacked.maxCloseMs).toBeLessThan(HEADER_TIMEOUT_MS + 1500);
  // THEN legitimate connections all succeeded, and their rate held.
  expect(before.failed + during.failed).toBe(0);
  const ratio = during.perSecond / before.perSecond;
  process.stdout.write(`slowloris: ${ATTACKERS} attackers, legitimate rate ${Math.round(before.perSecond)}/s → ${Math.round(during.perSecond)}/s (${ratio.toFixed(2)}×), closed after ${Math.round(attacked.minCloseMs)}–${Math.round(attacked.maxCloseMs)} ms\n`);
  expect(ratio).toBeGreaterThanOrEqual(FULL ? 0.8 : 0.5);
}, 180_000);
