/**
 * The garbage-collection tuning (lib/gateway/gc-tuning.ts): on a V8 that has the flag, short-lived
 * external buffers (what every socket read allocates) no longer cost a full collection each
 * ~64 MB; elsewhere nothing is changed and nothing is printed. Measured in child processes on the
 * runtime running the tests (CI runs test/gateway on Node.js 20 and 24), by counting collections,
 * not by timing them.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gcTuningSupported, tuneGarbageCollection } from '../../lib/gateway/gc-tuning';
import { spawnCli, type CliProcess } from '../helpers/cli';
import { closedPort, waitFor } from '../helpers/sockets';

const MODULE = resolve(__dirname, '../../dist/lib/gateway/gc-tuning.js');

/** 2 GiB of 64 KiB buffers dropped at once, beside a live heap of ~10 MB; counts the collections. */
const ALLOCATE = `
const { tuneGarbageCollection } = require(${JSON.stringify(MODULE)});
const mode = tuneGarbageCollection();
const { PerformanceObserver, constants } = require('node:perf_hooks');
let major = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++;
}).observe({ entryTypes: ['gc'] });
const live = [];
for (let i = 0; i < 100000; i++) live.push({ i, s: 'x' + i });
let sum = 0;
for (let i = 0; i < 32768; i++) { const b = Buffer.allocUnsafe(65536); b[0] = i & 255; sum += b[0]; }
setTimeout(() => process.stdout.write(JSON.stringify({ mode, major, live: live.length, sum })), 200);
`;

function allocate(env: NodeJS.ProcessEnv): { mode: string; major: number; stderr: string } {
  const run = spawnSync(process.execPath, ['-e', ALLOCATE], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 });
  if (run.status !== 0) throw new Error(`child failed (${run.status}): ${run.stderr}`);
  return { ...(JSON.parse(run.stdout) as { mode: string; major: number }), stderr: run.stderr };
}

describe('which runtimes get the tuning', () => {
  test('GIVEN V8 versions THEN only 13.x and later are tuned (Node.js 24: 13.6; Node.js 20: 11.3)', () => {
    expect(gcTuningSupported('13.6.233.17-node.63')).toBe(true);
    expect(gcTuningSupported('14.0.1')).toBe(true);
    expect(gcTuningSupported('11.3.244.8-node.33')).toBe(false);
    expect(gcTuningSupported('12.4.254.21-node.33')).toBe(false);
    expect(gcTuningSupported('not a version')).toBe(false);
  });

  test('GIVEN LINKGATE_GC_TUNING=off THEN nothing is changed; GIVEN an older V8 THEN it says unsupported', () => {
    expect(tuneGarbageCollection({ LINKGATE_GC_TUNING: 'off' }, '13.6.233.17')).toBe('off');
    expect(tuneGarbageCollection({}, '11.3.244.8')).toBe('unsupported');
  });
});

describe(`on this runtime (Node.js ${process.version}, V8 ${process.versions.v8})`, () => {
  beforeAll(() => {
    const built = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(MODULE)})`]);
    if (built.status !== 0) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  });

  if (gcTuningSupported()) {
    test('GIVEN 2 GiB of short-lived 64 KiB buffers WHEN tuned THEN at most 3 full collections, against 10 or more with V8 defaults', () => {
      const tuned = allocate({});
      const defaults = allocate({ LINKGATE_GC_TUNING: 'off' });
      expect(tuned.mode).toBe('external-memory-in-global-limit');
      expect(defaults.mode).toBe('off');
      expect(tuned.major).toBeLessThanOrEqual(3);
      expect(defaults.major).toBeGreaterThanOrEqual(10);
      expect(tuned.stderr).toBe('');
    });
  } else {
    test('GIVEN a V8 without the flag THEN the tuning is skipped and nothing is printed', () => {
      const run = allocate({});
      expect(run.mode).toBe('unsupported');
      expect(run.stderr).toBe('');
    });
  }

  let proc: CliProcess | undefined;
  afterEach(() => proc?.kill('SIGKILL'));

  test('GIVEN linkgate serve THEN its first line says which tuning this process runs with', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'linkgate-gc-'));
    const file = join(dir, 'gateway.json');
    const [privateLink, health] = [await closedPort(), await closedPort()];
    writeFileSync(
      file,
      JSON.stringify({
        listeners: { privateLink: { port: privateLink, host: '127.0.0.1' }, health: { port: health, host: '127.0.0.1' } },
        upstreams: { default: { host: '127.0.0.1', port: await closedPort() } },
        tenants: [{ name: 'megacorp', hostnames: ['megacorp.example.com'], allow: { aws: ['vpce-0aaaaaaaaaaaaaaaa'] } }],
      }),
    );
    proc = spawnCli(['serve', '--config', file, '--workers', '1']);
    const line = await waitFor(() => proc!.lines.find((l) => l.msg === 'gc tuning'), 15_000, 'the gc tuning line');
    expect(line.gcTuning).toBe(gcTuningSupported() ? 'external-memory-in-global-limit' : 'unsupported');
    expect(proc.lines[0]?.msg).toBe('gc tuning');
  });
});
