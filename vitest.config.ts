import { defineConfig } from 'vitest/config';

/**
 * The suite runs once per database: always on SQLite, and on PostgreSQL as well when
 * SPANTREE_TEST_POSTGRES_URL names a server (each test file then creates and drops its own database).
 */
const postgresUrl = process.env.SPANTREE_TEST_POSTGRES_URL;
const databases = ['sqlite', ...(postgresUrl ? ['postgresql'] : [])];
/** With SPANTREE_TEST_REDIS_URL set, the tests of subscriptions carried through Redis run too. */
const withRedis = Boolean(process.env.SPANTREE_TEST_REDIS_URL);

export default defineConfig({
  resolve: {
    // graphql 16 ships CommonJS (main) and ESM (module) copies. Node loads the CommonJS one for the
    // libraries; Vite would hand our sources the other, and `instanceof GraphQLError` would fail
    // between the two. Use the one Node uses.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: a few files at once keeps both busy without starving the servers they start.
    maxWorkers: 3,
    projects: databases.map((database) => ({
      extends: true,
      test: {
        name: database,
        env: { SPANTREE_TEST_DATABASE: database },
        include: ['test/**/*.test.ts'],
        // Pure-logic unit tests need no database, and the browser tests (test/web/) drive pages that
        // only speak the public API, which the rest of the suite tests on both databases: once is
        // enough. test/postgresql/ compares the two databases, so it runs where PostgreSQL is available.
        exclude: [
          ...(database === 'sqlite' ? ['test/postgresql/**'] : ['test/unit/**', 'test/web/**']),
          ...(withRedis ? [] : ['test/**/*redis*.test.ts']),
        ],
      },
    })),
  },
});
