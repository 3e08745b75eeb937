/**
 * Where dataset rows live, shared by every capability that reads them through SQL (ingest writes
 * them; classification, monitoring and the gateway read them): schema `datasets`, one table per
 * version, `datasets.v_<version id>`, each with an ordinal column numbering the rows as read.
 */
export const DATASET_SCHEMA = 'datasets';
export const ROW_ORDINAL = '_row';

/**
 * Names a dataset column cannot take, quoted or not: the ordinal column and PostgreSQL's system
 * columns (CREATE TABLE refuses them). Reserved words are fine: ident() quotes every name.
 */
export const RESERVED_COLUMN_NAMES: ReadonlySet<string> = new Set([
  ROW_ORDINAL,
  'tableoid',
  'xmin',
  'cmin',
  'xmax',
  'cmax',
  'ctid',
  'oid',
]);

// Field names are validated as ^[a-z_][a-z0-9_]*$ and table names are built from ids; quoting
// them anyway keeps reserved words (order, user, …) usable as column names.
export const ident = (name: string) => {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`unsafe identifier: ${name}`);
  return `"${name}"`;
};

/** The qualified, quoted name of a version's table. */
export function datasetTable(tableName: string): string {
  return `${DATASET_SCHEMA}.${ident(tableName)}`;
}
