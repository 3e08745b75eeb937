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

export const ADMIN_LEVELS = ['national', 'provincial', 'municipal', 'county'] as const;
export type AdminLevel = (typeof ADMIN_LEVELS)[number];

export const ROLES = [
  'platform_admin',
  'org_admin',
  'data_steward',
  'security_officer',
  'consumer',
  'auditor',
] as const;
export type Role = (typeof ROLES)[number];

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

export interface AuditEventsTable {
  seq: Generated<number>;
  id: string;
  time: CreatedAt;
  actor_id: string | null;
  org_id: string | null;
  action: string;
  object_type: string;
  object_id: string | null;
  request_id: string | null;
  details: ColumnType<Record<string, unknown>, string, never>;
}

export interface SettingsTable {
  key: string;
  value: ColumnType<unknown, string, string>;
  updated_at: Timestamp;
}

export interface Database {
  organizations: OrganizationsTable;
  users: UsersTable;
  sessions: SessionsTable;
  api_keys: ApiKeysTable;
  audit_events: AuditEventsTable;
  settings: SettingsTable;
}

export type Organization = Selectable<OrganizationsTable>;
export type NewOrganization = Insertable<OrganizationsTable>;
export type User = Selectable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type ApiKey = Selectable<ApiKeysTable>;
