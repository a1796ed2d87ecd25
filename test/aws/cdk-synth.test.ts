/**
 * `npx cdk synth` as a user runs it from a fresh clone: the real CLI, the app of cdk.json, no AWS
 * credentials and no network (AWS lookups would fail), into a temporary output directory.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './support';

function sizeOf(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.size;
  return readdirSync(path).reduce((sum, name) => sum + sizeOf(join(path, name)), 0);
}

describe('npx cdk synth', () => {
  let outdir: string;
  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'linkgate-cdk-synth-'));
  });
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  test(
    'GIVEN no credentials and no network WHEN synthesized THEN both stacks are written, quickly, with small assets',
    () => {
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: mkdtempSync(join(tmpdir(), 'linkgate-home-')),
        CDK_DISABLE_VERSION_CHECK: '1',
        AWS_EC2_METADATA_DISABLED: 'true',
        // Unroutable: any AWS call the synth tried to make would fail rather than succeed.
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        HTTPS_PROXY: 'http://127.0.0.1:9',
        npm_config_offline: 'true',
      };
      const started = Date.now();
      const result = spawnSync('npx', ['cdk', 'synth', '--quiet', '--no-notices', '--output', outdir], {
        cwd: REPO_ROOT,
        env,
        encoding: 'utf8',
        timeout: 120_000,
      });
      const seconds = (Date.now() - started) / 1000;
      expect({ status: result.status, stderr: result.status === 0 ? '' : result.stderr.slice(-3000) }).toEqual({ status: 0, stderr: '' });

      expect(existsSync(join(outdir, 'linkgate-provider.template.json'))).toBe(true);
      expect(existsSync(join(outdir, 'linkgate-consumer.template.json'))).toBe(true);
      // Asset staging copies only what the image build needs (no node_modules, no tests).
      const staged = readdirSync(outdir).filter((n) => n.startsWith('asset.'));
      for (const dir of staged) {
        expect(readdirSync(join(outdir, dir))).not.toContain('node_modules');
        expect(readdirSync(join(outdir, dir))).not.toContain('test');
      }
      expect(sizeOf(outdir)).toBeLessThan(3 * 1024 * 1024);
      expect(seconds).toBeLessThan(60);
    },
    150_000,
  );
});
