/** The shapes of the public API the console reads (see /openapi.json). */

export type Role =
  | 'platform_admin'
  | 'org_admin'
  | 'data_steward'
  | 'security_officer'
  | 'consumer'
  | 'auditor';
export const ROLES: readonly Role[] = [
  'platform_admin',
  'org_admin',
  'data_steward',
  'security_officer',
  'consumer',
  'auditor',
];

export type Grade = 'core' | 'important' | 'g4' | 'g3' | 'g2' | 'g1' | 'unassessed';
export const GRADES: readonly Grade[] = ['core', 'important', 'g4', 'g3', 'g2', 'g1', 'unassessed'];
export type DataType = 'integer' | 'decimal' | 'boolean' | 'date' | 'timestamp' | 'text';
export const DATA_TYPES: readonly DataType[] = ['text', 'integer', 'decimal', 'boolean', 'date', 'timestamp'];
export type SharingType = 'unconditional' | 'conditional' | 'not_shared';
export const SHARING_TYPES: readonly SharingType[] = ['unconditional', 'conditional', 'not_shared'];
export type OpenType = 'unconditional' | 'conditional' | 'not_open';
export const OPEN_TYPES: readonly OpenType[] = ['unconditional', 'conditional', 'not_open'];
export const UPDATE_CYCLES = [
  'realtime',
  'daily',
  'weekly',
  'monthly',
  'quarterly',
  'half_yearly',
  'yearly',
  'irregular',
] as const;
export type Operation = 'rows' | 'aggregate';
export const PURPOSE_CATEGORIES = [
  'public_service',
  'public_governance',
  'industry_development',
  'research',
  'other',
] as const;
export const APPLICATION_STATES = [
  'draft',
  'submitted',
  'security_review',
  'approved',
  'rejected',
  'withdrawn',
] as const;
export type ApplicationState = (typeof APPLICATION_STATES)[number];
export const CONTRACT_STATES = ['active', 'suspended', 'revoked', 'expired'] as const;
export type ContractState = (typeof CONTRACT_STATES)[number];

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Organization {
  id: string;
  name: string;
  type: string;
  level: string;
  regionCode: string | null;
  regionName: string | null;
  uscc: string;
}

export interface User {
  id: string;
  orgId: string;
  username: string;
  displayName: string;
  roles: Role[];
  status: 'active' | 'disabled';
}

export interface Me {
  user: User;
  organization: Organization;
  credential: 'session' | 'api_key' | 'cli';
  scopes: 'all' | string[];
}

export interface Theme {
  id: string;
  code: string;
  category: string;
  zh: string;
  en: string;
}

export interface Field {
  name: string;
  label: string;
  dataType: DataType;
  description: string;
  grade: Grade;
  isKey: boolean;
  detector: string | null;
}

export interface Resource {
  id: string;
  code: string;
  name: string;
  summary: string;
  provider: { id: string; name: string };
  category: string;
  theme: string;
  themeLabel: { 'zh-CN': string; en: string };
  keywords: string[];
  format: string;
  updateCycle: string;
  sharingType: SharingType;
  sharingConditions: string;
  openType: OpenType;
  openConditions: string;
  publishedOn: string | null;
  relatedCodes: string[];
  grade: Grade;
  revision: number;
  currentVersionId: string | null;
  fields: Field[];
  createdAt: string;
  updatedAt: string;
}

export interface HistoryEntry {
  revision: number;
  actorId: string;
  at: string;
  changes: Record<string, unknown>;
}

export interface ColumnStats {
  count: number;
  nulls: number;
  nullRate: number;
  invalid: number;
  distinctEstimate: number;
  min: string | number | null;
  max: string | number | null;
}

export interface Version {
  id: string;
  number: number;
  state: string;
  current: boolean;
  sourceName: string;
  sourceSize: number;
  sourceSm3: string;
  sourceFormat: string;
  encoding: string | null;
  columns: { name: string; dataType: DataType }[];
  rowCount: number;
  badRowCount: number;
  duplicateKeys: number | null;
  columnStats: Record<string, ColumnStats> | null;
  createdAt: string;
  completedAt: string | null;
}

export interface ProposedField {
  name: string;
  label: string;
  dataType: DataType;
}

export interface ImportPreview {
  format: string;
  encoding: string | null;
  delimiter: string | null;
  sheet: string | null;
  sheets: string[];
  title: string | null;
  header: string[];
  inferredFields: ProposedField[];
  sampleRows: unknown[][];
  sampleProblems: { line: number; code: string; zh: string; en: string }[];
}

export interface BadRow {
  line: number;
  column?: number;
  code: string;
  zh: string;
  en: string;
}

export interface ImportResult {
  jobId: string;
  versionId: string;
  versionNumber: number;
  rows: number;
  badRows: number;
  badRowReport: BadRow[];
  missingFields: string[];
  unknownColumns: string[];
  duplicateKeys: number | null;
  /** Loaded by COPY of the file as it is (the bulk path) rather than row by row. */
  bulk?: boolean;
}

export interface Job {
  id: string;
  kind: string;
  state: 'running' | 'succeeded' | 'failed';
  resourceId: string | null;
  payload: Record<string, unknown>;
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
  createdAt: string;
  finishedAt: string | null;
}

