-- Township offices (乡镇人民政府、街道办事处) as organizations (issue 23): the town step of a
-- grassroots report's sign-off chain needs a government department sitting at a town. A town is not
-- on GB/T 2260; its code is the nine-digit statistical division code (统计用区划代码): the county's
-- six digits, then three for the town, never 000.
ALTER TABLE organizations DROP CONSTRAINT organizations_level_check;
ALTER TABLE organizations ADD CONSTRAINT organizations_level_check
  CHECK (level IN ('national', 'provincial', 'municipal', 'county', 'township'));
ALTER TABLE organizations DROP CONSTRAINT organizations_region_code_check;
ALTER TABLE organizations ADD CONSTRAINT organizations_region_code_check
  CHECK (region_code ~ '^[0-9]{6}$' OR (level = 'township' AND region_code ~ '^[0-9]{6}[0-9]{3}$' AND right(region_code, 3) <> '000'));
