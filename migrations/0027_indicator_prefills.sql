-- One-form reporting pre-filled from shared data (issue 23): a figure a department already
-- publishes as a catalog resource (one row per unit and period) is read for a grassroots unit
-- through a contract its organization holds, and offered in the unit's to-do instead of asking for
-- it. One offer per indicator, period and unit — the latest read — with the contract that
-- allowed it; the gateway's own audit entry of the read is its proof. It becomes a reported value
-- only when the unit submits a form carrying it.
CREATE TABLE indicator_prefills (
  indicator_id text NOT NULL REFERENCES indicators (id),
  period       text NOT NULL,
  unit_code    text NOT NULL,
  value        double precision NOT NULL,
  resource_id  text NOT NULL REFERENCES resources (id),
  -- The contract that allowed the read, and its holder (the reporting unit's organization): the
  -- offer stands only while that contract is in force.
  contract_id  text NOT NULL REFERENCES contracts (id),
  org_id       text NOT NULL REFERENCES organizations (id),
  read_by      text NOT NULL,
  read_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (indicator_id, period, unit_code)
);
