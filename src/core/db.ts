import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PGlite } from '@electric-sql/pglite';
import { pgcrypto } from '@electric-sql/pglite/contrib/pgcrypto';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  Kysely,
  PostgresDialect,
  type QueryResult,
  type RawBuilder,
  sql,
  type Transaction,
} from 'kysely';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { type DataDirLock, lockDataDir } from './datadir-lock.ts';
import { PGliteDialect } from './pglite-dialect.ts';
import type { Database } from './tables.ts';

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
/** Either the database or an open transaction: stores take this so callers choose the boundary. */
export type Executor = Db | Tx;

export interface DatabaseHandle {
  db: Db;
  /**
   * Where reads that tolerate staleness go: the replicas' pool when DATABASE_READ_URL is set,
   * otherwise `db` itself. Nothing that decides access reads through it.
   */
  readDb: Db;
  kind: 'postgres' | 'embedded';
  /** Answers within the timeout whether the database takes writes (reachable and not read-only). */
  ping(timeoutMs?: number): Promise<boolean>;
  /**
   * False while the primary is known to be away (a connection-level failure was seen and no probe
   * has succeeded since): requests answer 503 at once instead of queueing for a connection.
   */
  available(): boolean;
  /** A request saw the primary away or read-only: fail fast until a probe finds it writable again. */
  markUnavailable(): void;
  /**
   * True at once when available; early in an outage, true when a probe finds the primary back
   * within the ride-through window; false (refuse now) once the outage has lasted longer.
   */
  waitAvailable(): Promise<boolean>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgres://… for a server; otherwise embedded. */
  url?: string | undefined;
  /** Embedded data directory; absent with no url means in memory (tests). */
  dataDir?: string | undefined;
  /** How long an embedded open waits for another process to release the data directory. */
  lockWaitMs?: number;
  poolSize?: number;
  /** postgres://… of the read replicas (DATABASE_READ_URL); only with `url`. */
  readUrl?: string | undefined;
}

// int8 (counts, sequence numbers) as JavaScript numbers on both drivers; PGlite already does.
pg.types.setTypeParser(20, (value) => Number(value));
// SQL dates stay 'YYYY-MM-DD' text: a Date would shift them by the process's time zone.
const DATE_OID = 1082;
pg.types.setTypeParser(DATE_OID, (value) => value);
const pgliteOptions = { parsers: { [DATE_OID]: (value: string) => value }, extensions: { pgcrypto } };

/**
 * Bulk loading in CSV form: COPY FROM STDIN on a server, COPY from a blob on PGlite. Kept beside
 * each Kysely instance (not on Ctx) so any service holding `ctx.db` can load in bulk.
 */
/**
 * A LIKE/ILIKE pattern matching `text` anywhere, its wildcards (% _ and the escape \\) taken
 * literally. PostgreSQL's default LIKE escape is the backslash. Bind it as a parameter.
 */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export type CsvCopier = (qualifiedTable: string, columns: string[], csv: string) => Promise<void>;
const copiers = new WeakMap<Db, CsvCopier>();

export function copyCsv(db: Db, qualifiedTable: string, columns: string[], csv: string): Promise<void> {
  const copier = copiers.get(db);
  if (!copier) throw new Error('this database handle cannot bulk load');
  return copier(qualifiedTable, columns, csv);
}

/**
 * COPY … FROM STDIN fed from a stream of bytes, in a transaction of its own: `session` statements
 * run first (SET LOCAL …), and the load commits only if `accept` agrees with the row count COPY
 * reports. Servers only: PGlite takes COPY input as one blob, so it has none.
 */
export type StreamCopier = (
  copyStatement: string,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: { session?: string[]; accept?: (rows: number) => boolean },
) => Promise<{ rows: number; committed: boolean }>;
const streamCopiers = new WeakMap<Db, StreamCopier>();

/**
 * COPY … TO STDOUT read as a stream of bytes on a connection of its own, in a read-only
 * repeatable-read transaction that imports `snapshot` (pg_export_snapshot() of a transaction the
 * caller keeps open), so it reads exactly the rows that transaction sees. The bytes come as the
 * server sends them, without the driver building a row object per row. Servers only: PGlite is
 * one session and takes no snapshot imports. Stopping early drops the connection (it is mid-COPY).
 */
