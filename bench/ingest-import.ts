/**
 * The measured side of the ingest benchmark: one Shutong import (prepareImport + run, as a data
 * steward, the path the API and `shutong import` take), alone in its own process so that its peak
 * resident memory is its own and not the CSV generator's. Prints one JSON line.
 *
 *   node --import tsx bench/ingest-import.ts <database url> <resource code> <file> [rows]
 *
 * The file's name decides its format, as an upload's does.
 *
 * `rows` turns the bulk path off: the file is loaded row by row, as a file COPY cannot take as it is would be.
 */
import path from 'node:path';
import { loadConfig } from '../src/core/config.ts';
import { cliCtx } from '../src/core/context.ts';
import { openDatabase } from '../src/core/db.ts';
import { stewardUsername } from '../src/demo/city.ts';
import { prepareImport } from '../src/ingest/service.ts';

const [url, code, file, loader] = process.argv.slice(2);
if (!url || !code || !file) {
  console.error('usage: ingest-import.ts <database url> <resource code> <csv file>');
  process.exit(2);
}
const database = await openDatabase({ url, poolSize: 4 });
try {
  const user = await database.db
    .selectFrom('users')
    .select(['id', 'username', 'org_id', 'roles'])
    .where('username', '=', stewardUsername('health'))
    .executeTakeFirstOrThrow();
  const ctx = cliCtx(database.db, loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'warn' }), {
    kind: 'cli',
    credentialId: 'cli',
    userId: user.id,
    username: user.username,
    orgId: user.org_id,
    roles: user.roles,
    scopes: 'all',
  });
  const baselineRss = process.memoryUsage().rss;
  let sampledPeak = baselineRss;
  const sampler = setInterval(() => {
    sampledPeak = Math.max(sampledPeak, process.memoryUsage().rss);
  }, 20);
  const started = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  const prepared = await prepareImport(ctx, code, file, {
    sourceName: path.basename(file),
    bulk: loader !== 'rows',
  });
  const prepareSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const result = await prepared.run();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  clearInterval(sampler);
  console.log(
    JSON.stringify({
      rows: result.rows,
      badRows: result.badRows,
      bulk: result.bulk,
      seconds,
      prepareSeconds,
      // Every thread of the process (the classification worker's too): Shutong's own work, whatever the load.
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      baselineRssMb: baselineRss / 2 ** 20,
      sampledPeakRssMb: sampledPeak / 2 ** 20,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
    }),
  );
} finally {
  await database.close();
}
