import { Type } from 'typebox';
import { GRADES } from '../rules/grades.ts';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);
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
            samples: Type.Array(Type.String(), { description: 'masked with the detector’s default rule' }),
            headerHint: Nullable(Type.String()),
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
