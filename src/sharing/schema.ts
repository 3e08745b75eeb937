import { Type } from 'typebox';
import { pageSchema } from '../core/paging.ts';
import { Json, JsonObject, Nullable } from '../core/schemas.ts';

const Operations = Type.Array(Type.Enum(['rows', 'aggregate']));
const Time = Type.String({ format: 'date-time' });

// Stored as JSON and sent as stored: the properties below are what the server writes today,
// and `additionalProperties` keeps anything a later version adds from being dropped on the way out.
const open = { additionalProperties: true } as const;

/** The terms granted by approval (src/sharing/policy.ts Terms). */
export const Terms = Type.Object(
  {
    fields: Type.Array(Type.String()),
    masking: Type.Record(Type.String(), Type.String()),
    rowFilter: Json,
    operations: Operations,
    validFrom: Time,
    validTo: Time,
    rateLimitPerMinute: Type.Integer(),
    quotaRowsPerDay: Type.Integer(),
    ipAllowlist: Type.Array(Type.String()),
    minGroupSize: Type.Integer(),
    onwardTransfer: Type.Boolean(),
    securitySignoff: Type.Boolean(),
    workingHoursOnly: Type.Optional(Type.Boolean()),
    pinnedVersionId: Nullable(Type.String()),
  },
  open,
);

/** One reviewer's decision on an application, in the order made. */
export const DecisionRecord = Type.Object(
  {
    by: Type.String({ description: "user id, or 'system' for automatic approval" }),
    role: Type.Optional(Type.String()),
    decision: Type.Enum(['approve', 'reject']),
    at: Time,
    reason: Type.String(),
    changes: Type.Optional(JsonObject),
  },
  open,
);

/** The prosecutor re-identification risk of the served quasi-identifiers, computed at approval. */
export const Reidentification = Type.Object(
  {
    quasiIdentifiers: Type.Array(Type.String()),
    k: Type.Integer(),
    records: Type.Integer(),
    recordsAtRisk: Type.Integer(),
    risk: Type.Number(),
    thresholdPercent: Type.Number(),
    versionId: Type.Optional(Type.String()),
    computedAt: Type.Optional(Time),
  },
  open,
);

/** The request letter (申请函) attached to an application, without its bytes. */
export const ApplicationLetter = Type.Object({
  fileName: Type.String(),
  contentType: Type.Enum(['application/pdf', 'image/png', 'image/jpeg']),
  size: Type.Integer({ description: 'bytes' }),
  sm3: Type.String({ description: 'SM3 of the bytes, hex' }),
  uploadedAt: Time,
  uploadedBy: Type.String({ description: 'user id' }),
});

export const Application = Type.Object({
  id: Type.String(),
  resourceId: Type.String(),
  consumerOrgId: Type.String(),
  applicantId: Type.String(),
  state: Type.Enum(['draft', 'submitted', 'security_review', 'approved', 'rejected', 'withdrawn']),
  fields: Type.Array(Type.String()),
  purpose: Type.String(),
  purposeCategory: Type.String(),
  legalBasis: Type.String(),
  scenario: Type.String(),
  operations: Operations,
  requestedFrom: Time,
  requestedTo: Time,
  needsSecurityReview: Type.Boolean(),
  granted: Nullable(Terms),
  reidentification: Nullable(Reidentification),
  decisions: Type.Array(DecisionRecord),
  submittedAt: Nullable(Time),
  dueAt: Nullable(Time),
  overdue: Type.Boolean(),
  contractId: Nullable(Type.String()),
  letter: Nullable(ApplicationLetter),
  createdAt: Time,
  updatedAt: Time,
});

export const Contract = Type.Object({
  id: Type.String(),
  applicationId: Type.String(),
  resourceId: Type.String(),
  providerOrgId: Type.String(),
  consumerOrgId: Type.String(),
  state: Type.Enum(['active', 'suspended', 'revoked', 'expired']),
  fields: Type.Array(Type.String()),
  masking: Type.Record(Type.String(), Type.String()),
  rowFilter: Json,
  operations: Operations,
  purpose: Type.String(),
  validFrom: Time,
  validTo: Time,
  rateLimitPerMinute: Type.Integer(),
  quotaRowsPerDay: Type.Integer(),
  ipAllowlist: Type.Array(Type.String()),
  onwardTransfer: Type.Boolean(),
  minGroupSize: Type.Integer(),
  pinnedVersionId: Nullable(Type.String()),
  securitySignoff: Type.Boolean(),
  workingHoursOnly: Type.Boolean(),
  reviewFlag: Nullable(JsonObject),
  stateReason: Nullable(Type.String()),
  createdAt: Time,
  updatedAt: Time,
});

export const ApplicationPage = pageSchema(Application);
export const ContractPage = pageSchema(Contract);
