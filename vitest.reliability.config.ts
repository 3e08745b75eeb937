import { defineConfig } from 'vitest/config';

/**
 * The reliability suite (`npm run test:reliability`, RELIABILITY.md): real server processes on a
 * PostgreSQL server (TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test). One
 * scenario at a time: the load figures mean something only when nothing else runs beside them.
 */
export default defineConfig({
  test: {
    include: ['test/reliability/**/*.reliability.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
  },
});
