import { Type } from 'typebox';
import { pageSchema } from '../core/paging.ts';

export { PageQuery } from '../core/paging.ts';

import {
  APPLICATION_STATES,
  BUNDLE_STATES,
  CONSENT_RELATIONS,
  CONSENT_STATES,
  NOTIFICATION_KINDS,
  STEP_STATES,
} from './store.ts';

const Text = (maxLength: number, minLength = 1) => Type.String({ minLength, maxLength });
const Key = Type.String({ pattern: '^[a-z][a-z0-9_]{0,39}$', description: 'step or field key' });
const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'YYYY-MM-DD (China civil date)' });
const NullableDay = Type.Union([Day, Type.Null()]);
const Id = Type.String({ minLength: 1, maxLength: 64 });

export const IdParams = Type.Object({ id: Id });
export const StepParams = Type.Object({ id: Id, step: Key });

const Source = Type.Object(
  {
    resourceId: Id,
    field: Text(128),
    keyField: Text(128),
  },
  {
    additionalProperties: false,
    description:
      '共享数据来源 / the catalog resource and field a contract can give, found by the applicant key',
  },
);

const StepField = Type.Object(
  { name: Key, label: Text(100), source: Type.Optional(Source) },
  { additionalProperties: false },
);

const StepDefinition = Type.Object(
  {
    key: Key,
    name: Text(100),
    orgId: Id,
    dependsOn: Type.Array(Key, { maxItems: 20, uniqueItems: true }),
    workingDays: Type.Integer({ minimum: 1, maximum: 60 }),
    fields: Type.Array(StepField, { maxItems: 100 }),
  },
  { additionalProperties: false },
);

const Prefix = Type.String({ pattern: '^\\d{2,6}$', description: 'GB/T 2260 division code prefix' });
const EligibilityRule = Type.Union([
  Type.Object({ kind: Type.Literal('note'), text: Text(200) }, { additionalProperties: false }),
  Type.Object(
    {
      kind: Type.Literal('region'),
      text: Text(200),
      prefixes: Type.Array(Prefix, { minItems: 1, maxItems: 50 }),
    },
    {
      additionalProperties: false,
      description: 'the subject’s division (ID digits 1–6, credit code digits 3–8)',
    },
  ),
  Type.Object(
    {
      kind: Type.Literal('age'),
      text: Text(200),
      min: Type.Optional(Type.Integer({ minimum: 0, maximum: 150 })),
      max: Type.Optional(Type.Integer({ minimum: 0, maximum: 150 })),
    },
    { additionalProperties: false, description: 'the person’s age in full years on the day of application' },
  ),
  Type.Object(
    {
      kind: Type.Literal('sex'),
      text: Text(200),
      sex: Type.Union([Type.Literal('male'), Type.Literal('female')]),
    },
    { additionalProperties: false },
  ),
]);

const EligibilityResult = Type.Object({
  text: Type.String(),
  kind: Type.String(),
  met: Type.Union([Type.Boolean(), Type.Null()], {
    description: 'null: declared, the applicant confirms it; true/false: checked by the server',
  }),
  reason: Type.Optional(Type.Object({ zh: Type.String(), en: Type.String() })),
});

export const Eligibility = Type.Object({
  eligible: Type.Boolean({ description: 'every checked condition is met' }),
  results: Type.Array(EligibilityResult),
});

export const EligibilityQuery = Type.Object(
  { consentId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) },
  { additionalProperties: false },
);

export const BundleBody = Type.Object(
  {
    code: Type.String({ pattern: '^[A-Z0-9][A-Z0-9-]{1,39}$' }),
    name: Text(100),
    nameEn: Text(200),
    eventKind: Type.Union([Type.Literal('life'), Type.Literal('business')]),
    leadOrgId: Id,
    promisedWorkingDays: Type.Integer({ minimum: 1, maximum: 60 }),
    steps: Type.Array(StepDefinition, { minItems: 1, maxItems: 30 }),
    eligibility: Type.Optional(
      Type.Array(Type.Union([Text(200), EligibilityRule]), {
        maxItems: 20,
        description:
          '申请条件 / what an applicant must meet: text the applicant confirms, or a rule the server checks on the subject (services/eligibility.ts)',
      }),
    ),
  },
  { additionalProperties: false },
);

