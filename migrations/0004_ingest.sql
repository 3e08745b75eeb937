-- Ingestion: background jobs, dataset versions, and the schema holding one table per version.

CREATE SCHEMA IF NOT EXISTS datasets;

-- Long-running work. A running job holds a lease its node renews; a lease that runs out means
-- the node died, and any node marks the job failed and cleans up after it.
CREATE TABLE jobs (
  id          text PRIMARY KEY,
  kind        text NOT NULL,
  state       text NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
  object_type text,
  object_id   text,
  payload     jsonb NOT NULL DEFAULT '{}'::jsonb,
  progress    jsonb NOT NULL DEFAULT '{}'::jsonb,
  result      jsonb,
  error       jsonb,
  node        text,
  lease_until timestamptz,
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  started_at  timestamptz,
  finished_at timestamptz
);
CREATE INDEX jobs_object_idx ON jobs (object_type, object_id, created_at DESC);
CREATE INDEX jobs_running_idx ON jobs (lease_until) WHERE state = 'running';

CREATE TABLE dataset_versions (
  id             text PRIMARY KEY,
  resource_id    text NOT NULL REFERENCES resources (id),
  number         integer NOT NULL,
  state          text NOT NULL CHECK (state IN ('loading', 'ready', 'failed')),
  table_name     text NOT NULL UNIQUE,
  job_id         text REFERENCES jobs (id),
  source_name    text NOT NULL,
  source_size    bigint NOT NULL DEFAULT 0,
  source_sm3     text,
  source_format  text NOT NULL,
  encoding       text,
  columns        jsonb NOT NULL,
  row_count      bigint NOT NULL DEFAULT 0,
  bad_row_count  bigint NOT NULL DEFAULT 0,
  duplicate_keys bigint,
  column_stats   jsonb,
  importer_id    text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  completed_at   timestamptz,
  UNIQUE (resource_id, number)
);

ALTER TABLE resources ADD COLUMN current_version_id text REFERENCES dataset_versions (id);
