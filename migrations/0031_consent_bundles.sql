-- A family consent may name the "one thing" bundles it is for (issue 22): a father lets the mother
-- apply with his data for the newborn's registration, not for anything else. Empty means every
-- life-event bundle, as every consent given before this migration did. src/services owns it.
ALTER TABLE service_consents ADD COLUMN bundle_ids text[] NOT NULL DEFAULT '{}';
