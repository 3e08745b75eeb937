import { sql } from 'kysely';
import { copyCsv, type Db, type Executor } from '../core/db.ts';
import type { DataType, VersionState } from '../core/tables.ts';

/** Dataset rows live in schema `datasets`, one table per version: `datasets.v_<version id>`. */
export const DATASET_SCHEMA = 'datasets';
export const ROW_ORDINAL = '_row';

const SQL_TYPES: Record<DataType, string> = {
  integer: 'bigint',
  decimal: 'numeric',
  boolean: 'boolean',
  date: 'date',
  timestamp: 'timestamptz',
  text: 'text',
};

// Field names are validated as ^[a-z_][a-z0-9_]*$ and table names are built from ids; quoting
// them anyway keeps reserved words (order, user, …) usable as column names.
const ident = (name: string) => {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`unsafe identifier: ${name}`);
  return `"${name}"`;
};

export function datasetTable(tableName: string): string {
  return `${DATASET_SCHEMA}.${ident(tableName)}`;
}

export const ingestStore = {
  async nextVersionNumber(db: Executor, resourceId: string): Promise<number> {
    const row = await db
      .selectFrom('dataset_versions')
      .select((eb) => eb.fn.max<number>('number').as('n'))
      .where('resource_id', '=', resourceId)
      .executeTakeFirst();
    return (row?.n ?? 0) + 1;
  },

  insertVersion(
    db: Executor,
    version: {
      id: string;
      resource_id: string;
      number: number;
      table_name: string;
      job_id: string;
      source_name: string;
      source_size: number;
      source_sm3: string | null;
      source_format: string;
      encoding: string | null;
      columns: string;
      importer_id: string;
    },
  ) {
    return db
      .insertInto('dataset_versions')
      .values({ ...version, state: 'loading' })
      .returningAll()
      .executeTakeFirstOrThrow();
  },

  async createDatasetTable(
    db: Executor,
    tableName: string,
    columns: Array<{ name: string; dataType: DataType }>,
  ) {
    const definitions = [
      `${ROW_ORDINAL} bigint NOT NULL`,
      ...columns.map((c) => `${ident(c.name)} ${SQL_TYPES[c.dataType]}`),
    ];
    await sql.raw(`CREATE TABLE ${datasetTable(tableName)} (${definitions.join(', ')})`).execute(db);
  },

  dropDatasetTable(db: Executor, tableName: string) {
    return sql.raw(`DROP TABLE IF EXISTS ${datasetTable(tableName)}`).execute(db);
  },

  load(db: Db, tableName: string, columns: string[], csv: string) {
    return copyCsv(db, datasetTable(tableName), [ROW_ORDINAL, ...columns], csv);
  },

  /** Rows that repeat an earlier row's key: rows minus distinct keys. */
  async duplicateKeys(db: Executor, tableName: string, keyColumns: string[]): Promise<number | null> {
    if (keyColumns.length === 0) return null;
    const key = keyColumns.map(ident).join(', ');
    const { rows } = await sql
      .raw<{ n: number }>(
        `SELECT (count(*) - count(DISTINCT (${key}, true)))::bigint AS n FROM ${datasetTable(tableName)}`,
      )
      .execute(db);
    return Number(rows[0]?.n ?? 0);
  },

  async indexOrdinal(db: Executor, tableName: string) {
    await sql.raw(`CREATE UNIQUE INDEX ON ${datasetTable(tableName)} (${ROW_ORDINAL})`).execute(db);
  },

  completeVersion(
    db: Executor,
    id: string,
    done: { row_count: number; bad_row_count: number; duplicate_keys: number | null; column_stats: string },
  ) {
    return db
      .updateTable('dataset_versions')
      .set({ ...done, state: 'ready', completed_at: new Date() })
      .where('id', '=', id)
      .where('state', '=', 'loading')
      .returningAll()
      .executeTakeFirst();
  },

  setVersionState(db: Executor, id: string, from: VersionState, to: VersionState) {
    return db
      .updateTable('dataset_versions')
      .set({ state: to })
      .where('id', '=', id)
      .where('state', '=', from)
      .execute();
  },

  findVersionByJob(db: Executor, jobId: string) {
    return db.selectFrom('dataset_versions').selectAll().where('job_id', '=', jobId).executeTakeFirst();
  },

  findVersion(db: Executor, resourceId: string, number: number) {
    return db
      .selectFrom('dataset_versions')
      .selectAll()
      .where('resource_id', '=', resourceId)
      .where('number', '=', number)
      .executeTakeFirst();
  },

  findVersionById(db: Executor, id: string) {
    return db.selectFrom('dataset_versions').selectAll().where('id', '=', id).executeTakeFirst();
  },

  listVersions(db: Executor, resourceId: string) {
    return db
      .selectFrom('dataset_versions')
      .selectAll()
      .where('resource_id', '=', resourceId)
      .orderBy('number', 'desc')
      .execute();
  },

  setCurrentVersion(db: Executor, resourceId: string, versionId: string) {
    return db
      .updateTable('resources')
      .set({ current_version_id: versionId })
      .where('id', '=', resourceId)
      .execute();
  },
};
