import { Type } from 'typebox';
import {
  CHAIN_LEVELS,
  DATA_TYPES,
  FORM_BASES,
  FORM_STATES,
  INDEX_STATES,
  INDICATOR_STATES,
  LEVELS,
  PERIODS,
  PLATFORM_METRICS,
  SIGNOFF_STATES,
  SUBMISSION_STATES,
} from './store.ts';

const Text = (maxLength: number, minLength = 1) => Type.String({ minLength, maxLength });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);
const Code = Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_.-]{0,63}$', description: 'code, e.g. JC-POP-001' });
const Period = Type.String({
  pattern: '^\\d{4}(-Q[1-4]|-(0[1-9]|1[0-2]))?$',
  description: "'2026', '2026-Q1' or '2026-03'",
});
const UnitCode = Type.String({
  pattern: '^\\d{6}(\\d{3}(\\d{3})?)?$',
  description: '统计用区划代码: 6 digits (district or city, GB/T 2260), 9 (town), 12 (community)',
});
const Time = Type.String({ format: 'date-time' });
const Weight = Type.Number({ exclusiveMinimum: 0, maximum: 1000 });

export const CodeParams = Type.Object({ code: Code });
export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

const Source = Type.Union([
  Type.Object({ kind: Type.Literal('reported') }, { additionalProperties: false }),
  Type.Object(
    {
      kind: Type.Literal('resource_field'),
      resourceId: Text(64),
      field: Text(128),
      unitField: Type.Optional(
        Type.String({
          minLength: 1,
          maxLength: 128,
          description:
            'the resource field holding the reporting unit’s division code; with `periodField`, lets a unit’s to-do be pre-filled from the resource through a contract',
        }),
      ),
      periodField: Type.Optional(
        Type.String({
          minLength: 1,
          maxLength: 128,
          description: 'the resource field holding the period (2026, 2026-Q1, 2026-03)',
        }),
      ),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('formula'),
      op: Type.Union([Type.Literal('sum'), Type.Literal('ratio')]),
      of: Type.Array(Code, { minItems: 2, maxItems: 50 }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('platform'),
      metric: Type.Enum(PLATFORM_METRICS, {
        description:
          'a figure the platform holds, per district or city and period: resources_shared (distinct resources under a contract in force, by the providers there), gateway_calls (admitted calls of the consumers there), bundles_done (get-one-thing-done applications completed, by lead department), satisfaction_rate (per cent of ratings of 4 or 5 for the departments there)',
      }),
    },
    { additionalProperties: false },
  ),
]);
const Rule = Type.Object(
  { min: Type.Optional(Type.Number()), max: Type.Optional(Type.Number()) },
  { additionalProperties: false, description: 'range of an acceptable value' },
);

const IndicatorFields = {
  nameZh: Text(200),
  nameEn: Text(200),
  definition: Text(2000),
  unit: Text(32),
  dataType: Type.Enum(DATA_TYPES),
  period: Type.Enum(PERIODS),
  level: Type.Enum(LEVELS),
  source: Source,
  rule: Type.Optional(Rule),
};
export const IndicatorBody = Type.Object(
  { code: Code, ownerOrgId: Type.Optional(Text(64)), ...IndicatorFields },
  { additionalProperties: false },
);
export const IndicatorPatch = Type.Partial(Type.Object(IndicatorFields, { additionalProperties: false }), {
  additionalProperties: false,
  minProperties: 1,
});
export const IndicatorQuery = Type.Object(
  { state: Type.Optional(Type.Enum(INDICATOR_STATES)), q: Type.Optional(Text(100)) },
  { additionalProperties: false },
);
export const MergeBody = Type.Object({ into: Code }, { additionalProperties: false });

const IndicatorShape = {
  id: Type.String(),
  code: Type.String(),
  version: Type.Integer(),
  nameZh: Type.String(),
  nameEn: Type.String(),
  definition: Type.String(),
  unit: Type.String(),
  dataType: Type.Enum(DATA_TYPES),
  period: Type.Enum(PERIODS),
  level: Type.Enum(LEVELS),
  ownerOrgId: Type.String(),
  source: Source,
  rule: Rule,
  state: Type.Enum(INDICATOR_STATES),
  mergedInto: Nullable(Type.String()),
  createdAt: Time,
  updatedAt: Time,
};
export const Indicator = Type.Object(IndicatorShape);
export const IndicatorList = Type.Array(Indicator);
export const IndicatorDetail = Type.Object({
  ...IndicatorShape,
  versions: Type.Array(
    Type.Object({
      version: Type.Integer(),
      snapshot: Type.Record(Type.String(), Type.Unknown()),
      changedBy: Type.String(),
      changedAt: Time,
    }),
  ),
});
export const NearDuplicates = Type.Array(
  Type.Object({ a: Type.String(), b: Type.String(), similarity: Type.Number() }),
);

export const ValuesQuery = Type.Object(
  { period: Period, within: Type.Optional(Type.String({ pattern: '^\\d{2,12}$' })) },
  { additionalProperties: false },
);
export const Values = Type.Array(
  Type.Object({
    id: Type.String(),
    unitCode: Type.String(),
    period: Type.String(),
    value: Type.Number(),
    submissionId: Type.String(),
    reportedBy: Type.String(),
    reportedAt: Time,
  }),
);

// ---------------------------------------------------------------------------- forms

const SumCheck = Type.Object(
  { kind: Type.Literal('sum'), total: Code, parts: Type.Array(Code, { minItems: 1, maxItems: 50 }) },
  { additionalProperties: false, description: 'the parts add up to the total' },
);
export const FormBody = Type.Object(
  {
    code: Code,
    nameZh: Text(200),
    nameEn: Text(200),
    year: Type.Integer({ minimum: 2000, maximum: 2100 }),
    period: Type.Enum(PERIODS),
    level: Type.Enum(LEVELS),
    basis: Type.Enum(FORM_BASES, {
      description: 'catalogue (年度报表目录), one_off (一事一报 approval) or after_filing (事后备案)',
    }),
    approval: Type.Optional(Text(500)),
    indicators: Type.Array(Code, { minItems: 1, maxItems: 500 }),
    checks: Type.Optional(Type.Array(SumCheck, { maxItems: 100 })),
    dueWorkingDays: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 60,
        default: 10,
        description: 'working days (official holiday calendar) after the period ends that the report is due',
      }),
    ),
  },
  { additionalProperties: false },
);
export const FormQuery = Type.Object(
  {
    year: Type.Optional(Type.Integer({ minimum: 2000, maximum: 2100 })),
    state: Type.Optional(Type.Enum(FORM_STATES)),
  },
  { additionalProperties: false },
);
const Burden = {
  forms: Type.Integer(),
  onCatalogue: Type.Integer(),
  items: Type.Integer({ description: 'item slots over all forms' }),
  indicators: Type.Integer({ description: 'distinct indicators: what is collected once' }),
};
/** An indicator as a form shows it. */
const ItemShape = {
  code: Type.String(),
  nameZh: Type.String(),
  nameEn: Type.String(),
  unit: Type.String(),
  dataType: Type.Enum(DATA_TYPES),
};
export const Form = Type.Object({
  id: Type.String(),
  code: Type.String(),
  nameZh: Type.String(),
  nameEn: Type.String(),
  year: Type.Integer(),
  period: Type.Enum(PERIODS),
  level: Type.Enum(LEVELS),
  ownerOrgId: Type.String(),
  basis: Type.Enum(FORM_BASES),
  approval: Nullable(Type.String()),
  checks: Type.Array(SumCheck),
  state: Type.Enum(FORM_STATES),
  dueWorkingDays: Type.Integer(),
  indicators: Type.Array(Type.Object(ItemShape)),
  createdAt: Time,
});
export const Catalogue = Type.Object({ forms: Type.Array(Form), measure: Type.Object(Burden) });

