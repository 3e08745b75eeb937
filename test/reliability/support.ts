/**
 * What the reliability scenarios share: scratch databases on a PostgreSQL server, real
 * `shutong serve` processes, HTTP calls to them, and the resource → application → contract set-up
 * done through the API the way users do it.
 *
 * Everything talks to 127.0.0.1 only. Each scenario makes its own database and stops the processes
 * it started; nothing here touches the machine's PostgreSQL server beyond CREATE/DROP DATABASE.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort, postgresBin, unprivileged } from '../../scripts/processes.ts';
import { loadConfig } from '../../src/core/config.ts';
import { BIN, type RunResult, runNode } from '../helpers.ts';

export { BIN };

import { cliCtx } from '../../src/core/context.ts';
import { type DatabaseHandle, openDatabase } from '../../src/core/db.ts';
import { migrate } from '../../src/core/migrate.ts';
import { seedDemo } from '../../src/demo/seed.ts';

export const SERVER_URL = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
export const DEMO_PASSWORD = 'shutong-demo';
export const MiB = 1024 * 1024;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Measured figures, printed at the end of each scenario (RELIABILITY.md quotes them). */
export function report(scenario: string, figures: Record<string, unknown>): void {
  process.stdout.write(`\n[reliability] ${scenario}: ${JSON.stringify(figures)}\n`);
}

// ------------------------------------------------------------------ temporary things, cleaned up

const cleanups: Array<() => Promise<void> | void> = [];

/** Runs (in reverse order) everything the scenario registered: processes, databases, directories. */
export async function cleanUp(): Promise<void> {
  while (cleanups.length > 0) {
    try {
      await cleanups.pop()!();
    } catch (error) {
      process.stderr.write(`cleanup failed: ${String(error)}\n`);
    }
  }
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `shutong-rel-${prefix}-`));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// ------------------------------------------------------------------ databases

export interface Scratch {
  url: string;
  name: string;
}

/** A new, empty database on the server of `serverUrl`, dropped (with force) at clean-up. */
export async function scratchDatabase(serverUrl = SERVER_URL): Promise<Scratch> {
  const name = `shutong_rel_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  cleanups.push(async () => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      await client.query(`drop database if exists ${name} with (force)`);
    } finally {
      await client.end();
    }
  });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), name };
}

/**
 * Migrates the database and adds the demo organizations and users (not the demo data sets, which
 * would cost seconds per start); the servers then start with SEED_DEMO=false.
 */
export async function prepareDatabase(url: string): Promise<void> {
  const database = await openDatabase({ url, poolSize: 2 });
  try {
    await migrate(database.db);
    const config = loadConfig({ DEMO_PASSWORD, LOG_LEVEL: 'silent', DATA_DIR: os.tmpdir() });
    await seedDemo(cliCtx(database.db, config), { data: false });
  } finally {
    await database.close();
  }
}

/** A direct connection for checking what the servers did (closed at clean-up). */
export async function connect(url: string): Promise<DatabaseHandle> {
  const database = await openDatabase({ url, poolSize: 3 });
  cleanups.push(() => database.close());
  return database;
}

// ------------------------------------------------------------------ a throwaway PostgreSQL cluster

export interface Cluster {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  /** Stops the server as a crash would (immediate: no checkpoint, recovery at the next start). */
  crash(): Promise<void>;
  start(): Promise<void>;
}

/**
 * A PostgreSQL cluster of its own (never the machine's shared server), from the machine's
 * binaries, in a temporary directory, on a free port, stopped and removed at clean-up. initdb
 * and postgres refuse to run as root: as root the cluster belongs to an unprivileged user (the
 * one .ci/run uses), run through runuser.
 */
export async function throwawayCluster(): Promise<Cluster> {
  const bin = postgresBin();
  const user = await unprivileged();
  const as = user.exec;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'shutong-rel-pg-'));
  user.own(dir);
  const port = await freePort();
  const initdb = await as(`${bin}/initdb`, [
    '-D',
    `${dir}/data`,
    '-U',
    'postgres',
    '--auth=trust',
    '-E',
    'UTF8',
    '--locale=C.UTF-8',
    '--no-sync',
  ]);
  if (initdb.code !== 0) throw new Error(`initdb: ${initdb.output}`);
  const pgCtl = (...args: string[]) => as(`${bin}/pg_ctl`, ['-D', `${dir}/data`, ...args]);
  const cluster: Cluster = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async start() {
      const started = await pgCtl(
        '-l',
        `${dir}/log`,
        '-w',
        '-o',
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=60`,
        'start',
      );
      if (started.code !== 0) throw new Error(`pg_ctl start: ${started.output}`);
    },
    async crash() {
      const stopped = await pgCtl('-m', 'immediate', '-w', 'stop');
      if (stopped.code !== 0) throw new Error(`pg_ctl stop: ${stopped.output}`);
    },
  };
  cleanups.push(async () => {
    await pgCtl('-m', 'fast', '-w', 'stop');
    rmSync(dir, { recursive: true, force: true });
  });
  await cluster.start();
  return cluster;
}

