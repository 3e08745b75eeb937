import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The console's browser test (test/e2e/*.e2e.ts) runs by `npm run test:e2e` (vitest.e2e.config.ts).
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Each test file gets its own database; two workers keep the 2-core machine responsive.
    maxWorkers: 2,
    pool: 'forks',
  },
});
