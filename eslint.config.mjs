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

// The import graph's boundaries (STYLE.md, Layout): the pure layers cannot reach I/O.
// Sockets, servers and database clients are loaded by the entry points and the I/O
// layers only (proxy frontend/backend/engine, core cold/catalog/tiering).
const ioModules = [
  ...['net', 'tls', 'http', 'https', 'http2', 'dgram', 'child_process'].flatMap((name) => [name, `node:${name}`]),
  'pg',
  'pg-copy-streams',
  '@clickhouse/client',
  'chdb',
].map((name) => ({ name, message: 'This layer does no I/O: it takes what it needs as arguments.' }));
const proxyIoLayers = {
  regex: String.raw`(^|/)(backend|frontend|engine)(/|$)|(^|/)(proxy-server|tiered-proxy|main|metrics|config)$`,
  message: 'router/, translate/ and auth/ are pure: they import the bottom layer (query-types.ts), never the I/O layers.',
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
    // Pure statement → route, PostgreSQL AST → ClickHouse SQL, password math.
    files: ['proxy/src/router/**/*.ts', 'proxy/src/translate/**/*.ts', 'proxy/src/auth/**/*.ts', 'proxy/src/query-types.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...ioModules,
            {
              name: '@strata/core',
              allowTypeImports: true,
              message: "The root of @strata/core also loads its ClickHouse and PostgreSQL clients: import '@strata/core/model' or '@strata/core/ddl'.",
            },
          ],
          patterns: [proxyIoLayers],
        },
      ],
    },
  },
  {
    // Framing and one message per file: no sockets, nothing from outside wire/ but the
    // bottom layer's types.
    files: ['proxy/src/wire/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: ioModules,
          patterns: [
            { regex: String.raw`^\.\./(?!query-types$)`, message: 'wire/ imports nothing outside wire/ except ../query-types.' },
            { regex: '^@strata/', message: 'wire/ imports nothing outside wire/ except ../query-types.' },
          ],
        },
      ],
    },
  },
  {
    // core is the bottom of the repository: the apps import it, never the other way.
    files: ['core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: String.raw`^@strata/(proxy|gateway|operator|cli)(/|$)|^(\.\./)+(proxy|gateway|operator|cli)(/|$)`,
              message: 'core imports nothing from the apps (proxy, gateway, operator, cli).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/main.ts', 'test/**', 'bench/**', 'scripts/**', 'test/support/*.js'],
    rules: { 'no-console': 'off' },
  },
);
