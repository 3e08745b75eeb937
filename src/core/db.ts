import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PGlite } from '@electric-sql/pglite';
import { pgcrypto } from '@electric-sql/pglite/contrib/pgcrypto';
import { Kysely, PostgresDialect, type RawBuilder, sql, type Transaction } from 'kysely';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { type DataDirLock, lockDataDir } from './datadir-lock.ts';
import { PGliteDialect } from './pglite-dialect.ts';
import type { Database } from './tables.ts';

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
/** Either the database or an open transaction: stores take this so callers choose the boundary. */
export type Executor = Db | Tx;

export interface DatabaseHandle {
  db: Db;
  kind: 'postgres' | 'embedded';
  /** Answers within the timeout whether the database takes a query. */
  ping(timeoutMs?: number): Promise<boolean>;
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

export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  if (options.url) {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 5_000,
    });
    // A dropped server connection must not crash the process; the next query reconnects.
    pool.on('error', () => {});
    // The pool listens for errors on idle clients only. A client checked out between two
    // statements (in a transaction) when the server goes away emits 'error' to nobody, which ends
    // the process; with this listener its next query fails instead and the pool discards it.
    pool.on('connect', (client) => client.on('error', () => {}));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
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
    pooled.add(db);
    // The row path's chunks go through the same COPY, one text chunk each.
    copiers.set(db, async (qualifiedTable, columns, csv) => {
      await streamCopy(copySql(qualifiedTable, columns, 'STDIN'), [Buffer.from(csv)], {});
    });
    return {
      db,
      kind: 'postgres',
      ping: (timeoutMs) => ping(db, timeoutMs),
      close: () => db.destroy(),
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
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  // Holding a Kysely connection keeps the single PGlite connection to ourselves meanwhile.
  copiers.set(db, (qualifiedTable, columns, csv) =>
    db.connection().execute(async () => {
      await pglite.query(copySql(qualifiedTable, columns, "'/dev/blob'"), [], { blob: new Blob([csv]) });
    }),
  );
  return {
    db,
    kind: 'embedded',
    ping: (timeoutMs) => ping(db, timeoutMs),
    async close() {
      await db.destroy();
      lock?.release();
    },
  };
}

async function ping(db: Db, timeoutMs = 2_000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([
      sql`select 1`.execute(db).then(
        () => true,
        () => false,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs `work` in a transaction, joining the caller's when there is one: services compose, and
 * a caller that needs several service calls to commit together (seeding) wraps them once.
 */
export function withTx<T>(db: Db, work: (tx: Tx) => Promise<T>): Promise<T> {
  if (db.isTransaction) return work(db as Tx);
  return db.transaction().execute(work);
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
