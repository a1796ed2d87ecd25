/** Runs Debian's HAProxy in the foreground with a generated config; its log lines go to stdout. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { waitFor } from './sockets';

export interface HAProxy {
  readonly child: ChildProcess;
  readonly output: () => string;
  stop(): Promise<void>;
}

/** `body` is everything after a global/defaults preamble that logs to stdout. */
export async function startHAProxy(body: string, waitForPort: number): Promise<HAProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'linkgate-haproxy-'));
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(
    file,
    `global
  log stdout format raw local0 info
  maxconn 4000

defaults
  log global
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s

${body}
`,
  );
  const child = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const s = connect({ host: '127.0.0.1', port: waitForPort }, () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      }),
    10_000,
    `haproxy listening on ${waitForPort} (output: ${out})`,
  );
  return {
    child,
    output: () => out,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
