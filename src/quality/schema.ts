import { type Static, Type } from 'typebox';
import { Nullable } from '../core/schemas.ts';

/**
 * Quality rules (GB/T 36344-2018's six dimensions) as the API declares them, and the report
 * shapes. Each rule kind belongs to one dimension (see DIMENSION_OF in rules.ts).
 */
const FieldName = Type.String({ pattern: '^[a-z_][a-z0-9_]{0,62}$', description: 'field (column) name' });
const Time = Type.String({ format: 'date-time' });

export const DIMENSIONS = [
  'completeness',
  'conformance',
  'accuracy',
  'consistency',
  'timeliness',
  'accessibility',
] as const;
export type Dimension = (typeof DIMENSIONS)[number];

/** Detectors with a format that SQL can check (a regular expression, or a check character). */
export const SQL_DETECTORS = ['cn_resident_id', 'cn_uscc', 'cn_mobile', 'email', 'ipv4'] as const;
export const CHECK_DIGIT_STANDARDS = ['cn_resident_id', 'cn_uscc'] as const;
const Bound = Type.Union([Type.Number(), Type.String({ maxLength: 40 })]);
const Id = Type.Optional(
  Type.String({ pattern: '^[a-z0-9_.:-]{1,64}$', description: 'rule id (derived when absent)' }),
);

export const Rule = Type.Union([
  Type.Object(
    { id: Id, kind: Type.Literal('required'), field: FieldName },
    { additionalProperties: false, description: '完整性：必填 / completeness: value required' },
  ),
  Type.Object(
    {
      id: Id,
      kind: Type.Literal('null_rate'),
      field: FieldName,
      max: Type.Number({ minimum: 0, maximum: 1, description: 'highest acceptable share of empty values' }),
    },
    { additionalProperties: false, description: '完整性：空值率上限 / completeness: null rate at most max' },
  ),
  Type.Object(
    {
      id: Id,
      kind: Type.Literal('pattern'),
      field: FieldName,
      pattern: Type.String({
        minLength: 1,
        maxLength: 500,
        description: 'POSIX regular expression (PostgreSQL ~)',
      }),
    },
    { additionalProperties: false, description: '规范性：格式 / conformance: format' },
  ),
  Type.Object(
    {
      id: Id,
      kind: Type.Literal('enum'),
      field: FieldName,
      values: Type.Array(Type.String({ maxLength: 200 }), { minItems: 1, maxItems: 5000 }),
    },
    { additionalProperties: false, description: '规范性：代码表 / conformance: code list' },
  ),
  Type.Object(
    { id: Id, kind: Type.Literal('region_code'), field: FieldName },
    {
      additionalProperties: false,
      description: '规范性：GB/T 2260 行政区划代码 / conformance: GB/T 2260 code',
    },
  ),
  Type.Object(
    { id: Id, kind: Type.Literal('detector'), field: FieldName, detector: Type.Enum(SQL_DETECTORS) },
    { additionalProperties: false, description: '规范性：分类检测器格式 / conformance: detector format' },
  ),
  Type.Object(
    {
      id: Id,
      kind: Type.Literal('range'),
      field: FieldName,
      min: Type.Optional(Bound),
      max: Type.Optional(Bound),
    },
    { additionalProperties: false, description: '准确性：取值范围 / accuracy: range' },
  ),
  Type.Object(
    {
      id: Id,
      kind: Type.Literal('check_digit'),
      field: FieldName,
      standard: Type.Enum(CHECK_DIGIT_STANDARDS),
    },
    { additionalProperties: false, description: '准确性：校验位 / accuracy: check character' },
  ),
  Type.Object(
    { id: Id, kind: Type.Literal('id_birth_date'), field: FieldName, birthField: FieldName },
    {
      additionalProperties: false,
      description: '准确性：出生日期与身份号码一致 / accuracy: birth date inside the ID number',
    },
  ),
  Type.Object(
    {
      id: Id,
      kind: Type.Literal('compare'),
      field: FieldName,
      op: Type.Enum(['<', '<=', '=', '>=', '>', '<>']),
      otherField: FieldName,
    },
    { additionalProperties: false, description: '准确性：字段间关系 / accuracy: cross-field comparison' },
  ),
  Type.Object(
    { id: Id, kind: Type.Literal('unique'), fields: Type.Array(FieldName, { minItems: 1, maxItems: 8 }) },
    {
      additionalProperties: false,
      description: '一致性：主键不重复 / consistency: no duplicates on the key',
    },
  ),
  Type.Object(
    {
      id: Id,
      kind: Type.Literal('reference'),
      field: FieldName,
      resource: Type.String({ minLength: 1, maxLength: 64, description: 'referenced resource (id or code)' }),
      targetField: FieldName,
    },
    {
      additionalProperties: false,
      description:
        '一致性：引用另一资源（同一提供方）/ consistency: reference to another resource of the provider',
    },
  ),
  Type.Object(
    {
      id: Id,
      kind: Type.Literal('timeliness'),
      field: Type.Optional(FieldName),
      maxAgeDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 36500 })),
    },
    {
      additionalProperties: false,
      description:
        '及时性：最新记录的时效（默认按更新周期）/ timeliness: age of the newest record (default: the update cycle)',
    },
  ),
]);
export type Rule = Static<typeof Rule>;

