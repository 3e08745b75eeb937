-- Commit markers (issue 21): a write transaction on a server database inserts one row, named by a
-- random id, just before its COMMIT. When a failover or switchover cuts the COMMIT, the client
-- cannot tell whether it happened; the retry first claims the same id (INSERT … ON CONFLICT DO
-- NOTHING, which waits for an in-doubt holder): a conflict means the first attempt committed — its
-- answer stands and nothing is applied again —, a claim means it did not, and the work runs again.
-- Rows are useless once their transaction is settled; a background task removes old ones.
CREATE TABLE commit_markers (
  id         text PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX commit_markers_created_at ON commit_markers (created_at);
