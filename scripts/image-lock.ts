/**
 * Writes image.lock.json: the lock file the gateway image is built from.
 *
 * npm never packs package-lock.json, so an installed linkgate has none, and the Docker build
 * context `FilteringGateway` stages from it could not run `npm ci`. image.lock.json travels in the
 * package instead: a lock (cut from package-lock.json, same versions and integrity hashes) for a
 * manifest holding only what the image needs, the runtime dependencies plus the compiler and
 * Node.js types that build it. Its root entry is that manifest; the Dockerfile writes it out as
 * package.json next to the lock and runs `npm ci`, so the image builds the same from a clone and
 * from node_modules/linkgate.
 *
 *   npm run image-lock            rewrite image.lock.json after a dependency change
 *   npm run image-lock -- --check exit 1 if image.lock.json is out of date (CI runs this through Jest)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** devDependencies the image build needs: it compiles lib/gateway and lib/tenants itself. */
export const IMAGE_BUILD_TOOLS = ['typescript', '@types/node'] as const;

interface LockEntry {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  peer?: boolean;
  devOptional?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  [key: string]: unknown;
}

interface Lock {
  name: string;
  version: string;
  lockfileVersion: number;
  requires?: boolean;
  packages: Record<string, LockEntry>;
}

interface Manifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/** Where npm finds `name` when required from the package installed at `from` (node_modules walk-up). */
function locate(lock: Lock, from: string, name: string): string | undefined {
  for (let dir = from; ; ) {
    const candidate = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (!dir) return undefined;
    const cut = dir.lastIndexOf('/node_modules/');
    dir = cut < 0 ? '' : dir.slice(0, cut);
  }
}

export function imageLock(root: string): string {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Manifest;
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as Lock;
  const tools: Record<string, string> = {};
  for (const name of IMAGE_BUILD_TOOLS) {
    const range = pkg.devDependencies?.[name];
    if (!range) throw new Error(`package.json has no devDependency ${name}, which the image build needs`);
    tools[name] = range;
  }
  const runtime = pkg.dependencies ?? {};

  // Walk both closures; a package reached from the runtime side is a runtime package.
  const packages: Record<string, LockEntry> = {};
  const runtimePaths = new Set<string>();
  const walk = (names: string[], isRuntime: boolean): void => {
    const queue = names.map((name) => ({ from: '', name }));
    for (let item = queue.shift(); item; item = queue.shift()) {
      const path = locate(lock, item.from, item.name);
      if (!path) throw new Error(`package-lock.json has no entry for ${item.name} (needed from "${item.from || 'the root'}"); run npm install`);
      if (isRuntime) runtimePaths.add(path);
      if (packages[path]) continue;
      const entry = lock.packages[path]!;
      packages[path] = entry;
      for (const dep of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) queue.push({ from: path, name: dep });
    }
  };
  walk(Object.keys(runtime), true);
  walk(Object.keys(tools), false);

  const out: Lock = {
    name: pkg.name,
    version: pkg.version,
    lockfileVersion: lock.lockfileVersion,
    requires: true,
    packages: {
      '': { name: pkg.name, version: pkg.version, dependencies: runtime, devDependencies: tools },
    },
  };
  for (const path of Object.keys(packages).sort()) {
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = packages[path]!;
    out.packages[path] = runtimePaths.has(path) ? entry : { ...entry, dev: true };
  }
  return `${JSON.stringify(out, null, 2)}\n`;
}

if (require.main === module) {
  const root = join(__dirname, '..');
  const file = join(root, 'image.lock.json');
  const text = imageLock(root);
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(file, 'utf8');
    } catch {
      // missing: reported below as out of date
    }
    if (current !== text) {
      console.error('image.lock.json is out of date with package-lock.json: run `npm run image-lock` and commit it');
      process.exit(1);
    }
  } else {
    writeFileSync(file, text);
    console.log(`wrote ${file} (${Object.keys(JSON.parse(text).packages).length - 1} packages)`);
  }
}
