/** `npm start` (after the build npm test runs first): the demo's table, every row as expected. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const DEMO = join(__dirname, '..', '..', 'dist', 'examples', 'demo', 'main.js');

test('GIVEN the demo WHEN run THEN it prints the table with every required case and exits 0', async () => {
  expect(existsSync(DEMO)).toBe(true);
  const child = spawn(process.execPath, [DEMO], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  expect(out).toContain('all 11 rows as expected');
  expect(code).toBe(0);
  // The cases the issue names: allowed endpoint, another customer's endpoint, public client to a
  // private-only tenant, open tenant, unknown hostname, a client forging its own PROXY header.
  for (const fragment of [
    /megacorp app\s+aws\s+vpce-08d2bf15fac5001c9\s+megacorp\.api\.example\.com\s+forward/,
    /initech app\s+azure\s+553665985\s+megacorp\.api\.example\.com\s+drop\s+link_id_not_allowed/,
    /internet client\s+public\s+-\s+megacorp\.api\.example\.com\s+drop\s+cidr_not_allowed/,
    /stranger\s+aws\s+vpce-0badc0ffee0000001\s+status\.example\.com\s+forward/,
    /unknown\.example\.com\s+drop\s+unknown_host/,
    /forger.*forges vpce-08d2bf15fac5001c9.*drop\s+spoofed_proxy_header/,
    /megacorp app\s+gcp\s+18446744072646845442/,
  ]) {
    expect(out).toMatch(fragment);
  }
});