export interface Terms {
  fields: string[];
  masking: Record<string, string>;
  rowFilter: unknown;
  operations: Operation[];
  validFrom: string;
  validTo: string;
  rateLimitPerMinute: number;
  quotaRowsPerDay: number;
  ipAllowlist: string[];
  minGroupSize: number;
  onwardTransfer: boolean;
  securitySignoff: boolean;
  pinnedVersionId: string | null;
}

export interface DecisionRecord {
  by: string;
  role?: string;
  decision: 'approve' | 'reject';
  at: string;
  reason: string;
  changes?: Record<string, unknown>;
}

export interface Application {
  id: string;
  resourceId: string;
  consumerOrgId: string;
  applicantId: string;
  state: ApplicationState;
  fields: string[];
  purpose: string;
  purposeCategory: string;
  legalBasis: string;
  scenario: string;
  operations: Operation[];
  requestedFrom: string;
  requestedTo: string;
  needsSecurityReview: boolean;
  granted: Terms | null;
  /** Prosecutor re-identification risk of the served quasi-identifiers, computed at approval. */
  reidentification?: {
    quasiIdentifiers: string[];
    k: number;
    records: number;
    recordsAtRisk: number;
    risk: number;
    thresholdPercent: number;
  } | null;
  decisions: DecisionRecord[];
  submittedAt: string | null;
  dueAt: string | null;
  overdue: boolean;
  contractId: string | null;
  createdAt: string;
  updatedAt: string;
}

/** GET /v1/contracts/{id}/agreement: the terms in words and the SM3 verification code. */
export interface Agreement {
  record: { fields: Array<{ name: string; grade: string | null; mask: string }> };
  code: string;
  state: string;
  terms: Array<{ key: string; label: { zh: string; en: string }; text: { zh: string; en: string } }>;
}

export interface Contract {
  id: string;
  applicationId: string;
  resourceId: string;
  providerOrgId: string;
  consumerOrgId: string;
  state: ContractState;
  fields: string[];
  masking: Record<string, string>;
  rowFilter: unknown;
  operations: Operation[];
  purpose: string;
  validFrom: string;
  validTo: string;
  rateLimitPerMinute: number;
  quotaRowsPerDay: number;
  ipAllowlist: string[];
  onwardTransfer: boolean;
  minGroupSize: number;
  pinnedVersionId: string | null;
  securitySignoff: boolean;
  stateReason: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface GatewayRows {
  items: Record<string, unknown>[];
  nextCursor: string | null;
  fields: { name: string; label: string; dataType: DataType; mask: string }[];
}

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

export interface ApiKey {
  id: string;
  orgId: string;
  userId: string;
  name: string;
  scopes: string[];
  status: 'active' | 'revoked';
  expiresAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
  revokedAt: string | null;
}

export interface AuditEntry {
  seq: number;
  id: string;
  time: string;
  actorId: string | null;
  orgId: string | null;
  action: string;
  objectType: string;
  objectId: string | null;
  requestId: string | null;
  details: unknown;
  leafHash: string | null;
}

export interface TreeHead {
  id: number;
  treeSize: number;
  rootHash: string;
  timestamp: string;
  signature: string;
  keyFingerprint: string;
}

export interface InclusionProof {
  seq: number;
  leafIndex: number;
  treeSize: number;
  leafHash: string;
  rootHash: string;
  proof: string[];
  head: TreeHead | null;
  entry: AuditEntry;
}

export interface AuditPublicKey {
  algorithm: string;
  signerId: string;
  publicKeyPem: string;
  fingerprint: string;
}

export interface FieldScan {
  detector: string | null;
  confidence: number;
  ratio: number;
  nonEmpty: number;
  evidence: { samples: string[]; headerHint: string | null };
  suggestedGrade: Grade;
  versionNumber: number | null;
  rows: number;
  sampled: boolean;
  scannedAt: string;
}

export interface FieldClassification {
  name: string;
  label: string;
  grade: Grade;
  detector: string | null;
  scan: FieldScan | null;
  confirmation: {
    grade: Grade;
    by: { id: string; username: string | null } | null;
    at: string;
    reason: string | null;
  } | null;
}

export interface Classification {
  resourceId: string;
  code: string;
  grade: Grade;
  flag: {
    raisedAt: string;
    fields: {
      field: string;
      reason: 'declared_grade_contradicted' | 'new_sensitive_column';
      declaredGrade: Grade | null;
      detector: string;
      suggestedGrade: Grade;
      versionNumber: number | null;
      at: string;
    }[];
  } | null;
  fields: FieldClassification[];
}

export interface MonitorAlert {
  id: string;
  rule: string;
  severity: 'info' | 'warning' | 'critical';
  state: 'open' | 'acknowledged' | 'resolved';
  subject: { type: string; id: string };
  orgId: string | null;
  summary: { zh: string; en: string };
  details: Record<string, unknown>;
  occurrences: number;
  firstSeenAt: string;
  lastSeenAt: string;
  acknowledged: { by: string | null; at: string; note: string | null } | null;
  resolved: { by: string | null; at: string; note: string | null } | null;
  createdAt: string;
}

export interface MonitorFreeze {
  id: string;
  scope: 'gateway' | 'contract' | 'organization' | 'resource';
  target: string | null;
  reason: string;
  active: boolean;
  createdBy: string;
  createdAt: string;
  lifted: { by: string | null; at: string; reason: string | null } | null;
}

export interface MonitorRule {
  id: string;
  title: { zh: string; en: string };
  standing: boolean;
  thresholds: Record<string, number | string>;
}
