-- Notifications to applicants (issue 22): each department move on a step of someone's application
-- (accepted, started, done, returned with its reason, refused), the application's completion, and
-- a consent given to or revoked for a citizen, written in the same transaction as the change, so
-- nothing happens to an application without its applicant being told. src/services owns it.
CREATE TABLE service_notifications (
  id              text PRIMARY KEY,
  user_id         text NOT NULL REFERENCES users (id),
  application_id  text REFERENCES service_applications (id),
  kind            text NOT NULL,
  details         jsonb NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  read_at         timestamptz
);
CREATE INDEX service_notifications_user_idx ON service_notifications (user_id, id);
