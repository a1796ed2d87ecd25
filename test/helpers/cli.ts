/** Runs the built CLI (dist/, produced by `npm run build` before Jest) as a real process. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './sockets';

export const CLI = join(__dirname, '..', '..', 'dist', 'lib', 'gateway', 'cli.js');

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

export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  assertBuilt();
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let partial = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    partial += d;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p) as Record<string, unknown>);
      } catch {
        lines.push({ raw: p });
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    child,
    lines,
    stderr: () => err,
    waitForLine: (match, timeoutMs = 10_000) =>
      waitFor(() => lines.find(match), timeoutMs, `a log line (stderr so far: ${err.slice(-500)})`),
    exited,
    kill: (signal = 'SIGTERM') => child.kill(signal),
  };
}
