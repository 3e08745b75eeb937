-- "Get one thing done" (一件事一次办) service bundles and citizen ratings (好差评), issue 22.
-- src/services owns the bundles and applications, src/ratings the ratings and rectification cases.
-- Dates counted in working days are civil dates in China, kept as 'YYYY-MM-DD' text (as in 0016).

-- ------------------------------------------------------------------ services (src/services)

-- A bundle's steps (departments, dependencies, fields and where each field's data can come from)
-- are one declared document, validated by the service: it is read and changed as a whole.
CREATE TABLE service_bundles (
  id                     text PRIMARY KEY,
  code                   text NOT NULL UNIQUE,
  name                   text NOT NULL,
  name_en                text NOT NULL,
  event_kind             text NOT NULL CHECK (event_kind IN ('life', 'business')),
  lead_org_id            text NOT NULL REFERENCES organizations (id),
  state                  text NOT NULL CHECK (state IN ('draft', 'published', 'retired')),
  promised_working_days  integer NOT NULL CHECK (promised_working_days BETWEEN 1 AND 60),
  steps                  jsonb NOT NULL,
  created_by             text NOT NULL,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX service_bundles_lead_idx ON service_bundles (lead_org_id, id);

CREATE TABLE service_applications (
  id                 text PRIMARY KEY,
  bundle_id          text NOT NULL REFERENCES service_bundles (id),
  applicant_user_id  text NOT NULL REFERENCES users (id),
  -- What the citizen typed into the one merged form (field name → value); exempted fields are
  -- not in it: their values come through contracts into service_application_steps.prefill.
  form               jsonb NOT NULL,
  -- The key the departments look the applicant up by (resident ID, credit code), as typed.
  subject_key        text NOT NULL,
  state              text NOT NULL CHECK (state IN ('open', 'done', 'refused')),
  submitted_on       text NOT NULL,
  due_on             text NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX service_applications_applicant_idx ON service_applications (applicant_user_id, id);

CREATE TABLE service_application_steps (
  id              text PRIMARY KEY,
  application_id  text NOT NULL REFERENCES service_applications (id),
  step_key        text NOT NULL,
  org_id          text NOT NULL REFERENCES organizations (id),
  depends_on      text[] NOT NULL,
  state           text NOT NULL CHECK (state IN ('waiting', 'submitted', 'accepted', 'in_progress',
                                                 'done', 'returned', 'refused')),
  working_days    integer NOT NULL,
  -- Set when the step's inputs are done and it reaches its department.
  released_on     text,
  due_on          text,
  done_on         text,
  -- Field → { value, contractId, auditId }: what the department pulled through its contracts.
  prefill         jsonb NOT NULL DEFAULT '{}'::jsonb,
  reason          text,
  -- The due date an overdue report (audit `service_step.overdue`, a monitor alert) was made for.
  overdue_reported_for text,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (application_id, step_key)
);
CREATE INDEX service_application_steps_org_idx ON service_application_steps (org_id, state);

-- ------------------------------------------------------------------ ratings (src/ratings)

CREATE TABLE service_ratings (
  id              text PRIMARY KEY,
  application_id  text NOT NULL REFERENCES service_applications (id),
  step_key        text NOT NULL,
  org_id          text NOT NULL REFERENCES organizations (id),
  bundle_id       text NOT NULL REFERENCES service_bundles (id),
  rater_user_id   text NOT NULL REFERENCES users (id),
  channel         text NOT NULL CHECK (channel IN ('online', 'offline')),
  -- 5 非常满意 … 1 非常不满意; 1 and 2 are bad ratings.
  level           integer NOT NULL CHECK (level BETWEEN 1 AND 5),
  indicators      jsonb NOT NULL,
  text            text,
  named           boolean NOT NULL,
  rated_on        text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (application_id, step_key)
);
CREATE INDEX service_ratings_org_idx ON service_ratings (org_id, rated_on);

CREATE TABLE rectification_cases (
  id              text PRIMARY KEY,
  rating_id       text NOT NULL UNIQUE REFERENCES service_ratings (id),
  org_id          text NOT NULL REFERENCES organizations (id),
  state           text NOT NULL CHECK (state IN ('open', 'verified', 'rectified', 'explained',
                                                 'appealed', 'voided', 'closed')),
  opened_on       text NOT NULL,
  due_on          text NOT NULL,
  working_days    integer NOT NULL CHECK (working_days BETWEEN 5 AND 15),
  return_visit    boolean NOT NULL,
  -- Each step's note, by event: { verify: {...}, rectify: {...}, ... }.
  notes           jsonb NOT NULL DEFAULT '{}'::jsonb,
  closed_on       text,
  -- Set when the overdue report (audit `rectification.overdue`, a monitor alert) was made.
  overdue_reported boolean NOT NULL DEFAULT false,
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rectification_cases_org_idx ON rectification_cases (org_id, state);
