import { Command, InvalidArgumentError, Option } from 'commander';
import { openConfiguredDatabase, startShutong } from './app.ts';
import { auditCommands, witnessCommands } from './audit/cli.ts';
import { classifyCommand } from './classify/cli.ts';
import { SCOPES } from './core/auth.ts';
import { loadConfig } from './core/config.ts';
import { cliCtx } from './core/context.ts';
import type { DatabaseHandle } from './core/db.ts';
import { AppError } from './core/errors.ts';
import { migrate } from './core/migrate.ts';
import { type Role, STAFF_ROLES } from './core/tables.ts';
import { seedDemo } from './demo/seed.ts';
import * as identity from './identity/service.ts';
import { importCommand } from './ingest/cli.ts';
import { registryCommands } from './registry/cli.ts';
import { VERSION } from './server.ts';
import { servicesCommands } from './services/cli.ts';
import { contractCommands } from './sharing/cli.ts';

const config = loadConfig();

/** Opens the configured database (waiting briefly for another CLI process on embedded storage). */
async function withDatabase<T>(work: (database: DatabaseHandle) => Promise<T>): Promise<T> {
  const database = await openConfiguredDatabase(config, 30_000);
  try {
    await migrate(database.db);
    return await work(database);
  } finally {
    await database.close();
  }
}

function parseRoles(value: string): Role[] {
  const roles = value.split(',').map((r) => r.trim());
  const unknown = roles.filter((r) => !(STAFF_ROLES as readonly string[]).includes(r));
  if (unknown.length > 0)
    throw new InvalidArgumentError(`unknown role(s) ${unknown.join(', ')}; one of ${STAFF_ROLES.join(', ')}`);
  return roles as Role[];
}

function parseScopes(value: string): string[] {
  const scopes = value.split(',').map((s) => s.trim());
  const unknown = scopes.filter((s) => !(s in SCOPES));
  if (unknown.length > 0) {
    throw new InvalidArgumentError(
      `unknown scope(s) ${unknown.join(', ')}; one of ${Object.keys(SCOPES).join(', ')}`,
    );
  }
  return scopes;
}

const program = new Command()
  .name('shutong')
  .description(
    '数通 Shutong — trusted public data space. Configuration comes from the environment (see README).',
  )
  .version(VERSION);

program
  .command('serve')
  .description('start the API server (migrates the database and seeds the demo city on first start)')
  .action(async () => {
    const running = await startShutong(config);
    const shutdown = async (signal: string) => {
      running.app.log.info({ signal }, 'shutting down');
      await running.stop();
      process.exit(0);
    };
    process.once('SIGINT', () => void shutdown('SIGINT'));
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
  });

program
  .command('migrate')
  .description('apply pending database migrations (safe to run from several processes at once)')
  .action(async () => {
    const database = await openConfiguredDatabase(config, 30_000);
    try {
      const ran = await migrate(database.db);
      console.log(ran.length > 0 ? `applied: ${ran.join(', ')}` : 'database is up to date');
    } finally {
      await database.close();
    }
  });

program
  .command('demo')
  .description('seed the demo city 云岚市 again: adds what is missing, keeps what exists')
  .option('--rows <n>', 'then load a new version of every demo resource with n generated rows', (value) => {
    if (!/^[1-9]\d{0,8}$/.test(value)) throw new InvalidArgumentError('must be a whole number ≥ 1');
    return Number(value);
  })
  .action(async (opts: { rows?: number }) => {
    await withDatabase(async (database) => {
      const result = await seedDemo(cliCtx(database.db, config), { force: true, rows: opts.rows });
      console.log(
        `demo city seeded: ${result.organizations} organizations and ${result.users} users added, ` +
          `${result.resources} resources registered, ${result.versions} data versions loaded`,
      );
      if (result.dataBusy) console.error('another process is loading the demo data; run this again later');
    });
  });

const users = program.command('users').description('manage user accounts');
users
  .command('create')
  .description('create a user in an organization (password from --password or the SHUTONG_PASSWORD variable)')
  .requiredOption('--org <id-or-credit-code>', 'organization id (org_…) or unified social credit code')
  .requiredOption('--username <name>', 'login name (letters, digits, . _ -)')
  .option('--display-name <name>', 'name shown in the console')
  .addOption(
    new Option('--roles <list>', `comma-separated: ${STAFF_ROLES.join(', ')}`)
      .argParser(parseRoles)
      .makeOptionMandatory(),
  )
  .option('--password <password>', 'initial password (at least 10 characters); prefer SHUTONG_PASSWORD')
  .action(
    async (opts: {
      org: string;
      username: string;
      displayName?: string;
      roles: Role[];
      password?: string;
    }) => {
      const password = opts.password ?? process.env.SHUTONG_PASSWORD;
      if (!password) throw new InvalidArgumentError('give --password or set SHUTONG_PASSWORD');
      await withDatabase(async (database) => {
        const org = await database.db
          .selectFrom('organizations')
          .select('id')
          .where((eb) => eb.or([eb('id', '=', opts.org), eb('uscc', '=', opts.org.toUpperCase())]))
          .executeTakeFirst();
        if (!org) throw new AppError('NOT_FOUND', { field: 'org', value: opts.org });
        const user = await identity.createUser(cliCtx(database.db, config), {
          orgId: org.id,
          username: opts.username,
          displayName: opts.displayName ?? opts.username,
          password,
          roles: opts.roles,
        });
        console.log(JSON.stringify(user, null, 2));
      });
    },
  );

const keys = program.command('keys').description('manage API keys');
keys
  .command('create')
  .description("create an API key for a user's organization; the secret is printed once")
  .requiredOption('--user <username>', 'the user the key acts for')
  .requiredOption('--name <name>', 'what the key is for')
  .addOption(
    new Option('--scopes <list>', `comma-separated: ${Object.keys(SCOPES).join(', ')}`)
      .argParser(parseScopes)
      .makeOptionMandatory(),
  )
  .option('--expires-at <iso-time>', 'expiry, e.g. 2027-12-31T00:00:00Z')
  .action(async (opts: { user: string; name: string; scopes: string[]; expiresAt?: string }) => {
    await withDatabase(async (database) => {
      const principal = await identity.actingAs(database.db, { username: opts.user });
      const key = await identity.createApiKey(cliCtx(database.db, config, principal), {
        name: opts.name,
        scopes: opts.scopes,
        expiresAt: opts.expiresAt,
      });
      console.log(JSON.stringify(key, null, 2));
      console.error('Store the secret now: it is shown only once. / 请立即保存密钥，仅显示一次。');
    });
  });

auditCommands(program, config, withDatabase);
witnessCommands(program);
registryCommands(program);
contractCommands(program);
importCommand(program, config, withDatabase);
classifyCommand(program);
servicesCommands(program, config, withDatabase);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  const details =
    error instanceof AppError && Object.keys(error.details).length > 0
      ? ` ${JSON.stringify(error.details)}`
      : '';
  console.error(`shutong: ${message}${details}`);
  process.exit(error instanceof AppError || error instanceof InvalidArgumentError ? 2 : 1);
}
