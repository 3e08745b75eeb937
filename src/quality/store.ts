import type { Insertable } from 'kysely';
import { type RawBuilder, sql } from 'kysely';
import { datasetTable, ROW_ORDINAL } from '../core/datasets.ts';
import type { Executor } from '../core/db.ts';
import type { QualityAlertsTable, QualityReportsTable } from '../core/tables.ts';
import { duplicatesQuery, referenceQuery } from './rules.ts';

/**
 * The quality capability's SQL: it writes only quality_rules, quality_reports and quality_alerts;
 * it reads versions (dataset_versions, like the monitor and classification do) and the version
 * tables of schema `datasets`.
 */
const num = (v: unknown) => Number(v ?? 0);
const FAILED = 2 ** 32;

export const qualityStore = {
  findRules(db: Executor, resourceId: string) {
    return db
      .selectFrom('quality_rules')
      .selectAll()
      .where('resource_id', '=', resourceId)
      .executeTakeFirst();
  },

  /** Creates (expected revision 0) or replaces (expected revision n) the rules; false when the revision moved. */
  async saveRules(
    db: Executor,
    resourceId: string,
    rules: unknown,
    expected: number | undefined,
    userId: string,
  ) {
    const now = new Date();
    if (expected === 0 || expected === undefined) {
      const inserted = await db
        .insertInto('quality_rules')
        .values({
          resource_id: resourceId,
          rules: JSON.stringify(rules),
          revision: 1,
          updated_by: userId,
          updated_at: now,
        })
        .onConflict((oc) => oc.column('resource_id').doNothing())
        .returning('revision')
        .executeTakeFirst();
      if (inserted || expected === 0) return inserted?.revision ?? null;
    }
    let update = db
      .updateTable('quality_rules')
      .set({ rules: JSON.stringify(rules), revision: sql`revision + 1`, updated_by: userId, updated_at: now })
      .where('resource_id', '=', resourceId);
    if (expected !== undefined) update = update.where('revision', '=', expected);
    const row = await update.returning('revision').executeTakeFirst();
    return row?.revision ?? null;
  },

  /** A resource's ready versions, newest first, with whether each is the current one. */
  versions(db: Executor, resourceId: string) {
    return db
      .selectFrom('dataset_versions')
      .innerJoin('resources', 'resources.id', 'dataset_versions.resource_id')
      .select([
        'dataset_versions.id',
        'dataset_versions.number',
        'dataset_versions.state',
        'dataset_versions.table_name',
        'dataset_versions.row_count',
        'dataset_versions.completed_at',
        'dataset_versions.source_sm3',
        'dataset_versions.source_name',
        'dataset_versions.source_format',
        'dataset_versions.source_size',
        'dataset_versions.columns',
        'resources.current_version_id',
      ])
      .where('dataset_versions.resource_id', '=', resourceId)
      .where('dataset_versions.state', '=', 'ready')
      .orderBy('dataset_versions.number', 'desc')
      .execute();
  },

  insertReport(db: Executor, row: Insertable<QualityReportsTable>) {
    return db.insertInto('quality_reports').values(row).returningAll().executeTakeFirstOrThrow();
  },

  latestReport(db: Executor, versionId: string) {
    return db
      .selectFrom('quality_reports')
      .selectAll()
      .where('version_id', '=', versionId)
      .orderBy('evaluated_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
  },

  /** The latest report of each version of a resource, in version order. */
  async trend(db: Executor, resourceId: string) {
    const rows = await sql<{
      version_id: string;
      version_number: number;
      score: number;
      level: number;
      evaluated_at: Date;
    }>`SELECT DISTINCT ON (version_number) version_id, version_number, score, level, evaluated_at
       FROM quality_reports WHERE resource_id = ${resourceId}
       ORDER BY version_number, evaluated_at DESC, id DESC`.execute(db);
    return rows.rows;
  },

  /** The latest report of the nearest earlier version that has one. */
  previousReport(db: Executor, resourceId: string, versionNumber: number) {
    return db
      .selectFrom('quality_reports')
      .selectAll()
      .where('resource_id', '=', resourceId)
      .where('version_number', '<', versionNumber)
      .orderBy('version_number', 'desc')
      .orderBy('evaluated_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
  },

  /** Records a drop once per version; false when it was already recorded. */
  async insertAlert(db: Executor, row: Insertable<QualityAlertsTable>) {
    const inserted = await db
      .insertInto('quality_alerts')
      .values(row)
      .onConflict((oc) => oc.column('version_id').doNothing())
      .returning('id')
      .executeTakeFirst();
    return inserted !== undefined;
  },

  alerts(db: Executor, resourceId: string) {
    return db
      .selectFrom('quality_alerts')
      .selectAll()
      .where('resource_id', '=', resourceId)
      .orderBy('created_at', 'desc')
      .limit(50)
      .execute();
  },

  // ------------------------------------------------------------ evaluation over a version table

  /** Rows, and per rule the rows judged and the rows failing: one scan for all row rules. */
  async counts(
    db: Executor,
    tableName: string,
    predicates: Array<{ applies: RawBuilder<boolean>; fails: RawBuilder<boolean> }>,
  ) {
    // One aggregate per rule, so its `applies` is evaluated once a row: a judged row adds 1, a
    // failing one 2^32 + 1; the sum holds both counts (a version has fewer than 2^32 rows).
    const columns = [
      sql`count(*) AS n`,
      ...predicates.map(
        (p, i) =>
          sql`sum(CASE WHEN ${p.applies} THEN CASE WHEN ${p.fails} THEN ${sql.lit(FAILED + 1)}::bigint ELSE 1 END ELSE 0 END)::text AS ${sql.ref(`r${i}`)}`,
      ),
    ];
    const result = await sql<
      Record<string, unknown>
    >`SELECT ${sql.join(columns)} FROM ${sql.table(`datasets.${tableName}`)}`.execute(db);
    const row = result.rows[0] ?? {};
    return {
      rows: num(row.n),
      rules: predicates.map((_, i) => {
        const packed = BigInt(String(row[`r${i}`] ?? 0));
        return { checked: Number(packed % BigInt(FAILED)), failed: Number(packed / BigInt(FAILED)) };
      }),
    };
  },

  /** The first failing row numbers of one rule. */
  async failingRows(
    db: Executor,
    tableName: string,
    p: { applies: RawBuilder<boolean>; fails: RawBuilder<boolean> },
    limit: number,
  ) {
    const result = await sql<{
      row: string | number;
    }>`SELECT ${sql.ref(ROW_ORDINAL)} AS row FROM ${sql.table(`datasets.${tableName}`)}
      WHERE ${p.applies} AND ${p.fails} ORDER BY ${sql.ref(ROW_ORDINAL)} LIMIT ${limit}`.execute(db);
    return result.rows.map((r) => num(r.row));
  },

  async duplicates(db: Executor, tableName: string, fields: string[], limit: number) {
    const result = await duplicatesQuery(`datasets.${tableName}`, fields, limit).execute(db);
    return { failed: num(result.rows[0]?.total), rows: result.rows.map((r) => num(r.row)) };
  },

  async nonNull(db: Executor, tableName: string, fields: string[]) {
    const notNull = sql.join(
      fields.map((f) => sql`${sql.ref(f)} IS NOT NULL`),
      sql` AND `,
    );
    const result = await sql<{
      n: unknown;
    }>`SELECT count(*) AS n FROM ${sql.table(`datasets.${tableName}`)} WHERE ${notNull}`.execute(db);
    return num(result.rows[0]?.n);
  },

  async references(
    db: Executor,
    tableName: string,
    field: string,
    targetTable: string,
    targetField: string,
    limit: number,
  ) {
    const result = await referenceQuery(
      `datasets.${tableName}`,
      field,
      `datasets.${targetTable}`,
      targetField,
      limit,
    ).execute(db);
    return { failed: num(result.rows[0]?.total), rows: result.rows.map((r) => num(r.row)) };
  },

  /** The newest value of a date or timestamp field. */
  async newest(db: Executor, tableName: string, field: string): Promise<Date | null> {
    const result = await sql<{
      v: Date | string | null;
    }>`SELECT max(${sql.ref(field)})::timestamptz AS v FROM ${sql.table(`datasets.${tableName}`)}`.execute(
      db,
    );
    const v = result.rows[0]?.v ?? null;
    return v === null ? null : new Date(v);
  },

  /** Whether the version's table answers a query at all. */
  async answers(db: Executor, tableName: string): Promise<boolean> {
    try {
      await sql`SELECT 1 FROM ${sql.raw(datasetTable(tableName))} LIMIT 1`.execute(db);
      return true;
    } catch {
      return false;
    }
  },

  /** Whether PostgreSQL accepts a regular expression (a rule with a broken one is refused). */
  async regexAccepted(db: Executor, pattern: string): Promise<boolean> {
    try {
      await sql`SELECT '' ~ ${pattern}`.execute(db);
      return true;
    } catch {
      return false;
    }
  },
};
