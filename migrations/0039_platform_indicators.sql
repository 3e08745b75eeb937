-- Platform activity as dictionary indicators (issue 23): a figure the platform holds itself —
-- resources shared, gateway calls, bundles done, satisfaction rate — counted per district or city
-- and period when results are asked for (indicators/platform.ts), never reported or stored.
ALTER TABLE indicators DROP CONSTRAINT indicators_source_kind_check;
ALTER TABLE indicators ADD CONSTRAINT indicators_source_kind_check
  CHECK (source_kind IN ('reported', 'resource_field', 'formula', 'platform'));
