/**
 * linkgate as a user meets it: packed from a fresh copy of the repository, installed from the
 * tarball into a new app, offline (the npm cache `npm ci` filled is the registry here).
 */
import { spawn, spawnSync, type SpawnOptions, type SpawnSyncOptions } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const REPO_ROOT = join(__dirname, '..', '..');
export const REPO_MODULES = join(REPO_ROOT, 'node_modules');

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs a command to completion; throws with its output when it fails. */
export function run(command: string, args: readonly string[], options: SpawnSyncOptions & { timeoutMs?: number } = {}): RunResult {
  const started = Date.now();
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: options.timeoutMs ?? 180_000, ...options });
  const out = { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), ms: Date.now() - started };
  if (r.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} (in ${String(options.cwd ?? process.cwd())}) failed: ${r.status ?? r.signal ?? r.error?.message}\n` +
        `${out.stdout.slice(-4000)}\n${out.stderr.slice(-4000)}`,
    );
  }
  return out;
}

/** `run`, without blocking: the synths of the two apps share the machine's cores. */
export function runAsync(command: string, args: readonly string[], options: SpawnOptions & { timeoutMs?: number } = {}): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: options.timeoutMs ?? 240_000, ...options });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout = (stdout + d).slice(-20_000)));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-20_000)));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const out = { stdout, stderr, ms: Date.now() - started };
      if (code === 0) resolve(out);
      else reject(new Error(`${command} ${args.join(' ')} (in ${String(options.cwd ?? process.cwd())}) failed: ${code ?? signal}\n${stdout.slice(-4000)}\n${stderr.slice(-4000)}`));
    });
  });
}

/** Runs at most one job per core at a time. */
export function limiter(slots = Math.max(2, availableParallelism())): <T>(job: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (job) => {
    if (running >= slots) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await job();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

export interface Packed {
  readonly tarball: string;
  readonly filename: string;
  readonly integrity: string;
  readonly size: number;
  readonly unpackedSize: number;
  readonly files: string[];
  readonly ms: number;
}

/**
 * `npm pack` in a copy of the repository's files as git lists them (a fresh clone: no dist/,
 * no cdk.out), with node_modules linked in, so prepack's build is what fills dist/.
 */
export function packFreshCopy(workDir: string): Packed {
  const started = Date.now();
  const clone = join(workDir, 'clone');
  const listed = run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO_ROOT }).stdout.split('\0');
  for (const file of listed.filter(Boolean)) {
    mkdirSync(dirname(join(clone, file)), { recursive: true });
    cpSync(join(REPO_ROOT, file), join(clone, file), { dereference: false });
  }
  symlinkSync(REPO_MODULES, join(clone, 'node_modules'));
  const out = run('npm', ['pack', '--json', '--pack-destination', workDir], { cwd: clone, timeoutMs: 300_000 });
  const [info] = JSON.parse(out.stdout.slice(out.stdout.indexOf('['))) as {
    filename: string;
    integrity: string;
    size: number;
    unpackedSize: number;
    files: { path: string }[];
  }[];
  return {
    tarball: join(workDir, info!.filename),
    filename: info!.filename,
    integrity: info!.integrity,
    size: info!.size,
    unpackedSize: info!.unpackedSize,
    files: info!.files.map((f) => f.path),
    ms: Date.now() - started,
  };
}

interface LockEntry {
  dev?: boolean;
  [key: string]: unknown;
}

/**
 * A new app that depends on the tarball, installed with `npm ci --offline`. npm resolves
 * linkgate's dependencies from its lock file, so the app gets one: the tarball's entry plus
 * the runtime entries of the package's own image.lock.json (the same versions and hashes as
 * package-lock.json), which the cache holds. The construct libraries are peer dependencies
 * the app would install itself; they are hundreds of megabytes (the cdktf providers above all),
 * so the repository's copies are linked in instead of unpacked again.
 */
export function installApp(dir: string, packed: Packed, peers: readonly string[], files: Record<string, string>): RunResult {
  mkdirSync(dir, { recursive: true });
  cpSync(packed.tarball, join(dir, packed.filename));
  const spec = `file:${packed.filename}`;
  const manifest = JSON.parse(run('tar', ['-xOzf', packed.tarball, 'package/package.json']).stdout) as Record<string, unknown>;
  const imageLock = JSON.parse(run('tar', ['-xOzf', packed.tarball, 'package/image.lock.json']).stdout) as { packages: Record<string, LockEntry> };
  const packages: Record<string, unknown> = {
    '': { name: 'app', version: '0.0.0', dependencies: { linkgate: spec } },
    'node_modules/linkgate': {
      version: manifest.version,
      resolved: spec,
      integrity: packed.integrity,
      license: manifest.license,
      dependencies: manifest.dependencies,
      peerDependencies: manifest.peerDependencies,
      peerDependenciesMeta: manifest.peerDependenciesMeta,
      bin: manifest.bin,
      engines: manifest.engines,
    },
  };
  for (const [path, entry] of Object.entries(imageLock.packages)) if (path && !entry.dev) packages[path] = entry;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '0.0.0', private: true, dependencies: { linkgate: spec } }, null, 2));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'app', version: '0.0.0', lockfileVersion: 3, requires: true, packages }, null, 2));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  const result = run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: dir });
  for (const peer of peers) {
    mkdirSync(dirname(join(dir, 'node_modules', peer)), { recursive: true });
    symlinkSync(join(REPO_MODULES, peer), join(dir, 'node_modules', peer));
  }
  return result;
}

export interface ReadmeExample {
  readonly name: string;
  readonly lang: string;
  readonly code: string;
  readonly line: number;
}

/** The blocks marked `<!-- example: NAME -->` right before their fence. */
export function readmeExamples(readme: string): ReadmeExample[] {
  const out: ReadmeExample[] = [];
  for (const m of readme.matchAll(/<!-- example: ([\w-]+) -->\n```(\w+)\n([\s\S]*?)\n```\n/g)) {
    out.push({ name: m[1]!, lang: m[2]!, code: `${m[3]!}\n`, line: readme.slice(0, m.index).split('\n').length });
  }
  return out;
}

export const readme = (): string => readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
