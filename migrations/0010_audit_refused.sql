-- Time order (issue 15). Integration refuses a pending entry dated earlier than the last
-- integrated entry by more than the clock-skew allowance (AUDIT_CLOCK_SKEW_MS): a forged entry
-- back-dated into the queue would otherwise join the tree and pass verification. The entry stays
-- pending (audit_events is append-only) and is listed here, so integration skips it and
-- `shutong audit verify` reports it as a finding.
CREATE TABLE audit_refused (
  id text PRIMARY KEY,
  reason text NOT NULL,
  refused_at timestamptz NOT NULL DEFAULT now()
);
