-- Data quality (GB/T 36344-2018 dimensions): the rules declared per resource, one report per
-- evaluation of a version (score, five-level grade, per-rule results with failing row numbers),
-- and the record of a version that dropped a level against the version before it.

CREATE TABLE quality_rules (
  resource_id text PRIMARY KEY REFERENCES resources (id) ON DELETE CASCADE,
  rules       jsonb NOT NULL,
  revision    integer NOT NULL DEFAULT 1,
  updated_by  text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE quality_reports (
  id             text PRIMARY KEY,
  resource_id    text NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
  version_id     text NOT NULL REFERENCES dataset_versions (id) ON DELETE CASCADE,
  version_number integer NOT NULL,
  row_count      bigint NOT NULL,
  -- 0–100, two decimals; the level 1 (best) … 5 (worst) follows from it (quality/score.ts).
  score          double precision NOT NULL CHECK (score >= 0 AND score <= 100),
  level          smallint NOT NULL CHECK (level BETWEEN 1 AND 5),
  dimensions     jsonb NOT NULL,
  results        jsonb NOT NULL,
  rules_source   text NOT NULL CHECK (rules_source IN ('declared', 'default')),
  trigger        text NOT NULL CHECK (trigger IN ('version', 'demand')),
  evaluated_by   text,
  evaluated_at   timestamptz NOT NULL DEFAULT now(),
  duration_ms    integer NOT NULL
);
CREATE INDEX quality_reports_version_idx ON quality_reports (version_id, evaluated_at DESC);
CREATE INDEX quality_reports_resource_idx ON quality_reports (resource_id, version_number DESC, evaluated_at DESC);

-- A version whose grade is worse than the previous version's: recorded once per version.
CREATE TABLE quality_alerts (
  id                  text PRIMARY KEY,
  resource_id         text NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
  version_id          text NOT NULL UNIQUE REFERENCES dataset_versions (id) ON DELETE CASCADE,
  report_id           text NOT NULL REFERENCES quality_reports (id) ON DELETE CASCADE,
  previous_version_id text NOT NULL,
  from_level          smallint NOT NULL,
  to_level            smallint NOT NULL CHECK (to_level > from_level),
  from_score          double precision NOT NULL,
  to_score            double precision NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX quality_alerts_resource_idx ON quality_alerts (resource_id, created_at DESC);
