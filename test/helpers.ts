import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import pg from 'pg';
import { type Config, loadConfig } from '../src/core/config.ts';
import { type Ctx, cliCtx } from '../src/core/context.ts';
import { type DatabaseHandle, openDatabase } from '../src/core/db.ts';
import { migrate } from '../src/core/migrate.ts';
import { seedDemo } from '../src/demo/seed.ts';
import { actingAs, LOCAL_CITIZEN_PROVIDER, registerCitizen } from '../src/identity/service.ts';
import { buildServer } from '../src/server.ts';
import { watchReplyShapes } from './support/reply-shape.ts';

export const DEMO_PASSWORD = 'shutong-demo';

/**
 * A throwaway database: a fresh database on the server of TEST_DATABASE_URL when it is set,
 * otherwise an in-memory embedded PostgreSQL. `drop` removes the server database again.
 */
export async function freshDatabase(): Promise<{
  url?: string;
  database: DatabaseHandle;
  drop(): Promise<void>;
}> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    const database = await openDatabase({});
    return { database, drop: () => database.close() };
  }
  const name = `shutong_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ url: url.toString(), poolSize: 5 });
  return {
    url: url.toString(),
    database,
    async drop() {
      await database.close();
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

/**
 * Another node's view of a test app's database: its own connection pool on a PostgreSQL server, so
 * what two nodes do at once really runs at once; on the embedded database, which has one
 * connection, the same handle. `close` closes only a pool opened here.
 */
export async function secondNode(t: Pick<TestApp, 'database'>): Promise<{
  database: DatabaseHandle;
  close(): Promise<void>;
}> {
  const server = process.env.TEST_DATABASE_URL;
  if (!server) return { database: t.database, close: async () => undefined };
  const { rows } = await sql<{ name: string }>`select current_database() as name`.execute(t.database.db);
  const url = new URL(server);
  url.pathname = `/${rows[0]!.name}`;
  const database = await openDatabase({ url: url.toString(), poolSize: 3 });
  return { database, close: () => database.close() };
}

export interface TestApp {
  app: FastifyInstance;
  database: DatabaseHandle;
  config: Config;
  /** Everything the server logged, one JSON line each. */
  logs: string[];
  request(options: InjectOptions & { token?: string }): Promise<LightMyRequestResponse>;
  login(username: string, password?: string): Promise<string>;
  /** A context acting as `username`, as the command line acts, for calling services directly. */
  actAs(username: string): Promise<Ctx>;
  /** A citizen of the local identity provider (registered once), signed in: token and context. */
  citizen(idNumber: string, name: string): Promise<{ token: string; ctx: Ctx }>;
  /**
   * Puts a resource through the catalog review (its provider's steward submits, the bureau's admin
   * publishes, unassessed fields accepted): what tests about later steps start from.
   */
  publish(code: string, stewardToken: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * A Shutong server on a fresh database with the demo city's organizations and users seeded,
 * driven through HTTP injection. `demoData` also registers the demo resources and loads their
 * data: tests that create their own resources want a catalog holding only those.
 */
export async function startTestApp(
  env: Record<string, string> = {},
  options: { demoData?: boolean } = {},
): Promise<TestApp> {
  const { database, drop } = await freshDatabase();
  const config = loadConfig({ DEMO_PASSWORD, LOG_LEVEL: 'info', ...env });
  await migrate(database.db);
  await seedDemo(cliCtx(database.db, config), { data: options.demoData ?? false });
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const lostInReplies: string[] = [];
  const app = await buildServer({
    config,
    database,
    logStream: stream,
    instrument: (app) => watchReplyShapes(app, lostInReplies),
  });
  await app.ready();
  const request = async ({ token, headers, ...options }: InjectOptions & { token?: string }) => {
    const res = await app.inject({
      ...options,
      headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });
    // A field the response schema forgot would vanish from the reply unseen: fail the test instead.
    const lost = lostInReplies.splice(0);
    if (lost.length > 0) throw new Error(`the response schema drops ${lost.join('; ')}`);
    return res;
  };
  const login = async (username: string, password = DEMO_PASSWORD) => {
    const res = await request({ method: 'POST', url: '/v1/auth/login', payload: { username, password } });
    if (res.statusCode !== 200) throw new Error(`login ${username} failed: ${res.statusCode} ${res.body}`);
    return res.json().token as string;
  };
  let admin: string | undefined;
  return {
    app,
    database,
    config,
    logs,
    request,
    login,
    async actAs(username) {
      return cliCtx(database.db, config, await actingAs(database.db, { username }));
    },
    async citizen(idNumber, name) {
      const system = cliCtx(database.db, config);
      const { userId } = await registerCitizen(system, {
        provider: LOCAL_CITIZEN_PROVIDER,
        idNumber,
        name,
        password: DEMO_PASSWORD,
      });
      const res = await request({
        method: 'POST',
        url: '/v1/citizen/login',
        payload: { idNumber, password: DEMO_PASSWORD },
      });
      if (res.statusCode !== 200) throw new Error(`citizen login failed: ${res.statusCode} ${res.body}`);
      const { username } = await database.db
        .selectFrom('users')
        .select('username')
        .where('id', '=', userId)
        .executeTakeFirstOrThrow();
      const principal = await actingAs(database.db, { username });
      return { token: res.json().token as string, ctx: cliCtx(database.db, config, principal) };
    },
    async publish(code, stewardToken) {
      const step = async (event: string, token: string, payload: object) => {
        const res = await request({ method: 'POST', url: `/v1/resources/${code}/${event}`, token, payload });
        if (res.statusCode !== 200) throw new Error(`${event} ${code} failed: ${res.statusCode} ${res.body}`);
      };
      admin ??= await login('admin');
      await step('submit', stewardToken, {});
      await step('publish', admin, { acceptUnassessed: true });
    },
    async close() {
      await app.close();
      await drop();
    },
  };
}

export interface ResourceSpec {
  name: string;
  theme?: string;
  sharingType?: string;
  openType?: string;
  fields: Array<{ name: string; label: string; dataType: string; isKey?: boolean }>;
  /** Grade (and detector) per field, as classification would set them; unlisted fields stay unassessed. */
  grades?: Record<string, [string, string | null]>;
  rows: Array<Record<string, unknown>>;
}

/**
 * A catalog resource as later steps start from it: registered by `stewardToken`, its fields graded,
 * its rows loaded from a CSV and published through the review. Returns its code and id.
 */
export async function loadedResource(t: TestApp, stewardToken: string, spec: ResourceSpec) {
  const sharingType = spec.sharingType ?? 'conditional';
  const res = await t.request({
    method: 'POST',
    url: '/v1/resources',
    token: stewardToken,
    payload: {
      name: spec.name,
      theme: spec.theme ?? 'health',
      updateCycle: 'monthly',
      sharingType,
      sharingConditions: sharingType === 'unconditional' ? '' : '依法履职需要',
      openType: spec.openType ?? 'not_open',
      fields: spec.fields,
    },
  });
  if (res.statusCode !== 201) throw new Error(`register ${spec.name}: ${res.statusCode} ${res.body}`);
  const created = res.json() as { id: string; code: string };
  for (const [field, [grade, detector]] of Object.entries(spec.grades ?? {})) {
    await t.database.db
      .updateTable('resource_fields')
      .set({ grade: grade as never, detector })
      .where('resource_id', '=', created.id)
      .where('name', '=', field)
      .execute();
  }
  const quote = (v: unknown) => `"${String(v).replaceAll('"', '""')}"`;
  const names = spec.fields.map((f) => f.name);
  const csv = `${names.join(',')}\n${spec.rows.map((r) => names.map((n) => quote(r[n])).join(',')).join('\n')}\n`;
  const up = await t.request({
    method: 'POST',
    url: `/v1/resources/${created.code}/versions?filename=v.csv&wait=true`,
    token: stewardToken,
    headers: { 'content-type': 'text/csv' },
    payload: csv,
  });
  if (up.statusCode !== 201) throw new Error(`load ${spec.name}: ${up.statusCode} ${up.body}`);
  await t.publish(created.code, stewardToken);
  return created;
}

/** The command line as `npx shutong` runs it. */
export const BIN = path.resolve('bin/shutong.js');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node <args>` to its end with `env` over this process's environment. */
export function runNode(args: string[], env: Record<string, string | undefined>): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs `shutong <args>` with no database or data directory unless `env` gives them. */
export function runCli(args: string[], env: Record<string, string>): Promise<RunResult> {
  return runNode([BIN, ...args], { DATABASE_URL: '', DATA_DIR: '', LOG_LEVEL: 'warn', ...env });
}