export type SnapshotCopier = (
  snapshot: string,
  copyStatement: string,
) => AsyncGenerator<Buffer, void, undefined>;
const snapshotCopiers = new WeakMap<Db, SnapshotCopier>();

export function snapshotCopier(db: Db): SnapshotCopier | undefined {
  return snapshotCopiers.get(db);
}

// What pg_export_snapshot() returns ("%08X-%08X-%d" since PostgreSQL 10).
const SNAPSHOT_ID = /^[0-9A-F]+-[0-9A-F]+(-\d+)?$/;

/**
 * Handles over a server's pool: each query may get another connection, so a scan leases one for
 * its cursor's life. PGlite is one session already, and leasing it would stop every other request.
 */
const pooled = new WeakSet<Db>();

export function streamCopier(db: Db): StreamCopier | undefined {
  return streamCopiers.get(db);
}

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;
const copySql = (qualifiedTable: string, columns: string[], source: string) =>
  `COPY ${qualifiedTable} (${columns.map(quoteIdent).join(', ')}) FROM ${source} WITH (FORMAT csv)`;

const PREPARED_MARK = '/* prepared */';

/**
 * Appended to a statement (raw SQL, or a builder's `modifyEnd`) to have a server plan it once per
 * connection and reuse the plan: for statements of fixed text run on every request whose planning
 * costs more than their execution (the gateway's admission: a few milliseconds of planning, a
 * fraction of one to run). Only for fixed text — each distinct text stays prepared on every
 * connection for its life. PGlite runs it as the comment it is.
 */
export const PREPARED = sql.raw(` ${PREPARED_MARK}`);

