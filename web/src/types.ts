/**
 * The shapes of the public API the console reads, derived from the server's own response schemas
 * (the TypeBox schemas behind /openapi.json): a change on the server that the console does not
 * follow fails `npm run typecheck`. Type-only imports: nothing of the server reaches the bundle but
 * the constant lists of src/core/tables.ts, which the schemas' enums are built from too, the step
 * lifecycle of src/services/steps.ts and the rectification case lifecycle of
 * src/ratings/case-lifecycle.ts and the message kinds of src/messages/kinds.ts (tables with no
 * imports of their own).
 */
import type { Static } from 'typebox';
import type * as audit from '../../src/audit/schema.ts';
import type * as catalog from '../../src/catalog/schema.ts';
import type * as classify from '../../src/classify/schema.ts';
import type {
  AdminLevel,
  DataType,
  Grade,
  OpenType,
  OrgType,
  Role,
  SharingType,
} from '../../src/core/tables.ts';
import {
  ADMIN_LEVELS,
  DATA_TYPES,
  GRADES,
  OPEN_TYPES,
  ORG_TYPES,
  ROLES,
  SHARING_TYPES,
} from '../../src/core/tables.ts';
import type * as dp from '../../src/gateway/dp-schema.ts';
import type * as gateway from '../../src/gateway/schema.ts';
import type * as identity from '../../src/identity/schema.ts';
import type * as ingest from '../../src/ingest/schema.ts';
import { MESSAGE_KINDS, type MessageKind } from '../../src/messages/kinds.ts';
import type * as messages from '../../src/messages/schema.ts';
import type * as monitor from '../../src/monitor/schema.ts';
import type * as operation from '../../src/operation/schema.ts';
import { CASE_LIFECYCLE, type CaseEvent } from '../../src/ratings/case-lifecycle.ts';
import type * as ratings from '../../src/ratings/schema.ts';
import type * as registry from '../../src/registry/schema.ts';
import type { Filter, FilterOp } from '../../src/rules/filters.ts';
import type * as services from '../../src/services/schema.ts';
import { STEP_LIFECYCLE, type StepEvent } from '../../src/services/steps.ts';
import type * as sharing from '../../src/sharing/schema.ts';

export type { AdminLevel, DataType, Filter, FilterOp, Grade, OpenType, OrgType, Role, SharingType };
export {
  ADMIN_LEVELS,
  DATA_TYPES,
  GRADES,
  MESSAGE_KINDS,
  type MessageKind,
  OPEN_TYPES,
  ORG_TYPES,
  ROLES,
  SHARING_TYPES,
};

export const UPDATE_CYCLES = [
  'realtime',
  'daily',
  'weekly',
  'monthly',
  'quarterly',
  'half_yearly',
  'yearly',
  'irregular',
] as const satisfies readonly Resource['updateCycle'][];
export type Operation = Contract['operations'][number];
export const PURPOSE_CATEGORIES = [
  'public_service',
  'public_governance',
  'industry_development',
  'research',
  'other',
] as const;
export type ApplicationState = Application['state'];
export const APPLICATION_STATES = [
  'draft',
  'submitted',
  'security_review',
  'approved',
  'rejected',
  'withdrawn',
] as const satisfies readonly ApplicationState[];
export type ContractState = Contract['state'];
export const CONTRACT_STATES = [
  'active',
  'suspended',
  'revoked',
  'expired',
] as const satisfies readonly ContractState[];

export type RegistrationState = Registration['state'];
export const REGISTRATION_STATES = [
  'submitted',
  'returned',
  'accepted',
  'reviewed',
  'notice',
  'registered',
  'rejected',
  'superseded',
  'cancelled',
  'withdrawn',
] as const satisfies readonly RegistrationState[];
export type RegistrationKind = Registration['kind'];
export const REGISTRATION_KINDS = [
  'first',
  'change',
  'correction',
  'cancellation',
] as const satisfies readonly RegistrationKind[];

/** The lists above name every value of the server's enum: a value added there and not here fails typecheck. */
type Covers<Union, List extends readonly unknown[]> = [Union] extends [List[number]] ? true : false;
const covered: [
  Covers<ApplicationState, typeof APPLICATION_STATES>,
  Covers<ContractState, typeof CONTRACT_STATES>,
  Covers<RegistrationState, typeof REGISTRATION_STATES>,
  Covers<RegistrationKind, typeof REGISTRATION_KINDS>,
] = [true, true, true, true];
void covered;

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export type Organization = Static<typeof identity.Organization>;
export type User = Static<typeof identity.User>;
export type Me = Static<typeof identity.Me>;
export type ApiKey = Static<typeof identity.ApiKey>;
export type Message = Static<typeof messages.Message>;
export type MessagePage = Static<typeof messages.MessagePage>;
export type ReadResult = Static<typeof messages.ReadResult>;

