import { type Selectable, sql } from 'kysely';
import { DATASET_SCHEMA, ident, ROW_ORDINAL } from '../core/datasets.ts';
import type { Executor } from '../core/db.ts';
import type { FieldClassificationsTable, Grade } from '../core/tables.ts';

export type ClassificationRow = Selectable<FieldClassificationsTable>;

/** The resource as classification needs it, read under its row lock. */
export interface ResourceState {
  id: string;
  code: string;
  provider_org_id: string;
  grade: Grade;
  revision: number;
  sharing_type: string;
  open_type: string;
  current_version_id: string | null;
  grade_flag: GradeFlag | null;
}

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
  /**
   * Locks the resource row for the rest of the transaction: grade decisions read fields and
   * confirmations and write them back, and two of them (an import and a steward) must not interleave.
   */
  async lockResource(db: Executor, resourceId: string): Promise<ResourceState | undefined> {
    const { rows } = await sql<ResourceState>`
      SELECT id, code, provider_org_id, grade, revision, sharing_type, open_type, current_version_id, grade_flag
      FROM resources WHERE id = ${resourceId} FOR UPDATE`.execute(db);
    return rows[0];
  },

  async gradeFlag(db: Executor, resourceId: string): Promise<GradeFlag | null> {
    const { rows } = await sql<{ grade_flag: GradeFlag | null }>`
      SELECT grade_flag FROM resources WHERE id = ${resourceId}`.execute(db);
    return rows[0]?.grade_flag ?? null;
  },

  fields(db: Executor, resourceId: string) {
    return db
      .selectFrom('resource_fields')
      .select(['name', 'label', 'position', 'grade', 'detector'])
      .where('resource_id', '=', resourceId)
      .orderBy('position')
      .execute();
  },

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

  /** Sets the effective grade and detector of several fields in one statement. */
  async setFieldGrades(
    db: Executor,
    resourceId: string,
    fields: Array<{ name: string; grade: Grade; detector: string | null }>,
  ) {
    if (fields.length === 0) return;
    await sql`
      UPDATE resource_fields AS f SET grade = v.grade, detector = v.detector
      FROM unnest(${fields.map((f) => f.name)}::text[], ${fields.map((f) => f.grade)}::text[],
                  ${fields.map((f) => f.detector)}::text[]) AS v(name, grade, detector)
      WHERE f.resource_id = ${resourceId} AND f.name = v.name`.execute(db);
  },

  /**
   * A grade change is a change of the catalog entry: a new revision with its history row, so that
   * a steward editing the entry from an older revision gets a conflict rather than overwriting it.
   */
  async setResourceGrade(
    db: Executor,
    resource: { id: string; revision: number },
    grade: Grade,
    history: { actorId: string; changes: Record<string, unknown> },
  ) {
    const row = await db
      .updateTable('resources')
      .set({ grade, revision: resource.revision + 1, updated_at: new Date() })
      .where('id', '=', resource.id)
      .where('revision', '=', resource.revision)
      .returning('revision')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('resource_history')
      .values({
        resource_id: resource.id,
        revision: row.revision,
        actor_id: history.actorId,
        changes: JSON.stringify(history.changes),
      })
      .execute();
    return row.revision;
  },

  async setGradeFlag(db: Executor, resourceId: string, flag: GradeFlag | null) {
    await sql`UPDATE resources SET grade_flag = ${flag === null ? null : JSON.stringify(flag)}::jsonb
      WHERE id = ${resourceId}`.execute(db);
  },

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
