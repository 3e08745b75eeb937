import { defineConfig } from 'vitest/config';

// The console's browser tests (Debian Chromium through playwright-core): `npm run test:e2e`.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    // Builds the web console first when dist/web is missing or stale, so a fresh clone works.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    maxWorkers: 1,
    pool: 'forks',
  },
});
