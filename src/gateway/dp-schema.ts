import { Type } from 'typebox';

/** Request and response schemas of the differential-privacy routes (gateway/dp-routes.ts). */
export const ContractParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
export const ResourceParams = Type.Object({ code: Type.String({ minLength: 1, maxLength: 64 }) });

const FieldName = Type.String({ minLength: 1, maxLength: 64 });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

export const DpMetric = Type.Union([
  Type.Object({ fn: Type.Literal('count') }, { additionalProperties: false }),
  Type.Object({ fn: Type.Enum(['sum', 'mean'] as const), field: FieldName }, { additionalProperties: false }),
]);

export const DpRequest = Type.Object(
  {
    metrics: Type.Array(DpMetric, { minItems: 1, maxItems: 10 }),
    groupBy: Type.Optional(Type.Array(FieldName, { maxItems: 3, uniqueItems: true })),
    filter: Type.Optional(Type.Unknown()),
    rho: Type.Number({
      exclusiveMinimum: 0,
      maximum: 10,
      description: 'zCDP ρ this release spends, split evenly over its noisy measurements',
    }),
  },
  { additionalProperties: false },
);

const Spend = Type.Object({ rho: Type.Number(), epsilon: Type.Number(), delta: Type.Number() });
const Remaining = Type.Object({ rho: Type.Number() });
const Bounding = Type.Object({
  maxGroups: Type.Integer({ description: 'L0: groups one privacy unit may contribute to' }),
  maxRowsPerGroup: Type.Integer({ description: 'L∞: rows one privacy unit may contribute to a group' }),
  partitionThreshold: Nullable(Type.Integer()),
  publicDomain: Type.Boolean(),
});

export const DpPreview = Type.Object({
  cost: Spend,
  ci95: Type.Record(Type.String(), Nullable(Type.Number()), {
    description:
      'Half-width of the 95% interval of each released number (null for a mean: it depends on the count)',
  }),
  remaining: Remaining,
  affordable: Type.Boolean(),
  bounding: Bounding,
});

export const DpAggregate = Type.Object({
  rows: Type.Array(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Null()]))),
  ci95: Type.Array(
    Type.Record(Type.String(), Nullable(Type.Array(Type.Number(), { minItems: 2, maxItems: 2 }))),
  ),
  spent: Spend,
  remaining: Remaining,
  release: Type.String(),
  bounding: Bounding,
});

export const DpBudget = Type.Object({
  contractId: Type.String(),
  period: Type.Enum(['none', 'day', 'month'] as const),
  bucket: Type.String(),
  total: Spend,
  spent: Spend,
  remaining: Remaining,
  releases: Type.Integer(),
});

export const DpBudgetInput = Type.Object(
  {
    rho: Type.Number({ exclusiveMinimum: 0, maximum: 1000 }),
    period: Type.Optional(Type.Enum(['none', 'day', 'month'] as const)),
  },
  { additionalProperties: false },
);

const Bound = Type.Object(
  {
    lower: Type.Number(),
    upper: Type.Number(),
    precision: Type.Optional(Type.Integer({ minimum: 0, maximum: 6 })),
  },
  { additionalProperties: false },
);
const Domain = Type.Union([
  Type.Object(
    {
      values: Type.Array(Type.String({ maxLength: 200 }), { minItems: 1, maxItems: 5000, uniqueItems: true }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      counties: Type.String({
        pattern: '^\\d{6}$',
        description: 'GB/T 2260 prefecture: its counties are the domain',
      }),
      as: Type.Optional(Type.Enum(['code', 'name'] as const)),
    },
    { additionalProperties: false },
  ),
]);

export const DpSettingsInput = Type.Object(
  {
    unit: FieldName,
    maxGroups: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    maxRowsPerGroup: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    bounds: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Bound)),
    domains: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Domain)),
  },
  { additionalProperties: false },
);

export const DpSettings = Type.Object({
  resource: Type.String(),
  unit: Type.String(),
  maxGroups: Type.Integer(),
  maxRowsPerGroup: Type.Integer(),
  bounds: Type.Record(
    Type.String(),
    Type.Object({ lower: Type.Number(), upper: Type.Number(), precision: Type.Integer() }),
  ),
  domains: Type.Record(Type.String(), Type.Array(Type.String())),
  defaultBudget: Type.Object(
    { rho: Type.Number(), epsilon: Type.Number(), delta: Type.Number() },
    { description: 'The total a new contract on the resource holds until its provider sets one' },
  ),
  updatedAt: Type.String({ format: 'date-time' }),
});

// ——— approved computations ———

export const TemplateParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const TemplateInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    metrics: Type.Array(DpMetric, { minItems: 1, maxItems: 10 }),
    groupBy: Type.Optional(Type.Array(FieldName, { maxItems: 3, uniqueItems: true })),
    filter: Type.Optional(
      Type.Unknown({
        description: 'A gateway filter; a value may be {"param": name} to take a declared parameter',
      }),
    ),
    params: Type.Optional(
      Type.Record(
        Type.String({ pattern: '^[a-z][a-z0-9_]{0,31}$' }),
        Type.Enum(['text', 'integer', 'decimal', 'date', 'boolean'] as const),
        {
          maxProperties: 10,
        },
      ),
    ),
  },
  { additionalProperties: false },
);

export const Template = Type.Object({
  id: Type.String(),
  contractId: Type.String(),
  name: Type.String(),
  metrics: Type.Array(Type.Unknown()),
  groupBy: Type.Array(Type.String()),
  filter: Type.Unknown(),
  params: Type.Record(Type.String(), Type.String()),
  mode: Type.Enum(['dp', 'exact'] as const),
  state: Type.Enum(['submitted', 'security_review', 'approved', 'rejected'] as const),
  needsSecurity: Type.Boolean(),
  decisions: Type.Array(Type.Unknown()),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export const TemplateList = Type.Object({ items: Type.Array(Template) });

export const TemplateDecision = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);

export const TemplateRunInput = Type.Object(
  {
    params: Type.Optional(
      Type.Record(
        Type.String({ maxLength: 32 }),
        Type.Unknown({ description: 'a string, number or boolean of the declared type' }),
      ),
    ),
    rho: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 10 })),
  },
  { additionalProperties: false },
);

export const TemplateRun = Type.Object({
  template: Type.String(),
  mode: Type.Enum(['dp', 'exact'] as const),
  result: Type.Unknown({ description: 'The DP aggregate answer, or the exact aggregate answer' }),
});
