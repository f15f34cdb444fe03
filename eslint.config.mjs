// Flat config: @eslint/js + typescript-eslint recommended on the TypeScript sources.
// `console.*` is for entry points, tests, benchmarks and scripts only: everything
// below an entry point logs through the logger it is handed.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

// The few Node globals the hand-written CommonJS test helpers use (the `globals`
// package is not a dependency).
const nodeCommonJsGlobals = {
  require: 'readonly',
  module: 'writable',
  exports: 'writable',
  __dirname: 'readonly',
  __filename: 'readonly',
  process: 'readonly',
  console: 'readonly',
  Buffer: 'readonly',
  setTimeout: 'readonly',
  clearTimeout: 'readonly',
  setImmediate: 'readonly',
  URL: 'readonly',
};

export default defineConfig(
  // Compiled output and dependencies; *.js is generated except the test helpers kept as JS.
  globalIgnores(['**/node_modules/', '**/dist/', '.build/', '**/*.js', '!test/support/*.js']),
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    rules: {
      // A leading underscore marks a binding as deliberately unused, e.g. the
      // `kind: _kind` in `const { kind: _kind, ...rest } = config`.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ['test/support/*.js'],
    extends: [js.configs.recommended],
    languageOptions: { sourceType: 'commonjs', globals: nodeCommonJsGlobals },
  },
  {
    files: ['**/*.mjs'],
    extends: [js.configs.recommended],
  },
  {
    rules: { 'no-console': 'error' },
  },
  {
    files: ['**/main.ts', 'test/**', 'bench/**', 'scripts/**', 'test/support/*.js'],
    rules: { 'no-console': 'off' },
  },
);