export const Savings = Type.Object(
  {
    steps: Type.Integer(),
    departments: Type.Integer(),
    separateFields: Type.Integer({
      description: 'fields filled when applying to each department separately',
    }),
    mergedFields: Type.Integer({ description: 'distinct fields of the one merged form' }),
    exemptedFields: Type.Integer({
      description: 'merged-form fields contracts give every step needing them (免提交)',
    }),
    askedFields: Type.Integer({ description: 'fields the citizen still fills' }),
    fieldsNotAsked: Type.Integer({ description: 'separateFields − askedFields' }),
    materialsExempted: Type.Integer({
      description: '(step, field) pairs a department gets through a contract',
    }),
    countersAvoided: Type.Integer({ description: 'departments − 1: one window instead of each counter' }),
    sequentialWorkingDays: Type.Integer(),
    bundleWorkingDays: Type.Integer({ description: 'the longest dependency chain' }),
  },
  { description: '一件事节省 / what the bundle saves, computed from the steps and the contracts in force' },
);

const FieldPlan = Type.Object({
  name: Type.String(),
  label: Type.String(),
  provenance: Type.Union([Type.Literal('contract'), Type.Literal('no_contract'), Type.Literal('asked')]),
  contractId: Type.Union([Type.String(), Type.Null()]),
  providerName: Type.Union([Type.String(), Type.Null()], {
    description: '数据提供部门 / whose data a sourced field is (the resource’s provider)',
  }),
});

export const Bundle = Type.Object({
  id: Type.String(),
  code: Type.String(),
  name: Type.String(),
  nameEn: Type.String(),
  eventKind: Type.String(),
  leadOrgId: Type.String(),
  state: Type.Enum(BUNDLE_STATES),
  promisedWorkingDays: Type.Integer(),
  eligibility: Type.Array(Type.String(), { description: '申请条件的文字 / the conditions as text' }),
  eligibilityRules: Type.Array(EligibilityRule, {
    description: '申请条件 / each condition, and whether the server checks it',
  }),
  steps: Type.Array(
    Type.Object({
      key: Type.String(),
      name: Type.String(),
      orgId: Type.String(),
      orgName: Type.String({ description: '办理部门 / the step’s department' }),
      dependsOn: Type.Array(Type.String()),
      workingDays: Type.Integer(),
      fields: Type.Array(FieldPlan),
    }),
  ),
  savings: Savings,
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export const BundlePage = pageSchema(Bundle);

export const SavingsList = Type.Array(
  Type.Object({
    code: Type.String(),
    name: Type.String(),
    state: Type.Enum(BUNDLE_STATES),
    savings: Savings,
  }),
);

export const ApplyBody = Type.Object(
  {
    subjectKey: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description:
          'Whose data: set from the applicant (a citizen’s resident ID, an organization’s credit code, or the grantor’s under consentId); if given it must agree',
      }),
    ),
    consentId: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: '家庭授权 / a consent the citizen received' }),
    ),
    form: Type.Record(Key, Type.String({ maxLength: 2000 }), { maxProperties: 200 }),
  },
  { additionalProperties: false },
);

export const ReasonBody = Type.Object({ reason: Text(2000) }, { additionalProperties: false });

