/**
 * Builds the web console (web/ → dist/web) when the build is missing or older than its sources.
 * `npm start` runs this before the server, and the test suite's global setup runs it before the
 * tests, so a fresh clone needs no extra step. Offline: Vite and the console's packages come from
 * node_modules. `--force` builds whatever the timestamps say.
 *
 * Without Vite (an install without dev dependencies) it says so and exits 0: the server then
 * serves the landing page, which says how to build.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const WEB_DIR = path.join(ROOT, 'web');
export const OUT_DIR = path.join(ROOT, 'dist', 'web');
const BUILT_MARKER = path.join(OUT_DIR, 'index.html');
/** Besides web/ itself: a dependency change (package-lock) changes what the build bundles. */
const EXTRA_INPUTS = [path.join(ROOT, 'package-lock.json')];

function newestMtime(target: string): number {
  let newest = 0;
  const stats = statSync(target, { throwIfNoEntry: false });
  if (!stats) return 0;
  if (!stats.isDirectory()) return stats.mtimeMs;
  for (const entry of readdirSync(target, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    newest = Math.max(newest, newestMtime(path.join(target, entry.name)));
  }
  return newest;
}

export function consoleBuildState(): { stale: boolean; reason: string } {
  if (!existsSync(BUILT_MARKER)) return { stale: true, reason: 'no build in dist/web' };
  const built = statSync(BUILT_MARKER).mtimeMs;
  const sources = Math.max(newestMtime(WEB_DIR), ...EXTRA_INPUTS.map(newestMtime));
  if (sources > built) return { stale: true, reason: 'web/ changed since the last build' };
  return { stale: false, reason: 'up to date' };
}

export async function buildConsole(): Promise<void> {
  // Always a production bundle: Vite takes NODE_ENV from its environment, and a caller such as
  // the test runner (NODE_ENV=test) would otherwise get React's development build.
  process.env.NODE_ENV = 'production';
  const { build } = await import('vite');
  await build({ configFile: path.join(WEB_DIR, 'vite.config.ts'), logLevel: 'warn', mode: 'production' });
}

/** Builds when needed; returns false when it could not (no Vite installed). */
export async function ensureConsole(options: { force?: boolean; quiet?: boolean } = {}): Promise<boolean> {
  const state = consoleBuildState();
  if (!options.force && !state.stale) return true;
  const say = (line: string) => {
    if (!options.quiet) process.stdout.write(`${line}\n`);
  };
  try {
    await import('vite');
  } catch {
    say('  console: Vite is not installed (dev dependencies omitted?); serving the landing page instead.');
    return false;
  }
  const started = Date.now();
  say(`  console: building web/ into dist/web (${options.force ? 'forced' : state.reason}) …`);
  await buildConsole();
  say(`  console: built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  ensureConsole({ force: process.argv.includes('--force') }).catch((error: unknown) => {
    process.stderr.write(`console build failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
