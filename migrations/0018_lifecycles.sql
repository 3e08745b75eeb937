-- Jobs start running on the node that holds their input (an import's file is on its disk); the
-- 'queued' state was declared but never used, and the job lifecycle (core/jobs.ts) has no such state.
ALTER TABLE jobs DROP CONSTRAINT IF EXISTS jobs_state_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_state_check CHECK (state IN ('running', 'succeeded', 'failed'));
