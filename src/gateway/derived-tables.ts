import { createHash } from 'node:crypto';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import { DATASET_SCHEMA, ident } from '../core/datasets.ts';
import { type Db, type Executor, withTx } from '../core/db.ts';
import type { Database } from '../core/tables.ts';

/**
 * Tables derived once from a dataset version's table and read instead of recomputing on every
 * query: the DP bounded pairs (dp-pairs.ts) and the span-masked copies of free text
 * (span-masked.ts). A version's table never changes once ready, so a derived table is a pure
 * function of its key — the version plus a digest of everything else its SQL reads — and is
 * never refreshed in place, only built (once) and dropped (when no longer the key in force).
 *
 * Each kind has a registry (migrations/0025_dp_pairs.sql, 0034_span_masked.sql) whose row is
 * inserted in the transaction that creates the table: a row seen is a table complete, and two
 * nodes building the same key build it once (the second waits on the registry's unique key until
 * the first commits, then finds it taken; if the first fails, both roll back and the second builds).
 */
export type DerivedRegistry = 'dp_pairs' | 'span_masked';

/** The columns every registry has; each adds its own key columns. */
export interface DerivedRow {
  /** datasets.<table_name>, derived from the key (`derivedTableName`). */
  table_name: string;
  resource_id: string;
  version_id: string;
  row_count: string | number;
  build_ms: number;
  created_at: Date;
}

type Registries = Record<DerivedRegistry, DerivedRow>;
const rdb = (db: Executor) => db as unknown as Kysely<Registries>;

/** A table's qualified name in the datasets schema, for SQL. */
export const derivedTable = (name: string) => sql.table(`${DATASET_SCHEMA}.${name}`);

/**
 * The table's name for a key: a fixed prefix and 40 hex characters of the key's SHA-256, so
 * names are short, fixed-shape identifiers whatever the key holds.
 */
export function derivedTableName(prefix: string, keyParts: readonly string[]): string {
  const hash = createHash('sha256').update(keyParts.join('\n'), 'utf8').digest('hex');
  const name = `${prefix}_${hash.slice(0, 40)}`;
  // ident() checks the shape: lower-case letters, digits and underscores, at most 63 characters.
  ident(name);
  return name;
}

/**
 * Builds one derived table unless built: claims the registry row (ON CONFLICT DO NOTHING), then
 * CREATE TABLE … AS the query, an optional primary key, ANALYZE and the row count, all in one
 * transaction. Returns whether this call built it.
 */
export async function buildDerived(
  db: Db,
  input: {
    registry: DerivedRegistry;
    table: string;
    resourceId: string;
    versionId: string;
    /** The registry's own key columns and their values. */
    key: Record<string, string>;
    query: RawBuilder<unknown>;
    primaryKey?: string[];
  },
): Promise<{ table: string; built: boolean }> {
  const target = derivedTable(input.table);
  return withTx(db, async (tx) => {
    const claimed = await rdb(tx)
      .insertInto(input.registry)
      .values({
        table_name: input.table,
        resource_id: input.resourceId,
        version_id: input.versionId,
        ...input.key,
        row_count: 0,
        build_ms: 0,
        created_at: new Date(),
      } as DerivedRow)
      .onConflict((oc) => oc.doNothing())
      .returning('table_name')
      .executeTakeFirst();
    if (!claimed) return { table: input.table, built: false };
    const started = performance.now();
    // One pass over the version's rows, once: the JIT's compile time is not won back (dp.ts).
    await sql`SET LOCAL jit = off`.execute(tx);
    await sql`CREATE TABLE ${target} AS ${input.query}`.execute(tx);
    if (input.primaryKey)
      await sql`ALTER TABLE ${target} ADD PRIMARY KEY (${sql.join(input.primaryKey.map((c) => sql.ref(c)))})`.execute(
        tx,
      );
    // Statistics for the planner: the readers join or aggregate over the table at once.
    await sql`ANALYZE ${target}`.execute(tx);
    // Counted, not taken from the command tag: the query layer reports affected rows for DML only.
    const { rows } = await sql<{ n: string }>`SELECT count(*)::text AS n FROM ${target}`.execute(tx);
    await rdb(tx)
      .updateTable(input.registry)
      .set({ row_count: Number(rows[0]!.n), build_ms: Math.round(performance.now() - started) })
      .where('table_name', '=', input.table)
      .execute();
    return { table: input.table, built: true };
  });
}

/**
 * Drops derived tables and their registry rows, one transaction each. A query reading one as it
 * goes either holds its lock (the drop waits) or fails with undefined_table, and its reader
 * falls back to computing the value (dp.ts, span-masked.ts).
 */
export async function dropDerived(db: Db, registry: DerivedRegistry, tables: readonly string[]) {
  for (const table of tables) {
    await withTx(db, async (tx) => {
      await sql`DROP TABLE IF EXISTS ${derivedTable(table)}`.execute(tx);
      await rdb(tx).deleteFrom(registry).where('table_name', '=', table).execute();
    });
  }
}

/** PostgreSQL's undefined_table: a derived table dropped between its look-up and its read. */
export function isUndefinedTable(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '42P01';
}

/**
 * The resource's current version when it is ready — what derived tables are built for — with its
 * table and columns; undefined while it has none or it is still loading.
 */
export async function liveVersion(db: Db, resourceId: string) {
  const current = await (db as unknown as Kysely<Database>)
    .selectFrom('resources')
    .innerJoin('dataset_versions', 'dataset_versions.id', 'resources.current_version_id')
    .select([
      'dataset_versions.id',
      'dataset_versions.table_name',
      'dataset_versions.state',
      'dataset_versions.columns',
    ])
    .where('resources.id', '=', resourceId)
    .executeTakeFirst();
  return current?.state === 'ready' ? current : undefined;
}