export const SubmitBody = Type.Object(
  {
    period: Period,
    unitCode: UnitCode,
    values: Type.Record(Code, Type.Number(), { maxProperties: 500 }),
  },
  { additionalProperties: false },
);
export const ReasonBody = Type.Object({ reason: Text(2000) }, { additionalProperties: false });
export const SignoffBody = Type.Object(
  { comment: Type.Optional(Text(2000)) },
  { additionalProperties: false },
);
const Chain = Type.Object(
  {
    round: Type.Integer({ description: '1, and one more at each resubmission after a return' }),
    steps: Type.Array(
      Type.Object({
        level: Type.Enum(CHAIN_LEVELS),
        unitCode: Type.String({ description: 'the division signing off at this step' }),
        state: Type.Enum(SIGNOFF_STATES, {
          description:
            'pending; signed; returned (for correction, with the reason as comment); skipped (no government department sits at this division); cancelled (a division below returned the submission)',
        }),
        decidedBy: Nullable(Type.String()),
        decidedOrgId: Nullable(Type.String()),
        decidedAt: Nullable(Time),
        comment: Nullable(Type.String()),
      }),
      { description: 'the divisions between the unit and the form’s department, nearest the unit first' },
    ),
    signedOff: Type.Boolean({ description: 'every step signed or skipped: the department may decide' }),
    awaiting: Nullable(
      Type.Object(
        {
          by: Type.Union([Type.Literal('division'), Type.Literal('department')]),
          level: Nullable(Type.Enum(CHAIN_LEVELS)),
          unitCode: Nullable(Type.String()),
          orgId: Nullable(Type.String({ description: 'the form’s department, when it is its turn' })),
        },
        { description: 'who acts next (null once accepted or returned)' },
      ),
    ),
  },
  { description: 'the sign-off chain of the current round' },
);
export const Submission = Type.Object({
  id: Type.String(),
  formCode: Type.String(),
  period: Type.String(),
  unitCode: Type.String(),
  orgId: Type.String(),
  state: Type.Enum(SUBMISSION_STATES),
  reason: Nullable(Type.String()),
  submittedBy: Type.String(),
  decidedBy: Nullable(Type.String()),
  chain: Chain,
  items: Type.Array(
    Type.Object({
      code: Type.String(),
      value: Nullable(Type.Number()),
      source: Nullable(
        Type.Union([Type.Literal('entered'), Type.Literal('reused'), Type.Literal('shared')], {
          description:
            'entered on this form, reused from the value another form brought (`from` is that submission), or taken from shared data (`from` is the contract it was read under)',
        }),
      ),
      from: Nullable(Type.String({ description: 'the submission the value came from' })),
    }),
  ),
  createdAt: Time,
  updatedAt: Time,
});
export const SubmissionList = Type.Array(Submission);
export const SignoffTodo = Type.Object({
  division: Nullable(
    Type.String({
      description: 'the division the caller signs off at (their government department’s region)',
    }),
  ),
  signoff: Type.Array(Submission, { description: 'waiting at the caller’s division: sign off or return' }),
  accept: Type.Array(Submission, {
    description: 'the caller’s organization’s forms, signed off all the way up: accept or return',
  }),
});