export const Application = Type.Object({
  id: Type.String(),
  bundle: Type.Object({ id: Type.String(), code: Type.String(), name: Type.String() }),
  applicantUserId: Type.String(),
  subjectKey: Type.String(),
  consentId: Type.Union([Type.String(), Type.Null()]),
  form: Type.Record(Type.String(), Type.String()),
  state: Type.Enum(APPLICATION_STATES),
  submittedOn: Day,
  dueOn: Day,
  overdue: Type.Boolean(),
  steps: Type.Array(
    Type.Object({
      key: Type.String(),
      name: Type.String(),
      orgId: Type.String(),
      orgName: Type.String(),
      state: Type.Enum(STEP_STATES),
      dependsOn: Type.Array(Type.String()),
      workingDays: Type.Integer(),
      releasedOn: NullableDay,
      dueOn: NullableDay,
      doneOn: NullableDay,
      overdue: Type.Boolean(),
      workingDaysOverdue: Type.Integer(),
      prefill: Type.Record(Type.String(), Type.Object({ value: Type.Unknown(), contractId: Type.String() }), {
        description: '经共享数据预填 / filled through the named contract',
      }),
      reason: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export const ApplicationPage = pageSchema(Application);

export const PrefillResult = Type.Object({
  application: Application,
  filled: Type.Array(Type.String()),
  missing: Type.Array(Type.String(), {
    description: 'sourced fields no contract in force gave: ask the applicant',
  }),
  reasons: Type.Record(Type.String(), Type.String(), {
    description:
      'why each missing field is missing: no_contract, no_row, or the gateway’s refusal code (e.g. FILTER_ON_MASKED_FIELD when the contract serves the key field masked)',
  }),
});

export const OverdueSteps = Type.Array(
  Type.Object({
    applicationId: Type.String(),
    step: Type.String(),
    orgId: Type.String(),
    state: Type.Enum(STEP_STATES),
    dueOn: Day,
    workingDaysOverdue: Type.Integer(),
  }),
);

const IdNumber = Type.String({
  minLength: 15,
  maxLength: 24,
  description: '公民身份号码 / resident ID number',
});

export const ConsentBody = Type.Object(
  {
    granteeIdNumber: IdNumber,
    granteeName: Text(50),
    relation: Type.Enum(CONSENT_RELATIONS),
    validUntil: Day,
    bundleIds: Type.Optional(
      Type.Array(Id, {
        maxItems: 20,
        uniqueItems: true,
        description:
          '只用于这些一件事（编号或代码）；不填则用于所有个人事项 / the bundles it is for; none: every life event',
      }),
    ),
  },
  { additionalProperties: false },
);

export const Consent = Type.Object({
  id: Type.String(),
  grantorName: Type.String(),
  grantorIdNumberMasked: Type.String(),
  granteeName: Type.String(),
  granteeIdNumberMasked: Type.String(),
  relation: Type.Enum(CONSENT_RELATIONS),
  validFrom: Day,
  validUntil: Day,
  bundles: Type.Array(Type.Object({ id: Type.String(), code: Type.String(), name: Type.String() }), {
    description: 'the bundles it is for; empty: every life-event bundle',
  }),
  state: Type.Enum(CONSENT_STATES),
  inForce: Type.Boolean(),
  revokedOn: NullableDay,
  createdAt: Type.String(),
});

export const Consents = Type.Object({ given: Type.Array(Consent), received: Type.Array(Consent) });

export const NotificationQuery = Type.Object(
  {
    unread: Type.Optional(Type.Boolean({ description: 'only those not yet read' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
    cursor: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

export const Notification = Type.Object({
  id: Type.String(),
  kind: Type.Enum(NOTIFICATION_KINDS),
  applicationId: Type.Union([Type.String(), Type.Null()]),
  details: Type.Record(Type.String(), Type.String()),
  message: Type.Object({ zh: Type.String(), en: Type.String() }),
  createdAt: Type.String(),
  read: Type.Boolean(),
});

export const NotificationPage = Type.Object({
  items: Type.Array(Notification),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
  unread: Type.Integer({ description: 'how many of all are unread' }),
});

export const ReadBody = Type.Object(
  {
    ids: Type.Optional(
      Type.Array(Type.String({ maxLength: 64 }), { maxItems: 200, description: 'omitted: all of them' }),
    ),
  },
  { additionalProperties: false },
);

export const ReadResult = Type.Object({ marked: Type.Integer(), unread: Type.Integer() });
