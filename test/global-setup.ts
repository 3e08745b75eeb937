import { spawnSync } from 'node:child_process';

/**
 * Before the browser test (`npm run test:e2e`): build the web console (web/ → dist/web) when it
 * is missing or older than its sources, so a fresh clone serves the real console. A separate
 * process keeps Vite out of the test runner; a failed build makes the test fail, naming the cause.
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
