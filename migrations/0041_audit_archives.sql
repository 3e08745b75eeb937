-- Archived months of the audit log (issue 21). A month partition leaves the database only after
-- its entries were written to segment files with their proofs (src/audit/archive.ts), each file
-- read back and checked against a signed head. What stays behind keeps the Merkle log whole for
-- everything after it:
-- * audit_archives: one row per archiving — the seq range it took out (first_seq..last_seq), the
--   months, the files with their SM3 digests, the head their proofs lead to, who and when;
-- * the level-8 subtree hashes (audit_tree_nodes) over every complete block of 256 archived
--   leaves, computed before the rows went, so proofs and `audit verify` continue from them;
-- * audit_archived_leaves: the leaf hashes of the archived entries after the last complete block
--   (fewer than 256 per archiving), for the same reason.
-- None of this is trusted on its own word: `audit verify` rebuilds the tree from these hashes and
-- the live rows and checks every signed head after the archive against it, so an edited hash or
-- a removed archive row shows as a mismatch or as deleted entries.
CREATE TABLE audit_archives (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  first_seq   bigint NOT NULL CHECK (first_seq >= 1),
  last_seq    bigint NOT NULL CHECK (last_seq >= first_seq - 1),
  months      text[] NOT NULL,
  files       jsonb NOT NULL,
  head_size   bigint NOT NULL CHECK (head_size >= last_seq),
  head_root   text NOT NULL CHECK (head_root ~ '^[0-9a-f]{64}$'),
  refused     integer NOT NULL DEFAULT 0,
  archived_at timestamptz NOT NULL,
  archived_by text
);
CREATE INDEX audit_archives_range_idx ON audit_archives (last_seq, first_seq);

CREATE TABLE audit_archived_leaves (
  seq       bigint PRIMARY KEY CHECK (seq >= 1),
  leaf_hash bytea NOT NULL CHECK (octet_length(leaf_hash) = 32)
);

CREATE TRIGGER audit_archives_append_only BEFORE UPDATE OR DELETE ON audit_archives
  FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_archives_no_truncate BEFORE TRUNCATE ON audit_archives
  FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_archived_leaves_append_only BEFORE UPDATE OR DELETE ON audit_archived_leaves
  FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_archived_leaves_no_truncate BEFORE TRUNCATE ON audit_archived_leaves
  FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
