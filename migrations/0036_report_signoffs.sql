-- Multi-level sign-off of grassroots reports (issue 23, 一表通): a submission by a unit below its
-- form's department passes each division between them (town, district, city, province) before the
-- department accepts it. Each (re)submission opens a round of steps; a return ends the round and a
-- resubmission opens the next, so the decisions of earlier rounds stay on record. Submissions made
-- before this migration have no steps: their round has nothing to climb and the department decides
-- them in one step, as it did when they were made (a resubmission after a return opens a full round).
ALTER TABLE report_submissions ADD COLUMN round integer NOT NULL DEFAULT 1 CHECK (round >= 1);

CREATE TABLE report_signoffs (
  id             text PRIMARY KEY,
  submission_id  text NOT NULL REFERENCES report_submissions (id),
  round          integer NOT NULL,
  -- 0 is the division nearest the unit.
  position       integer NOT NULL CHECK (position >= 0),
  level          text NOT NULL CHECK (level IN ('town', 'district', 'city', 'province')),
  unit_code      text NOT NULL,
  -- skipped: no government department sits at that division (decided when the round opens).
  -- cancelled: a lower level returned the submission before this step's turn came.
  state          text NOT NULL CHECK (state IN ('pending', 'signed', 'returned', 'skipped', 'cancelled')),
  decided_by     text,
  decided_org_id text REFERENCES organizations (id),
  decided_at     timestamptz,
  comment        text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (submission_id, round, position)
);
-- A reviewer's to-do: the steps waiting at their division.
CREATE INDEX report_signoffs_waiting_idx ON report_signoffs (unit_code) WHERE state = 'pending';