// ------------------------------------------------------------------ server processes

export interface Node {
  name: string;
  port: number;
  base: string;
  pid: number;
  child: ChildProcess;
  /** stdout and stderr so far (the last 64 KiB). */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** SIGTERM, then SIGKILL if it has not ended within 10 s. */
  stop(): Promise<void>;
}

export interface NodeOptions {
  name: string;
  databaseUrl: string;
  /** Upload area and audit key file; nodes of one database share it (they must share the key). */
  dataDir: string;
  env?: Record<string, string>;
  /** Wait for /readyz (default true). */
  waitReady?: boolean;
}

/** Starts `shutong serve` as its own process, the way operators run it. */
export async function startNode(options: NodeOptions): Promise<Node> {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, 'serve'], {
    env: {
      ...process.env,
      DATABASE_URL: options.databaseUrl,
      DATA_DIR: options.dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      SEED_DEMO: 'false',
      DEMO_PASSWORD,
      AUDIT_SIGN_INTERVAL_SECONDS: '0',
      // The synthetic rows carry unique notes, so any row access is "risky" (issue #14 s.4) and
      // would need the security officer; these tests measure the servers, not approval policy.
      SHARING_REID_RISK_PERCENT: '100',
      TEST_DATABASE_URL: '',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-64 * 1024);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const alive = () => child.exitCode === null && child.signalCode === null;
  const node: Node = {
    name: options.name,
    port,
    base: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    child,
    output: () => output,
    exited,
    alive,
    async stop() {
      if (!alive()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  cleanups.push(() => node.stop());
  if (options.waitReady !== false) await waitReady(node);
  return node;
}

export async function waitReady(node: Node, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!node.alive()) throw new Error(`${node.name} exited before it was ready:\n${node.output()}`);
    try {
      const res = await fetch(`${node.base}/readyz`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`${node.name} was not ready within ${timeoutMs} ms:\n${node.output()}`);
}

/** Runs a `shutong` command line to its end (never on the test database by accident). */
export function runCli(args: string[], env: Record<string, string>): Promise<RunResult> {
  return runNode([BIN, ...args], { LOG_LEVEL: 'warn', TEST_DATABASE_URL: '', ...env });
}

/** Peak and current resident memory of a process, in MiB (from /proc). */
export function memoryOf(pid: number): { peakMiB: number; rssMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { peakMiB: Math.round(kib('VmHWM') / 1024), rssMiB: Math.round(kib('VmRSS') / 1024) };
}

// ------------------------------------------------------------------ HTTP

export interface Reply {
  status: number;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: replies are checked field by field in the scenarios
  json: any;
  headers: Record<string, string>;
}

export interface CallOptions {
  token?: string | undefined;
  json?: unknown;
  body?: string | Buffer;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export async function call(base: string, method: string, url: string, options: CallOptions = {}) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | Buffer | undefined = options.body;
  if (options.json !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(options.json);
  }
  const res = await fetch(`${base}${url}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
  });
  return toReply(res.status, await res.text(), Object.fromEntries(res.headers));
}

function toReply(status: number, text: string, headers: Record<string, string>): Reply {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status, text, json, headers };
}

/**
 * Streams a file as the raw request body (uploads are never buffered here either). Resolves with
 * the server's answer even when the server answers before it has read the whole body.
 */
export function uploadFile(
  base: string,
  url: string,
  file: string,
  token: string,
  timeoutMs = 60_000,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const target = new URL(`${base}${url}`);
    let answered = false;
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer to the upload of ${file} within ${timeoutMs} ms`));
    }, timeoutMs);
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/octet-stream',
          'content-length': statSync(file).size,
        },
      },
      (res) => {
        answered = true;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve(toReply(res.statusCode ?? 0, text, res.headers as Record<string, string>));
        });
        res.on('error', reject);
      },
    );
    req.on('error', (error) => {
      if (answered) return;
      clearTimeout(timer);
      reject(error);
    });
    const source = createReadStream(file);
    source.on('error', reject);
    source.pipe(req);
  });
}

