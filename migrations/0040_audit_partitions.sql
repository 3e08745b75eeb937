-- The audit log partitioned by month (issue 21): audit_events becomes a table partitioned by RANGE
-- on the entry's time, one partition per calendar month of Beijing time (UTC+8, no daylight
-- saving), named audit_events_yYYYYmMM, and a DEFAULT partition so that no entry is ever refused
-- for want of one. Why time and not seq: an entry gets its seq only when integration assigns it
-- (an UPDATE), and a partition key that changes would move the row (a DELETE plus an INSERT, which
-- the append-only trigger refuses); time is written once, at the append.
--
-- What partitions buy: reads by period touch only their months (the audit API's from/to, the
-- monitor's windows), vacuum and index maintenance work month by month, and an old month can
-- leave the database as one DROP once it has been exported with its proofs, instead of
-- millions of deletes. The Merkle log does not change: seq, leaf hashes, the tree state and the
-- proofs read the same columns, only across partitions.
--
-- Changed from migrations 0001/0003/0009, because a partitioned table requires it:
-- * the primary key is (id, time) and seq's index is no longer UNIQUE (a unique index must hold
--   the partition key). Uniqueness of seq never rested on the index: only the integrator
--   assigns seq, under the tree-state lock, and `audit verify` reports any duplicate a tamperer
--   makes;
-- * queued takes its values from a sequence (PostgreSQL 15 has no identity columns on
--   partitioned tables);
-- * the TRUNCATE trigger is on each partition too (a statement trigger of the parent does not
--   fire when a partition is truncated directly); the row trigger is cloned to each partition by
--   PostgreSQL.

-- Partition triggers see their partition's name, not the parent's.
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Nested: PL/pgSQL resolves OLD.leaf_hash only when it gets there, and heads have no such field.
  IF TG_OP = 'UPDATE' AND (TG_TABLE_NAME = 'audit_events' OR TG_TABLE_NAME LIKE 'audit\_events\_%') THEN
    -- Integration runs this for every entry: column by column is much cheaper than to_jsonb.
    IF OLD.seq IS NULL AND OLD.leaf_hash IS NULL AND NEW.seq IS NOT NULL AND NEW.leaf_hash IS NOT NULL
       AND NEW.id = OLD.id AND NEW.time = OLD.time AND NEW.queued = OLD.queued
       AND NEW.action = OLD.action AND NEW.object_type = OLD.object_type
       AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id AND NEW.org_id IS NOT DISTINCT FROM OLD.org_id
       AND NEW.object_id IS NOT DISTINCT FROM OLD.object_id
       AND NEW.request_id IS NOT DISTINCT FROM OLD.request_id
       AND NEW.details = OLD.details THEN
      RETURN NEW;
    END IF;
    IF OLD.seq IS NOT NULL AND OLD.leaf_hash IS NULL AND NEW.leaf_hash IS NOT NULL
       AND (to_jsonb(NEW) - 'leaf_hash') = (to_jsonb(OLD) - 'leaf_hash') THEN
      RETURN NEW;
    END IF;
  END IF;
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;

ALTER TABLE audit_events RENAME TO audit_events_unpartitioned;
ALTER INDEX audit_events_pkey RENAME TO audit_events_unpartitioned_pkey;

CREATE SEQUENCE audit_events_queue;
SELECT setval('audit_events_queue', COALESCE((SELECT max(queued) FROM audit_events_unpartitioned), 0) + 1, false);

CREATE TABLE audit_events (
  seq         bigint CONSTRAINT audit_events_seq_positive CHECK (seq >= 1),
  id          text NOT NULL,
  time        timestamptz NOT NULL,
  actor_id    text,
  org_id      text,
  action      text NOT NULL,
  object_type text NOT NULL,
  object_id   text,
  request_id  text,
  details     jsonb NOT NULL DEFAULT '{}'::jsonb,
  leaf_hash   bytea CHECK (octet_length(leaf_hash) = 32),
  -- Append order, which integration follows (not part of the leaf).
  queued      bigint NOT NULL DEFAULT nextval('audit_events_queue'),
  CONSTRAINT audit_events_hash_needs_seq CHECK (seq IS NOT NULL OR leaf_hash IS NULL),
  CONSTRAINT audit_events_pkey PRIMARY KEY (id, time)
) PARTITION BY RANGE (time);
ALTER SEQUENCE audit_events_queue OWNED BY audit_events.queued;

CREATE TABLE audit_events_default PARTITION OF audit_events DEFAULT;

-- The first instant of a month of Beijing time, as timestamptz.
CREATE FUNCTION audit_month_start(month date) RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$
  SELECT (to_char(date_trunc('month', month), 'YYYY-MM-DD') || ' 00:00:00+08')::timestamptz
$$;

-- The partition of the month holding `day` (Beijing time), created when missing; returns its name,
-- or NULL when the DEFAULT partition already holds entries of that month (a clock that ran ahead,
-- months never created): those rows cannot move (the log is append-only), so the month stays in
-- the DEFAULT partition, which takes any time. Serialised by an advisory lock so two nodes never
-- race to create one. Creating a partition waits for a lock on the parent: callers other than this
-- migration set a lock_timeout and try again later (months are created ahead, audit/partitions.ts).
CREATE FUNCTION audit_events_ensure_month(day date) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  first date := date_trunc('month', day)::date;
  name text := format('audit_events_y%sm%s', to_char(first, 'YYYY'), to_char(first, 'MM'));
BEGIN
  PERFORM pg_advisory_xact_lock(7346110040);
  IF to_regclass(name) IS NULL AND EXISTS (
       SELECT 1 FROM audit_events_default
        WHERE time >= audit_month_start(first) AND time < audit_month_start((first + interval '1 month')::date)) THEN
    RETURN NULL;
  END IF;
  IF to_regclass(name) IS NULL THEN
    EXECUTE format('CREATE TABLE %I PARTITION OF audit_events FOR VALUES FROM (%L) TO (%L)', name,
                   audit_month_start(first), audit_month_start((first + interval '1 month')::date));
    EXECUTE format('CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON %I '
                   'FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()', name);
  END IF;
  RETURN name;
END;
$$;

-- Months of the existing entries, this month and the next two.
SELECT audit_events_ensure_month(m)
  FROM (SELECT DISTINCT date_trunc('month', (time AT TIME ZONE 'UTC') + interval '8 hours')::date AS m
          FROM audit_events_unpartitioned
        UNION
        SELECT (date_trunc('month', (now() AT TIME ZONE 'UTC') + interval '8 hours') + k * interval '1 month')::date
          FROM generate_series(0, 2) AS k) AS months
 ORDER BY m;

INSERT INTO audit_events (seq, id, time, actor_id, org_id, action, object_type, object_id, request_id, details, leaf_hash, queued)
SELECT seq, id, time, actor_id, org_id, action, object_type, object_id, request_id, details, leaf_hash, queued
  FROM audit_events_unpartitioned;

DROP TABLE audit_events_unpartitioned;

CREATE INDEX audit_events_seq_idx ON audit_events (seq);
CREATE INDEX audit_events_pending_idx ON audit_events (queued) WHERE seq IS NULL;
CREATE INDEX audit_events_object_idx ON audit_events (object_type, object_id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, seq);
CREATE INDEX audit_events_org_idx ON audit_events (org_id, seq);

CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events_default
  FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
