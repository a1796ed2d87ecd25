/**
 * image.lock.json is what the gateway image is built from (npm never packs package-lock.json):
 * it must say what package-lock.json says, or the image would run other versions than the tests.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IMAGE_BUILD_TOOLS, imageLock } from '../../scripts/image-lock';

const ROOT = join(__dirname, '..', '..');

describe('image.lock.json', () => {
  test('GIVEN package-lock.json WHEN the image lock is regenerated THEN the committed file is identical (else: npm run image-lock)', () => {
    expect(readFileSync(join(ROOT, 'image.lock.json'), 'utf8')).toBe(imageLock(ROOT));
  });

  test('GIVEN the image lock THEN it holds the runtime dependencies and the compiler, never a construct library', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'image.lock.json'), 'utf8')) as {
      packages: Record<string, { dependencies?: Record<string, string>; devDependencies?: Record<string, string>; dev?: boolean }>;
    };
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const root = lock.packages['']!;
    expect(root.dependencies).toEqual(pkg.dependencies);
    expect(Object.keys(root.devDependencies!).sort()).toEqual([...IMAGE_BUILD_TOOLS].sort());
    for (const name of Object.keys(pkg.dependencies)) expect(lock.packages[`node_modules/${name}`]?.dev).toBeUndefined();
    expect(lock.packages['node_modules/typescript']?.dev).toBe(true);
    expect(Object.keys(lock.packages).filter((p) => /aws-cdk|cdktf|constructs/.test(p))).toEqual([]);
  });
});
