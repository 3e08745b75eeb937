import { findRegion, fullRegionName } from './region.ts';

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

/**
 * The code prefix a region's units share: 33 for 330000, 3301 for 330100, 330106 for 330106, a
 * town's own nine digits (a town code may end in 00, so the GB/T 2260 rule cannot apply to it).
 */
export function regionPrefix(regionCode: string): string {
  if (regionCode.length > 6) return regionCode;
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

/** The code prefix every unit inside a unit shares (a community's is its own twelve digits). */
export const unitPrefix = regionPrefix;

/**
 * The GB/T 2260 part of a division code: a town's county (330106001 → 330106). Catalog codes and
 * DCAT regions name GB/T 2260 divisions; towns are not on that list.
 */
export const gbt2260Part = (code: string) => code.slice(0, 6);

/**
 * A readable name of a division: GB/T 2260's name (full: with the province and city), and for a
 * town (whose names are on the statistical list, not here) its county's name with its three digits.
 */
export function divisionName(code: string, full = true): string | undefined {
  const part = gbt2260Part(code);
  const county = full ? fullRegionName(part) : findRegion(part)?.name;
  if (code.length === 6 || county === undefined) return county;
  return `${county}（乡级区划 ${code.slice(6)}）`;
}

/** Levels a report passes on its way up: the division units above a community, then the province. */
export type ChainLevel = 'town' | 'district' | 'city' | 'province';

/**
 * The divisions above a unit, nearest first, each with its level: a community's town, district,
 * city and province ('330106001001' → 330106001, 330106, 330100, 330000).
 */
export function divisionsAbove(code: string): Array<{ unitCode: string; level: ChainLevel }> {
  const above: Array<{ unitCode: string; level: ChainLevel }> = [];
  let current: string | null = code;
  while (current) {
    const next: string | null =
      current.length > 6 ? current.slice(0, current.length - 3) : (findRegion(current)?.parentCode ?? null);
    if (!next) break;
    const region = next.length === 6 ? findRegion(next) : undefined;
    const level: ChainLevel =
      next.length === 9
        ? 'town'
        : region?.level === 'county'
          ? 'district'
          : region?.level === 'prefecture'
            ? 'city'
            : 'province';
    above.push({ unitCode: next, level });
    current = next;
  }
  return above;
}
