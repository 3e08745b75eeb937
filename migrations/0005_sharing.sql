-- Sharing on demand: applications, their decisions, contracts, and per-contract usage counters.

-- HMAC-SM3 for keyed pseudonyms computed inside queries (the gateway's `pseudonym` mask).
CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- What classification found in a field (filled by the classifier; the gateway's default masks use it).
ALTER TABLE resource_fields ADD COLUMN detector text;

CREATE TABLE applications (
  id               text PRIMARY KEY,
  resource_id      text NOT NULL REFERENCES resources (id),
  consumer_org_id  text NOT NULL REFERENCES organizations (id),
  applicant_id     text NOT NULL REFERENCES users (id),
  state            text NOT NULL CHECK (state IN ('draft', 'submitted', 'security_review', 'approved', 'rejected', 'withdrawn')),
  fields           text[] NOT NULL,
  purpose          text NOT NULL,
  purpose_category text NOT NULL,
  legal_basis      text NOT NULL,
  scenario         text NOT NULL,
  operations       text[] NOT NULL,
  requested_from   timestamptz NOT NULL,
  requested_to     timestamptz NOT NULL,
  needs_security   boolean NOT NULL DEFAULT false,
  -- The terms granted so far: the provider's decision, then the security officer's.
  granted          jsonb,
  decisions        jsonb NOT NULL DEFAULT '[]'::jsonb,
  due_at           timestamptz,
  submitted_at     timestamptz,
  contract_id      text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX applications_resource_idx ON applications (resource_id, state);
CREATE INDEX applications_consumer_idx ON applications (consumer_org_id, id);

CREATE TABLE contracts (
  id                    text PRIMARY KEY,
  application_id        text NOT NULL UNIQUE REFERENCES applications (id),
  resource_id           text NOT NULL REFERENCES resources (id),
  provider_org_id       text NOT NULL REFERENCES organizations (id),
  consumer_org_id       text NOT NULL REFERENCES organizations (id),
  state                 text NOT NULL CHECK (state IN ('active', 'suspended', 'revoked', 'expired')),
  fields                text[] NOT NULL,
  masking               jsonb NOT NULL,
  row_filter            jsonb,
  operations            text[] NOT NULL,
  purpose               text NOT NULL,
  valid_from            timestamptz NOT NULL,
  valid_to              timestamptz NOT NULL,
  rate_limit_per_minute integer NOT NULL,
  quota_rows_per_day    bigint NOT NULL,
  ip_allowlist          text[] NOT NULL DEFAULT '{}',
  onward_transfer       boolean NOT NULL DEFAULT false,
  min_group_size        integer NOT NULL DEFAULT 10,
  pinned_version_id     text REFERENCES dataset_versions (id),
  security_signoff      boolean NOT NULL DEFAULT false,
  state_reason          text,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contracts_consumer_idx ON contracts (consumer_org_id, id);
CREATE INDEX contracts_provider_idx ON contracts (provider_org_id, id);

-- Requests per minute and rows per day of each contract, counted in the database so that the
-- limits hold across nodes.
CREATE TABLE contract_usage (
  contract_id text NOT NULL REFERENCES contracts (id),
  bucket      text NOT NULL,
  requests    bigint NOT NULL DEFAULT 0,
  rows        bigint NOT NULL DEFAULT 0,
  bytes       bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (contract_id, bucket)
);