export const UnitPeriodQuery = Type.Object(
  { unitCode: UnitCode, period: Period },
  { additionalProperties: false },
);
const Day = Type.String({ format: 'date', description: 'a civil date in China (YYYY-MM-DD)' });
const CalendarCertain = Type.Boolean({
  description: "false when that year's official holiday arrangement is not published yet (weekends only)",
});
export const Todo = Type.Object({
  unitCode: Type.String(),
  level: Type.Enum(LEVELS),
  period: Type.String(),
  forms: Type.Array(
    Type.Object({
      code: Type.String(),
      nameZh: Type.String(),
      nameEn: Type.String(),
      submitted: Type.Boolean(),
      dueOn: Day,
      overdue: Type.Boolean({ description: 'not submitted and past its due date (Beijing time)' }),
      calendarCertain: CalendarCertain,
    }),
  ),
  items: Type.Array(
    Type.Object({
      ...ItemShape,
      rule: Rule,
      forms: Type.Array(Type.String()),
      sharedSource: Nullable(
        Type.Object(
          { resourceId: Type.String(), field: Type.String() },
          { description: 'the catalog resource field this figure can be pre-filled from' },
        ),
      ),
      prefill: Nullable(
        Type.Object({
          value: Type.Number(),
          source: Type.Union([Type.Literal('reported'), Type.Literal('shared')], {
            description: 'reported on another form (its submission), or read from shared data (its contract)',
          }),
          submissionId: Nullable(Type.String()),
          contractId: Nullable(Type.String()),
          resourceId: Nullable(Type.String()),
          reportedAt: Time,
        }),
      ),
    }),
  ),
  measure: Type.Object({
    ...Burden,
    prefilled: Type.Integer(),
    prefilledShare: Type.Number(),
    fromShared: Type.Integer({ description: 'items pre-filled from shared data through a contract' }),
  }),
});
export const PrefillResult = Type.Object({
  filled: Type.Array(Type.Object({ code: Type.String(), value: Type.Number(), contractId: Type.String() })),
  refused: Type.Array(
    Type.Object({
      code: Type.String(),
      reason: Type.String({
        description:
          'not_keyed, no_contract, no_row, several_rows, not_a_number, fails_rule, or the gateway’s refusal code (CONTRACT_EXPIRED, FROZEN, QUOTA_EXCEEDED…)',
      }),
    }),
  ),
  todo: Todo,
});
export const RemindersQuery = Type.Object(
  { unitCode: Type.Optional(UnitCode) },
  { additionalProperties: false },
);
export const Reminders = Type.Object({
  unitCode: Type.String(),
  level: Type.Enum(LEVELS),
  today: Day,
  items: Type.Array(
    Type.Object({
      formCode: Type.String(),
      nameZh: Type.String(),
      nameEn: Type.String(),
      period: Type.String(),
      dueOn: Day,
      overdue: Type.Boolean(),
      returned: Type.Boolean({ description: 'returned for correction and not yet submitted again' }),
      calendarCertain: CalendarCertain,
    }),
  ),
});
export const Rollup = Type.Object({
  formCode: Type.String(),
  unitCode: Type.String(),
  period: Type.String(),
  units: Type.Integer(),
  items: Type.Array(
    Type.Object({ code: Type.String(), value: Nullable(Type.Number()), units: Type.Integer() }),
  ),
});

