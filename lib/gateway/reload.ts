/**
 * Noticing config changes: SIGHUP, and file changes. The directory is watched rather than the file
 * so that atomic replacements (write + rename, Kubernetes ConfigMap symlink swaps) are seen.
 *
 * A change is a change of content: the SHA-256 of the file's bytes, not its inode, size or mtime
 * (an edit of the same size with the old mtime put back is still a change). A changed file is
 * handed on only once it is settled: two reads a debounce apart give the same hash, so a file
 * caught while it is being written in place is not applied half-written. A file renamed into place
 * is complete at once and passes at the second read. (fs.watch cannot tell a rename into place
 * from a file being created and written, both are inotify 'rename' events, so every change waits
 * for the second read.) The hash goes with the change, so that the reader can refuse bytes that
 * changed again after they were found settled.
 */
import { createHash } from 'node:crypto';
import { watch, readFileSync, statSync, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { MAX_CONFIG_BYTES } from '../tenants/load';

export interface ConfigWatcher {
  close(): void;
  /**
   * Forget the content last handed on and read the file again (twice, to see it settled): for a
   * reload that was refused because the file changed meanwhile. Without it, a file that goes back
   * to exactly the bytes handed on would never be handed on again, and whoever refused them would
   * keep the config before (a revoked endpoint still admitted there).
   */
  recheck(): void;
}

export type ChangeCause = 'file' | 'signal';

export interface WatchConfigOptions {
  /**
   * Time from a file event to the first read, and between the two reads that must agree.
   *
   * @default 150
   */
  readonly debounceMs?: number;
  /** Called when a read found new content that must read the same once more before it counts. */
  readonly onUnsettled?: (sha256: string) => void;
}

/**
 * Calls `onChange` with the content's hash (see `contentHash`) when the file at `path` has new,
 * settled content, or when SIGHUP arrives (then at once, whatever the content: the operator asked).
 */
export function watchConfig(
  path: string,
  onChange: (cause: ChangeCause, sha256: string) => void,
  options: WatchConfigOptions = {},
): ConfigWatcher {
  const file = resolve(path);
  const debounceMs = options.debounceMs ?? 150;
  let applied = contentHash(file);
  /** New content read once, waiting for a second read to agree. */
  let candidate: string | undefined;
  let signalled = false;
  let timer: NodeJS.Timeout | undefined;
  // Not reset by later events: a directory where something else is written all the time must not
  // keep the read from ever happening. Content still changing shows as two reads that disagree.
  const schedule = () => {
    timer ??= setTimeout(check, debounceMs);
  };
  const check = () => {
    timer = undefined;
    const now = contentHash(file);
    if (signalled) {
      signalled = false;
      applied = now;
      candidate = undefined;
      onChange('signal', now);
      return;
    }
    if (now === applied) {
      candidate = undefined;
      return;
    }
    if (now === candidate) {
      applied = now;
      candidate = undefined;
      onChange('file', now);
      return;
    }
    candidate = now;
    options.onUnsettled?.(now);
    schedule(); // read again a debounce later, whether or not another event comes
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(file), { persistent: false }, schedule);
    watcher.on('error', () => undefined);
  } catch {
    watcher = undefined; // no inotify (some network filesystems): SIGHUP still works
  }
  const onHup = () => {
    signalled = true;
    schedule();
  };
  process.on('SIGHUP', onHup);
  return {
    recheck() {
      applied = '';
      candidate = undefined;
      schedule();
    },
    close() {
      if (timer) clearTimeout(timer);
      watcher?.close();
      process.off('SIGHUP', onHup);
    },
  };
}

/**
 * SHA-256 (hex) of the file's bytes, as `loadConfigFile`'s `sha256` option checks it; `missing`
 * when it cannot be read and `too-large` above the size the loader refuses anyway.
 */
export function contentHash(file: string): string {
  try {
    if (statSync(file).size > MAX_CONFIG_BYTES) return 'too-large'; // follows symlinks, like the read
    return sha256(readFileSync(file));
  } catch {
    return 'missing';
  }
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
