import { type Selectable, sql } from 'kysely';
import type { GradingState } from '../catalog/service.ts';
import { DATASET_SCHEMA, ident, ROW_ORDINAL } from '../core/datasets.ts';
import type { Executor } from '../core/db.ts';
import type { FieldClassificationsTable, Grade } from '../core/tables.ts';

export type ClassificationRow = Selectable<FieldClassificationsTable>;

/** The resource as classification needs it, read under its row lock (catalog.grading.lockResource). */
export type ResourceState = Omit<GradingState, 'grade_flag'> & { grade_flag: GradeFlag | null };

export interface FlagEntry {
  field: string;
  reason: 'declared_grade_contradicted' | 'new_sensitive_column';
  /** The grade the field had before (null: nothing was declared for it). */
  declaredGrade: Grade | null;
  previousDetector: string | null;
  detector: string;
  suggestedGrade: Grade;
  /** The confirmation the import set aside, if any (confirmedBy null: declared in the catalog). */
  confirmation: { grade: Grade; by: string | null; at: string; reason: string | null } | null;
  versionId: string | null;
  versionNumber: number | null;
  at: string;
}

export interface GradeFlag {
  raisedAt: string;
  fields: FlagEntry[];
}

export const classifyStore = {
  classifications(db: Executor, resourceId: string) {
    return db.selectFrom('field_classifications').selectAll().where('resource_id', '=', resourceId).execute();
  },

  async upsert(db: Executor, rows: ClassificationRow[]) {
    if (rows.length === 0) return;
    await db
      .insertInto('field_classifications')
      .values(rows.map((r) => ({ ...r, evidence: r.evidence === null ? null : JSON.stringify(r.evidence) })))
      .onConflict((oc) =>
        oc.columns(['resource_id', 'field_name']).doUpdateSet((eb) => ({
          detector: eb.ref('excluded.detector'),
          confidence: eb.ref('excluded.confidence'),
          ratio: eb.ref('excluded.ratio'),
          non_empty: eb.ref('excluded.non_empty'),
          evidence: eb.ref('excluded.evidence'),
          suggested_grade: eb.ref('excluded.suggested_grade'),
          scanned_version_id: eb.ref('excluded.scanned_version_id'),
          scanned_rows: eb.ref('excluded.scanned_rows'),
          sampled: eb.ref('excluded.sampled'),
          scanned_at: eb.ref('excluded.scanned_at'),
          confirmed_grade: eb.ref('excluded.confirmed_grade'),
          confirmed_by: eb.ref('excluded.confirmed_by'),
          confirmed_at: eb.ref('excluded.confirmed_at'),
          confirmed_reason: eb.ref('excluded.confirmed_reason'),
        })),
      )
      .execute();
  },

  /** Drops what is kept for fields the resource no longer has, so a re-added name starts afresh. */
  async dropOthers(db: Executor, resourceId: string, keep: string[]) {
    let q = db.deleteFrom('field_classifications').where('resource_id', '=', resourceId);
    if (keep.length > 0) q = q.where('field_name', 'not in', keep);
    await q.execute();
  },

  // Versions are ingest's (dataset_versions); classification reads their table names and shape
  // here because ingest calls classification during an import (a service call back would be a cycle).
  version(db: Executor, versionId: string) {
    return db
      .selectFrom('dataset_versions')
      .select(['id', 'number', 'table_name', 'state', 'columns', 'row_count'])
      .where('id', '=', versionId)
      .executeTakeFirst();
  },

  versionNumbers(db: Executor, ids: string[]) {
    if (ids.length === 0) return Promise.resolve([]);
    return db.selectFrom('dataset_versions').select(['id', 'number']).where('id', 'in', ids).execute();
  },

  /**
   * One batch of a version's rows, every column as text (as PostgreSQL prints it: what was
   * loaded, without the driver's conversions), after row `after` in load order.
   */
  async rowBatch(
    db: Executor,
    tableName: string,
    columns: string[],
    after: number,
    limit: number,
  ): Promise<{ last: number; rows: (string | null)[][] }> {
    const list = columns.map((c, i) => `${ident(c)}::text AS c${i}`);
    const { rows } = await sql
      .raw<Record<string, string | null>>(
        `SELECT ${[`${ident(ROW_ORDINAL)} AS r`, ...list].join(', ')} FROM ${DATASET_SCHEMA}.${ident(tableName)} WHERE ${ident(ROW_ORDINAL)} > ${Number(after)} ORDER BY ${ident(ROW_ORDINAL)} LIMIT ${Number(limit)}`,
      )
      .execute(db);
    let last = after;
    const out = rows.map((row) => {
      last = Number(row.r);
      return columns.map((_, i) => row[`c${i}`] ?? null);
    });
    return { last, rows: out };
  },

  /** The rows at these ordinals (ascending), values as text, in the order of `columns`. */
  async rowsAt(
    db: Executor,
    tableName: string,
    columns: string[],
    ordinals: readonly number[],
  ): Promise<(string | null)[][]> {
    const list = sql.raw(columns.map((c, i) => `${ident(c)}::text AS c${i}`).join(', '));
    const table = sql.raw(`${DATASET_SCHEMA}.${ident(tableName)}`);
    const ordinal = sql.raw(ident(ROW_ORDINAL));
    const { rows } = await sql<Record<string, string | null>>`
      SELECT ${list} FROM ${table} WHERE ${ordinal} = ANY(${ordinals.map(String)}::bigint[]) ORDER BY ${ordinal}`.execute(
      db,
    );
    return rows.map((row) => columns.map((_, i) => row[`c${i}`] ?? null));
  },
};
