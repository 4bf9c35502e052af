import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// The same suites run both ways: always on the embedded stores (PGlite in memory and the
// in-memory key-value store), and again on a real Postgres and Redis when
// GATEHOUSE_TEST_DATABASE_URL and GATEHOUSE_TEST_REDIS_URL name them (CI always does).
// Test files run in parallel; each builds its own database and key prefix.

const include = [
  'packages/*/src/**/*.test.ts',
  'packages/*/test/**/*.test.ts',
  'examples/**/*.test.ts',
];
const services = Boolean(
  process.env.GATEHOUSE_TEST_DATABASE_URL && process.env.GATEHOUSE_TEST_REDIS_URL,
);
// Most test files wait on something (a browser, a child process, Postgres) more than they
// compute, so two run at once even on a 2-core machine (Vitest's default there is one):
// measured on a loaded 2-core machine, the whole suite 1,607 s → 1,393 s, with no failure.
const maxWorkers = Math.max(2, availableParallelism() - 1);
const shared = {
  include,
  pool: 'forks' as const,
  maxWorkers,
  testTimeout: 60_000,
  hookTimeout: 120_000,
};

// gatehouse-client's package.json points its exports at dist/ (built by `npm pack`); the
// "gatehouse-source" condition makes the tests run its TypeScript sources instead, as the
// server (packages/server/bin/gatehouse.js) and tsc (tsconfig.base.json) do. The other
// conditions are Vite's defaults for server code.
const conditions = ['gatehouse-source', 'module', 'node', 'development|production'];
const resolve = { resolve: { conditions }, ssr: { resolve: { conditions } } };

export default defineConfig({
  test: {
    projects: [
      {
        ...resolve,
        test: {
          ...shared,
          name: 'embedded',
          env: {
            GATEHOUSE_TEST_DATABASE_URL: '',
            GATEHOUSE_TEST_REDIS_URL: '',
            GATEHOUSE_STORAGE_MODE: 'embedded',
          },
        },
      },
      ...(services ? [{ ...resolve, test: { ...shared, name: 'postgres+redis' } }] : []),
    ],
  },
});
