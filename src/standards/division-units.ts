import { findRegion } from './region.ts';

/**
 * Reporting units of grassroots statistics, named by statistical division codes (统计用区划代码):
 * the six digits of GB/T 2260 (a prefecture-level city or a county-level district), then three for
 * the town (乡镇街道) and three for the community or village (村居委会). Only the first six digits
 * can be checked against a published list here; the town and community digits are checked for form.
 */
export type UnitLevel = 'community' | 'town' | 'district' | 'city';

export function unitLevel(code: string): UnitLevel | undefined {
  if (!/^\d{6}(\d{3}(\d{3})?)?$/.test(code)) return undefined;
  const region = findRegion(code.slice(0, 6));
  if (!region || region.level === 'province') return undefined;
  if (code.length === 12)
    return region.level === 'county' && code.slice(9) !== '000' ? 'community' : undefined;
  if (code.length === 9) return region.level === 'county' && code.slice(6) !== '000' ? 'town' : undefined;
  return region.level === 'county' ? 'district' : 'city';
}

/** The code prefix a region's units share: 33 for 330000, 3301 for 330100, 330106 for 330106. */
export function regionPrefix(regionCode: string): string {
  if (regionCode.endsWith('0000')) return regionCode.slice(0, 2);
  if (regionCode.endsWith('00')) return regionCode.slice(0, 4);
  return regionCode;
}

/** True when the unit lies in the region (the unit of a town lies in its district and city). */
export function unitWithin(unitCode: string, regionCode: string): boolean {
  return unitCode.startsWith(regionPrefix(regionCode));
}

/** The unit one level up (community → town → district → city), or null at the city. */
export function parentUnit(code: string): string | null {
  if (code.length === 12) return code.slice(0, 9);
  if (code.length === 9) return code.slice(0, 6);
  const region = findRegion(code);
  return region?.level === 'county' ? region.parentCode : null;
}
