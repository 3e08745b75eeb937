-- Span-masked copies of free text (issue 17's speed goal for `redact_spans`). For a dataset
-- version, a text field and the digest of the span definitions, a table in the `datasets` schema
-- holds each row's ordinal (`_row`, its primary key) and the field's value under `redact_spans`
-- (`v`), computed once with the gateway's own SQL expression, so serving the field reads the
-- copy instead of running the chain of regular expressions on every request. This is the registry
-- of those tables; the gateway alone writes it. As for dp_pairs, a row is inserted in the same
-- transaction that creates its table, so a row seen is a table complete, and two nodes building
-- the same copy build it once.
CREATE TABLE span_masked (
  -- datasets.<table_name>: 'spm_' and hex, derived from the three parts of the key below.
  table_name  text PRIMARY KEY,
  resource_id text NOT NULL REFERENCES resources (id),
  version_id  text NOT NULL REFERENCES dataset_versions (id),
  field       text NOT NULL,
  -- SHA-256 of the masking expression's SQL (every pattern, replacement and needed string, the
  -- guard) and of the copy's format: changed definitions are another digest, never read old copies.
  digest      text NOT NULL,
  row_count   bigint NOT NULL,
  build_ms    integer NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (version_id, field, digest)
);
CREATE INDEX span_masked_resource_idx ON span_masked (resource_id);