export type Theme = Static<typeof catalog.Theme>;
export type Field = Static<typeof catalog.Field>;
export type Resource = Static<typeof catalog.Resource>;
export type HistoryEntry = Static<typeof catalog.HistoryEntry>;
export type CatalogSearch = Static<typeof catalog.SearchResult>;

export type ColumnStats = Static<typeof ingest.ColumnStats>;
export type Version = Static<typeof ingest.Version>;
export type ImportPreview = Static<typeof ingest.FilePreview>;
export type ProposedField = ImportPreview['inferredFields'][number];
export type ImportResult = Static<typeof ingest.ImportResult>;
export type BadRow = ImportResult['badRowReport'][number];

/**
 * A background job. Its progress, result and error depend on the job's kind, so the server
 * declares them as JSON; the console reads import jobs, whose result is an ImportResult.
 */
export type Job = Omit<Static<typeof ingest.ImportJob>, 'progress' | 'result' | 'error'> & {
  progress: {
    rows?: number;
    bytes?: number;
    totalBytes?: number;
    percent?: number;
    loadedRows?: number;
    badRows?: number;
  } | null;
  result: ImportResult | null;
  error: {
    code: string;
    message: string;
    details?: { firstBadRows?: BadRow[]; badRows?: number; [key: string]: unknown };
  } | null;
};

export type Terms = Static<typeof sharing.Terms>;
export type DecisionRecord = Static<typeof sharing.DecisionRecord>;
export type Application = Static<typeof sharing.Application>;
export type ApplicationLetter = Static<typeof sharing.ApplicationLetter>;
export type Contract = Static<typeof sharing.Contract>;

/** GET /v1/contracts/{id}/agreement: the terms in words and the SM3 verification code. */
export interface Agreement {
  record: { fields: Array<{ name: string; grade: string | null; mask: string }> };
  code: string;
  state: string;
  terms: Array<{ key: string; label: { zh: string; en: string }; text: { zh: string; en: string } }>;
}

export type GatewayRows = Static<typeof gateway.RowsPage>;

export interface DayUsage {
  date: string;
  requests: number;
  rows: number;
  bytes: number;
}

export interface ContractUsage {
  contractId: string;
  quotaRowsPerDay: number;
  rateLimitPerMinute: number;
  days: DayUsage[];
}

export interface UsageSummary {
  days: DayUsage[];
  topConsumers: { orgId: string; name: string; requests: number; rows: number }[];
}

export type AuditEntry = Static<typeof audit.Entry>;
export type TreeHead = Static<typeof audit.Head>;
export type InclusionProof = Static<typeof audit.InclusionProof>;
export type AuditPublicKey = Static<typeof audit.PublicKey>;

export type Classification = Static<typeof classify.Classification>;
export type FieldClassification = Classification['fields'][number];
export type FieldScan = NonNullable<FieldClassification['scan']>;

export type MonitorAlert = Static<typeof monitor.Alert>;
export type MonitorFreeze = Static<typeof monitor.Freeze>;
export type MonitorRule = Static<typeof monitor.Rule>;

/** Differential privacy (issue 14): as the DP routes answer. */
export type DpSettings = Static<typeof dp.DpSettings>;
export type DpBudget = Static<typeof dp.DpBudget>;
export type DpPreview = Static<typeof dp.DpPreview>;
export type DpAggregate = Static<typeof dp.DpAggregate>;
export type QueryTemplate = Static<typeof dp.Template>;

/** The public data registry (公共数据资源登记, issue 19). */
export type Registration = Static<typeof registry.Registration>;
export type RegistrationContent = Static<typeof registry.Content>;
export type RegistrationCommitment = Static<typeof registry.Commitment>;
export type RegistrationSubmit = Static<typeof registry.SubmitBody>;
export type RegistrationObjection = Registration['objections'][number];
export type CertificateHistory = Static<typeof registry.CertificateHistory>;
export type SignedCertificate = Static<typeof registry.SignedCertificate>;

