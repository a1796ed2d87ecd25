/**
 * Runs our Dockerfile's build steps without Docker (no engine runs on our CI machines): each stage
 * gets a directory standing for its filesystem, COPY copies from the build context (or an earlier
 * stage), RUN runs the command with sh in the stage's WORKDIR, and ENV, USER, ENTRYPOINT, CMD and
 * HEALTHCHECK are recorded for starting the result. Only what our own Dockerfile uses is
 * understood; anything else fails loudly, so a new instruction cannot be skipped unnoticed.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, posix } from 'node:path';

export interface Instruction {
  readonly op: string;
  readonly args: string;
  readonly line: number;
}

/** Instructions with continuation lines joined and comments dropped. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) line = `${line.slice(0, -1)} ${lines[++i]!.trim()}`;
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile line ${start + 1}: cannot parse ${JSON.stringify(line)}`);
    out.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start + 1 });
  }
  return out;
}

export interface Stage {
  readonly name: string;
  /** Host directory standing for the stage's `/`. */
  readonly root: string;
  workdir: string;
  env: Record<string, string>;
  user?: string;
}

export interface BuiltImage {
  /** The last stage: the image. */
  readonly stage: Stage;
  readonly entrypoint: string[];
  readonly cmd: string[];
  /** The HEALTHCHECK's CMD. */
  readonly healthcheck: string[];
  /** Every step performed, in order, with its time: for the report. */
  readonly steps: { readonly step: string; readonly ms: number }[];
  /** Host path of an absolute path inside the image. */
  path(imagePath: string): string;
}

export interface BuildOptions {
  /** Environment of the RUN steps on top of process.env (e.g. npm_config_offline). */
  readonly runEnv?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
}

const jsonArray = (text: string, where: string): string[] => {
  const value = JSON.parse(text) as unknown;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new Error(`${where}: expected a JSON array of strings (exec form)`);
  return value as string[];
};

export function buildWithoutDocker(contextDir: string, workDir: string, options: BuildOptions = {}): BuiltImage {
  const instructions = parseDockerfile(readFileSync(join(contextDir, 'Dockerfile'), 'utf8'));
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  const steps: { step: string; ms: number }[] = [];
  let entrypoint: string[] = [];
  let cmd: string[] = [];
  let healthcheck: string[] = [];
  const expand = (s: string, stage?: Stage) =>
    s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a?: string, b?: string) => stage?.env[(a ?? b)!] ?? args[(a ?? b)!] ?? '');
  const inStage = (stage: Stage, p: string) => join(stage.root, posix.isAbsolute(p) ? p : posix.join(stage.workdir, p));

  for (const { op, args: rest, line } of instructions) {
    const where = `Dockerfile line ${line} (${op})`;
    const stage = stages[stages.length - 1];
    if (op !== 'ARG' && op !== 'FROM' && !stage) throw new Error(`${where}: before any FROM`);
    const started = Date.now();
    switch (op) {
      case 'ARG': {
        const [name, value] = rest.split('=', 2) as [string, string | undefined];
        if (!(name in args) || value !== undefined) args[name] = value ?? args[name] ?? '';
        break;
      }
      case 'FROM': {
        const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
        if (!m) throw new Error(`${where}: cannot parse ${rest}`);
        const root = join(workDir, `stage-${stages.length}`);
        mkdirSync(root, { recursive: true });
        stages.push({ name: m[2] ?? String(stages.length), root, workdir: '/', env: {} });
        steps.push({ step: `FROM ${expand(m[1]!)}${m[2] ? ` AS ${m[2]}` : ''} → ${root}`, ms: 0 });
        continue;
      }
      case 'WORKDIR':
        stage!.workdir = posix.resolve(stage!.workdir, expand(rest, stage));
        mkdirSync(join(stage!.root, stage!.workdir), { recursive: true });
        break;
      case 'ENV':
        for (const m of rest.matchAll(/(\w+)=("[^"]*"|\S+)/g)) stage!.env[m[1]!] = expand(m[2]!.replace(/^"|"$/g, ''), stage);
        break;
      case 'COPY': {
        const words = rest.split(/\s+/);
        const from = words[0]!.startsWith('--from=') ? words.shift()!.slice('--from='.length) : undefined;
        if (words.some((w) => w.startsWith('--'))) throw new Error(`${where}: unsupported option in ${rest}`);
        const dest = words.pop()!;
        const source = from === undefined ? undefined : stages.find((s) => s.name === from);
        if (from !== undefined && !source) throw new Error(`${where}: no stage named ${from}`);
        for (const src of words) {
          const hostSrc = source ? join(source.root, src) : join(contextDir, src);
          if (!existsSync(hostSrc)) throw new Error(`${where}: ${src} is not in the ${source ? `stage ${from}` : 'build context'}`);
          const target = inStage(stage!, dest);
          const intoDir = dest.endsWith('/') || words.length > 1;
          const to = statSync(hostSrc).isDirectory() ? target : intoDir ? join(target, basename(hostSrc)) : target;
          mkdirSync(dirname(to), { recursive: true });
          cpSync(hostSrc, to, { recursive: true });
        }
        break;
      }
      case 'RUN': {
        if (rest.startsWith('[')) throw new Error(`${where}: exec-form RUN is not supported here`);
        const r = spawnSync('sh', ['-c', rest], {
          cwd: join(stage!.root, stage!.workdir),
          env: { ...process.env, ...stage!.env, ...options.runEnv },
          encoding: 'utf8',
          timeout: options.timeoutMs ?? 120_000,
        });
        if (r.status !== 0) {
          throw new Error(`${where} failed (${r.status ?? r.signal ?? r.error?.message}): ${rest}\n${r.stdout}\n${r.stderr}`);
        }
        break;
      }
      case 'USER':
        stage!.user = rest;
        break;
      case 'VOLUME':
        // Only a mount point for the runtime; nothing to build.
        jsonArray(rest, where);
        break;
      case 'ENTRYPOINT':
        entrypoint = jsonArray(rest, where);
        break;
      case 'CMD':
        cmd = jsonArray(rest, where);
        break;
      case 'HEALTHCHECK': {
        const m = /(?:^|\s)CMD\s+(\[.*\])$/.exec(rest);
        if (!m) throw new Error(`${where}: expected HEALTHCHECK [options] CMD [...]`);
        healthcheck = jsonArray(m[1]!, where);
        break;
      }
      case 'EXPOSE':
      case 'STOPSIGNAL':
        break;
      default:
        throw new Error(`${where}: this Docker-less runner does not know ${op}; teach test/consumer/dockerfile.ts what it does`);
    }
    steps.push({ step: `${op} ${expand(rest, stage)}`, ms: Date.now() - started });
  }
  const last = stages[stages.length - 1];
  if (!last) throw new Error('Dockerfile has no FROM');
  // The image's user must be able to read what the build left (the temp dir is private by default).
  for (let dir = last.root; dir.startsWith(workDir); dir = dirname(dir)) chmodSync(dir, 0o755);
  return { stage: last, entrypoint, cmd, healthcheck, steps, path: (p) => join(last.root, p) };
}
