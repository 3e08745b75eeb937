/**
 * Column statistics of a version, computed by the database over the rows it stored — the same
 * way whichever path loaded them (COPY of the file as is, or the row path): one aggregate pass for
 * null counts and min/max, ANALYZE for the distinct estimate (exact up to 30,000 rows, which
 * ANALYZE reads whole; beyond, its estimate from a 9,000-row sample), and the row path's count of
 * refused values per column.
 */
import { sql } from 'kysely';
import { ident } from '../core/datasets.ts';
import { type Db, withTx } from '../core/db.ts';
import type { DataType } from '../core/tables.ts';

/** PostgreSQL refuses a query whose target list has more entries than this (MaxTupleAttributeNumber). */
export const PG_TARGET_LIST_MAX = 1664;
/**
 * The most columns an import takes, in preview and import alike: the statistics query below reads
 * the row count and three expressions per column in one target list, the widest query of an import
 * (COPY has no target list; classification reads one per column): (1664 − 1) / 3 = 554. Measured:
 * 554 columns load on PGlite and PostgreSQL 15, 555 made this query fail (test/ingest-hostile.test.ts).
 */
export const MAX_IMPORT_COLUMNS = Math.floor((PG_TARGET_LIST_MAX - 1) / 3);

/** Rows ANALYZE reads in full at its default statistics target: their distinct counts are exact. */
const FULL_SAMPLE_ROWS = 30_000;

export interface ColumnStats {
  count: number;
  nulls: number;
  nullRate: number;
  /** Values of this column that made their row a bad row. */
  invalid: number;
  distinctEstimate: number;
  min: string | number | null;
  max: string | number | null;
}

/** How min and max of a column are read back: as JSON-friendly numbers or text. */
function extremes(column: string, type: DataType): [string, string] {
  switch (type) {
    case 'integer':
      return [`min(${column})`, `max(${column})`];
    case 'decimal':
      return [`min(${column})::float8`, `max(${column})::float8`];
    case 'boolean':
      return [`bool_and(${column})::text`, `bool_or(${column})::text`];
    case 'date':
      return [`to_char(min(${column}), 'YYYY-MM-DD')`, `to_char(max(${column}), 'YYYY-MM-DD')`];
    case 'timestamp': {
      // In China Standard Time, the offset parseValue gives values without one.
      const at = (f: string) =>
        `to_char(${f}(${column}) AT TIME ZONE INTERVAL '+08:00', 'YYYY-MM-DD"T"HH24:MI:SS') || '+08:00'`;
      return [at('min'), at('max')];
    }
    case 'text':
      // Code point order, as JavaScript compares, whatever the database's collation.
      return [`left(min(${column} COLLATE "C"), 65)`, `left(max(${column} COLLATE "C"), 65)`];
  }
}

const clip = (v: string | number | null) =>
  typeof v === 'string' && v.length > 64 ? `${v.slice(0, 64)}…` : v;

/** Statistics of every column of a loaded table; `invalid` counts refused values per column (row path). */
export async function columnStats(
  db: Db,
  schema: string,
  tableName: string,
  columns: ReadonlyArray<{ name: string; dataType: DataType }>,
  invalid: readonly number[],
): Promise<Record<string, ColumnStats>> {
  const table = `${ident(schema)}.${ident(tableName)}`;
  const list = ['count(*) AS n'];
  columns.forEach((c, i) => {
    const [min, max] = extremes(ident(c.name), c.dataType);
    list.push(`count(${ident(c.name)}) AS c${i}`, `${min} AS lo${i}`, `${max} AS hi${i}`);
  });
  const { rows } = await sql
    .raw<Record<string, string | number | null>>(`SELECT ${list.join(', ')} FROM ${table}`)
    .execute(db);
  const aggregate = rows[0] ?? {};
  const total = Number(aggregate.n ?? 0);
  // ANALYZE samples 300 × the target rows: the default (100) for tables that fit, a third of it
  // beyond — the estimate from 9,000 rows is about as good, at a quarter of the cost.
  await withTx(db, async (tx) => {
    await sql.raw(`SET LOCAL default_statistics_target = ${total > FULL_SAMPLE_ROWS ? 30 : 100}`).execute(tx);
    await sql.raw(`ANALYZE ${table}`).execute(tx);
  });
  const analyzed = await sql<{ attname: string; n_distinct: number }>`
    SELECT attname, n_distinct FROM pg_stats WHERE schemaname = ${schema} AND tablename = ${tableName}`.execute(
    db,
  );
  // n_distinct < 0 is a fraction of the rows: −0.5 means half the rows are distinct.
  const distinct = new Map(
    analyzed.rows.map((r) => {
      const n = Number(r.n_distinct);
      return [r.attname, Math.round(n >= 0 ? n : -n * total)];
    }),
  );
  const out: Record<string, ColumnStats> = {};
  columns.forEach((c, i) => {
    const present = Number(aggregate[`c${i}`] ?? 0);
    const number = (v: string | number | null | undefined) =>
      v === null || v === undefined
        ? null
        : c.dataType === 'integer' || c.dataType === 'decimal'
          ? Number(v)
          : v;
    out[c.name] = {
      count: total,
      nulls: total - present,
      nullRate: total === 0 ? 0 : (total - present) / total,
      invalid: invalid[i] ?? 0,
      distinctEstimate: present === 0 ? 0 : (distinct.get(c.name) ?? 0),
      min: clip(number(aggregate[`lo${i}`])),
      max: clip(number(aggregate[`hi${i}`])),
    };
  });
  return out;
}
