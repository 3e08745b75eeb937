-- Idempotency keys for writes (issue 21): a client that retries a write with the same
-- `Idempotency-Key` gets the first answer again instead of a second write. src/core/idempotency.ts
-- is the one writer. A key belongs to one user (scope), so another user's identical key neither
-- collides with it nor sees its answer.
CREATE TABLE idempotency_keys (
  scope          text NOT NULL,
  key            text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
  method         text NOT NULL,
  path           text NOT NULL,
  -- SM3 of the request body as parsed (hex): the same key with another body is a client bug.
  body_hash      text NOT NULL,
  state          text NOT NULL CHECK (state IN ('in_progress', 'completed')),
  -- The request holding the claim (a random token); a stale claim is taken over by a new owner.
  owner          text NOT NULL,
  -- Set in the same transaction as the write itself (core/db.ts withTx): whether the write
  -- committed is then known even when its answer was lost, so a claim is released, or taken
  -- over, only when the write did not happen.
  applied_at     timestamptz,
  status_code    integer,
  content_type   text,
  location       text,
  -- The answer exactly as sent, so a replay is byte for byte the same.
  response_body  bytea,
  created_at     timestamptz NOT NULL DEFAULT now(),
  completed_at   timestamptz,
  expires_at     timestamptz NOT NULL,
  PRIMARY KEY (scope, key),
  CHECK (state = 'in_progress' OR (status_code IS NOT NULL AND completed_at IS NOT NULL))
);

-- The purge (background task idempotency.purge) deletes by expiry.
CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);
