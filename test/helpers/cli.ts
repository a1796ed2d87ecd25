/** Runs the built CLI (dist/, produced by `npm run build` before Jest) as a real process. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CLI, startProc } from '../../bench/harness';

export { CLI };

function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" (npm test does it first)`);
}

export function runCli(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
  assertBuilt();
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    input: options.input,
    env: { ...process.env, ...options.env },
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface CliProcess {
  readonly child: ChildProcess;
  /** Parsed JSON lines from stdout so far. */
  readonly lines: Record<string, unknown>[];
  readonly stderr: () => string;
  waitForLine(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * `linkgate <args>` in its own process (the bench harness's starter), every log line kept.
 * `openFiles` runs it under `ulimit -n` (soft and hard) of that many descriptors.
 */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}, options: { openFiles?: number } = {}): CliProcess {
  assertBuilt();
  const proc =
    options.openFiles === undefined
      ? startProc(process.execPath, [CLI, ...args], { env })
      : startProc('bash', ['-c', `ulimit -n ${options.openFiles} && exec "$0" "$@"`, process.execPath, CLI, ...args], { env });
  const { child } = proc;
  let err = '';
  child.stderr!.on('data', (d: string) => (err += d));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    child,
    lines: proc.lines,
    stderr: () => err,
    waitForLine: (match, timeoutMs = 10_000) => proc.waitForLine(match, timeoutMs),
    exited,
    kill: (signal = 'SIGTERM') => child.kill(signal),
  };
}

/**
 * Like runCli, without blocking this process: for a CLI that talks to a gateway or simulator
 * running in the test's own event loop (spawnSync would stall them).
 */
export function runCliAsync(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  assertBuilt();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
