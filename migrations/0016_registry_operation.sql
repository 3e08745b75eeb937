-- Public data operation under the "1+3" rules (REFERENCE.md §5): the registry of public data
-- resources and data products (src/registry), authorized operation, prices, bills (src/operation).
-- Dates a rule counts in working days are civil dates in China, kept as 'YYYY-MM-DD' text.

-- ------------------------------------------------------------------ registry (src/registry)

CREATE TABLE registrations (
  id                  text PRIMARY KEY,
  kind                text NOT NULL CHECK (kind IN ('first', 'change', 'correction', 'cancellation')),
  subject_type        text NOT NULL CHECK (subject_type IN ('resource', 'product')),
  subject_id          text NOT NULL,
  subject_name        text NOT NULL,
  registrant_org_id   text NOT NULL REFERENCES organizations (id),
  submitted_by        text NOT NULL,
  -- The registration code: given when a first registration is registered; a change, correction or
  -- cancellation names the code it is about from the start.
  code                text,
  state               text NOT NULL CHECK (state IN ('submitted', 'returned', 'accepted', 'reviewed',
                                                     'notice', 'registered', 'rejected', 'superseded',
                                                     'cancelled', 'withdrawn')),
  content             jsonb NOT NULL,
  commitment          jsonb NOT NULL,
  notice_working_days integer NOT NULL,
  submitted_on        text NOT NULL,
  accept_due          text NOT NULL,
  accepted_on         text,
  review_due          text,
  reviewed_on         text,
  notice_from         text,
  notice_until        text,
  registered_on       text,
  valid_until         text,
  reason              text,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX registrations_state_idx ON registrations (state, id);
CREATE INDEX registrations_code_idx ON registrations (code) WHERE code IS NOT NULL;
CREATE INDEX registrations_subject_idx ON registrations (subject_type, subject_id);

-- Real-name objections lodged during the public notice, each answered by the registry.
CREATE TABLE registration_objections (
  id              text PRIMARY KEY,
  registration_id text NOT NULL REFERENCES registrations (id),
  org_id          text NOT NULL,
  user_id         text NOT NULL,
  real_name       text NOT NULL,
  text            text NOT NULL,
  answer          text,
  upheld          boolean,
  answered_by     text,
  lodged_at       timestamptz NOT NULL DEFAULT now(),
  answered_at     timestamptz
);
CREATE INDEX registration_objections_reg_idx ON registration_objections (registration_id);

-- Signed certificates, one version per registration that registered under a code; never updated
-- but for `status` (current → superseded by a change or correction, → cancelled).
CREATE TABLE registration_certificates (
  code            text NOT NULL,
  version         integer NOT NULL,
  registration_id text NOT NULL REFERENCES registrations (id),
  status          text NOT NULL CHECK (status IN ('current', 'superseded', 'cancelled')),
  document        jsonb NOT NULL,
  issued_at       timestamptz NOT NULL,
  PRIMARY KEY (code, version)
);

CREATE TABLE registry_code_counters (
  year integer PRIMARY KEY,
  last integer NOT NULL
);

-- ------------------------------------------------------------------ operation (src/operation)

CREATE TABLE operation_plans (
  id                text PRIMARY KEY,
  name              text NOT NULL,
  mode              text NOT NULL CHECK (mode IN ('whole', 'domain', 'scenario')),
  resource_ids      text[] NOT NULL,
  scenarios         jsonb NOT NULL,
  selection_method  text NOT NULL CHECK (selection_method IN ('public_tender', 'invited_tender', 'negotiation', 'other_competition')),
  security_measures text NOT NULL,
  term_years        integer NOT NULL,
  state             text NOT NULL CHECK (state IN ('draft', 'approved', 'selected', 'withdrawn')),
  approved_by       text,
  approved_at       timestamptz,
  -- The competition: candidates with scores, the winner and the notice (set by `select`).
  selection         jsonb,
  created_by        text NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE operation_agreements (
  id               text PRIMARY KEY,
  plan_id          text NOT NULL REFERENCES operation_plans (id),
  operator_org_id  text NOT NULL REFERENCES organizations (id),
  scope            jsonb NOT NULL,
  scenarios        jsonb NOT NULL,
  valid_from       text NOT NULL,
  valid_to         text NOT NULL,
  duties           text NOT NULL,
  pricing          text NOT NULL,
  revenue          text NOT NULL,
  exit_terms       text NOT NULL,
  state            text NOT NULL CHECK (state IN ('active', 'terminated', 'expired')),
  created_by       text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX operation_agreements_operator_idx ON operation_agreements (operator_org_id);

CREATE TABLE data_products (
  id              text PRIMARY KEY,
  agreement_id    text NOT NULL REFERENCES operation_agreements (id),
  operator_org_id text NOT NULL REFERENCES organizations (id),
  name            text NOT NULL,
  kind            text NOT NULL CHECK (kind IN ('dataset', 'api', 'report')),
  summary         text NOT NULL,
  -- Lineage: the resources (and their fields) the product is built from, all inside the agreement's scope.
  lineage         jsonb NOT NULL,
  created_by      text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);

-- 上限收费标准 per product and charging unit (set by the implementing body) and the operator's
-- actual price at or below it. Money in integer fen.
CREATE TABLE product_prices (
  product_id  text NOT NULL REFERENCES data_products (id),
  unit        text NOT NULL CHECK (unit IN ('call', 'row', 'month', 'volume')),
  cap_fen     bigint NOT NULL CHECK (cap_fen >= 0),
  price_fen   bigint CHECK (price_fen >= 0 AND price_fen <= cap_fen),
  trial       boolean NOT NULL,
  basis       text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (product_id, unit)
);

-- 最高准许收入 per operator and year: 经营成本 + 准许利润 + 税金, less what the previous year earned above its maximum.
CREATE TABLE revenue_caps (
  operator_org_id  text NOT NULL REFERENCES organizations (id),
  year             integer NOT NULL,
  costs            jsonb NOT NULL,
  operating_cost_fen bigint NOT NULL,
  profit_rate_bp   integer NOT NULL,
  bond_yield_bp    integer NOT NULL,
  tax_fen          bigint NOT NULL,
  max_revenue_fen  bigint NOT NULL,
  carried_over_fen bigint NOT NULL DEFAULT 0,
  trial            boolean NOT NULL,
  closed_revenue_fen bigint,
  closed_at        timestamptz,
  PRIMARY KEY (operator_org_id, year)
);

-- A customer's use of a product through its own sharing contract, under a purpose category.
CREATE TABLE product_subscriptions (
  id               text PRIMARY KEY,
  product_id       text NOT NULL REFERENCES data_products (id),
  contract_id      text NOT NULL UNIQUE,
  customer_org_id  text NOT NULL,
  purpose          text NOT NULL CHECK (purpose IN ('public_governance', 'public_welfare', 'industry', 'sector')),
  unit             text NOT NULL CHECK (unit IN ('call', 'row', 'month', 'volume')),
  created_by       text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now()
);

-- Monthly bills per subscription (contract); lines and totals in integer fen.
CREATE TABLE bills (
  id               text PRIMARY KEY,
  subscription_id  text NOT NULL REFERENCES product_subscriptions (id),
  contract_id      text NOT NULL,
  operator_org_id  text NOT NULL,
  customer_org_id  text NOT NULL,
  month            text NOT NULL,
  lines            jsonb NOT NULL,
  total_fen        bigint NOT NULL,
  audit_seqs       jsonb NOT NULL,
  issued_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (subscription_id, month)
);
