/**
 * Noticing config changes: SIGHUP, and file changes. The directory is watched rather than the file
 * so that atomic replacements (write + rename, Kubernetes ConfigMap symlink swaps) are seen; a
 * change counts only when the file's identity or content signature differs from the last one.
 */
import { watch, statSync, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';

export interface ConfigWatcher {
  close(): void;
}

/** Calls `onChange` (debounced) when the file at `path` changes or SIGHUP arrives. */
export function watchConfig(path: string, onChange: (cause: 'file' | 'signal') => void, debounceMs = 150): ConfigWatcher {
  const file = resolve(path);
  let last = signature(file);
  let timer: NodeJS.Timeout | undefined;
  const fire = (cause: 'file' | 'signal') => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (cause === 'file') {
        const now = signature(file);
        if (now === last) return;
        last = now;
      } else {
        last = signature(file);
      }
      onChange(cause);
    }, debounceMs);
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(file), { persistent: false }, () => fire('file'));
    watcher.on('error', () => undefined);
  } catch {
    watcher = undefined; // no inotify (some network filesystems): SIGHUP still works
  }
  const onHup = () => fire('signal');
  process.on('SIGHUP', onHup);
  return {
    close() {
      if (timer) clearTimeout(timer);
      watcher?.close();
      process.off('SIGHUP', onHup);
    },
  };
}

function signature(file: string): string {
  try {
    const s = statSync(file); // follows symlinks: a swapped target shows as a new inode
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}
