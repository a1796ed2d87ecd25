/**
 * Tests run with `jest --ci`: a snapshot that is not committed fails instead of being written.
 * TypeScript is type-checked by `npm run build` (tsc) before Jest runs; ts-jest only transpiles
 * (isolatedModules), which keeps the aws-cdk-lib and cdktf suites fast.
 */
const shared = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  rootDir: __dirname,
  moduleNameMapper: { '^linkgate$': '<rootDir>/lib/index.ts', '^linkgate/(.*)$': '<rootDir>/lib/$1' },
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/cdk.out/', '<rootDir>/cdktf.out/'],
  snapshotFormat: { escapeString: false, printBasicPrototype: false },
};

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 60_000,
  // The default output, then one line per skipped test or block (a skip must never go unseen).
  reporters: ['default', '<rootDir>/test/reporters/skipped.js'],
  globalSetup: '<rootDir>/test/global-setup.js',
  globalTeardown: '<rootDir>/test/global-teardown.js',
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/resilience/'],
    },
    {
      ...shared,
      displayName: 'resilience',
      testMatch: ['<rootDir>/test/resilience/**/*.test.ts'],
    },
  ],
};
