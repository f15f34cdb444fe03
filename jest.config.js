// One jest config for the whole repo. ts-jest transpiles only (type checking is
// `tsc -b`'s job), so test start-up stays fast.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/core', '<rootDir>/cli', '<rootDir>/proxy', '<rootDir>/operator', '<rootDir>/gateway', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false, tsconfig: '<rootDir>/tsconfig.base.json' }] },
  moduleNameMapper: { '^@strata/(core|proxy|operator|gateway)$': '<rootDir>/$1/src/index.ts', '^@strata/(core|proxy|operator|gateway)/(.*)$': '<rootDir>/$1/src/$2' },
  testTimeout: 120000,
};
