-- The emergency stop reaches credentials (issue 18): a user (every session and API key of that
-- person) or one API key can be frozen, refused with 423 FROZEN at authentication on every node
-- from the next request, and lifted again — where disabling or revoking would be final or lose
-- the sessions a security officer wants to examine.
ALTER TABLE freezes DROP CONSTRAINT freezes_scope_check;
ALTER TABLE freezes ADD CONSTRAINT freezes_scope_check
  CHECK (scope IN ('gateway', 'contract', 'organization', 'resource', 'user', 'api_key'));
