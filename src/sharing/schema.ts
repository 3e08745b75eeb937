import { Type } from 'typebox';
import { pageSchema } from '../core/paging.ts';
import { Json, JsonObject, Nullable } from '../core/schemas.ts';

const Operations = Type.Array(Type.Enum(['rows', 'aggregate']));
const Time = Type.String({ format: 'date-time' });

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
  granted: Nullable(JsonObject),
  reidentification: Nullable(JsonObject),
  decisions: Type.Array(JsonObject),
  submittedAt: Nullable(Time),
  dueAt: Nullable(Time),
  overdue: Type.Boolean(),
  contractId: Nullable(Type.String()),
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
