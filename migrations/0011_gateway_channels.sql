-- Issue #14: the gateway's inference channels.
-- The grade and detector each granted field had when the contract was issued: the gateway compares
-- them with the current ones on every request (a security officer's sign-off of a weaker mask holds
-- only for the grade it was given for).
ALTER TABLE contracts ADD COLUMN granted_grades jsonb;
-- Set by the gateway when a field's grade rose after approval (stricter mask served, or core
-- refused): which fields and since when, until the provider reviews the contract.
ALTER TABLE contracts ADD COLUMN review_flag jsonb;
-- The prosecutor re-identification risk of the served quasi-identifiers, computed at approval.
ALTER TABLE applications ADD COLUMN reid_risk jsonb;
