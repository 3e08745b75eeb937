-- One dictionary of indicators for two jobs (issue #23, src/indicators): grassroots "one form"
-- reporting (一表通: forms, submissions, values collected once) and the evaluation index.
-- Reporting units are statistical division codes: 6 digits (county/district, GB/T 2260),
-- 9 (town), 12 (community); periods are text: '2026', '2026-Q1', '2026-03'.

CREATE TABLE indicators (
  id             text PRIMARY KEY,
  code           text NOT NULL UNIQUE,
  version        integer NOT NULL DEFAULT 1,
  name_zh        text NOT NULL,
  name_en        text NOT NULL,
  definition     text NOT NULL,
  -- The definition folded for comparison (no spaces or punctuation, lower case): two active
  -- indicators may not share it — that is the same figure twice.
  definition_key text NOT NULL,
  unit           text NOT NULL,
  data_type      text NOT NULL CHECK (data_type IN ('integer', 'decimal', 'percent', 'boolean')),
  period         text NOT NULL CHECK (period IN ('year', 'quarter', 'month')),
  level          text NOT NULL CHECK (level IN ('community', 'town', 'district', 'city')),
  owner_org_id   text NOT NULL REFERENCES organizations (id),
  source_kind    text NOT NULL CHECK (source_kind IN ('reported', 'resource_field', 'formula')),
  -- What the figure is taken from, as one comparable string ('' for a reported figure): two
  -- active indicators may not read the same resource field or compute the same formula.
  source_key     text NOT NULL,
  source         jsonb NOT NULL,
  rule           jsonb NOT NULL DEFAULT '{}',
  state          text NOT NULL CHECK (state IN ('active', 'merged', 'retired')),
  merged_into    text REFERENCES indicators (id),
  created_by     text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX indicators_definition_key ON indicators (definition_key) WHERE state = 'active';
CREATE UNIQUE INDEX indicators_source_key ON indicators (source_key)
  WHERE state = 'active' AND source_kind <> 'reported';

-- Every version of an indicator as it was, the first included.
CREATE TABLE indicator_versions (
  indicator_id text NOT NULL REFERENCES indicators (id),
  version      integer NOT NULL,
  snapshot     jsonb NOT NULL,
  changed_by   text NOT NULL,
  changed_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (indicator_id, version)
);

CREATE TABLE report_forms (
  id           text PRIMARY KEY,
  code         text NOT NULL UNIQUE,
  name_zh      text NOT NULL,
  name_en      text NOT NULL,
  year         integer NOT NULL,
  period       text NOT NULL CHECK (period IN ('year', 'quarter', 'month')),
  level        text NOT NULL CHECK (level IN ('community', 'town', 'district', 'city')),
  owner_org_id text NOT NULL REFERENCES organizations (id),
  -- On the year's catalogue, or issued outside it with a recorded one-off approval (一事一报) or
  -- an after-the-fact filing; the latter two name their approval.
  basis        text NOT NULL CHECK (basis IN ('catalogue', 'one_off', 'after_filing')),
  approval     text,
  checks       jsonb NOT NULL DEFAULT '[]',
  state        text NOT NULL CHECK (state IN ('draft', 'issued', 'withdrawn')),
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CHECK (basis = 'catalogue' OR approval IS NOT NULL)
);

CREATE TABLE report_form_items (
  form_id      text NOT NULL REFERENCES report_forms (id),
  indicator_id text NOT NULL REFERENCES indicators (id),
  position     integer NOT NULL,
  PRIMARY KEY (form_id, indicator_id)
);
CREATE INDEX report_form_items_indicator_idx ON report_form_items (indicator_id);

CREATE TABLE report_submissions (
  id           text PRIMARY KEY,
  form_id      text NOT NULL REFERENCES report_forms (id),
  period       text NOT NULL,
  unit_code    text NOT NULL,
  org_id       text NOT NULL REFERENCES organizations (id),
  state        text NOT NULL CHECK (state IN ('submitted', 'returned', 'accepted')),
  reason       text,
  submitted_by text NOT NULL,
  decided_by   text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (form_id, period, unit_code)
);

-- Collect once: one value per indicator, period and unit, whichever form brought it.
CREATE TABLE indicator_values (
  id            text PRIMARY KEY,
  indicator_id  text NOT NULL REFERENCES indicators (id),
  period        text NOT NULL,
  unit_code     text NOT NULL,
  value         double precision NOT NULL,
  submission_id text NOT NULL REFERENCES report_submissions (id),
  reported_by   text NOT NULL,
  reported_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (indicator_id, period, unit_code)
);
CREATE INDEX indicator_values_period_idx ON indicator_values (period, indicator_id);

CREATE TABLE evaluation_indexes (
  id           text PRIMARY KEY,
  code         text NOT NULL UNIQUE,
  name_zh      text NOT NULL,
  name_en      text NOT NULL,
  definition   jsonb NOT NULL,
  state        text NOT NULL CHECK (state IN ('draft', 'published', 'retired')),
  owner_org_id text NOT NULL REFERENCES organizations (id),
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
