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
