import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Each test file gets its own database; two workers keep the 2-core machine responsive.
    maxWorkers: 2,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'shutong',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['**/node_modules/**', 'test/e2e/**'],
        },
      },
      {
        // The console in a real browser, after the rest: Chromium beside timing-sensitive tests
        // (server processes, demo seeding) would slow them past their limits on two cores.
        extends: true,
        test: {
          name: 'console-e2e',
          include: ['test/e2e/**/*.test.ts'],
          // Builds the web console first when dist/web is missing or stale.
          globalSetup: ['test/global-setup.ts'],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