export async function login(base: string, username: string, password = DEMO_PASSWORD): Promise<string> {
  const res = await call(base, 'POST', '/v1/auth/login', { json: { username, password } });
  if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${res.text}`);
  return res.json.token as string;
}

export async function apiKey(base: string, token: string, scopes: string[], name = 'reliability') {
  const res = await call(base, 'POST', '/v1/api-keys', { token, json: { name, scopes } });
  if (res.status !== 201) throw new Error(`api key: ${res.status} ${res.text}`);
  return { id: res.json.id as string, secret: res.json.secret as string };
}

/** Throws with the reply when the status is not the expected one (for set-up steps). */
export function expectStatus(res: Reply, status: number, what: string): Reply {
  if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status} ${res.text}`);
  return res;
}

// ------------------------------------------------------------------ data and sharing set-up

export const FIELDS = [
  { name: 'record_no', label: '记录编号', dataType: 'text', isKey: true },
  { name: 'district', label: '所属区县', dataType: 'text' },
  { name: 'visits', label: '就诊人次', dataType: 'integer' },
  { name: 'name', label: '姓名', dataType: 'text' },
  { name: 'note', label: '备注', dataType: 'text' },
];
export const DISTRICTS = ['西湖区', '滨江区', '上城区', '拱墅区', '余杭区'];

/** Row i of the generated data sets: deterministic, so any answer can be checked. */
export function row(i: number, tag = 'v') {
  return {
    record_no: `${tag}${String(i).padStart(8, '0')}`,
    district: DISTRICTS[i % DISTRICTS.length]!,
    visits: i % 97,
    name: `张小${i % 1000}`,
    note: `备注${i}`,
  };
}

/**
 * The CSV of rows from..from+count. `rowPath` writes the counts as `+5`: the same values, in a form
 * COPY is not handed as it is, so the import takes the row path (chunks committed as they load,
 * slower) instead of the bulk path (one COPY, all or nothing, quick).
 */
