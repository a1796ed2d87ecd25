/**
 * The JSON line logger (lib/gateway/log.ts): what its fast paths (no replacer unless a field needs
 * one, the timestamp's second formatted once) must keep equal to plain JSON.stringify.
 */
import { Logger } from '../../lib/gateway/log';

function capture(): { logger: Logger; lines: () => Record<string, unknown>[]; raw: () => string } {
  let text = '';
  const logger = new Logger({ sink: (t) => (text += t), base: { pid: 42 } });
  return {
    logger,
    raw: () => (logger.flush(), text),
    lines: () => (logger.flush(), text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)),
  };
}

test('GIVEN a line THEN its time is an ISO 8601 UTC timestamp of now, with milliseconds', () => {
  const { logger, lines } = capture();
  const before = Date.now();
  logger.info('one');
  const after = Date.now();
  const time = String(lines()[0]!.time);
  expect(time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  expect(Date.parse(time)).toBeGreaterThanOrEqual(before);
  expect(Date.parse(time)).toBeLessThanOrEqual(after);
});

test('GIVEN lines across a second boundary THEN each carries its own second', async () => {
  const { logger, lines } = capture();
  logger.info('a');
  await new Promise((r) => setTimeout(r, 1100));
  logger.info('b');
  const [a, b] = lines().map((l) => Date.parse(String(l.time)));
  expect(b! - a!).toBeGreaterThanOrEqual(1000);
});

test('GIVEN hostile strings (quotes, newlines, a lone surrogate) THEN each line is valid JSON and they read back unchanged', () => {
  const { logger, lines, raw } = capture();
  const hostname = 'evil"\n\\host\u0000\ud800';
  logger.info('drop', { hostname, linkId: 'vpce-"}', reason: null, n: 1.5 });
  expect(raw().split('\n').filter(Boolean)).toHaveLength(1);
  const line = lines()[0]!;
  expect(line).toMatchObject({ level: 'info', msg: 'drop', pid: 42, hostname, linkId: 'vpce-"}', reason: null, n: 1.5 });
});

test('GIVEN a bigint field THEN it is written as a string instead of throwing', () => {
  const { logger, lines } = capture();
  logger.info('big', { bytes: 12345678901234567890n });
  expect(lines()[0]!.bytes).toBe('12345678901234567890');
});