export const RulesInput = Type.Object(
  {
    rules: Type.Array(Rule, { maxItems: 200 }),
    revision: Type.Optional(Type.Integer({ minimum: 0, description: 'expected revision (0 when none yet)' })),
  },
  { additionalProperties: false },
);

export const RulesView = Type.Object({
  resourceId: Type.String(),
  source: Type.Enum(['declared', 'default']),
  revision: Type.Integer(),
  rules: Type.Array(
    Type.Object(
      { id: Type.String(), kind: Type.String(), dimension: Type.Enum(DIMENSIONS) },
      {
        additionalProperties: true,
        description: 'a rule as declared (see the request body), with its id and dimension',
      },
    ),
  ),
  updatedBy: Nullable(Type.String()),
  updatedAt: Nullable(Time),
});

export const RuleResult = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  dimension: Type.Enum(DIMENSIONS),
  fields: Type.Array(Type.String()),
  checked: Type.Integer({ description: 'rows (or checks) the rule applied to' }),
  failed: Type.Integer(),
  score: Nullable(Type.Number({ description: '0–100; null when nothing applied' })),
  passed: Type.Boolean(),
  failingRows: Type.Array(Type.Integer(), {
    description: 'row numbers (the version ordinal) of the first failing rows, ascending',
  }),
  details: Type.Record(Type.String(), Type.Unknown()),
});

export const DimensionScore = Type.Object({
  dimension: Type.Enum(DIMENSIONS),
  score: Nullable(Type.Number()),
  weight: Type.Number(),
  rules: Type.Integer(),
});

export const Report = Type.Object({
  id: Type.String(),
  resourceId: Type.String(),
  versionId: Type.String(),
  version: Type.Integer(),
  rowCount: Type.Integer(),
  score: Type.Number(),
  level: Type.Integer({ minimum: 1, maximum: 5, description: '1 best … 5 worst' }),
  levelName: Type.Object({ 'zh-CN': Type.String(), en: Type.String() }),
  dimensions: Type.Array(DimensionScore),
  results: Type.Array(RuleResult),
  rulesSource: Type.Enum(['declared', 'default']),
  trigger: Type.Enum(['version', 'demand']),
  evaluatedAt: Time,
  durationMs: Type.Integer(),
});
export type Report = Static<typeof Report>;

export const TrendPoint = Type.Object({
  version: Type.Integer(),
  versionId: Type.String(),
  score: Type.Number(),
  level: Type.Integer(),
  evaluatedAt: Time,
});

export const QualityAlert = Type.Object({
  id: Type.String(),
  resourceId: Type.String(),
  versionId: Type.String(),
  previousVersionId: Type.String(),
  fromLevel: Type.Integer(),
  toLevel: Type.Integer(),
  fromScore: Type.Number(),
  toScore: Type.Number(),
  createdAt: Time,
});

export const QualityView = Type.Object({
  report: Report,
  trend: Type.Array(TrendPoint),
  alerts: Type.Array(QualityAlert),
});

export const ResourceParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
export const VersionQuery = Type.Object({
  version: Type.Optional(
    Type.Integer({ minimum: 1, description: 'version number (default: the current one)' }),
  ),
});

export const CardQuery = Type.Object({
  contract: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 64,
      description: 'a contract on the resource: its terms as the ODRL policy',
    }),
  ),
});
export const Card = Type.Object(
  { '@context': Type.Unknown(), '@id': Type.String(), '@type': Type.String() },
  { additionalProperties: true, description: 'Croissant 1.0 JSON-LD (schema.org Dataset)' },
);