export function csvOf(count: number, tag = 'v', from = 0, options: { rowPath?: boolean } = {}): string {
  const lines = [FIELDS.map((f) => f.name).join(',')];
  const sign = options.rowPath ? '+' : '';
  for (let i = from; i < from + count; i++) {
    const r = row(i, tag);
    lines.push(`${r.record_no},${r.district},${sign}${r.visits},${r.name},${r.note}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function createResource(
  base: string,
  token: string,
  name: string,
  sharingType: 'conditional' | 'unconditional' = 'conditional',
) {
  const res = await call(base, 'POST', '/v1/resources', {
    token,
    json: {
      name,
      theme: 'health',
      updateCycle: 'monthly',
      sharingType,
      sharingConditions: sharingType === 'unconditional' ? '' : '依法履职需要',
      openType: 'not_open',
      fields: FIELDS,
    },
  });
  expectStatus(res, 201, `create resource ${name}`);
  const code = res.json.code as string;
  // Through the catalog review (the steward submits, the bureau publishes) so it takes applications.
  expectStatus(await call(base, 'POST', `/v1/resources/${code}/submit`, { token, json: {} }), 200, 'submit');
  const admin = await login(base, 'admin');
  const published = await call(base, 'POST', `/v1/resources/${code}/publish`, {
    token: admin,
    json: { acceptUnassessed: true },
  });
  expectStatus(published, 200, 'publish');
  return { id: res.json.id as string, code };
}

/**
 * The bureau confirms a published resource again after an import changed its grade (it takes no
 * applications until then); nothing when no review is due. An import that contradicted the
 * declared grades left a flag, which the provider's steward (`steward`) clears first, as the
 * review requires.
 */
export async function reviewed(base: string, code: string, steward?: string): Promise<void> {
  const admin = await login(base, 'admin');
  const resource = expectStatus(
    await call(base, 'GET', `/v1/resources/${code}`, { token: admin }),
    200,
    'read',
  ).json;
  if (!resource.reviewDue) return;
  const reconfirm = () =>
    call(base, 'POST', `/v1/resources/${code}/reconfirm`, { token: admin, json: { acceptUnassessed: true } });
  let res = await reconfirm();
  if (res.status === 409 && res.json.error?.details?.reason === 'grade_flag' && steward) {
    const cleared = await call(base, 'POST', `/v1/resources/${code}/classification/flag/clear`, {
      token: steward,
      json: { reason: '可靠性测试：导入数据为构造样本' },
    });
    expectStatus(cleared, 200, 'clear the grade flag');
    res = await reconfirm();
  }
  expectStatus(res, 200, 'reconfirm');
}

/** Grades every field g1 except `name` (g3, so it is masked): no security review needed. */
export async function gradeFields(db: DatabaseHandle['db'], resourceId: string): Promise<void> {
  for (const f of FIELDS) {
    await db
      .updateTable('resource_fields')
      .set({ grade: f.name === 'name' ? 'g3' : 'g1', detector: f.name === 'name' ? 'person_name' : null })
      .where('resource_id', '=', resourceId)
      .where('name', '=', f.name)
      .execute();
  }
}

export async function importCsv(base: string, token: string, code: string, csv: string, name = 'v.csv') {
  const res = await call(base, 'POST', `/v1/resources/${code}/versions?filename=${name}&wait=true`, {
    token,
    body: csv,
    headers: { 'content-type': 'text/csv' },
  });
  return expectStatus(res, 201, `import into ${code}`).json;
}

export function applicationFor(code: string, overrides: Record<string, unknown> = {}) {
  return {
    resource: code,
    fields: FIELDS.map((f) => f.name),
    purpose: '可靠性测试',
    purposeCategory: 'public_service',
    legalBasis: '《社会救助暂行办法》',
    scenario: '可靠性测试',
    operations: ['rows', 'aggregate'],
    requestedTo: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    ...overrides,
  };
}

/** consumer applies, the steward approves (with `changes`): the contract id. */
export async function contractFor(
  base: string,
  tokens: { consumer: string; steward: string },
  code: string,
  changes: Record<string, unknown> = {},
): Promise<string> {
  const app = expectStatus(
    await call(base, 'POST', '/v1/applications', { token: tokens.consumer, json: applicationFor(code) }),
    201,
    'apply',
  ).json;
  const approved = expectStatus(
    await call(base, 'POST', `/v1/applications/${app.id}/approve`, { token: tokens.steward, json: changes }),
    200,
    'approve',
  ).json;
  if (approved.state !== 'approved') throw new Error(`not approved: ${JSON.stringify(approved)}`);
  return approved.contractId as string;
}

/** The dataset table behind the resource's current version. */
export async function currentTable(db: DatabaseHandle['db'], resourceId: string) {
  const row = await db
    .selectFrom('resources')
    .innerJoin('dataset_versions', 'dataset_versions.id', 'resources.current_version_id')
    .select(['dataset_versions.id', 'dataset_versions.number', 'dataset_versions.table_name'])
    .where('resources.id', '=', resourceId)
    .executeTakeFirstOrThrow();
  return row;
}

/**
 * A resource with `rows` rows served under a contract of the consumer's, as the replica tests
 * read it: created and published, imported, graded (`gradeFields`), reviewed again, applied for and
 * approved, with limits raised out of the way and an API key for the gateway.
 */
export async function servedResource(
  base: string,
  db: DatabaseHandle['db'],
  tokens: { consumer: string; steward: string },
  name: string,
  csv: string,
): Promise<{ resource: { id: string; code: string }; contract: string; key: string }> {
  const resource = await createResource(base, tokens.steward, name);
  await importCsv(base, tokens.steward, resource.code, csv);
  await gradeFields(db, resource.id);
  await reviewed(base, resource.code, tokens.steward);
  const contract = await contractFor(base, tokens, resource.code);
  await db
    .updateTable('contracts')
    .set({ rate_limit_per_minute: 1_000_000, quota_rows_per_day: 100_000_000 })
    .where('id', '=', contract)
    .execute();
  const key = (await apiKey(base, tokens.consumer, ['gateway'])).secret as string;
  return { resource, contract, key };
}

/**
 * The replica tests' revocation check: with replay paused on the replicas (by the caller), the
 * contract is revoked through `base`; the very next page is refused (403 `CONTRACT_NOT_ACTIVE`)
 * although every replica in `replicas` still holds the contract active — so the refusal came from
 * the primary, where admission reads.
 */
export async function revokedWhileReplicasHoldIt(
  base: string,
  steward: string,
  contract: string,
  nextPage: () => Promise<{ status: number; body: { error?: { code?: string } } }>,
  replicas: Array<DatabaseHandle['db']>,
): Promise<void> {
  const revoked = await call(base, 'POST', `/v1/contracts/${contract}/revoke`, {
    token: steward,
    json: { reason: '副本行读取测试：撤销' },
  });
  expectStatus(revoked, 200, 'revoke');
  const after = await nextPage();
  if (after.status !== 403 || after.body.error?.code !== 'CONTRACT_NOT_ACTIVE')
    throw new Error(
      `the page after the revocation: expected 403 CONTRACT_NOT_ACTIVE, got ${after.status} ${JSON.stringify(after.body)}`,
    );
  for (const replica of replicas) {
    const held = await replica
      .selectFrom('contracts')
      .select('state')
      .where('id', '=', contract)
      .executeTakeFirstOrThrow();
    if (held.state !== 'active') throw new Error(`a replica already shows the contract ${held.state}`);
  }
}
