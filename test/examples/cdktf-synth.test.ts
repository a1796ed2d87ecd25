/**
 * `npx cdktf synth` from cdktf.json, offline: both stacks are written and carry the settings that
 * make linkgate work (PROXY protocol on the Private Link Service and on the service attachment).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

test('GIVEN cdktf.json WHEN npx cdktf synth runs offline THEN it writes the Azure and GCP stacks', async () => {
  const out = mkdtempSync(join(tmpdir(), 'linkgate-cdktf-'));
  const child = spawn('npx', ['cdktf', 'synth', '--output', out], {
    cwd: ROOT,
    env: { ...process.env, CHECKPOINT_DISABLE: '1', CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (log += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (log += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  expect({ code, log: code === 0 ? '' : log }).toEqual({ code: 0, log: '' });

  const azure = JSON.parse(readFileSync(join(out, 'stacks', 'linkgate-azure', 'cdk.tf.json'), 'utf8'));
  const pls = Object.values(azure.resource.azurerm_private_link_service as Record<string, { enable_proxy_protocol: boolean }>);
  expect(pls.map((p) => p.enable_proxy_protocol)).toEqual([true]);

  const gcp = JSON.parse(readFileSync(join(out, 'stacks', 'linkgate-gcp', 'cdk.tf.json'), 'utf8'));
  const attachments = Object.values(gcp.resource.google_compute_service_attachment as Record<string, { enable_proxy_protocol: boolean; connection_preference: string }>);
  expect(attachments).toEqual([expect.objectContaining({ enable_proxy_protocol: true, connection_preference: 'ACCEPT_MANUAL' })]);
}, 120_000);