/** Authorized operation (授权运营), its prices, bills and disclosure: as src/operation answers. */
export type OperationPlan = Static<typeof operation.Plan>;
export type OperationAgreement = Static<typeof operation.Agreement>;
export type OperationRules = Static<typeof operation.OperationRules>;
export type DataProduct = Static<typeof operation.Product>;
export type ProductPrice = DataProduct['prices'][number];
export type RevenueCap = Static<typeof operation.RevenueCap>;
export type Subscription = Static<typeof operation.Subscription>;
export type SubscribableContract = Static<typeof operation.SubscribableContract>;
export type Bill = Static<typeof operation.Bill>;
export type BillLine = Bill['lines'][number];
export type BillReproduction = Static<typeof operation.Reproduction>;
export type Disclosure = Static<typeof operation.Disclosure>;
export type PlanState = OperationPlan['state'];
export type AgreementState = OperationAgreement['state'];
export type ChargeUnit = ProductPrice['unit'];
export type ProductKind = DataProduct['kind'];
export type UsePurpose = Subscription['purpose'];
export type AuthMode = OperationPlan['mode'];
export type SelectionMethod = OperationPlan['selectionMethod'];
export const AUTH_MODES = ['whole', 'domain', 'scenario'] as const satisfies readonly AuthMode[];
export const SELECTION_METHODS = [
  'public_tender',
  'invited_tender',
  'negotiation',
  'other_competition',
] as const satisfies readonly SelectionMethod[];
export const PLAN_STATES = [
  'draft',
  'approved',
  'selected',
  'withdrawn',
] as const satisfies readonly PlanState[];
export const AGREEMENT_STATES = [
  'active',
  'terminated',
  'expired',
] as const satisfies readonly AgreementState[];
export const CHARGE_UNITS = ['call', 'row', 'month', 'volume'] as const satisfies readonly ChargeUnit[];
export const PRODUCT_KINDS = ['dataset', 'api', 'report'] as const satisfies readonly ProductKind[];
export const USE_PURPOSES = [
  'public_governance',
  'public_welfare',
  'industry',
  'sector',
] as const satisfies readonly UsePurpose[];
const operationCovered: [
  Covers<PlanState, typeof PLAN_STATES>,
  Covers<AgreementState, typeof AGREEMENT_STATES>,
  Covers<ChargeUnit, typeof CHARGE_UNITS>,
  Covers<ProductKind, typeof PRODUCT_KINDS>,
  Covers<UsePurpose, typeof USE_PURPOSES>,
  Covers<AuthMode, typeof AUTH_MODES>,
  Covers<SelectionMethod, typeof SELECTION_METHODS>,
] = [true, true, true, true, true, true, true];
void operationCovered;

/** "Get one thing done" (一件事一次办, issue 22): applications as a department's staff handle them. */
export type ServiceApplication = Static<typeof services.Application>;
export type ServiceStep = ServiceApplication['steps'][number];
export type StepState = ServiceStep['state'];
export type ServiceBundle = Static<typeof services.Bundle>;
export type PrefillResult = Static<typeof services.PrefillResult>;
export type OverdueStep = Static<typeof services.OverdueSteps>[number];

/** What a department's staff do to a step (release is the server's, resubmit the applicant's). */
export type StaffStepEvent = Exclude<StepEvent, 'release' | 'resubmit'>;
export const STAFF_STEP_EVENTS = [
  'accept',
  'start',
  'complete',
  'return',
  'refuse',
] as const satisfies readonly StaffStepEvent[];
const servicesCovered: [Covers<StaffStepEvent, typeof STAFF_STEP_EVENTS>] = [true];
void servicesCovered;

/** The staff moves the server's STEP_LIFECYCLE allows from `state`, in the table's order. */
export function staffMoves(state: StepState): StaffStepEvent[] {
  return STAFF_STEP_EVENTS.filter((event) =>
    STEP_LIFECYCLE.some((t) => t.event === event && t.from.includes(state)),
  );
}

/** 差评整改 (issue 22): a bad rating and the rectification case it opened at the step's department. */
export type Rating = Static<typeof ratings.Rating>;
export type RectificationCase = Static<typeof ratings.Case>;
export type CaseState = RectificationCase['state'];
export type CaseNote = RectificationCase['notes'][string];
export type CaseBody = Static<typeof ratings.CaseBody>;
export type { CaseEvent };
export const CASE_STATES = [
  'open',
  'verified',
  'appealed',
  'rectified',
  'explained',
  'voided',
  'closed',
] as const satisfies readonly CaseState[];
/** In the order a case meets them: the department's first answer, the platform's review, the outcome, the end. */
export const CASE_EVENTS = [
  'verify',
  'appeal',
  'uphold',
  'dismiss',
  'rectify',
  'explain',
  'close',
] as const satisfies readonly CaseEvent[];
/** The platform's answers to an appeal (APPEAL_REVIEWERS); the department's staff make the rest. */
export const APPEAL_REVIEWS = ['uphold', 'dismiss'] as const satisfies readonly CaseEvent[];
const ratingsCovered: [Covers<CaseState, typeof CASE_STATES>, Covers<CaseEvent, typeof CASE_EVENTS>] = [
  true,
  true,
];
void ratingsCovered;

/** The moves the server's CASE_LIFECYCLE allows from `state` (whoever may make them). */
export function caseMoves(state: CaseState): CaseEvent[] {
  return CASE_EVENTS.filter((event) =>
    CASE_LIFECYCLE.some((t) => t.event === event && t.from.includes(state)),
  );
}
