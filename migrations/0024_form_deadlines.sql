-- One-form reporting deadlines (issue 23): a form's report for a period is due a number of working
-- days (official holiday calendar) after the period ends; each unit's to-do shows the date, and
-- GET /v1/forms/reminders lists what is due soon or overdue for the caller's unit.
ALTER TABLE report_forms ADD COLUMN due_working_days integer NOT NULL DEFAULT 10
  CHECK (due_working_days BETWEEN 0 AND 60);
