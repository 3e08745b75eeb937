-- Messages pushed outside the platform (issue 23): reminders and the other messages of the
-- message centre, posted to the bureau's unified messaging gateway (MESSAGES_WEBHOOK_URL), which
-- resolves each recipient to a phone or a mailbox itself — no contact details are kept here.
-- The table is the outbox: one row per user and message key, ever, while the message is current
-- (the unique key is what stops two nodes queueing it twice); src/messages owns it and drops a
-- user's rows of messages that are gone, so it holds at most the users' current messages.
CREATE TABLE message_pushes (
  id               text PRIMARY KEY,
  user_id          text NOT NULL REFERENCES users (id),
  key              text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
  kind             text NOT NULL,
  -- What is posted (recipient and message as they were when queued), so every try sends the same.
  payload          jsonb NOT NULL,
  notified_at      timestamptz,
  notify_attempts  integer NOT NULL DEFAULT 0,
  notify_after     timestamptz NOT NULL DEFAULT now(),
  notify_error     text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, key)
);
CREATE INDEX message_pushes_undelivered_idx ON message_pushes (notify_after) WHERE notified_at IS NULL;
