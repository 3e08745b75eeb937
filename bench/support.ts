import { randomBytes } from 'node:crypto';
import { statfs } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { type Config, loadConfig } from '../src/core/config.ts';
import { type Ctx, cliCtx } from '../src/core/context.ts';
import { type DatabaseHandle, type Db, openDatabase } from '../src/core/db.ts';
import { migrate } from '../src/core/migrate.ts';
import { stewardUsername } from '../src/demo/city.ts';
import { seedDemo } from '../src/demo/seed.ts';

/** What `npm run bench` hands every benchmark module's `run(ctx)`. */
export interface BenchContext {
  /** The PostgreSQL server benchmarks run on (BENCH_DATABASE_URL). */
  serverUrl: string;
}

/** A benchmark's outcome: printed as a table, its goals summed up at the end of the run. */
export interface BenchReport {
  title: string;
  table: Record<string, Record<string, string | number>>;
  goals: Array<{ name: string; value: string; goal: string; met: boolean }>;
  notes?: string[];
}

export const DEFAULT_BENCH_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

async function admin(serverUrl: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

export interface ScratchDatabase {
  url: string;
  database: DatabaseHandle;
  /** The platform itself at the command line, on this database. */
  ctx: Ctx;
  /** The demo data steward of an organization (`health`, `market`, …). */
  stewardCtx(org: string): Promise<Ctx>;
  drop(): Promise<void>;
}

/**
 * A fresh database on the benchmark server, migrated, with the demo city's organizations and
 * users (no demo data: each benchmark brings its own). `drop()` removes it again.
 */
export async function scratchDatabase(ctx: BenchContext, prefix: string): Promise<ScratchDatabase> {
  const name = `shutong_bench_${prefix}_${randomBytes(4).toString('hex')}`;
  await admin(ctx.serverUrl, `create database ${name}`);
  const url = new URL(ctx.serverUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ url: url.toString(), poolSize: 10 });
  const drop = async () => {
    await database.close();
    await admin(ctx.serverUrl, `drop database if exists ${name} with (force)`);
  };
  try {
    await migrate(database.db);
    const config = loadConfig({ DATABASE_URL: url.toString(), LOG_LEVEL: 'warn' });
    const platform = cliCtx(database.db, config);
    await seedDemo(platform, { data: false });
    return {
      url: url.toString(),
      database,
      ctx: platform,
      async stewardCtx(org) {
        const user = await database.db
          .selectFrom('users')
          .select(['id', 'username', 'org_id', 'roles'])
          .where('username', '=', stewardUsername(org))
          .executeTakeFirstOrThrow();
        return cliCtx(database.db, config, {
          kind: 'cli',
          credentialId: 'cli',
          userId: user.id,
          username: user.username,
          orgId: user.org_id,
          roles: user.roles,
          scopes: 'all',
        });
      },
      drop,
    };
  } catch (error) {
    await drop();
    throw error;
  }
}

export const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** The value at quantile q (0…1) of sorted numbers, nearest rank. */
export function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export interface ProcessInfo {
  pid: string;
  ppid: string;
  cmdline: string;
}

/**
 * CPU ticks used so far by the processes `groupOf` names, per process (from /proc): read before
 * and after a run, `cpuSecondsByGroup` gives what each group used in between.
 */
export async function cpuTicks(
  groupOf: (p: ProcessInfo) => string | null,
): Promise<Map<string, { group: string; ticks: number }>> {
  const { readdir, readFile } = await import('node:fs/promises');
  const ticks = new Map<string, { group: string; ticks: number }>();
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ');
      // After the command's closing parenthesis: state, ppid, …; utime and stime are the 12th and 13th.
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const group = groupOf({ pid, ppid: fields[1]!, cmdline });
      if (group) ticks.set(pid, { group, ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // The process ended between listing and reading.
    }
  }
  return ticks;
}