// ---------------------------------------------------------------------------- evaluation

const Normalization = Type.Union([
  Type.Object({ method: Type.Literal('minmax') }, { additionalProperties: false }),
  Type.Object(
    { method: Type.Literal('egdi'), cap: Type.Optional(Type.Number({ exclusiveMinimum: 0 })) },
    { additionalProperties: false },
  ),
  Type.Object(
    { method: Type.Literal('fixed'), min: Type.Number(), max: Type.Number() },
    { additionalProperties: false },
  ),
  Type.Object({ method: Type.Literal('binary') }, { additionalProperties: false }),
]);
const Aggregation = Type.Union([Type.Literal('arithmetic'), Type.Literal('geometric')]);
const Dimension = Type.Object(
  {
    code: Code,
    nameZh: Text(200),
    nameEn: Text(200),
    weight: Weight,
    indicators: Type.Array(
      Type.Object(
        {
          code: Code,
          weight: Weight,
          normalization: Normalization,
          direction: Type.Optional(Type.Union([Type.Literal('higher'), Type.Literal('lower')])),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 200 },
    ),
  },
  { additionalProperties: false },
);
export const IndexBody = Type.Object(
  {
    code: Code,
    nameZh: Text(200),
    nameEn: Text(200),
    aggregation: Aggregation,
    minCoverage: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    dimensions: Type.Array(Dimension, { minItems: 1, maxItems: 50 }),
  },
  { additionalProperties: false },
);
export const EvaluationIndex = Type.Object({
  id: Type.String(),
  code: Type.String(),
  nameZh: Type.String(),
  nameEn: Type.String(),
  state: Type.Enum(INDEX_STATES),
  ownerOrgId: Type.String(),
  aggregation: Aggregation,
  minCoverage: Type.Number(),
  dimensions: Type.Array(Dimension),
  createdAt: Time,
});
export const IndexList = Type.Array(EvaluationIndex);
export const ResultsQuery = Type.Object(
  {
    period: Period,
    previousPeriod: Type.Optional(Period),
    within: Type.Optional(Type.String({ pattern: '^\\d{2,12}$', description: 'units whose code starts so' })),
  },
  { additionalProperties: false },
);
export const Results = Type.Object({
  index: Type.String(),
  period: Type.String(),
  previousPeriod: Nullable(Type.String()),
  units: Type.Array(
    Type.Object({
      unitCode: Type.String(),
      score: Nullable(Type.Number()),
      rank: Nullable(Type.Integer()),
      coverage: Type.Number(),
      previousScore: Nullable(Type.Number()),
      change: Nullable(Type.Number()),
      dimensions: Type.Array(
        Type.Object({
          code: Type.String(),
          score: Nullable(Type.Number()),
          coverage: Type.Number(),
          contribution: Nullable(Type.Number()),
        }),
      ),
      inputs: Type.Array(
        Type.Object({
          indicator: Type.String(),
          value: Type.Number(),
          normalized: Nullable(Type.Number()),
          valueId: Nullable(Type.String()),
          submissionId: Nullable(Type.String()),
          derivedFrom: Nullable(Type.Array(Type.String())),
        }),
      ),
    }),
  ),
});
