import { Type } from 'typebox';
import { Json, Nullable } from '../core/schemas.ts';
import { DATA_TYPES } from '../core/tables.ts';

const Cell = Nullable(Type.Union([Type.String(), Type.Number(), Type.Boolean()]));
const RowReport = Type.Object({
  line: Type.Integer(),
  code: Type.String(),
  zh: Type.String(),
  en: Type.String(),
  column: Type.Optional(Type.Integer({ description: '0-based column index' })),
});

export const FilePreview = Type.Object({
  format: Type.String(),
  encoding: Nullable(Type.String()),
  delimiter: Nullable(Type.String()),
  sheet: Nullable(Type.String()),
  sheets: Type.Array(Type.String()),
  sheetCount: Type.Integer(),
  title: Nullable(Type.String()),
  header: Type.Array(Type.String()),
  inferredFields: Type.Array(
    Type.Object({ name: Type.String(), label: Type.String(), dataType: Type.Enum(DATA_TYPES) }),
  ),
  sampleRows: Type.Array(Type.Array(Cell)),
  sampleProblems: Type.Array(RowReport),
});

export const ImportStarted = Type.Object({
  jobId: Type.String(),
  versionNumber: Type.Integer(),
  state: Type.Literal('running'),
});

export const ImportResult = Type.Object({
  jobId: Type.String(),
  versionId: Type.String(),
  versionNumber: Type.Integer(),
  rows: Type.Integer(),
  badRows: Type.Integer(),
  badRowReport: Type.Array(RowReport),
  missingFields: Type.Array(Type.String()),
  unknownColumns: Type.Array(Type.String()),
  duplicateKeys: Nullable(Type.Integer()),
  bulk: Type.Boolean({ description: 'the file went to COPY as it is (the bulk path)' }),
  bulkSkipped: Nullable(Type.String({ description: 'why the row path loaded it' })),
});

/** Per-column statistics of a version (src/ingest/stats.ts). */
export const ColumnStats = Type.Object(
  {
    count: Type.Integer(),
    nulls: Type.Integer(),
    nullRate: Type.Number(),
    invalid: Type.Integer({ description: 'values that made their row a bad row' }),
    distinctEstimate: Type.Number(),
    min: Type.Optional(Nullable(Type.Union([Type.String(), Type.Number()]))),
    max: Type.Optional(Nullable(Type.Union([Type.String(), Type.Number()]))),
  },
  { additionalProperties: true },
);

export const Version = Type.Object({
  id: Type.String(),
  number: Type.Integer(),
  state: Type.Enum(['loading', 'ready', 'failed']),
  current: Type.Boolean(),
  sourceName: Type.String(),
  sourceSize: Type.Integer(),
  sourceSm3: Nullable(Type.String()),
  sourceFormat: Type.String(),
  encoding: Nullable(Type.String()),
  columns: Type.Array(Type.Object({ name: Type.String(), dataType: Type.Enum(DATA_TYPES) })),
  rowCount: Type.Integer(),
  badRowCount: Type.Integer(),
  duplicateKeys: Nullable(Type.Integer()),
  columnStats: Nullable(
    Type.Record(Type.String(), ColumnStats, {
      description: "per column; minimum and maximum only for the provider's people",
    }),
  ),
  importerId: Type.String(),
  jobId: Nullable(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
  completedAt: Nullable(Type.String({ format: 'date-time' })),
});

export const ImportJob = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  state: Type.Enum(['running', 'succeeded', 'failed']),
  resourceId: Nullable(Type.String()),
  payload: Json,
  progress: Json,
  result: Json,
  error: Json,
  createdAt: Type.String({ format: 'date-time' }),
  startedAt: Nullable(Type.String({ format: 'date-time' })),
  finishedAt: Nullable(Type.String({ format: 'date-time' })),
});
