import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/core/db.ts';
import { DEMO_ORGANIZATIONS, DEMO_USERS } from '../src/demo/city.ts';
import { DEMO_INDICATOR_ACCOUNTS } from '../src/demo/indicators.ts';
import { DEMO_RESOURCES } from '../src/demo/resources.ts';
import { DEMO_SERVICE_ACCOUNTS } from '../src/demo/services.ts';
import { BIN, freshDatabase, type RunResult, runCli } from './helpers.ts';

/**
 * Shutong as separate processes, the way operators run it: `shutong migrate`, `shutong serve`
 * and the CLI commands, against a PostgreSQL server (TEST_DATABASE_URL) or an embedded data
 * directory otherwise.
 */
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface Target {
  env: Record<string, string>;
  server: boolean;
}

async function scratchTarget(): Promise<Target> {
  if (process.env.TEST_DATABASE_URL) {
    const scratch = await freshDatabase();
    // The processes open their own connections; this handle only owns the database's life.
    await scratch.database.close();
    cleanups.push(() => scratch.drop());
    return { env: { DATABASE_URL: scratch.url! }, server: true };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shutong-proc-'));
  cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  return { env: { DATA_DIR: dir }, server: false };
}

const run = runCli;

function serve(
  env: Record<string, string>,
  port: number,
): { child: ChildProcess; exited: Promise<RunResult> } {
  const child = spawn(process.execPath, [BIN, 'serve'], {
    env: { ...process.env, DATABASE_URL: '', DATA_DIR: '', LOG_LEVEL: 'warn', PORT: String(port), ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<RunResult>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  cleanups.push(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  });
  return { child, exited };
}

async function waitReady(port: number, timeoutMs = 240_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (res.status === 200) return true;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

const freePort = () => 20_000 + Math.floor(Math.random() * 20_000);

async function countRows(
  target: Target,
  table: 'schema_migrations' | 'users' | 'organizations' | 'resources' | 'dataset_versions',
) {
  const database = await openDatabase({
    url: target.env.DATABASE_URL,
    dataDir: target.env.DATA_DIR,
    lockWaitMs: 10_000,
  });
  try {
    const key = sql.ref(table === 'schema_migrations' ? 'version' : 'id');
    const { rows } = await sql<{ n: number; distinct_n: number }>`
      select count(*)::int as n, count(distinct ${key})::int as distinct_n from ${sql.table(table)}`.execute(
      database.db,
    );
    return rows[0]!;
  } finally {
    await database.close();
  }
}

describe('two processes migrating one database at once', () => {
  it('both succeed and every migration is applied exactly once', async () => {
    const target = await scratchTarget();
    const [a, b] = await Promise.all([run(['migrate'], target.env), run(['migrate'], target.env)]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const outputs = [a.stdout, b.stdout].sort();
    expect(outputs[0]).toContain('applied: 0001_identity');
    expect(outputs[1]).toContain('database is up to date');
    const migrations = await countRows(target, 'schema_migrations');
    expect(migrations.n).toBe(migrations.distinct_n);
    expect(migrations.n).toBeGreaterThan(0);
  });
});

describe('two servers starting at once', () => {
  it('on a PostgreSQL server both come up and the demo city is seeded once; embedded, the second is refused clearly', async () => {
    const target = await scratchTarget();
    const [portA, portB] = [freePort(), freePort() + 1];
    const a = serve(target.env, portA);
    const b = serve(target.env, portB);
    if (target.server) {
      expect(await waitReady(portA)).toBe(true);
      expect(await waitReady(portB)).toBe(true);
      const login = await fetch(`http://127.0.0.1:${portB}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: 'shutong-demo' }),
      });
      expect(login.status).toBe(200);
      const users = await countRows(target, 'users');
      expect(users.n).toBe(DEMO_USERS.length + DEMO_SERVICE_ACCOUNTS.users + DEMO_INDICATOR_ACCOUNTS.users);
      // One process loaded the demo data while the other served: each resource once, one version each.
      expect((await countRows(target, 'resources')).n).toBe(DEMO_RESOURCES.length);
      expect((await countRows(target, 'dataset_versions')).n).toBe(DEMO_RESOURCES.length);
      return;
    }
    const first = await Promise.race([a.exited.then(() => 'a'), b.exited.then(() => 'b')]);
    const loser = first === 'a' ? await a.exited : await b.exited;
    expect(loser.code).not.toBe(0);
    expect(loser.stderr).toMatch(/in use by process \d+/);
    expect(await waitReady(first === 'a' ? portB : portA)).toBe(true);
  });
});

describe('a server restarted on the same data', () => {
  it('reuses the data and does not seed twice', async () => {
    const target = await scratchTarget();
    const port = freePort();
    const first = serve(target.env, port);
    expect(await waitReady(port)).toBe(true);
    first.child.kill('SIGTERM');
    const ended = await first.exited;
    expect(ended.code).toBe(0);
    expect(ended.stdout).toContain('demo city 云岚市 seeded');
    const second = serve(target.env, port);
    expect(await waitReady(port)).toBe(true);
    second.child.kill('SIGTERM');
    const again = await second.exited;
    expect(again.stdout).not.toContain('seeded');
    // The city's, the enterprise the services seeding takes from the register, 西湖区's two
    // reporting organizations (one-form reporting), and the built-in public of citizens (migration 0029).
    expect((await countRows(target, 'organizations')).n).toBe(
      DEMO_ORGANIZATIONS.length +
        DEMO_SERVICE_ACCOUNTS.organizations +
        DEMO_INDICATOR_ACCOUNTS.organizations +
        1,
    );
    // Two starts one after the other, the first seeding the whole city: each may take waitReady's
    // four minutes on a loaded CI machine (one took more than the suite's three in all).
  }, 600_000);
});

describe('command line', () => {
  it('prints help for every command', async () => {
    const commands = [
      ['--help'],
      ['serve', '--help'],
      ['migrate', '--help'],
      ['demo', '--help'],
      ['users', 'create', '--help'],
      ['keys', 'create', '--help'],
    ];
    // Side by side: each is a process start, nothing they share.
    const results = await Promise.all(commands.map((args) => run(args, {})));
    results.forEach((res, i) => {
      expect(res.code, commands[i]!.join(' ')).toBe(0);
      expect(res.stdout).toContain('Usage: shutong');
    });
  });

  it('creates users and API keys, re-seeds the demo without duplicates, and refuses bad input clearly', async () => {
    const target = await scratchTarget();
    const seeded = await run(['demo'], target.env);
    expect(seeded.code, seeded.stderr).toBe(0);
    expect(seeded.stdout).toContain(
      `${DEMO_ORGANIZATIONS.length} organizations and ${DEMO_USERS.length} users added, ` +
        `${DEMO_RESOURCES.length} resources registered, ${DEMO_RESOURCES.length} data versions loaded`,
    );
    const again = await run(['demo'], target.env);
    expect(again.stdout).toContain('0 organizations and 0 users added, 0 resources registered, 0 data');

    const orgs = await openDatabase({
      url: target.env.DATABASE_URL,
      dataDir: target.env.DATA_DIR,
      lockWaitMs: 10_000,
    });
    const org = await orgs.db
      .selectFrom('organizations')
      .select(['id', 'uscc'])
      .where('name', '=', '云岚市统计局')
      .executeTakeFirstOrThrow();
    await orgs.close();

    const user = await run(
      ['users', 'create', '--org', org.uscc, '--username', 'etl.stats', '--roles', 'data_steward,consumer'],
      { ...target.env, SHUTONG_PASSWORD: 'stats-password-1' },
    );
    expect(user.code, user.stderr).toBe(0);
    expect(JSON.parse(user.stdout)).toMatchObject({
      username: 'etl.stats',
      roles: ['data_steward', 'consumer'],
      orgId: org.id,
    });

    const key = await run(
      ['keys', 'create', '--user', 'etl.stats', '--name', 'etl', '--scopes', 'identity:read'],
      target.env,
    );
    expect(key.code, key.stderr).toBe(0);
    expect(JSON.parse(key.stdout).secret).toMatch(/^stk_/);

    const badRole = await run(
      [
        'users',
        'create',
        '--org',
        org.id,
        '--username',
        'x1',
        '--roles',
        'root',
        '--password',
        'long-enough-1',
      ],
      target.env,
    );
    expect(badRole.code).not.toBe(0);
    expect(badRole.stderr).toContain('unknown role(s) root');
    const badOrg = await run(
      [
        'users',
        'create',
        '--org',
        'nope',
        '--username',
        'x2',
        '--roles',
        'consumer',
        '--password',
        'long-enough-1',
      ],
      target.env,
    );
    expect(badOrg.code).toBe(2);
    expect(badOrg.stderr).toContain('"field":"org"');
    // Seeds the whole demo city (resources and their data) through real processes: minutes on a busy machine.
  }, 240_000);
});
