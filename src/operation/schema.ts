import { Type } from 'typebox';
import { Nullable } from '../core/schemas.ts';
import {
  AGREEMENT_STATES,
  AUTH_MODES,
  PLAN_STATES,
  PRODUCT_KINDS,
  PURPOSES,
  SELECTION_METHODS,
  UNITS,
} from './store.ts';

const Text = (maxLength: number) => Type.String({ minLength: 1, maxLength });
const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' });
const Fen = Type.Integer({ minimum: 0, maximum: 1e13, description: '金额（分）/ amount in fen' });
const Id = Text(64);
const ResourceScope = Type.Array(
  Type.Object(
    { resourceId: Id, fields: Type.Array(Text(128), { minItems: 1, maxItems: 500 }) },
    { additionalProperties: false },
  ),
  { minItems: 1, maxItems: 200 },
);

export const IdParams = Type.Object({ id: Id });
export const YearParams = Type.Object({ year: Type.Integer({ minimum: 2000, maximum: 2200 }) });
export const CapParams = Type.Object({ orgId: Id, year: Type.Integer({ minimum: 2000, maximum: 2200 }) });
export const MonthQuery = Type.Object(
  { month: Type.Optional(Type.String({ pattern: '^\\d{4}(-\\d{2})?$' })) },
  { additionalProperties: false },
);
export const YearQuery = Type.Object(
  { year: Type.Optional(Type.Integer({ minimum: 2000, maximum: 2200 })) },
  { additionalProperties: false },
);
export const OperatorQuery = Type.Object(
  { operatorOrgId: Type.Optional(Id) },
  { additionalProperties: false },
);

export const PlanBody = Type.Object(
  {
    name: Text(200),
    mode: Type.Enum(AUTH_MODES),
    resourceIds: Type.Array(Id, { minItems: 1, maxItems: 200 }),
    scenarios: Type.Array(Text(500), { minItems: 1, maxItems: 100 }),
    selectionMethod: Type.Enum(SELECTION_METHODS),
    securityMeasures: Text(4000),
    termYears: Type.Integer({ minimum: 1, maximum: 50 }),
  },
  { additionalProperties: false },
);
export const Plan = Type.Object({
  id: Type.String(),
  name: Type.String(),
  mode: Type.Enum(AUTH_MODES),
  resourceIds: Type.Array(Type.String()),
  scenarios: Type.Array(Type.String()),
  selectionMethod: Type.Enum(SELECTION_METHODS),
  securityMeasures: Type.String(),
  termYears: Type.Integer(),
  state: Type.Enum(PLAN_STATES),
  approvedBy: Nullable(Type.String()),
  approvedAt: Nullable(Type.String()),
  selection: Nullable(
    Type.Object({
      candidates: Type.Array(
        Type.Object({ orgId: Type.String(), name: Type.String(), score: Type.Number() }),
      ),
      winnerOrgId: Type.String(),
      noticeFrom: Day,
      noticeUntil: Day,
      decidedOn: Day,
    }),
  ),
  createdAt: Type.String(),
});
export const SelectionBody = Type.Object(
  {
    candidates: Type.Array(
      Type.Object(
        { orgId: Id, score: Type.Number({ minimum: 0, maximum: 1000 }) },
        { additionalProperties: false },
      ),
      {
        minItems: 1,
        maxItems: 50,
      },
    ),
    noticeWorkingDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 60 })),
  },
  { additionalProperties: false },
);

export const AgreementBody = Type.Object(
  {
    planId: Id,
    scope: Type.Object({ resources: ResourceScope }, { additionalProperties: false }),
    scenarios: Type.Array(Text(500), { minItems: 1, maxItems: 100 }),
    validFrom: Day,
    validTo: Day,
    duties: Text(8000),
    pricing: Text(8000),
    revenue: Text(8000),
    exitTerms: Text(8000),
  },
  { additionalProperties: false },
);
export const Agreement = Type.Object({
  id: Type.String(),
  planId: Type.String(),
  operatorOrgId: Type.String(),
  scope: Type.Object({
    resources: Type.Array(Type.Object({ resourceId: Type.String(), fields: Type.Array(Type.String()) })),
  }),
  scenarios: Type.Array(Type.String()),
  validFrom: Day,
  validTo: Day,
  duties: Type.String(),
  pricing: Type.String(),
  revenue: Type.String(),
  exitTerms: Type.String(),
  state: Type.Enum(AGREEMENT_STATES),
  createdAt: Type.String(),
});
export const ReasonBody = Type.Object({ reason: Text(2000) }, { additionalProperties: false });

export const ProductBody = Type.Object(
  {
    agreementId: Id,
    name: Text(200),
    kind: Type.Enum(PRODUCT_KINDS),
    summary: Text(4000),
    lineage: Type.Object({ resources: ResourceScope }, { additionalProperties: false }),
  },
  { additionalProperties: false },
);
const Price = Type.Object({
  unit: Type.Enum(UNITS),
  capFen: Type.Integer(),
  priceFen: Nullable(Type.Integer()),
  trial: Type.Boolean(),
  basis: Type.String(),
  updatedAt: Type.String(),
});
export const Product = Type.Object({
  id: Type.String(),
  agreementId: Type.String(),
  operatorOrgId: Type.String(),
  name: Type.String(),
  kind: Type.Enum(PRODUCT_KINDS),
  summary: Type.String(),
  lineage: Type.Object({
    resources: Type.Array(Type.Object({ resourceId: Type.String(), fields: Type.Array(Type.String()) })),
  }),
  prices: Type.Array(Price),
  registrationCode: Nullable(Type.String()),
  createdAt: Type.String(),
});
export const CapFeeBody = Type.Object(
  { unit: Type.Enum(UNITS), capFen: Fen, basis: Text(4000) },
  { additionalProperties: false },
);
export const PriceBody = Type.Object(
  { unit: Type.Enum(UNITS), priceFen: Fen },
  { additionalProperties: false },
);

