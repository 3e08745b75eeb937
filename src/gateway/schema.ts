import { Type } from 'typebox';
import { Json, JsonObject, Nullable } from '../core/schemas.ts';

/**
 * What the gateway answers. Its routes send bodies they have serialized themselves (rows are
 * written once, counted in bytes for the usage record, or streamed), so these schemas document
 * the answers; Fastify does not serialize a string body again.
 */

/** One row: the granted fields by their (aliased) names, masked as the contract says. */
const Row = Type.Record(Type.String(), Json, { description: 'granted fields by name, masked' });

const ChangedField = Type.Object(
  {
    name: Type.String(),
    grade: Type.String(),
    detector: Nullable(Type.String()),
    contractMask: Type.String(),
    mask: Nullable(Type.String()),
  },
  { description: 'a field re-graded since approval, served under the stricter mask' },
);
const ChangedFields = Type.Optional(Type.Array(ChangedField));

export const RowsPage = Type.Object({
  items: Type.Array(Row),
  nextCursor: Nullable(Type.String()),
  fields: Type.Array(
    Type.Object({
      name: Type.String(),
      label: Type.String(),
      dataType: Type.String(),
      mask: Type.String({ description: 'the mask applied (none: served as stored)' }),
    }),
  ),
  changedFields: ChangedFields,
});

export const Rows = Type.Array(Row, { description: 'a bare JSON array of rows (PostgREST)' });

export const Aggregate = Type.Object({
  groups: Type.Array(Row, { description: 'group values and metrics by alias; small groups withheld' }),
  minGroupSize: Type.Integer(),
  filter: Json,
  changedFields: ChangedFields,
});

/** The contract described as OpenAPI 3.0, for generators (gateway/postgrest.ts builds it). */
export const ContractOpenApi = JsonObject;

const Text = Type.String();

/** The answers of the rows endpoint, by the media type the caller accepts. */
export function rowsContent(objectType: string, pageType: string) {
  return {
    description: 'rows (206 when a range is partial)',
    content: {
      'application/json': { schema: Rows },
      [objectType]: { schema: Row },
      [pageType]: { schema: RowsPage },
      'text/csv': { schema: Text },
      'application/x-ndjson': { schema: Text },
    },
  };
}

export const ExportFormatQuery = Type.Object(
  {
    format: Type.Optional(
      Type.Union([Type.Literal('jsonl'), Type.Literal('parquet')], {
        default: 'jsonl',
        description: 'jsonl (one JSON object a line, UTF-8) or parquet',
      }),
    ),
  },
  { additionalProperties: false },
);

const ExportField = Type.Object({
  name: Type.String(),
  label: Type.String(),
  dataType: Type.String({ description: "the field's type in the catalog" }),
  mask: Type.String({ description: 'the mask applied (none: served as stored; masked values are text)' }),
  jsonType: Type.String({ description: 'integer, number, boolean or string' }),
  parquetType: Type.String({
    description: 'INT64, DOUBLE, BOOLEAN, STRING or TIMESTAMP (milliseconds, UTC)',
  }),
});

export const ExportManifest = Type.Object({
  contractId: Type.String(),
  format: Type.String(),
  mediaType: Type.String(),
  rows: Type.Integer(),
  bytes: Type.Integer(),
  sm3: Type.String({ description: "SM3 of the export file's bytes, hex" }),
  fields: Type.Array(ExportField),
  version: Type.Object({
    id: Type.String(),
    number: Type.Integer(),
    sourceSm3: Nullable(Type.String({ description: 'SM3 of the file the version was loaded from' })),
    completedAt: Nullable(Type.String()),
    pinned: Type.Boolean({ description: 'the contract is pinned to this version' }),
  }),
  terms: Type.Object({
    purpose: Type.String(),
    validFrom: Type.String(),
    validTo: Type.String(),
    operations: Type.Array(Type.String()),
    quotaRowsPerDay: Type.Integer(),
    onwardTransfer: Type.Boolean(),
    rowFilter: Json,
    masking: Type.Record(Type.String(), Type.String()),
  }),
  changedFields: Type.Array(ChangedField),
});

/** The export's body: a file, streamed. */
export const exportContent = {
  description: 'the file, streamed',
  content: {
    'application/jsonl': { schema: Type.String() },
    'application/vnd.apache.parquet': { schema: Type.String({ format: 'binary' }) },
  },
};
