/**
 * Checks on the cloud-init documents the Azure and GCP constructs render, with the real tools:
 * `cloud-init schema` (Debian's cloud-init package, its boot services disabled) validates the
 * document, and `shellcheck` every shell script in it, taken out the way cloud-init runs them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import YAML from 'yaml';
import { runPeer, type RunResult } from './peers';

export interface ShellScript {
  /** Where it comes from, e.g. `write_files /usr/local/lib/linkgate/agent` or `runcmd`. */
  readonly origin: string;
  readonly text: string;
}

interface WriteFileEntry {
  path: string;
  content?: string;
  encoding?: string;
}

const SHELL_SHEBANG = /^#!\s*(?:\/usr)?\/bin\/(?:env\s+)?(?:sh|bash|dash)\b/;

/** write_files content as it lands on disk (cloud-init decodes b64 and gz+b64). */
function fileContent(entry: WriteFileEntry): string {
  const content = entry.content ?? '';
  const encoding = (entry.encoding ?? 'text/plain').toLowerCase();
  if (['gz', 'gzip'].includes(encoding)) return gunzipSync(Buffer.from(content, 'binary')).toString('utf8');
  if (['gz+base64', 'gzip+base64', 'gz+b64', 'gzip+b64'].includes(encoding)) return gunzipSync(Buffer.from(content, 'base64')).toString('utf8');
  if (['b64', 'base64'].includes(encoding)) return Buffer.from(content, 'base64').toString('utf8');
  return content;
}

/**
 * A runcmd/bootcmd list as the script cloud-init writes for it: `#!/bin/sh`, a string item as a
 * line of shell, a list item as its words single-quoted (an argv, not shell).
 */
function commandScript(items: readonly (string | readonly string[])[]): string {
  const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;
  const lines = items.map((item) => (typeof item === 'string' ? item : item.map(quote).join(' ')));
  return `#!/bin/sh\n${lines.join('\n')}\n`;
}

/**
 * Every shell script a user-data document makes cloud-init run or install: the document itself
 * when it is a script, write_files entries with a shell shebang, and runcmd and bootcmd.
 */
export function shellScriptsIn(userData: string): ShellScript[] {
  if (SHELL_SHEBANG.test(userData)) return [{ origin: 'user-data script', text: userData }];
  if (!userData.startsWith('#cloud-config\n')) return [];
  const doc = YAML.parse(userData) as { write_files?: WriteFileEntry[]; runcmd?: (string | string[])[]; bootcmd?: (string | string[])[] };
  const scripts: ShellScript[] = [];
  for (const entry of doc.write_files ?? []) {
    const text = fileContent(entry);
    if (SHELL_SHEBANG.test(text)) scripts.push({ origin: `write_files ${entry.path}`, text });
  }
  for (const key of ['bootcmd', 'runcmd'] as const) {
    const items = doc[key];
    if (items?.length) scripts.push({ origin: key, text: commandScript(items) });
  }
  return scripts;
}

/** `cloud-init schema --config-file` on a document: status 0 and "Valid cloud-config" when it passes. */
export async function cloudInitSchema(userData: string): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'linkgate-cloud-init-'));
  try {
    const file = join(dir, 'user-data');
    writeFileSync(file, userData);
    return await runPeer('cloud-init', ['schema', '--config-file', file], { timeoutMs: 120_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * shellcheck (all severities, down to style) over the scripts in one process; each finding as
 * `origin:line:column: level: message [SCnnnn]`. Empty when every script is clean.
 */
export async function shellcheck(scripts: readonly ShellScript[]): Promise<string[]> {
  if (scripts.length === 0) return [];
  const dir = mkdtempSync(join(tmpdir(), 'linkgate-shellcheck-'));
  try {
    const files = scripts.map((script, i) => {
      const file = join(dir, `script-${i}`);
      writeFileSync(file, script.text);
      return file;
    });
    const result = await runPeer('shellcheck', ['--format=gcc', '--severity=style', ...files], { timeoutMs: 120_000 });
    // 0: clean, 1: findings; anything else is shellcheck failing to run.
    if (result.status !== 0 && result.status !== 1) throw new Error(`shellcheck failed (status ${String(result.status)}): ${result.stderr}`);
    return result.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const at = line.indexOf(':');
        const index = files.indexOf(line.slice(0, at));
        return index >= 0 ? `${scripts[index]!.origin}${line.slice(at)}` : line;
      });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
