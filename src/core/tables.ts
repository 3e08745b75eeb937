import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * The SQL schema as TypeScript sees it; migrations/*.sql are the source of truth and
 * these interfaces follow them. One interface per table, named after the table.
 */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

export const ORG_TYPES = [
  'government_department',
  'public_institution',
  'enterprise',
  'authorized_operator',
] as const;
export type OrgType = (typeof ORG_TYPES)[number];

export const ADMIN_LEVELS = ['national', 'provincial', 'municipal', 'county', 'township'] as const;
export type AdminLevel = (typeof ADMIN_LEVELS)[number];

/** The roles of people working for an organization: what the API lets administrators grant. */
export const STAFF_ROLES = [
  'platform_admin',
  'org_admin',
  'data_steward',
  'security_officer',
  'consumer',
  'auditor',
] as const;
/**
 * `citizen`: a person signed in through the citizen identity provider, member of the built-in
 * public organization only (migration 0029); never granted through the API.
 */
export const ROLES = [...STAFF_ROLES, 'citizen'] as const;
export type Role = (typeof ROLES)[number];

/** The built-in organization citizens belong to (社会公众), hidden from organization lists. */
export const PUBLIC_ORG_ID = 'org_public';

export interface OrganizationsTable {
  id: string;
  name: string;
  type: OrgType;
  level: AdminLevel;
  region_code: string | null;
  uscc: string;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export type UserStatus = 'active' | 'disabled';

export interface UsersTable {
  id: string;
  org_id: string;
  username: string;
  display_name: string;
  password_hash: string;
  roles: Role[];
  status: UserStatus;
  failed_logins: Generated<number>;
  locked_until: Timestamp | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface CitizenIdentitiesTable {
  user_id: string;
  provider: string;
  id_number: string;
  name: string;
  created_at: CreatedAt;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  token_hash: string;
  expires_at: Timestamp;
  created_at: CreatedAt;
  revoked_at: Timestamp | null;
}

export type ApiKeyStatus = 'active' | 'revoked';

export interface ApiKeysTable {
  id: string;
  org_id: string;
  user_id: string;
  name: string;
  scopes: string[];
  secret_hash: string;
  status: ApiKeyStatus;
  expires_at: Timestamp | null;
  last_used_at: Timestamp | null;
  created_at: CreatedAt;
  revoked_at: Timestamp | null;
}

/**
 * Leaves of the Merkle audit log (migrations/0003, 0009): inserted by core/audit-trail.ts with no
 * position; audit/integrate.ts gives each its seq and leaf hash.
 */
export interface AuditEventsTable {
  /** Null while the entry waits for integration. */
  seq: ColumnType<number | null, number | undefined, number>;
  id: ColumnType<string, string, never>;
  time: ColumnType<Date, Date | string, never>;
  actor_id: ColumnType<string | null, string | null, never>;
  org_id: ColumnType<string | null, string | null, never>;
  action: ColumnType<string, string, never>;
  object_type: ColumnType<string, string, never>;
  object_id: ColumnType<string | null, string | null, never>;
  request_id: ColumnType<string | null, string | null, never>;
  details: ColumnType<Record<string, unknown>, string, never>;
  leaf_hash: ColumnType<Uint8Array | null, Uint8Array | undefined, Uint8Array>;
  /** Append order, which integration follows (not part of the leaf). */
  queued: ColumnType<number, never, never>;
}

export interface AuditTreeStateTable {
  id: number;
  size: number;
  frontier: Uint8Array;
  backfill_pending: boolean;
  updated_at: Timestamp;
}

export interface AuditTreeHeadsTable {
  id: Generated<number>;
  tree_size: number;
  root_hash: string;
  signed_at: ColumnType<Date, Date | string, never>;
  signature: string;
  key_fingerprint: string;
}

/** Pending audit entries integration refused (migration 0010): dated too far before the tree's end. */
export interface AuditRefusedTable {
  id: string;
  reason: string;
  refused_at: ColumnType<Date, Date | undefined, never>;
}

/** An archiving of audit months (migration 0041, audit/archive.ts). */
export interface AuditArchivesTable {
  id: Generated<number>;
  first_seq: number;
  last_seq: number;
  months: string[];
  files: ColumnType<ArchiveFile[], string, never>;
  head_size: number;
  head_root: string;
  refused: ColumnType<number, number | undefined, never>;
  archived_at: Date;
  archived_by: string | null;
}

/** One segment file an archiving wrote. */
export interface ArchiveFile {
  name: string;
  from: number;
  to: number;
  bytes: number;
  sm3: string;
}

export interface AuditArchivedLeavesTable {
  seq: number;
  leaf_hash: Uint8Array;
}

export interface AuditTreeNodesTable {
  level: number;
  idx: number;
  hash: Uint8Array;
}

export interface SettingsTable {
  key: string;
  value: ColumnType<unknown, string, string>;
  updated_at: Timestamp;
}

export interface CommitMarkersTable {
  id: string;
  created_at: Generated<Date>;
}

export interface IdempotencyKeysTable {
  scope: string;
  key: string;
  method: string;
  path: string;
  body_hash: string;
  state: 'in_progress' | 'completed';
  owner: string;
  applied_at: Date | null;
  status_code: number | null;
  content_type: string | null;
  location: string | null;
  response_body: Uint8Array | null;
  created_at: Generated<Date>;
  completed_at: Date | null;
  expires_at: Date;
}

export const GRADES = ['core', 'important', 'g4', 'g3', 'g2', 'g1', 'unassessed'] as const;
export type Grade = (typeof GRADES)[number];
export const SHARING_TYPES = ['unconditional', 'conditional', 'not_shared'] as const;
export type SharingType = (typeof SHARING_TYPES)[number];
export const OPEN_TYPES = ['unconditional', 'conditional', 'not_open'] as const;
export type OpenType = (typeof OPEN_TYPES)[number];
export const CATEGORIES = ['base', 'theme', 'department'] as const;
export type Category = (typeof CATEGORIES)[number];
export const DATA_TYPES = ['integer', 'decimal', 'boolean', 'date', 'timestamp', 'text'] as const;
export type DataType = (typeof DATA_TYPES)[number];

/** Catalog governance (migration 0026): drafted, reviewed by the data bureau, published, withdrawn. */
export const RESOURCE_STATES = ['draft', 'in_review', 'published', 'withdrawn'] as const;
export type ResourceState = (typeof RESOURCE_STATES)[number];

export interface ResourcesTable {
  id: string;
  state: ColumnType<ResourceState, ResourceState | undefined, ResourceState>;
  /** Why it was last returned or withdrawn (null otherwise). */
  state_reason: ColumnType<string | null, string | null | undefined, string | null>;
  /** Who took the last publication step (a reviewer never decides their own submission). */
  state_changed_by: ColumnType<string | null, string | null | undefined, string | null>;
  /** Set when a published resource's grades change; cleared by the bureau's review (catalog). */
  review_due: ColumnType<{ since: string; by: string } | null, string | null | undefined, string | null>;
  code: string;
  name: string;
  summary: string;
  provider_org_id: string;
  category: Category;
  theme: string;
  keywords: string[];
  format: string;
  update_cycle: string;
  sharing_type: SharingType;
  sharing_conditions: string;
  open_type: OpenType;
  open_conditions: string;
  published_on: string | null;
  related_codes: string[];
  grade: Grade;
  revision: number;
  current_version_id: string | null;
  /** Set when an import contradicts the declared grades (migration 0006); see src/classify/. */
  grade_flag: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  search_vector: ColumnType<string, unknown, unknown>;
  /** Name and keywords, theme and code only: what search ranks by (migration 0008). */
  title_vector: ColumnType<string, unknown, unknown>;
  created_by: string;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface ResourceFieldsTable {
  resource_id: string;
  position: number;
  name: string;
  label: string;
  data_type: DataType;
  description: string;
  grade: Grade;
  is_key: boolean;
  detector: ColumnType<string | null, string | null | undefined, string | null>;
}

/** Scan result and steward confirmation per field (migration 0006). */
export interface FieldClassificationsTable {
  resource_id: string;
  field_name: string;
  detector: string | null;
  confidence: number | null;
  ratio: number | null;
  non_empty: number | null;
  evidence: ColumnType<{ samples: string[]; headerHint: string | null } | null, string | null, string | null>;
  suggested_grade: Grade | null;
  scanned_version_id: string | null;
  scanned_rows: number | null;
  sampled: boolean | null;
  scanned_at: Timestamp | null;
  confirmed_grade: Grade | null;
  confirmed_by: string | null;
  confirmed_at: Timestamp | null;
  confirmed_reason: string | null;
}

export interface ResourceHistoryTable {
  resource_id: string;
  revision: number;
  actor_id: string;
  at: CreatedAt;
  changes: ColumnType<Record<string, unknown>, string, never>;
}

export interface ResourceCodeCountersTable {
  provider_org_id: string;
  last_value: number;
}

export type JobState = 'running' | 'succeeded' | 'failed';

export interface JobsTable {
  id: string;
  kind: string;
  state: JobState;
  object_type: string | null;
  object_id: string | null;
  payload: ColumnType<Record<string, unknown>, string, string>;
  progress: ColumnType<Record<string, unknown>, string, string>;
  result: ColumnType<Record<string, unknown> | null, string | null, string | null>;
  error: ColumnType<Record<string, unknown> | null, string | null, string | null>;
  node: string | null;
  lease_until: Timestamp | null;
  created_by: string;
  created_at: CreatedAt;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
}

export type VersionState = 'loading' | 'ready' | 'failed';

export interface DatasetVersionsTable {
  id: string;
  resource_id: string;
  number: number;
  state: VersionState;
  table_name: string;
  job_id: string | null;
  source_name: string;
  source_size: number;
  source_sm3: string | null;
  source_format: string;
  encoding: string | null;
  columns: ColumnType<Array<{ name: string; dataType: DataType }>, string, string>;
  row_count: Generated<number>;
  bad_row_count: Generated<number>;
  duplicate_keys: number | null;
  column_stats: ColumnType<Record<string, unknown> | null, string | null, string | null>;
  importer_id: string;
  created_at: CreatedAt;
  completed_at: Timestamp | null;
}

export type ApplicationState =
  | 'draft'
  | 'submitted'
  | 'security_review'
  | 'approved'
  | 'rejected'
  | 'withdrawn';
export type ContractState = 'active' | 'suspended' | 'revoked' | 'expired';
export type Operation = 'rows' | 'aggregate';
type Json<T> = ColumnType<T, string, string>;

export interface ApplicationsTable {
  id: string;
  resource_id: string;
  consumer_org_id: string;
  applicant_id: string;
  state: ApplicationState;
  fields: string[];
  purpose: string;
  purpose_category: string;
  legal_basis: string;
  scenario: string;
  operations: Operation[];
  requested_from: Timestamp;
  requested_to: Timestamp;
  needs_security: boolean;
  granted: ColumnType<Record<string, unknown> | null, string | null, string | null>;
  /** Re-identification risk computed at approval (migration 0011). */
  reid_risk: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  decisions: Json<Array<Record<string, unknown>>>;
  due_at: Timestamp | null;
  submitted_at: Timestamp | null;
  contract_id: string | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface ReviewFlag {
  since: string;
  fields: Array<{
    name: string;
    grade: string;
    detector: string | null;
    contractMask: string;
    mask: string | null;
  }>;
}

export interface ContractsTable {
  id: string;
  application_id: string;
  resource_id: string;
  provider_org_id: string;
  consumer_org_id: string;
  state: ContractState;
  fields: string[];
  masking: Json<Record<string, string>>;
  row_filter: ColumnType<unknown, string | null, string | null>;
  operations: Operation[];
  purpose: string;
  valid_from: Timestamp;
  valid_to: Timestamp;
  rate_limit_per_minute: number;
  quota_rows_per_day: number;
  ip_allowlist: string[];
  onward_transfer: boolean;
  min_group_size: number;
  pinned_version_id: string | null;
  security_signoff: boolean;
  /** Access only in working hours (migration 0007; src/monitor enforces and watches it). */
  working_hours_only: Generated<boolean>;
  /** Grade and detector of each granted field at issue (migration 0011). */
  granted_grades: ColumnType<
    Record<string, { grade: string; detector: string | null }> | null,
    string | null | undefined,
    string | null
  >;
  /** Fields whose grade rose after approval, set by the gateway (migration 0011). */
  review_flag: ColumnType<ReviewFlag | null, string | null | undefined, string | null>;
  state_reason: string | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface ContractUsageTable {
  contract_id: string;
  bucket: string;
  requests: Generated<number>;
  rows: Generated<number>;
  bytes: Generated<number>;
}

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];
export const ALERT_STATES = ['open', 'acknowledged', 'resolved'] as const;
export type AlertState = (typeof ALERT_STATES)[number];
export const FREEZE_SCOPES = ['gateway', 'contract', 'organization', 'resource', 'user', 'api_key'] as const;
export type FreezeScope = (typeof FREEZE_SCOPES)[number];

/** Alerts raised by src/monitor/rules.ts (migration 0007). */
export interface AlertsTable {
  id: string;
  rule: string;
  severity: AlertSeverity;
  subject_type: string;
  subject_id: string;
  org_id: string | null;
  summary: Json<{ zh: string; en: string }>;
  details: Json<Record<string, unknown>>;
  dedup_key: string;
  state: AlertState;
  occurrences: Generated<number>;
  first_seen_at: Timestamp;
  last_seen_at: Timestamp;
  acknowledged_by: string | null;
  acknowledged_at: Timestamp | null;
  acknowledge_note: string | null;
  resolved_by: string | null;
  resolved_at: Timestamp | null;
  resolve_note: string | null;
  notified_at: Timestamp | null;
  notify_attempts: Generated<number>;
  notify_after: ColumnType<Date, Date | string | undefined, Date | string>;
  notify_error: string | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

/** The alert evaluator's position in the audit log; one row, its lock is the claim. */
export interface MonitorStateTable {
  id: number;
  last_seq: number;
  evaluated_at: Timestamp | null;
  evaluated_by: string | null;
}

/** Per-window sums the rules compare (rows read per contract, refusals per credential, …). */
export interface MonitorCountersTable {
  metric: string;
  subject: string;
  window_minutes: number;
  bucket: Timestamp;
  value: number;
}

/** Emergency stops the gateway checks on every request. */
export interface FreezesTable {
  id: string;
  scope: FreezeScope;
  target: string | null;
  reason: string;
  created_by: string;
  created_at: CreatedAt;
  lifted_by: string | null;
  lifted_at: Timestamp | null;
  lift_reason: string | null;
}

/** Quality rules declared per resource (quality/): a JSON array of rules, see quality/schema.ts. */
export interface QualityRulesTable {
  resource_id: string;
  rules: ColumnType<unknown, string, string>;
  revision: number;
  updated_by: string;
  updated_at: Timestamp;
}

export interface QualityReportsTable {
  id: string;
  resource_id: string;
  version_id: string;
  version_number: number;
  row_count: ColumnType<string | number, number, number>;
  score: number;
  level: number;
  dimensions: ColumnType<unknown, string, string>;
  results: ColumnType<unknown, string, string>;
  rules_source: 'declared' | 'default';
  trigger: 'version' | 'demand';
  evaluated_by: string | null;
  evaluated_at: Timestamp;
  duration_ms: number;
}

export interface QualityAlertsTable {
  id: string;
  resource_id: string;
  version_id: string;
  report_id: string;
  previous_version_id: string;
  from_level: number;
  to_level: number;
  from_score: number;
  to_score: number;
  created_at: CreatedAt;
}

export interface Database {
  organizations: OrganizationsTable;
  users: UsersTable;
  citizen_identities: CitizenIdentitiesTable;
  sessions: SessionsTable;
  api_keys: ApiKeysTable;
  audit_events: AuditEventsTable;
  audit_tree_state: AuditTreeStateTable;
  audit_tree_heads: AuditTreeHeadsTable;
  audit_tree_nodes: AuditTreeNodesTable;
  audit_refused: AuditRefusedTable;
  audit_archives: AuditArchivesTable;
  audit_archived_leaves: AuditArchivedLeavesTable;
  settings: SettingsTable;
  idempotency_keys: IdempotencyKeysTable;
  commit_markers: CommitMarkersTable;
  resources: ResourcesTable;
  resource_fields: ResourceFieldsTable;
  resource_history: ResourceHistoryTable;
  resource_code_counters: ResourceCodeCountersTable;
  jobs: JobsTable;
  dataset_versions: DatasetVersionsTable;
  field_classifications: FieldClassificationsTable;
  applications: ApplicationsTable;
  contracts: ContractsTable;
  contract_usage: ContractUsageTable;
  alerts: AlertsTable;
  monitor_state: MonitorStateTable;
  monitor_counters: MonitorCountersTable;
  freezes: FreezesTable;
  quality_rules: QualityRulesTable;
  quality_reports: QualityReportsTable;
  quality_alerts: QualityAlertsTable;
}

export type Organization = Selectable<OrganizationsTable>;
export type NewOrganization = Insertable<OrganizationsTable>;
export type User = Selectable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type ApiKey = Selectable<ApiKeysTable>;
