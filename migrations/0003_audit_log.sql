-- Tamper-evident audit log: audit_events become the leaves of an SM3 Merkle tree (src/audit/).
--
-- seq is a leaf position now, so it must be gap-free: a sequence skips numbers on rollback, which
-- verification would report as deletions. The append takes seq from the one audit_tree_state
-- row, locked FOR UPDATE in the appending transaction, and updates that row's frontier (the
-- O(log n) subtree roots) in the same statement as the insert.
--
-- Rows written before this migration (a database migrated with 0001 only may hold some) are
-- renumbered 1..n in their old order and their times cut to milliseconds, the precision a leaf
-- records. SQL has no SM3, so their leaf hashes are computed by the first append or the first
-- start after this migration (backfill_pending, see src/audit/store.ts), under the same lock.

ALTER TABLE audit_events ALTER COLUMN seq DROP DEFAULT;
DROP SEQUENCE IF EXISTS audit_events_seq_seq;
-- Times come from JS (Date, milliseconds): now() has microseconds a leaf could not record.
ALTER TABLE audit_events ALTER COLUMN time DROP DEFAULT;

UPDATE audit_events SET seq = -r.rn, time = date_trunc('milliseconds', audit_events.time)
  FROM (SELECT seq, row_number() OVER (ORDER BY seq) AS rn FROM audit_events) AS r
 WHERE audit_events.seq = r.seq;
UPDATE audit_events SET seq = -seq;

ALTER TABLE audit_events ADD CONSTRAINT audit_events_seq_positive CHECK (seq >= 1);
-- SM3 of 0x00 ‖ canonical entry bytes, recorded at append: lets verify name an edited row.
ALTER TABLE audit_events ADD COLUMN leaf_hash bytea CHECK (octet_length(leaf_hash) = 32);

CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, seq);
CREATE INDEX audit_events_org_idx ON audit_events (org_id, seq);

CREATE TABLE audit_tree_state (
  id               smallint PRIMARY KEY CHECK (id = 1),
  size             bigint NOT NULL CHECK (size >= 0),
  -- The frontier's subtree roots, leftmost first, 32 bytes each (one per set bit of size).
  frontier         bytea NOT NULL,
  backfill_pending boolean NOT NULL,
  updated_at       timestamptz NOT NULL DEFAULT now()
);
INSERT INTO audit_tree_state (id, size, frontier, backfill_pending)
  VALUES (1, 0, ''::bytea, EXISTS (SELECT 1 FROM audit_events));

-- Signed tree heads: (size, root, time) signed with the platform's SM2 key.
CREATE TABLE audit_tree_heads (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tree_size       bigint NOT NULL CHECK (tree_size >= 0),
  root_hash       text NOT NULL CHECK (root_hash ~ '^[0-9a-f]{64}$'),
  signed_at       timestamptz NOT NULL,
  signature       text NOT NULL,
  key_fingerprint text NOT NULL
);
CREATE INDEX audit_tree_heads_size_idx ON audit_tree_heads (tree_size);

-- Perfect subtree roots at levels 8, 16, 24…, filled lazily by proof requests so that a proof
-- reads at most a few hundred hashes per level instead of every leaf below it. Derived data:
-- verification never trusts it.
CREATE TABLE audit_tree_nodes (
  level smallint NOT NULL CHECK (level > 0 AND level % 8 = 0),
  idx   bigint NOT NULL CHECK (idx >= 0),
  hash  bytea NOT NULL CHECK (octet_length(hash) = 32),
  PRIMARY KEY (level, idx)
);

-- Append-only in the database too: no UPDATE, DELETE or TRUNCATE through any ordinary path. The
-- one update allowed is the backfill recording a missing leaf hash. This does not stop the
-- table's owner (who can disable triggers); the Merkle tree and signed heads catch that.
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Nested: PL/pgSQL resolves OLD.leaf_hash only when it gets there, and heads have no such field.
  IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'audit_events' THEN
    IF OLD.leaf_hash IS NULL AND NEW.leaf_hash IS NOT NULL
       AND (to_jsonb(NEW) - 'leaf_hash') = (to_jsonb(OLD) - 'leaf_hash') THEN
      RETURN NEW;
    END IF;
  END IF;
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_tree_heads_append_only BEFORE UPDATE OR DELETE ON audit_tree_heads
  FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_tree_heads_no_truncate BEFORE TRUNCATE ON audit_tree_heads
  FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
