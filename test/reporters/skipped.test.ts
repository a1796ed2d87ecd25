/** The reporter that names skipped tests at the end of a run (wired in jest.config.js). */
import { join } from 'node:path';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { skippedLines } = require('./skipped.js') as { skippedLines: (results: unknown, rootDir: string) => string[] };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const jestConfig = require('../../jest.config.js') as { reporters?: unknown[] };

const ROOT = '/repo';
const t = (ancestorTitles: string[], title: string, status: string) => ({ ancestorTitles, title, status });
const file = (path: string, tests: ReturnType<typeof t>[]) => ({ testFilePath: join(ROOT, path), testResults: tests });

describe('skipped-tests reporter', () => {
  test('GIVEN a run where nothing was skipped THEN it prints nothing', () => {
    const results = { testResults: [file('test/a.test.ts', [t([], 'runs', 'passed'), t(['block'], 'fails', 'failed')])] };
    expect(skippedLines(results, ROOT)).toEqual([]);
  });

  test('GIVEN a describe block skipped for a missing peer THEN one line names the file and the block, with its test count', () => {
    const results = {
      testResults: [
        file('test/peers/haproxy.test.ts', [
          t(['haproxy in front (needs haproxy)'], 'forwards', 'pending'),
          t(['haproxy in front (needs haproxy)', 'inner'], 'drops', 'pending'),
          t(['codec'], 'round-trips', 'passed'),
        ]),
      ],
    };
    expect(skippedLines(results, ROOT)).toEqual(['skipped: test/peers/haproxy.test.ts › haproxy in front (needs haproxy) (2 tests)']);
  });

  test('GIVEN single skipped tests and todos beside passing ones THEN each is named with its full title', () => {
    const results = {
      testResults: [
        file('test/b.test.ts', [t(['outer'], 'kept', 'passed'), t(['outer'], 'left out', 'pending'), t([], 'later', 'todo')]),
      ],
    };
    expect(skippedLines(results, ROOT)).toEqual(['skipped: test/b.test.ts › outer › left out', 'skipped: test/b.test.ts › later']);
  });

  test('GIVEN a file whose every test was skipped THEN it is one line for the whole file', () => {
    const results = { testResults: [file('test/c.test.ts', [t(['x'], 'one', 'pending'), t(['y'], 'two', 'skipped')])] };
    expect(skippedLines(results, ROOT)).toEqual(['skipped: test/c.test.ts (whole file) (2 tests)']);
  });

  test('GIVEN the Jest config THEN the reporter runs after the default one', () => {
    expect(jestConfig.reporters).toEqual(['default', '<rootDir>/test/reporters/skipped.js']);
  });
});
