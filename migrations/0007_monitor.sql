-- Monitoring: alerts raised by rules over the audit stream, the evaluator's position and the
-- per-window sums it compares, and the emergency stops (freezes) the gateway checks per request.

-- A contract term: served in working hours only (MONITOR_WORKING_HOURS/DAYS, Beijing time).
ALTER TABLE contracts ADD COLUMN working_hours_only boolean NOT NULL DEFAULT false;
-- The expiry rule asks for active contracts ending soon on every evaluation.
CREATE INDEX contracts_expiry_idx ON contracts (valid_to) WHERE state = 'active';

CREATE TABLE alerts (
  id               text PRIMARY KEY,
  rule             text NOT NULL,
  severity         text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  subject_type     text NOT NULL,
  subject_id       text NOT NULL,
  -- The organization the subject belongs to, when it has one (a contract's consumer, a key's owner).
  org_id           text,
  summary          jsonb NOT NULL,
  details          jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- One ongoing condition, one alert: while an alert with this key is not resolved, new findings
  -- of the same condition update it (occurrences, last_seen_at) instead of opening another.
  dedup_key        text NOT NULL,
  state            text NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
  occurrences      integer NOT NULL DEFAULT 1,
  first_seen_at    timestamptz NOT NULL,
  last_seen_at     timestamptz NOT NULL,
  acknowledged_by  text,
  acknowledged_at  timestamptz,
  acknowledge_note text,
  resolved_by      text,
  resolved_at      timestamptz,
  resolve_note     text,
  -- Webhook outbox: a node claims a row by pushing notify_after forward, then posts it.
  notified_at      timestamptz,
  notify_attempts  integer NOT NULL DEFAULT 0,
  notify_after     timestamptz NOT NULL DEFAULT now(),
  notify_error     text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX alerts_ongoing_key ON alerts (dedup_key) WHERE state <> 'resolved';
CREATE INDEX alerts_dedup_idx ON alerts (dedup_key, id);
CREATE INDEX alerts_state_idx ON alerts (state, id);
CREATE INDEX alerts_subject_idx ON alerts (subject_id, id);
CREATE INDEX alerts_undelivered_idx ON alerts (notify_after) WHERE notified_at IS NULL;

-- Where the evaluator stands in the audit log. Evaluating a window locks this row, so with
-- several nodes each stretch of the log is judged once.
CREATE TABLE monitor_state (
  id           integer PRIMARY KEY CHECK (id = 1),
  last_seq     bigint NOT NULL DEFAULT 0,
  evaluated_at timestamptz,
  evaluated_by text
);
INSERT INTO monitor_state (id) VALUES (1);

-- Sums per fixed window (rows read per contract, refusals per credential, keys per user), added
-- to as events are judged, in the same transaction that moves the position: each event counts once.
CREATE TABLE monitor_counters (
  metric         text NOT NULL,
  subject        text NOT NULL,
  window_minutes integer NOT NULL,
  bucket         timestamptz NOT NULL,
  value          bigint NOT NULL,
  PRIMARY KEY (metric, subject, window_minutes, bucket)
);
CREATE INDEX monitor_counters_bucket_idx ON monitor_counters (bucket);

CREATE TABLE freezes (
  id          text PRIMARY KEY,
  scope       text NOT NULL CHECK (scope IN ('gateway', 'contract', 'organization', 'resource')),
  -- Contract, consumer organization or resource id; null for the whole gateway.
  target      text,
  reason      text NOT NULL,
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  lifted_by   text,
  lifted_at   timestamptz,
  lift_reason text,
  CHECK ((scope = 'gateway') = (target IS NULL)),
  CHECK ((lifted_at IS NULL) = (lifted_by IS NULL))
);
-- One active freeze per target; also the index of the gateway's per-request lookup.
CREATE UNIQUE INDEX freezes_active_key ON freezes (scope, (coalesce(target, ''))) WHERE lifted_at IS NULL;
