-- Catalog: public data resources and their information items (fields), with change history.

CREATE TABLE resources (
  id                 text PRIMARY KEY,
  code               text NOT NULL UNIQUE,
  name               text NOT NULL,
  summary            text NOT NULL DEFAULT '',
  provider_org_id    text NOT NULL REFERENCES organizations (id),
  category           text NOT NULL CHECK (category IN ('base', 'theme', 'department')),
  theme              text NOT NULL,
  keywords           text[] NOT NULL DEFAULT '{}',
  format             text NOT NULL DEFAULT 'table',
  update_cycle       text NOT NULL,
  sharing_type       text NOT NULL CHECK (sharing_type IN ('unconditional', 'conditional', 'not_shared')),
  sharing_conditions text NOT NULL DEFAULT '',
  open_type          text NOT NULL CHECK (open_type IN ('unconditional', 'conditional', 'not_open')),
  open_conditions    text NOT NULL DEFAULT '',
  published_on       date,
  related_codes      text[] NOT NULL DEFAULT '{}',
  grade              text NOT NULL DEFAULT 'unassessed',
  revision           integer NOT NULL DEFAULT 1,
  search_vector      tsvector NOT NULL,
  created_by         text NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  CHECK (sharing_type <> 'not_shared' OR sharing_conditions <> '')
);
CREATE INDEX resources_search_idx ON resources USING gin (search_vector);
CREATE INDEX resources_provider_idx ON resources (provider_org_id, id);
CREATE INDEX resources_theme_idx ON resources (theme);

CREATE TABLE resource_fields (
  resource_id text NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
  position    integer NOT NULL,
  name        text NOT NULL,
  label       text NOT NULL,
  data_type   text NOT NULL CHECK (data_type IN ('integer', 'decimal', 'boolean', 'date', 'timestamp', 'text')),
  description text NOT NULL DEFAULT '',
  grade       text NOT NULL DEFAULT 'unassessed'
              CHECK (grade IN ('core', 'important', 'g4', 'g3', 'g2', 'g1', 'unassessed')),
  is_key      boolean NOT NULL DEFAULT false,
  PRIMARY KEY (resource_id, name),
  UNIQUE (resource_id, position)
);

-- Who changed what, when: one row per revision with the changed attributes (before and after).
CREATE TABLE resource_history (
  resource_id text NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
  revision    integer NOT NULL,
  actor_id    text NOT NULL,
  at          timestamptz NOT NULL DEFAULT now(),
  changes     jsonb NOT NULL,
  PRIMARY KEY (resource_id, revision)
);

-- Per-provider sequence of resource codes.
CREATE TABLE resource_code_counters (
  provider_org_id text PRIMARY KEY REFERENCES organizations (id),
  last_value      integer NOT NULL
);
