import { spawnSync } from 'node:child_process';

/**
 * Before any test: build the web console (web/ → dist/web) when it is missing or older than its
 * sources, so `npm test` on a fresh clone serves the real console to the end-to-end test. A
 * separate process keeps Vite out of the test runner. A failed build does not stop the other
 * tests: the console's own test fails, naming the cause.
 */
export default function setup(): void {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/ensure-console.ts'], {
    stdio: 'inherit',
    env: { ...process.env, NODE_ENV: 'production' },
  });
  if (result.status !== 0) {
    process.stderr.write('\n  console build failed; test/e2e/console.e2e.test.ts will fail\n\n');
  }
}
