/**
 * Real peers (HAProxy, openssl, curl). Where one is missing a test skips locally but fails in CI
 * (CI=true), where .ci/run installs them: a missing peer must never pass as green.
 */
import { spawnSync } from 'node:child_process';

export function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** describe() when `command` exists; otherwise a failing test in CI, a skipped block elsewhere. */
export function describeWithPeer(command: string, title: string, body: () => void): void {
  if (hasCommand(command)) {
    describe(title, body);
  } else if (process.env.CI === 'true') {
    describe(title, () => {
      test(`${command} is installed`, () => {
        throw new Error(`${command} is not installed; .ci/run installs it (apt-get install ${command})`);
      });
    });
  } else {
    describe.skip(`${title} (needs ${command})`, body);
  }
}
