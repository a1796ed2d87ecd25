/**
 * Real peers (HAProxy, openssl, curl, python3, nginx). Where one is missing a test skips locally but
 * fails in CI (CI=true), where .ci/run installs them: a missing peer must never pass as green.
 */
import { spawnSync } from 'node:child_process';

export function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** describe() when `command` exists; otherwise a failing test in CI, a skipped block elsewhere. */
export function describeWithPeer(command: string, title: string, body: () => void): void {
  if (hasCommand(command)) {
    describe(title, body);
  } else if (process.env.CI === 'true') {
    describe(title, () => {
      test(`${command} is installed`, () => {
        throw new Error(`${command} is not installed; .ci/run installs it (apt-get install ${command})`);
      });
    });
  } else {
    describe.skip(`${title} (needs ${command})`, body);
  }
}

import { spawn } from 'node:child_process';

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a peer without blocking the event loop: the gateway under test often lives in this very
 * process, so spawnSync would deadlock it.
 */
export function runPeer(command: string, args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}
