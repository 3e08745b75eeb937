-- Re-review after a regrade (issue 18): a published resource whose field or resource grades change
-- (a confirmation, an override, an import's scan) is due a new review by the data bureau. It stays
-- published — contracts in force keep naming it and the gateway already serves the stricter of the
-- contract's and the current grade's masks — but takes no new applications or approvals until the
-- bureau confirms it again (POST /v1/resources/{id}/reconfirm). {since, by}: the first change since
-- the last review, and who made it (who may therefore not confirm it: four eyes).
ALTER TABLE resources ADD COLUMN review_due jsonb;
