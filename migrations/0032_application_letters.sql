-- The official request letter (申请函) a consumer department attaches to a data-sharing application
-- (issue 18): a stamped PDF or a scan. One current letter per application, so the application id is
-- the key and a new upload replaces the row; src/sharing owns it and refuses a replacement once the
-- application has left the draft. The bytes live in the database (at most 10 MiB each) so that every
-- node serves them and a backup holds them with the application they belong to.
CREATE TABLE application_letters (
  application_id text PRIMARY KEY REFERENCES applications (id),
  file_name      text NOT NULL,
  content_type   text NOT NULL CHECK (content_type IN ('application/pdf', 'image/png', 'image/jpeg')),
  size_bytes     integer NOT NULL CHECK (size_bytes > 0),
  sm3            text NOT NULL CHECK (sm3 ~ '^[0-9a-f]{64}$'),
  content        bytea NOT NULL,
  uploaded_by    text NOT NULL REFERENCES users (id),
  uploaded_at    timestamptz NOT NULL DEFAULT now()
);
