/**
 * What the citizen site reads from the API: the service bundles (src/services/schema.ts), the
 * ratings (src/ratings/schema.ts) and the citizen endpoints (/v1/citizen/*). Optional members are
 * ones the site shows when the server sends them and does without otherwise.
 */

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export type AccountKind = 'citizen' | 'organization';

export interface Me {
  kind: AccountKind;
  name: string;
  idNumberMasked: string | null;
  organization: { id: string; name: string; uscc: string } | null;
}

export interface LoginReply {
  token: string;
  expiresAt: string;
}

export interface DemoIdentities {
  citizens: { idNumber: string; name: string; note: string }[];
  enterprises: { username: string; name: string; note: string }[];
}

export type Provenance = 'contract' | 'no_contract' | 'asked';

export interface FieldPlan {
  name: string;
  label: string;
  provenance: Provenance;
  contractId: string | null;
  /** The department whose shared data gives the field, when the server names it. */
  providerName?: string | null;
}

export interface BundleStep {
  key: string;
  name: string;
  orgId: string;
  /** The department's name, when the server sends it; the site falls back to orgId. */
  orgName?: string | null;
  dependsOn: string[];
  workingDays: number;
  fields: FieldPlan[];
}

export interface Savings {
  steps: number;
  departments: number;
  separateFields: number;
  mergedFields: number;
  exemptedFields: number;
  askedFields: number;
  fieldsNotAsked: number;
  materialsExempted: number;
  countersAvoided: number;
  sequentialWorkingDays: number;
  bundleWorkingDays: number;
}

export interface Bundle {
  id: string;
  code: string;
  name: string;
  nameEn: string;
  eventKind: 'life' | 'business' | string;
  leadOrgId: string;
  state: string;
  promisedWorkingDays: number;
  steps: BundleStep[];
  savings: Savings;
  eligibility?: string[];
}

export const STEP_STATES = [
  'waiting',
  'submitted',
  'accepted',
  'in_progress',
  'done',
  'returned',
  'refused',
] as const;
export type StepState = (typeof STEP_STATES)[number];
export const APPLICATION_STATES = ['open', 'done', 'refused'] as const;
export type ApplicationState = (typeof APPLICATION_STATES)[number];

export interface ApplicationStep {
  key: string;
  name: string;
  orgId: string;
  orgName?: string | null;
  state: StepState;
  dependsOn: string[];
  workingDays: number;
  releasedOn: string | null;
  dueOn: string | null;
  doneOn: string | null;
  overdue: boolean;
  workingDaysOverdue: number;
  prefill: Record<string, { value: unknown; contractId: string }>;
  reason: string | null;
}

export interface Application {
  id: string;
  bundle: { id: string; code: string; name: string };
  applicantUserId: string;
  subjectKey: string;
  form: Record<string, string>;
  state: ApplicationState;
  submittedOn: string;
  dueOn: string;
  overdue: boolean;
  steps: ApplicationStep[];
  consentId?: string | null;
  createdAt: string;
}

export const RELATIONS = ['spouse', 'parent', 'child', 'other'] as const;
export type Relation = (typeof RELATIONS)[number];

export interface Consent {
  id: string;
  grantorName: string;
  grantorIdNumberMasked: string;
  granteeName: string;
  granteeIdNumberMasked: string;
  relation: Relation;
  validFrom: string;
  validUntil: string;
  state: 'active' | 'revoked';
  inForce: boolean;
}

export interface Consents {
  given: Consent[];
  received: Consent[];
}

export const INDICATORS = ['efficiency', 'guideAccuracy', 'convenience', 'usability'] as const;
export type Indicator = (typeof INDICATORS)[number];
/** 5 非常满意 … 1 非常不满意 (src/ratings/service.ts LEVELS). */
export const LEVELS = [5, 4, 3, 2, 1] as const;

export interface Stats {
  period: { from: string | null; to: string | null };
  total: {
    ratings: number;
    satisfactionPercent: number | null;
    bad: number;
    rectificationPercent: number | null;
  };
  departments: {
    orgId: string;
    orgName?: string | null;
    ratings: number;
    satisfied: number;
    bad: number;
    voided: number;
    rectified: number;
    rectifiedInTime: number;
    satisfactionPercent: number | null;
    rectificationPercent: number | null;
  }[];
}

/** GET /v1/citizen/notifications: what happened on one's applications and consents. */
export interface Notification {
  id: string;
  kind: string;
  applicationId: string | null;
  message: { zh: string; en: string };
  createdAt: string;
  read: boolean;
}
export interface Notifications {
  items: Notification[];
  nextCursor: string | null;
  unread: number;
}