/** CPU seconds per group between two readings (a process that ended in between is lost). */
export function cpuSecondsByGroup(
  before: Map<string, { ticks: number }>,
  after: Map<string, { group: string; ticks: number }>,
): Map<string, number> {
  const seconds = new Map<string, number>();
  for (const [pid, { group, ticks }] of after) {
    const used = (ticks - (before.get(pid)?.ticks ?? 0)) / TICKS_PER_SECOND;
    seconds.set(group, (seconds.get(group) ?? 0) + used);
  }
  return seconds;
}

/**
 * Calls into a built server for a bench's set-up (no sockets): JSON in and out, a bearer token when
 * given, and any answer of 300 or more thrown — a set-up step that fails must stop the bench. The
 * four demo roles a gateway scenario needs log in with the demo password.
 */
export async function injector(app: FastifyInstance, config: Config) {
  const inject = async (
    method: 'GET' | 'POST' | 'PUT',
    url: string,
    token: string | undefined,
    payload?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const res = await app.inject({
      method,
      url,
      headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(payload === undefined ? {} : { payload: payload as string }),
    });
    if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
    return res.json();
  };
  const login = async (username: string) =>
    (await inject('POST', '/v1/auth/login', undefined, { username, password: config.demoPassword }))
      .token as string;
  return {
    inject,
    steward: await login('steward.health'),
    consumer: await login('consumer.civil'),
    security: await login('security'),
    admin: await login('admin'),
  };
}

// ------------------------------------------------------------------ 100-million-row benches

export const gb = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GB`;

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
};

/** Progress on stderr, stamped with the bench's name and the time. */
export const stampedLog = (tag: string) => (text: string) =>
  console.error(`[${tag} ${new Date().toISOString().slice(11, 19)}] ${text}`);

/**
 * A scale bench's size and load deadline from `<PREFIX>_ROWS` (default 100M) and
 * `<PREFIX>_LOAD_UNTIL` (an instant after which the load stops and the size reached is reported),
 * refused up front when the disk cannot hold about `bytesPerRow` a row.
 */
export async function scaleOf(prefix: string, bytesPerRow: number) {
  const rows = Number(process.env[`${prefix}_ROWS`] ?? 100_000_000);
  const until = process.env[`${prefix}_LOAD_UNTIL`];
  const disk = await statfs('/');
  const free = disk.bavail * disk.bsize;
  if (free < rows * bytesPerRow)
    throw new Error(`${gb(free)} free, the load needs about ${gb(rows * bytesPerRow)}`);
  return { rows, loadUntil: until ? Date.parse(until) : null, free };
}

/**
 * Through the catalog review and an application to a contract the consumer's API key can read
 * rows with, its rate and quota lifted so the bench measures the path, not the limits.
 */
export async function grantRows(
  db: Db,
  who: Awaited<ReturnType<typeof injector>>,
  resourceCode: string,
  fields: string[],
  rowFilter?: Record<string, unknown>,
): Promise<{ contractId: string; key: string }> {
  const { inject, steward, admin, consumer, security } = who;
  await inject('POST', `/v1/resources/${resourceCode}/submit`, steward, {});
  await inject('POST', `/v1/resources/${resourceCode}/publish`, admin, { acceptUnassessed: true });
  const application = await inject('POST', '/v1/applications', consumer, {
    resource: resourceCode,
    fields,
    purpose: '基准测试',
    purposeCategory: 'research',
    legalBasis: '基准测试',
    scenario: '基准测试',
    operations: ['rows'],
    requestedTo: new Date(Date.now() + 30 * 86_400_000).toISOString(),
  });
  // Fields above g2 (or a row filter) need the security officer's sign-off after the steward's.
  let approved = await inject('POST', `/v1/applications/${application.id}/approve`, steward, {
    ...(rowFilter ? { rowFilter } : {}),
  });
  if (!approved.contractId)
    approved = await inject('POST', `/v1/applications/${application.id}/approve`, security, {});
  const contractId = approved.contractId as string;
  await db
    .updateTable('contracts')
    .set({ rate_limit_per_minute: 10_000_000, quota_rows_per_day: 1e12 })
    .where('id', '=', contractId)
    .execute();
  const key = (await inject('POST', '/v1/api-keys', consumer, { name: 'bench', scopes: ['gateway'] }))
    .secret as string;
  return { contractId, key };
}
