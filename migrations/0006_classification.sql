-- Classification: what the scans found in each field, what a data steward confirmed, and the flag
-- a later import raises when it contradicts the declared grades.
--
-- resource_fields.grade and resource_fields.detector stay the effective grade and detector (the
-- gateway and sharing read them). What stands behind them lives here, keyed by field name rather
-- than on resource_fields, because the catalog rewrites resource_fields rows when fields are
-- edited: a field that keeps its name keeps its classification, as it keeps its grade.

CREATE TABLE field_classifications (
  resource_id        text NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
  field_name         text NOT NULL,
  -- The latest scan (all null until the field is scanned).
  detector           text,
  confidence         double precision CHECK (confidence BETWEEN 0 AND 1),
  ratio              double precision CHECK (ratio BETWEEN 0 AND 1),
  non_empty          bigint,
  -- { samples: up to five values masked with the detector's rule, headerHint }
  evidence           jsonb,
  suggested_grade    text CHECK (suggested_grade IN ('core', 'important', 'g4', 'g3', 'g2', 'g1', 'unassessed')),
  scanned_version_id text REFERENCES dataset_versions (id),
  scanned_rows       bigint,
  -- Whether the scan judged a reservoir sample rather than every row.
  sampled            boolean,
  scanned_at         timestamptz,
  -- The steward's decision. confirmed_by is null for a grade declared before classification ran
  -- (set with the catalog entry): it is kept, and checked like a confirmation.
  confirmed_grade    text CHECK (confirmed_grade IN ('core', 'important', 'g4', 'g3', 'g2', 'g1')),
  confirmed_by       text,
  confirmed_at       timestamptz,
  confirmed_reason   text,
  PRIMARY KEY (resource_id, field_name),
  CHECK ((confirmed_grade IS NULL) = (confirmed_at IS NULL))
);

-- Set when an import (or a scan) contradicts the declared grades: which fields, what was declared,
-- what the data now shows. Null when there is nothing for a steward to look at.
ALTER TABLE resources ADD COLUMN grade_flag jsonb;
CREATE INDEX resources_grade_flag_idx ON resources (provider_org_id) WHERE grade_flag IS NOT NULL;
