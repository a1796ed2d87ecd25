/**
 * The directory holding linkgate's Dockerfile: the repository root when running from source
 * (lib/aws/internal), or the installed package when running from dist (dist/lib/aws/internal).
 * Found by walking up rather than by a fixed number of `..`, which differs between the two.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function linkgatePackageRoot(start: string = __dirname): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'Dockerfile')) && isLinkgatePackage(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) {
      throw new Error(`cannot find linkgate's Dockerfile above ${start}; pass an image to the gateway instead`);
    }
  }
}

function isLinkgatePackage(file: string): boolean {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'linkgate';
  } catch {
    return false;
  }
}
