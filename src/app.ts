import type { FastifyInstance } from 'fastify';
import { prepareAuditLog } from './audit/service.ts';
import type { Config } from './core/config.ts';
import { cliCtx } from './core/context.ts';
import { type DatabaseHandle, openDatabase } from './core/db.ts';
import { migrate } from './core/migrate.ts';
import { DEMO_USERS } from './demo/city.ts';
import { DEMO_INDICATOR_USERS } from './demo/indicators.ts';
import { seedDemo } from './demo/seed.ts';
import { buildServer } from './server.ts';

export async function openConfiguredDatabase(config: Config, lockWaitMs = 0): Promise<DatabaseHandle> {
  return openDatabase({
    url: config.databaseUrl,
    readUrl: config.databaseReadUrl,
    dataDir: config.dataDir,
    lockWaitMs,
  });
}

export interface Running {
  app: FastifyInstance;
  database: DatabaseHandle;
  url: string;
  stop(): Promise<void>;
}

/** Opens the database, migrates it, seeds the demo city on first start, and listens. */
export async function startShutong(config: Config): Promise<Running> {
  const database = await openConfiguredDatabase(config);
  try {
    await migrate(database.db);
    // Before anything appends: rows older than the Merkle log join the tree, the signing key exists.
    await prepareAuditLog(database.db, config);
    const seed = config.seedDemo ? await seedDemo(cliCtx(database.db, config)) : undefined;
    const app = await buildServer({ config, database });
    await app.listen({ port: config.port, host: config.host });
    const url = `http://localhost:${config.port}`;
    printBanner(config, database, url, seed?.seeded ?? false);
    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        await app.close();
        await database.close();
      })();
      return stopping;
    };
    return { app, database, url, stop };
  } catch (error) {
    await database.close();
    throw error;
  }
}

function printBanner(config: Config, database: DatabaseHandle, url: string, seededNow: boolean): void {
  const storage =
    database.kind === 'embedded'
      ? `嵌入式 PostgreSQL (PGlite) / embedded PostgreSQL in ${config.dataDir}`
      : config.databaseReadUrl
        ? 'PostgreSQL server (DATABASE_URL), stale-tolerant reads on replicas (DATABASE_READ_URL)'
        : 'PostgreSQL server (DATABASE_URL)';
  const lines = [
    '',
    `  数通 Shutong is running${seededNow ? ' — demo city 云岚市 seeded' : ''}`,
    `  Console     ${url}/`,
    `  API         ${url}/v1`,
    `  API docs    ${url}/docs   (OpenAPI: ${url}/openapi.json)`,
    `  Storage     ${storage}`,
    '',
    `  Demo accounts (password: ${config.demoPassword === 'shutong-demo' ? 'shutong-demo' : 'DEMO_PASSWORD'}):`,
    ...[...DEMO_USERS, ...DEMO_INDICATOR_USERS].map(
      (u) => `    ${u.username.padEnd(22)} ${u.roles.join(', ')}`,
    ),
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
