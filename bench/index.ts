/**
 * `npm run bench`: runs every benchmark module in turn on a real PostgreSQL server and prints
 * each one's table, then every goal with its measured value. Not a test: nothing here fails the
 * build; a missed goal is reported (and sets the exit code) for a person to look at.
 *
 *   BENCH_DATABASE_URL=postgres://user@host:5432/db npm run bench      (default: the local test server)
 *   npm run bench -- ingest search                                      (only these modules)
 *
 * A module is `bench/<name>.bench.ts` (or `bench/audit.ts`) exporting `run(ctx)`; it creates its
 * own scratch database on the server and drops it afterwards. It returns a BenchReport, or prints
 * its own results and returns nothing.
 */
import { readdir } from 'node:fs/promises';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { type BenchContext, type BenchReport, DEFAULT_BENCH_DATABASE_URL } from './support.ts';

// Modules that read the variable themselves (bench/audit.ts) see the same server.
process.env.BENCH_DATABASE_URL ||= DEFAULT_BENCH_DATABASE_URL;
const ctx: BenchContext = { serverUrl: process.env.BENCH_DATABASE_URL };

const nameOf = (file: string) => file.replace(/(\.bench)?\.ts$/, '');
const only = process.argv.slice(2);
const files = (await readdir(import.meta.dirname))
  .filter((f) => f.endsWith('.bench.ts') || f === 'audit.ts')
  .filter((f) => only.length === 0 || only.includes(nameOf(f)))
  .sort();

function print(report: BenchReport): void {
  console.log(`\n${report.title}`);
  console.table(report.table);
  for (const goal of report.goals) {
    console.log(`  ${goal.met ? '✓' : '✗'} ${goal.name}: ${goal.value} (goal ${goal.goal})`);
  }
  for (const note of report.notes ?? []) console.log(`  · ${note}`);
}

const server = new URL(ctx.serverUrl);
console.log(
  `Shutong benchmarks — ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim()}), ${Math.round(os.totalmem() / 2 ** 30)} GB, ` +
    `Node ${process.version}, PostgreSQL at ${server.host}${server.pathname}`,
);
const goals: BenchReport['goals'] = [];
const failed: string[] = [];
for (const file of files) {
  const name = nameOf(file);
  const module = (await import(pathToFileURL(`${import.meta.dirname}/${file}`).href)) as {
    run?: (ctx: BenchContext) => Promise<BenchReport | undefined>;
  };
  if (typeof module.run !== 'function') {
    console.log(`\n[${name}] skipped: exports no run(ctx)`);
    continue;
  }
  console.log(`\n[${name}] running…`);
  const started = Date.now();
  try {
    const report = await module.run(ctx);
    if (report) {
      print(report);
      goals.push(...report.goals);
    }
    console.log(`[${name}] done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } catch (error) {
    failed.push(name);
    console.error(`[${name}] failed:`, error);
  }
}

if (goals.length > 0) {
  console.log('\nGoals');
  for (const goal of goals)
    console.log(`  ${goal.met ? '✓' : '✗'} ${goal.name}: ${goal.value} (goal ${goal.goal})`);
}
if (failed.length > 0) console.log(`\nFailed: ${failed.join(', ')}`);
if (failed.length > 0 || goals.some((g) => !g.met)) process.exitCode = 1;
