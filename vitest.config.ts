import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The console's browser test (test/e2e/*.e2e.ts) runs by `npm run test:e2e` (vitest.e2e.config.ts).
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // *.server.test.ts need a PostgreSQL server (several OS processes on one database): they run in
    // the pass with TEST_DATABASE_URL and are not collected at all without it (nothing is skipped).
    exclude: process.env.TEST_DATABASE_URL
      ? configDefaults.exclude
      : [...configDefaults.exclude, 'test/**/*.server.test.ts'],
    // A guard against hangs, not a measure of speed: shared 2-core machines can be slow.
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // Each test file gets its own database; two workers keep the 2-core machine responsive.
    maxWorkers: 2,
    pool: 'forks',
  },
});
