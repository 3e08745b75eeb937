-- Catalog governance (issue 18 item 6): a resource is catalogued as a draft, submitted by its
-- provider's steward, reviewed by the data bureau (platform admin) and only then published:
-- visible to other organizations and open to applications. Withdrawn resources take no new
-- applications and leave search; contracts in force run to their term (an emergency stop is the
-- tool for stopping them). Resources catalogued before this step existed stay published.
ALTER TABLE resources ADD COLUMN state text NOT NULL DEFAULT 'published'
  CHECK (state IN ('draft', 'in_review', 'published', 'withdrawn'));
ALTER TABLE resources ALTER COLUMN state SET DEFAULT 'draft';
-- Why the bureau returned it or why it was withdrawn: what the steward reads next to the state.
ALTER TABLE resources ADD COLUMN state_reason text;
-- Who took the last step: the bureau's reviewer must not be the one who submitted (four eyes).
ALTER TABLE resources ADD COLUMN state_changed_by text;
CREATE INDEX resources_state_idx ON resources (state) WHERE state <> 'published';