export const RevenueCapBody = Type.Object(
  {
    costs: Type.Array(Type.Object({ item: Text(200), amountFen: Fen }, { additionalProperties: false }), {
      minItems: 1,
      maxItems: 100,
    }),
    profitRateBp: Type.Integer({
      minimum: 0,
      maximum: 10_000,
      description: '准许利润率（基点）/ basis points',
    }),
    bondYieldBp: Type.Integer({
      minimum: 0,
      maximum: 10_000,
      description: '上年十年期国债平均收益率（基点）',
    }),
    taxFen: Fen,
  },
  { additionalProperties: false },
);
export const RevenueCap = Type.Object({
  operatorOrgId: Type.String(),
  year: Type.Integer(),
  costs: Type.Array(Type.Object({ item: Type.String(), amountFen: Type.Integer() })),
  operatingCostFen: Type.Integer(),
  profitRateBp: Type.Integer(),
  bondYieldBp: Type.Integer(),
  taxFen: Type.Integer(),
  maxRevenueFen: Type.Integer(),
  carriedOverFen: Type.Integer(),
  effectiveMaxFen: Type.Integer(),
  trial: Type.Boolean(),
  closedRevenueFen: Nullable(Type.Integer()),
  closedAt: Nullable(Type.String()),
});

export const SubscriptionBody = Type.Object(
  { productId: Id, contractId: Id, purpose: Type.Enum(PURPOSES), unit: Type.Enum(UNITS) },
  { additionalProperties: false },
);
export const SubscribableContract = Type.Object({
  contractId: Type.String(),
  customerOrgId: Type.String(),
  customerName: Type.String(),
  resourceId: Type.String(),
  resourceName: Type.String(),
  validTo: Type.String(),
});
export const Subscription = Type.Object({
  id: Type.String(),
  productId: Type.String(),
  contractId: Type.String(),
  customerOrgId: Type.String(),
  purpose: Type.Enum(PURPOSES),
  free: Type.Boolean(),
  unit: Type.Enum(UNITS),
  createdAt: Type.String(),
});
export const BillBody = Type.Object(
  { month: Type.String({ pattern: '^\\d{4}-(0[1-9]|1[0-2])$' }) },
  { additionalProperties: false },
);
const BillLine = Type.Object({
  description: Type.String(),
  unit: Type.Enum(UNITS),
  quantity: Type.Integer(),
  unitPriceFen: Type.Integer(),
  amountFen: Type.Integer(),
});
export const Bill = Type.Object({
  id: Type.String(),
  subscriptionId: Type.String(),
  contractId: Type.String(),
  operatorOrgId: Type.String(),
  customerOrgId: Type.String(),
  month: Type.String(),
  lines: Type.Array(BillLine),
  totalFen: Type.Integer(),
  metered: Type.Object({
    first: Nullable(Type.Integer()),
    last: Nullable(Type.Integer()),
    calls: Type.Integer(),
  }),
  issuedAt: Type.String(),
});
export const Reproduction = Type.Object({
  billId: Type.String(),
  matches: Type.Boolean(),
  issued: Type.Object({ lines: Type.Array(BillLine), totalFen: Type.Integer() }),
  recomputed: Type.Object({ lines: Type.Array(BillLine), totalFen: Type.Integer() }),
});

export const Disclosure = Type.Object({
  year: Type.Integer(),
  dueBy: Day,
  generatedAt: Type.String(),
  implementingBody: Type.Object({ authorizations: Type.Integer(), operators: Type.Integer() }),
  operators: Type.Array(
    Type.Object({
      orgId: Type.String(),
      name: Type.String(),
      uscc: Type.String(),
      agreements: Type.Array(
        Type.Object({
          id: Type.String(),
          validFrom: Day,
          validTo: Day,
          scenarios: Type.Array(Type.String()),
          state: Type.String(),
        }),
      ),
      authorizedResources: Type.Array(
        Type.Object({
          resourceId: Type.String(),
          code: Type.String(),
          name: Type.String(),
          provider: Type.String(),
          fields: Type.Array(Type.String()),
          agreementId: Type.String(),
        }),
      ),
      products: Type.Array(
        Type.Object({
          id: Type.String(),
          name: Type.String(),
          kind: Type.String(),
          registrationCode: Nullable(Type.String()),
          fees: Type.Array(Price),
        }),
      ),
      revenue: Type.Object({
        maxRevenueFen: Nullable(Type.Integer()),
        carriedOverFen: Nullable(Type.Integer()),
        actualFen: Type.Integer(),
        trial: Type.Boolean(),
      }),
    }),
  ),
});

export const OperationRules = Type.Object({
  maxTermYears: Type.Integer({
    description: '方案和协议的最长期限（年）/ the longest term of a plan or agreement, in years',
  }),
});