const statementNames = new Map<string, string>();
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    // Named by content: pg refuses one name for two texts, and equal texts share the plan.
    name = `shutong_${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
    if (statementNames.size < 1_000) statementNames.set(text, name);
  }
  return name;
}

// "cached plan must not change result type": the statement selects `*` of a table that a
// migration has since changed (another node upgraded the schema under a running one).
const CHANGED_RESULT_TYPE = '0A000';

/** Sends marked statements as named (prepared) ones; others as they are. */
function preparing(client: pg.PoolClient) {
  // Looked up on each call, so a wrapper set on pg's prototype later (the bench's timer) still runs.
  const query = (...args: unknown[]): Promise<pg.QueryResult> =>
    (Object.getPrototypeOf(client).query as (...a: unknown[]) => Promise<pg.QueryResult>).apply(client, args);
  // Bumped when a plan went stale: the next preparation takes a new name (the old statement stays
  // on the server until the connection ends; DEALLOCATE could not run in an aborted transaction).
  let generation = 0;
  const prepared = async (text: string, values: unknown) => {
    const named = () => ({ name: `${statementName(text)}_${generation}`, text, values });
    try {
      return await query(named());
    } catch (error) {
      if ((error as { code?: string }).code !== CHANGED_RESULT_TYPE) throw error;
      generation++;
      return query(named());
    }
  };
  // Not async: pg returns some queries' own objects (a COPY stream is the query), passed back as is.
  // biome-ignore lint/suspicious/noExplicitAny: pg's query has many overloads; this passes them on.
  (client as any).query = (...args: unknown[]) => {
    const [text, values] = args;
    return typeof text === 'string' && args.length === 2 && text.endsWith(PREPARED_MARK)
      ? prepared(text, values)
      : query(...args);
  };
}

function serverPool(url: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 5_000 });
  // A dropped server connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  pool.on('connect', (client) => {
    // The pool listens for errors on idle clients only. A client checked out between two
    // statements (in a transaction) when the server goes away emits 'error' to nobody, which ends
    // the process; with this listener its next query fails instead and the pool discards it.
    client.on('error', () => {});
    preparing(client);
  });
  return pool;
}

/**
 * The replicas' pool, falling back to the primary's when no replica gives a connection (all
 * restarting during a switchover, or none left): a stale-tolerant read may always read the leader,
 * and nothing has been sent yet, so the second try is safe.
 */
function replicasOrPrimary(replicas: pg.Pool, primary: pg.Pool) {
  return {
    async connect() {
      try {
        return await replicas.connect();
      } catch {
        return primary.connect();
      }
    },
    end: () => replicas.end(),
  };
}

/**
 * The fail-fast gate: once a request has seen the primary away, one probe at a time asks the
 * database every PROBE_MS whether it takes writes again. Requests arriving in the first
 * RIDE_THROUGH_MS of an outage wait for that probe (a planned switchover or a quick promotion is
 * over within it, and they then succeed); after that they are refused at once (503) rather than
 * each queueing for a connection that will not come.
 */
const PROBE_MS = 200;
const gates = new WeakMap<Db, Gate>();
type Gate = ReturnType<typeof availabilityGate>;
export const RIDE_THROUGH_MS = 3_000;
function availabilityGate(probe: () => Promise<boolean>) {
  let downSince: number | undefined;
  let probing: NodeJS.Timeout | undefined;
  let waiters: Array<(up: boolean) => void> = [];
  const open = (up: boolean) => {
    const woken = waiters;
    waiters = [];
    for (const wake of woken) wake(up);
  };
  const schedule = () => {
    probing = setTimeout(async () => {
      if (await probe()) {
        downSince = undefined;
        probing = undefined;
        open(true);
      } else if (probing) schedule();
    }, PROBE_MS);
    probing.unref();
  };
  return {
    available: () => downSince === undefined,
    markUnavailable() {
      downSince ??= Date.now();
      if (!probing) schedule();
    },
    waitAvailable(): Promise<boolean> {
      if (downSince === undefined) return Promise.resolve(true);
      const left = downSince + RIDE_THROUGH_MS - Date.now();
      if (left <= 0) return Promise.resolve(false);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== wake);
          resolve(false);
        }, left);
        const wake = (up: boolean) => {
          clearTimeout(timer);
          resolve(up);
        };
        waiters.push(wake);
      });
    },
    stop() {
      clearTimeout(probing);
      probing = undefined;
      open(false);
    },
  };
}

export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  if (options.url) {
    const pool = serverPool(options.url, options.poolSize ?? 10);
    const db: Db = new Kysely<Database>({
      dialect: joiningWrites(new PostgresDialect({ pool }), () => gates.get(db)),
    });
    const readDb = options.readUrl
      ? new Kysely<Database>({
          dialect: new PostgresDialect({
            pool: replicasOrPrimary(serverPool(options.readUrl, options.poolSize ?? 10), pool),
          }),
        })
      : db;
    const streamCopy: StreamCopier = async (copyStatement, source, options) => {
      const client = await pool.connect();
      let broken: unknown;
      try {
        await client.query('BEGIN');
        for (const statement of options.session ?? []) await client.query(statement);
        const stream = client.query(copyFrom(copyStatement));
        await pipeline(Readable.from(source), stream);
        const rows = stream.rowCount;
        const committed = options.accept?.(rows) ?? true;
        await client.query(committed ? 'COMMIT' : 'ROLLBACK');
        return { rows, committed };
      } catch (error) {
        await client.query('ROLLBACK').catch((e: unknown) => {
          broken = e;
        });
        throw error;
      } finally {
        // A connection that could not roll back is not given to the next caller.
        client.release(broken instanceof Error ? broken : undefined);
      }
    };
    streamCopiers.set(db, streamCopy);
    snapshotCopiers.set(db, async function* (snapshot, copyStatement) {
      if (!SNAPSHOT_ID.test(snapshot)) throw new Error(`not a snapshot id: ${snapshot}`);
      const client = await pool.connect();
      let finished = false;
      let broken: unknown;
      try {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        // A utility statement takes no parameters: the id is checked against its format above.
        await client.query(`SET TRANSACTION SNAPSHOT '${snapshot}'`);
        yield* client.query(copyTo(copyStatement));
        finished = true;
        await client.query('COMMIT');
      } catch (error) {
        broken = error;
        throw error;
      } finally {
        // A connection left mid-COPY (the reader stopped early) or after a failure is not reused.
        client.release(finished && !broken ? undefined : new Error('snapshot copy not finished'));
      }
    });
    pooled.add(db);
    // The row path's chunks go through the same COPY, one text chunk each.
    copiers.set(db, async (qualifiedTable, columns, csv) => {
      await streamCopy(copySql(qualifiedTable, columns, 'STDIN'), [Buffer.from(csv)], {});
    });
    const gate = availabilityGate(() => ping(db, 1_000));
    gates.set(db, gate);
    return {
      db,
      readDb,
      kind: 'postgres',
      ping: (timeoutMs) => ping(db, timeoutMs),
      available: gate.available,
      markUnavailable: gate.markUnavailable,
      waitAvailable: gate.waitAvailable,
      async close() {
        gate.stop();
        if (readDb !== db) await readDb.destroy();
        await db.destroy();
      },
    };
  }
  let lock: DataDirLock | undefined;
  let pglite: PGlite;
  if (options.dataDir) {
    lock = await lockDataDir(options.dataDir, options.lockWaitMs ?? 0);
    try {
      pglite = await PGlite.create(path.join(options.dataDir, 'pgdata'), pgliteOptions);
    } catch (error) {
      lock.release();
      throw error;
    }
  } else {
    pglite = await PGlite.create(pgliteOptions);
  }
  const db = new Kysely<Database>({ dialect: joiningWrites(new PGliteDialect(pglite)) });
  // Holding a Kysely connection keeps the single PGlite connection to ourselves meanwhile.
  copiers.set(db, (qualifiedTable, columns, csv) =>
    db.connection().execute(async () => {
      await pglite.query(copySql(qualifiedTable, columns, "'/dev/blob'"), [], { blob: new Blob([csv]) });
    }),
  );
  return {
    db,
    readDb: db,
    kind: 'embedded',
    ping: (timeoutMs) => ping(db, timeoutMs),
    // The embedded database lives in this process: it is never away while the process runs.
    available: () => true,
    markUnavailable: () => {},
    waitAvailable: async () => true,
    async close() {
      await db.destroy();
      lock?.release();
    },
  };
}

/** Set while the gate's probe or a readiness check asks: they report the outage, never wait it out. */
const askOnce = new AsyncLocalStorage<true>();

function ping(db: Db, timeoutMs = 2_000): Promise<boolean> {
  return askOnce.run(true, () => pingOnce(db, timeoutMs));
}

async function pingOnce(db: Db, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([
      // A server in recovery (a replica, or a primary demoted during a failover) takes no writes.
      sql<{ standby: boolean }>`select pg_is_in_recovery() as standby`.execute(db).then(
        ({ rows }) => rows[0]?.standby === false,
        () => false,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Connection-level failures and a read-only server: the database is away, the request was fine. */
const DATABASE_AWAY = new Set([
  // read_only_sql_transaction: the server this pool reaches is a replica now (failover under way).
  '25006',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '57P04',
  '08000',
  '08003',
  '08006',
]);
/**
 * pg-pool's own timeouts (no connection within connectionTimeoutMillis: all busy under load, or
 * none can be opened) and a connection the server or a proxy closed under it — also as the
 * ROLLBACK after it reports it (Kysely rethrows the failed ROLLBACK's error, not the first one).
 */
const POOL_GAVE_UP =
  /^(timeout exceeded when trying to connect|Connection terminated due to connection timeout|Connection terminated unexpectedly|Client has encountered a connection error and is not queryable)$/;

export function isDatabaseAway(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return (typeof code === 'string' && DATABASE_AWAY.has(code)) || POOL_GAVE_UP.test(error.message);
}

/**
 * Runs `work` in a transaction, joining the caller's when there is one: services compose, and
 * a caller that needs several service calls to commit together (seeding) wraps them once.
 *
 * A transaction cut by a failover before its COMMIT was sent (the server shut down or went
 * read-only under it) committed nothing, so it is run once more when the primary is back within
 * the ride-through window: a planned switchover then costs the caller nothing.
 *
 * A COMMIT cut on its way may or may not have happened. On a server, a transaction that wrote
 * inserts a commit marker (`commit_markers`, a random id) just before its COMMIT, so the answer
 * is in the database: the retry first claims the same id. A conflict means the first attempt
 * committed (on the new primary too, or the row would not be there) and its result stands; a
 * claim means it did not, and the work runs again in the claiming transaction — the claim holds
 * the id, so a first attempt still settling (its COMMIT waiting for the synchronous standby) is
 * waited for, never doubled. Past `CLAIM_WAIT` the answer stays 503.
 */
export async function withTx<T>(db: Db, work: (tx: Tx) => Promise<T>): Promise<T> {
  if (db.isTransaction) return work(db as Tx);
  const join = joinEachWrite.getStore();
  const gate = gates.get(db);
  // Only a server can fail over under a COMMIT (PGlite has no gate).
  const marker = gate ? randomUUID() : null;
  const whole = async (tx: Tx) => {
    const result = await work(tx);
    if (join) await join.beforeCommit(tx);
    return result;
  };
  let workDone = false;
  let first: T | undefined;
  try {
    return await db.transaction().execute(async (tx) => {
      const result = await whole(tx);
      // One statement, inserting only when the transaction has written (has an xid): reads pay
      // a round trip, not a row.
      if (marker)
        await sql`INSERT INTO commit_markers (id) SELECT ${marker} WHERE txid_current_if_assigned() IS NOT NULL`.execute(
          tx,
        );
      first = result;
      workDone = true;
      return result;
    });
  } catch (error) {
    if (!gate || !isDatabaseAway(error)) throw error;
    gate.markUnavailable();
    if (!(await gate.waitAvailable())) throw error;
    if (!workDone) return db.transaction().execute(whole);
    return db.transaction().execute(async (tx) => {
      await sql`SET LOCAL lock_timeout = ${sql.lit(CLAIM_WAIT)}`.execute(tx);
      const claimed =
        await sql`INSERT INTO commit_markers (id) VALUES (${marker}) ON CONFLICT (id) DO NOTHING RETURNING id`
          .execute(tx)
          .catch(() => {
            throw error;
          });
      if (claimed.rows.length === 0) return first as T;
      return whole(tx);
    });
  }
}

/** How long a retry waits for a first attempt whose COMMIT is still settling. */
const CLAIM_WAIT = '5s';

/** Removes commit markers older than an hour (the background task `commit-markers.purge`). */
export async function purgeCommitMarkers(db: Executor): Promise<number> {
  const result = await db
    .deleteFrom('commit_markers')
    .where('created_at', '<', sql<Date>`now() - interval '1 hour'`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * Work a request adds to its writes (core/idempotency.ts: an idempotent request marks its claim
 * applied).
 * - `beforeCommit` runs in each `withTx` transaction just before COMMIT, so the mark commits
 *   exactly when the write does — a COMMIT cut by a failover leaves both or neither.
 * - `beforeLooseWrite` runs before a write statement that is in no transaction (it commits on its
 *   own), on the same connection: the mark then commits first, so a write cut after it is taken as
 *   applied — never applied twice, at worst reported as lost. `run` executes one statement there.
 */
export interface WriteJoin {
  beforeCommit(tx: Tx): Promise<void>;
  beforeLooseWrite(run: (query: CompiledQuery) => Promise<QueryResult<unknown>>): Promise<void>;
}
export const joinEachWrite = new AsyncLocalStorage<WriteJoin>();

/**
 * A statement that changes data: an INSERT, UPDATE, DELETE or MERGE, also inside a CTE or raw SQL
 * (parameters are not in the text, so only the statement's own words count). Taking a read for a
 * write only costs an early mark.
 */
const WRITE_SQL =
  /\b(?:insert\s+into|delete\s+from|merge\s+into|truncate)\b|\bupdate\s+(?:only\s+)?[\w."]+(?:\s+(?:as\s+)?\w+)?\s+set\b/i;

export function isWriteStatement(query: CompiledQuery): boolean {
  const kind = query.query.kind;
  if (kind === 'InsertQueryNode' || kind === 'UpdateQueryNode' || kind === 'DeleteQueryNode') return true;
  if (kind === 'MergeQueryNode') return true;
  return WRITE_SQL.test(query.sql);
}

/**
 * A connection that knows whether it is inside a transaction, and joins loose writes. A loose
 * read (no transaction, not a write) cut by a failover is asked once more on a fresh connection
 * when the primary is back within the ride-through window: reading twice changes nothing. Loose
 * writes are not (one may have committed) and transactions retry in `withTx`.
 */
class JoiningConnection implements DatabaseConnection {
  inTransaction = false;
  constructor(
    readonly inner: DatabaseConnection,
    private readonly driver: Driver,
    private readonly gate: () => Gate | undefined,
  ) {}
  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const join = this.inTransaction ? undefined : joinEachWrite.getStore();
    if (join && isWriteStatement(query)) await join.beforeLooseWrite((q) => this.inner.executeQuery(q));
    try {
      return await this.inner.executeQuery<R>(query);
    } catch (error) {
      const gate = this.gate();
      if (this.inTransaction || !gate || askOnce.getStore() || !isDatabaseAway(error)) throw error;
      if (isWriteStatement(query)) throw error;
      gate.markUnavailable();
      if (!(await gate.waitAvailable())) throw error;
      const fresh = await this.driver.acquireConnection();
      try {
        return await fresh.executeQuery<R>(query);
      } finally {
        await this.driver.releaseConnection(fresh);
      }
    }
  }
  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

/** Wraps a dialect's driver so that its connections join loose writes (see `WriteJoin`). */
function joiningWrites(dialect: Dialect, gate: () => Gate | undefined = () => undefined): Dialect {
  const wrapped = new WeakMap<DatabaseConnection, JoiningConnection>();
  const inner = (c: DatabaseConnection) => (c as JoiningConnection).inner;
  const driverOf = (driver: Driver): Driver => ({
    init: () => driver.init(),
    async acquireConnection() {
      const connection = await driver.acquireConnection();
      const known = wrapped.get(connection);
      if (known) return known;
      const joining = new JoiningConnection(connection, driver, gate);
      wrapped.set(connection, joining);
      return joining;
    },
    async beginTransaction(c, settings) {
      await driver.beginTransaction(inner(c), settings);
      (c as JoiningConnection).inTransaction = true;
    },
    async commitTransaction(c) {
      try {
        await driver.commitTransaction(inner(c));
      } finally {
        (c as JoiningConnection).inTransaction = false;
      }
    },
    async rollbackTransaction(c) {
      try {
        await driver.rollbackTransaction(inner(c));
      } finally {
        (c as JoiningConnection).inTransaction = false;
      }
    },
    ...(driver.savepoint
      ? { savepoint: (c, name, compile) => driver.savepoint!(inner(c), name, compile) }
      : {}),
    ...(driver.rollbackToSavepoint
      ? { rollbackToSavepoint: (c, name, compile) => driver.rollbackToSavepoint!(inner(c), name, compile) }
      : {}),
    ...(driver.releaseSavepoint
      ? { releaseSavepoint: (c, name, compile) => driver.releaseSavepoint!(inner(c), name, compile) }
      : {}),
    releaseConnection: (c) => driver.releaseConnection(inner(c)),
    destroy: () => driver.destroy(),
  });
  return {
    createAdapter: () => dialect.createAdapter(),
    createDriver: () => driverOf(dialect.createDriver()),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createQueryCompiler: () => dialect.createQueryCompiler(),
  };
}

/** Runs `fn` outside any request's transaction work (the scheduler's tasks, kicked from requests). */
export function outsideRequest<T>(fn: () => T): T {
  return joinEachWrite.exit(fn);
}

/** Holds one pooled connection until `release` is called (a cursor lives in one session). */
function lease(db: Db): Promise<{ session: Db; release: () => void }> {
  return new Promise((resolve, reject) => {
    let release!: () => void;
    const done = new Promise<void>((r) => {
      release = r;
    });
    db.connection()
      .execute(async (session) => {
        resolve({ session, release });
        await done;
      })
      .catch(reject);
  });
}

/**
 * Reads a query's rows in batches of `batchSize` through a server-side cursor, so the process
 * holds one batch at a time whatever the result's size. The cursor is WITH HOLD: PostgreSQL keeps
 * its result (in memory up to work_mem, then in a temporary file) after the declaring statement's
 * implicit commit, and every FETCH is a statement of its own — on PGlite other requests' queries
 * run between batches. The cursor is closed when the caller stops early or a batch fails.
 */
export async function* scanBatches<R>(
  db: Db,
  query: RawBuilder<R>,
  batchSize: number,
): AsyncGenerator<R[], void, undefined> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error('batchSize must be a positive integer');
  const { session, release } =
    pooled.has(db) && !db.isTransaction ? await lease(db) : { session: db, release: () => {} };
  const cursor = sql.id(`scan_${randomBytes(8).toString('hex')}`);
  let declared = false;
  try {
    await sql`DECLARE ${cursor} NO SCROLL CURSOR WITH HOLD FOR ${query}`.execute(session);
    declared = true;
    for (;;) {
      const { rows } = await sql<R>`FETCH FORWARD ${sql.raw(String(batchSize))} FROM ${cursor}`.execute(
        session,
      );
      if (rows.length > 0) yield rows;
      if (rows.length < batchSize) return;
    }
  } finally {
    if (declared) await sql`CLOSE ${cursor}`.execute(session).catch(() => {});
    release();
  }
}
