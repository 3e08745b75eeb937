-- Identity: organizations, users, sessions, API keys; the audit trail and platform settings.

CREATE TABLE organizations (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  type        text NOT NULL CHECK (type IN ('government_department', 'public_institution', 'enterprise', 'authorized_operator')),
  level       text NOT NULL CHECK (level IN ('national', 'provincial', 'municipal', 'county')),
  region_code text CHECK (region_code ~ '^[0-9]{6}$'),
  uscc        text NOT NULL UNIQUE CHECK (uscc ~ '^[0-9A-HJ-NPQRTUWXY]{18}$'),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX organizations_name_key ON organizations (name);

CREATE TABLE users (
  id            text PRIMARY KEY,
  org_id        text NOT NULL REFERENCES organizations (id),
  username      text NOT NULL CHECK (username ~ '^[a-z0-9][a-z0-9._-]{1,62}$'),
  display_name  text NOT NULL,
  password_hash text NOT NULL,
  roles         text[] NOT NULL CHECK (roles <@ ARRAY['platform_admin', 'org_admin', 'data_steward', 'security_officer', 'consumer', 'auditor']::text[] AND cardinality(roles) > 0),
  status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  failed_logins integer NOT NULL DEFAULT 0,
  locked_until  timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_username_key ON users (username);
CREATE INDEX users_org_idx ON users (org_id, id);

CREATE TABLE sessions (
  id          text PRIMARY KEY,
  user_id     text NOT NULL REFERENCES users (id),
  token_hash  text NOT NULL UNIQUE,
  expires_at  timestamptz NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE api_keys (
  id           text PRIMARY KEY,
  org_id       text NOT NULL REFERENCES organizations (id),
  user_id      text NOT NULL REFERENCES users (id),
  name         text NOT NULL,
  scopes       text[] NOT NULL,
  secret_hash  text NOT NULL,
  status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
  expires_at   timestamptz,
  last_used_at timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz
);
CREATE INDEX api_keys_org_idx ON api_keys (org_id, id);

-- Append-only record of every state change, written in the same transaction as the change.
CREATE TABLE audit_events (
  seq         bigserial PRIMARY KEY,
  id          text NOT NULL UNIQUE,
  time        timestamptz NOT NULL DEFAULT now(),
  actor_id    text,
  org_id      text,
  action      text NOT NULL,
  object_type text NOT NULL,
  object_id   text,
  request_id  text,
  details     jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_events_object_idx ON audit_events (object_type, object_id);

CREATE TABLE settings (
  key        text PRIMARY KEY,
  value      jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
