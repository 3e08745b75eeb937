-- Citizens and family consent (issue 22). A citizen is a person, not a member of a department:
-- a user with the role `citizen` in the one built-in organization `org_public` (社会公众), which
-- the identity capability hides from organization and user lists and never lets anyone join
-- through the API. Their sessions carry the services scope only (src/identity/service.ts).
-- src/identity owns citizen_identities; src/services owns service_consents.

ALTER TABLE organizations DROP CONSTRAINT organizations_type_check;
ALTER TABLE organizations ADD CONSTRAINT organizations_type_check
  CHECK (type IN ('government_department', 'public_institution', 'enterprise', 'authorized_operator', 'public'));
-- The check digit of this credit code is not meant to validate: no registration authority issued it.
INSERT INTO organizations (id, name, type, level, region_code, uscc)
VALUES ('org_public', '社会公众', 'public', 'national', NULL, '000000000000000000');

ALTER TABLE users DROP CONSTRAINT users_roles_check;
ALTER TABLE users ADD CONSTRAINT users_roles_check CHECK (
  roles <@ ARRAY['platform_admin', 'org_admin', 'data_steward', 'security_officer', 'consumer', 'auditor', 'citizen']::text[]
  AND cardinality(roles) > 0
  -- A citizen is nothing else, and only citizens belong to the public.
  AND (('citizen' = ANY (roles)) = (org_id = 'org_public'))
  AND (NOT 'citizen' = ANY (roles) OR cardinality(roles) = 1)
);

-- Who a citizen is, as the identity provider vouched: the resident ID number is the key the
-- departments look the citizen up by in shared data (service applications' subject key).
CREATE TABLE citizen_identities (
  user_id    text PRIMARY KEY REFERENCES users (id),
  provider   text NOT NULL,
  id_number  text NOT NULL UNIQUE CHECK (id_number ~ '^[0-9]{17}[0-9X]$'),
  name       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- One citizen lets another apply for services with the grantor's data (the father's to the
-- mother), for a term. The grantee is named by ID number and name as the grantor typed them: the
-- grantee may not have signed in yet. Revoked consents stay, as the record of what was allowed.
CREATE TABLE service_consents (
  id                 text PRIMARY KEY,
  grantor_user_id    text NOT NULL REFERENCES users (id),
  grantee_id_number  text NOT NULL CHECK (grantee_id_number ~ '^[0-9]{17}[0-9X]$'),
  grantee_name       text NOT NULL,
  relation           text NOT NULL CHECK (relation IN ('spouse', 'parent', 'child', 'other')),
  valid_from         text NOT NULL,
  valid_until        text NOT NULL,
  state              text NOT NULL CHECK (state IN ('active', 'revoked')),
  revoked_on         text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  CHECK (valid_until >= valid_from)
);
CREATE INDEX service_consents_grantor_idx ON service_consents (grantor_user_id, id);
CREATE INDEX service_consents_grantee_idx ON service_consents (grantee_id_number, id);

-- The consent an application was made under (NULL: the applicant's own data), kept as its proof.
ALTER TABLE service_applications ADD COLUMN consent_id text REFERENCES service_consents (id);
-- What the applicant must meet, shown before the form (e.g. 本市户籍、新生儿出生后 90 日内).
ALTER TABLE service_bundles ADD COLUMN eligibility jsonb NOT NULL DEFAULT '[]'::jsonb;
