-- Appends no longer wait for one another. Until now every append locked the one tree-state row
-- until its transaction committed, so concurrent writers (gateway calls above all) committed one
-- at a time. Now an append is a plain insert of a *pending* entry (seq and leaf_hash null) in
-- the transaction of the change it records; an integrator (src/audit/integrate.ts) later takes
-- the committed pending entries in append order under the tree-state lock, gives each the next position,
-- records its leaf hash and moves the frontier, in one transaction. Positions stay gap-free and
-- the tree cannot fork: only the integrator assigns them, one integrator at a time.

-- seq is null while an entry waits; id identifies it from the start.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_pkey;
ALTER TABLE audit_events ALTER COLUMN seq DROP NOT NULL;
ALTER TABLE audit_events DROP CONSTRAINT audit_events_id_key;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_pkey PRIMARY KEY (id);
CREATE UNIQUE INDEX audit_events_seq_idx ON audit_events (seq);
-- The integrator's queue, in the order entries were appended (a sequence: gaps do not matter here).
ALTER TABLE audit_events ADD COLUMN queued bigint GENERATED ALWAYS AS IDENTITY;
CREATE INDEX audit_events_pending_idx ON audit_events (queued) WHERE seq IS NULL;
-- A position and a leaf hash come together (the backfill of pre-0003 rows aside, which had seq).
ALTER TABLE audit_events ADD CONSTRAINT audit_events_hash_needs_seq CHECK (seq IS NOT NULL OR leaf_hash IS NULL);

-- Still append-only. The updates allowed: integration (a pending entry gets its position and leaf
-- hash, nothing else changes) and the backfill recording a missing leaf hash.
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Nested: PL/pgSQL resolves OLD.leaf_hash only when it gets there, and heads have no such field.
  IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'audit_events' THEN
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
