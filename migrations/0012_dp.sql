-- Differential privacy in the gateway: what a resource declares for DP aggregation, each
-- contract's privacy budget (zCDP ρ), what has been spent per period, and every release.

-- Per resource, set by the provider's data steward: the privacy unit (the field naming a person
-- or an enterprise), contribution bounds, clamping bounds of numeric fields and public
-- group-key domains. Kept by the gateway beside the catalog (the catalog's field rows are
-- rewritten on edits; these settings are about answering queries, not describing data).
CREATE TABLE dp_settings (
  resource_id        text PRIMARY KEY REFERENCES resources (id),
  unit_field         text NOT NULL,
  max_groups         integer NOT NULL DEFAULT 1 CHECK (max_groups BETWEEN 1 AND 1000),
  max_rows_per_group integer NOT NULL DEFAULT 1 CHECK (max_rows_per_group BETWEEN 1 AND 1000),
  -- {"field": {"lower": n, "upper": n, "precision": 0..6}}
  bounds             jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- {"field": ["value", …]}: released whether found or not
  domains            jsonb NOT NULL DEFAULT '{}'::jsonb,
  updated_by         text REFERENCES users (id),
  updated_at         timestamptz NOT NULL DEFAULT now()
);

-- A contract's total ρ, for its whole life or refreshed every day or month (Asia/Shanghai).
CREATE TABLE dp_budgets (
  contract_id text PRIMARY KEY REFERENCES contracts (id),
  total_rho   numeric NOT NULL CHECK (total_rho >= 0),
  period      text NOT NULL DEFAULT 'none' CHECK (period IN ('none', 'day', 'month')),
  updated_by  text REFERENCES users (id),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- ρ spent per contract and period bucket ('all', 'd:2026-12-04', 'mo:2026-12'). A spend is one
-- conditional upsert (`spent + cost <= total`), so two nodes racing cannot overspend.
CREATE TABLE dp_spend (
  contract_id text NOT NULL REFERENCES contracts (id),
  bucket      text NOT NULL,
  spent       numeric NOT NULL DEFAULT 0 CHECK (spent >= 0),
  PRIMARY KEY (contract_id, bucket)
);

-- Every DP release: reserved before the query runs, then released, or refunded when the query
-- failed before anything was released.
CREATE TABLE dp_releases (
  id          text PRIMARY KEY,
  contract_id text NOT NULL REFERENCES contracts (id),
  bucket      text NOT NULL,
  rho         numeric NOT NULL CHECK (rho > 0),
  state       text NOT NULL CHECK (state IN ('reserved', 'released', 'refunded')),
  request     jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dp_releases_contract_idx ON dp_releases (contract_id, id);

-- Approved computations: a named query template a consumer submits under its contract; once the
-- provider (and, for g4 or more sensitive fields, the security officer) approves one, the
-- contract runs only approved templates, with parameter values, through DP or exact suppression.
CREATE TABLE query_templates (
  id             text PRIMARY KEY,
  contract_id    text NOT NULL REFERENCES contracts (id),
  name           text NOT NULL,
  metrics        jsonb NOT NULL,
  group_by       text[] NOT NULL DEFAULT '{}',
  filter         jsonb,
  params         jsonb NOT NULL DEFAULT '{}'::jsonb,
  mode           text NOT NULL CHECK (mode IN ('dp', 'exact')),
  state          text NOT NULL CHECK (state IN ('submitted', 'security_review', 'approved', 'rejected')),
  needs_security boolean NOT NULL DEFAULT false,
  decisions      jsonb NOT NULL DEFAULT '[]'::jsonb,
  created_by     text NOT NULL REFERENCES users (id),
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (contract_id, name)
);
