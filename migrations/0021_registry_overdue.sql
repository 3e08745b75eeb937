-- Registry steps past their working-day deadline are reported once per step and due date (issue 19):
-- the scheduler's sweep writes `registration.overdue` to the audit log, which the monitor's
-- `registry_overdue` rule raises as an alert. The column holds the "step:due" last reported.
ALTER TABLE registrations ADD COLUMN overdue_reported_for text;
