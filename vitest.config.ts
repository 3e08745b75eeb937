import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Builds the web console first when dist/web is missing or stale (the e2e test serves it).
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Each test file gets its own database; two workers keep the 2-core machine responsive.
    maxWorkers: 2,
    pool: 'forks',
  },
});
