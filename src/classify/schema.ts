import { Type } from 'typebox';
import { Nullable } from '../core/schemas.ts';
import { GRADES } from '../rules/grades.ts';

const Grade = Type.Enum(GRADES);
const Time = Type.String({ format: 'date-time' });

export const ResourceParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
export const FieldParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64 }),
  name: Type.String({ minLength: 1, maxLength: 63, description: 'field (column) name' }),
});

export const GradeDecision = Type.Object(
  {
    grade: Type.Enum(
      GRADES.filter((g) => g !== 'unassessed'),
      { description: '确认或改定的级别 / the grade confirmed or set' },
    ),
    reason: Type.Optional(
      Type.String({
        maxLength: 2000,
        description: '理由；与建议级别不同时必填 / why; required when it differs from the suggestion',
      }),
    ),
  },
  { additionalProperties: false },
);

export const GradeDecisions = Type.Object(
  {
    fields: Type.Array(Type.String({ minLength: 1, maxLength: 63 }), {
      minItems: 1,
      maxItems: 1000,
      uniqueItems: true,
      description: '要定级的字段 / the fields to decide',
    }),
    grade: Type.Optional(
      Type.Enum(
        GRADES.filter((g) => g !== 'unassessed'),
        {
          description:
            '统一定为此级别；省略则各字段确认其建议级别 / one grade for all; omitted: each field’s suggestion',
        },
      ),
    ),
    reason: Type.Optional(
      Type.String({
        maxLength: 2000,
        description:
          '理由；任一字段与建议不同时必填 / why; required when any field differs from its suggestion',
      }),
    ),
  },
  { additionalProperties: false },
);

export const FlagClear = Type.Object(
  {
    reason: Type.String({
      minLength: 1,
      maxLength: 2000,
      description: '为何无需再处理 / why nothing more is needed',
    }),
  },
  { additionalProperties: false },
);

const FlagEntry = Type.Object({
  field: Type.String(),
  reason: Type.Enum(['declared_grade_contradicted', 'new_sensitive_column'] as const),
  declaredGrade: Nullable(Grade),
  previousDetector: Nullable(Type.String()),
  detector: Type.String(),
  suggestedGrade: Grade,
  confirmation: Nullable(
    Type.Object({ grade: Grade, by: Nullable(Type.String()), at: Time, reason: Nullable(Type.String()) }),
  ),
  versionId: Nullable(Type.String()),
  versionNumber: Nullable(Type.Integer()),
  at: Time,
});

export const Classification = Type.Object({
  resourceId: Type.String(),
  code: Type.String(),
  grade: Type.Enum(GRADES, { description: 'the resource grade: its highest field grade' }),
  flag: Nullable(
    Type.Object(
      { raisedAt: Time, fields: Type.Array(FlagEntry) },
      { description: 'set when new data contradicts the declared grades' },
    ),
  ),
  fields: Type.Array(
    Type.Object({
      name: Type.String(),
      label: Type.String(),
      grade: Type.Enum(GRADES, { description: 'effective grade: the confirmed one, else the suggestion' }),
      detector: Nullable(Type.String({ description: 'effective detector (drives default masks)' })),
      scan: Nullable(
        Type.Object({
          detector: Nullable(
            Type.String({ description: 'detector id (src/classify/detectors.ts), null: none' }),
          ),
          confidence: Type.Number({ minimum: 0, maximum: 1 }),
          ratio: Type.Number({ minimum: 0, maximum: 1, description: 'share of non-empty values validated' }),
          nonEmpty: Type.Integer(),
          evidence: Type.Object({
            samples: Type.Array(Type.String(), {
              description: 'masked with the detector’s default rule (free text: redact_spans)',
            }),
            headerHint: Nullable(Type.String()),
            formats: Type.Optional(
              Type.Record(Type.String(), Type.Integer(), {
                description:
                  'validated values per accepted format other than the plain one (src/rules/formats.ts)',
              }),
            ),
            shape: Type.Optional(
              Type.Object(
                {
                  digitValues: Type.Integer(),
                  monotonic: Type.Number(),
                  meanGap: Type.Number(),
                  unique: Type.Number(),
                  minLength: Type.Integer(),
                  maxLength: Type.Integer(),
                },
                { description: 'the column’s shape (src/rules/scan.ts, shape rules)' },
              ),
            ),
            rules: Type.Optional(
              Type.Array(Type.String(), {
                description:
                  'shape rules that decided against a detector or lowered confidence: rule:detector',
              }),
            ),
            basis: Type.Optional(
              Type.String({ description: 'source of a sensitive category’s vocabulary or standard' }),
            ),
            freeText: Type.Optional(
              Type.Object(
                {
                  entities: Type.Record(Type.String(), Type.Integer()),
                  valuesWithEntities: Type.Integer(),
                  mask: Type.Literal('redact_spans'),
                },
                { description: 'a free-text column: entities found inside its values, per type' },
              ),
            ),
          }),
          suggestedGrade: Grade,
          versionId: Nullable(Type.String()),
          versionNumber: Nullable(Type.Integer()),
          rows: Type.Integer(),
          sampled: Type.Boolean({ description: 'judged on a reservoir sample rather than every row' }),
          scannedAt: Time,
        }),
      ),
      confirmation: Nullable(
        Type.Object({
          grade: Grade,
          by: Nullable(
            Type.Object(
              { id: Type.String(), username: Nullable(Type.String()) },
              { description: 'null: declared in the catalog before classification ran' },
            ),
          ),
          at: Time,
          reason: Nullable(Type.String()),
        }),
      ),
    }),
  ),
});
