-- Materialised bounded pairs for DP aggregates (issue 14's speed goal for first queries). For a
-- dataset version, the resource's DP settings and a group-by set, a table in the `datasets`
-- schema holds the contribution-bounded (unit, group) pairs — after the L∞ clamp and the L0
-- choice, unit ids dropped — so an unfiltered DP aggregate is a plain sum over it instead of a
-- sort of every row by unit. This is the registry of those tables; the gateway alone writes it.
-- A row is inserted in the same transaction that creates its table, so a row seen is a table
-- complete, and two nodes building the same pairs build them once (the second waits on the key,
-- then finds it taken).
CREATE TABLE dp_pairs (
  -- datasets.<table_name>: 'dpp_' and hex, derived from the three parts of the key below.
  table_name      text PRIMARY KEY,
  resource_id     text NOT NULL REFERENCES resources (id),
  version_id      text NOT NULL REFERENCES dataset_versions (id),
  -- SHA-256 of the settings that shape the bounding (unit, L0, L∞, bounds, domains) and of the
  -- pairs' format: new settings are another digest, so pairs of old settings are never read.
  settings_digest text NOT NULL,
  -- The group-by fields, comma-joined ('' for none).
  group_by        text NOT NULL,
  row_count       bigint NOT NULL,
  build_ms        integer NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (version_id, settings_digest, group_by)
);
CREATE INDEX dp_pairs_resource_idx ON dp_pairs (resource_id);
