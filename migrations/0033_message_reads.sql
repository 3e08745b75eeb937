-- The message centre's read marks (issue 18): which of a user's current messages the user has read.
-- Messages themselves are not stored — src/messages computes them from the other capabilities on
-- each request — so a mark is only a user and a message key. src/messages owns the table and keeps
-- it bounded: marking read drops the user's marks of messages that no longer exist.
CREATE TABLE message_reads (
  user_id  text NOT NULL REFERENCES users (id),
  key      text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
  read_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, key)
);
