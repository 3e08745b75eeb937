import { isIPv6 } from 'node:net';
import { type CalendarDate, compareDates, parseCalendarDate, todayInChina } from '../standards/calendar.ts';
import { surnameOf } from '../standards/surnames.ts';

/**
 * Value validators for the detectors that no national standard defines a check for. Each one
 * accepts only values that are structurally what they claim to be; ambiguous shapes are left to
 * the column-level rules in detectors.ts.
 */

// RFC 5321 limits with the dot-atom local part that real addresses use; quoted local parts and
// address literals are legal but never seen in registers.
const EMAIL =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?:[A-Za-z]{2,24}|xn--[A-Za-z0-9-]{1,59})$/;

export function isEmail(value: string): boolean {
  if (value.length > 254) return false;
  const at = value.indexOf('@');
  return at > 0 && at <= 64 && EMAIL.test(value);
}

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);

/** Dotted-quad IPv4 without leading zeros (which some parsers read as octal). */
export function isIpv4(value: string): boolean {
  return IPV4.test(value);
}

export function isIpv6(value: string): boolean {
  // Node accepts zone ids (fe80::1%eth0); they are link-local addresses all the same.
  return value.includes(':') && isIPv6(value);
}

// Last characters of organisation, place and product names that given names do not end with
// (or so rarely that a whole column of them is not a name column).
const NOT_NAME_END = new Set(
  [...'局处科室部委办院所站队厂店司馆社会组团校场市县区省镇乡村街路号楼族府厅署堂行网台库线段栏'].concat([
    ...'机车器表油奶茶酒药糖面粉鞋衣裤笔灯箱柜膜纸盒瓶袋液膏片丸罐包饮',
  ]),
);
const HAN = /^[\u3400-\u4dbf\u4e00-\u9fff]+$/;

/**
 * A Chinese personal name: two to four Han characters starting with a known surname (compound
 * surnames included), given name of one or two characters, not ending in a character that marks
 * an organisation, place or product. Names of ethnic minorities written with a middle dot
 * (阿卜杜·热合曼) are accepted when every part is Han. Spaces that pad two-character names
 * to the width of three (张　三) are ignored.
 */
export function isPersonName(value: string): boolean {
  const v = value.replace(/[ \u3000]/g, '');
  if (/[·•]/.test(v)) {
    const parts = v.split(/[·•]/);
    return (
      parts.length >= 2 &&
      parts.length <= 4 &&
      parts.every((p) => p.length >= 1 && p.length <= 6 && HAN.test(p))
    );
  }
  const n = v.length;
  if (n < 2 || n > 4 || !HAN.test(v)) return false;
  const surname = surnameOf(v);
  if (!surname) return false;
  const given = n - surname.length;
  if (given < 1 || given > 2) return false;
  return !NOT_NAME_END.has(v[n - 1]!);
}

const ADMIN_UNIT = /(?:省|自治区|市|区|县|旗|自治州|地区|盟|镇|乡|街道)/;
const PLACE = /(?:路|街|道|巷|弄|胡同|大道|里|村|组|小区|社区|花园|苑|公寓|大厦|广场|新村|庄|屯|园)/;
const HOUSE_NUMBER =
  /[0-9０-９一二三四五六七八九十百零〇]+(?:-[0-9]+)?\s*(?:号院|号楼|号|栋|幢|座|单元|室|楼|层|弄|组|户)/;

/**
 * A postal address: an administrative unit, a road or settlement word, and a house number
 * with its unit (号, 栋, 室 …). Department and company names carry administrative units but no
 * house number; road-and-number fragments without any administrative unit are only weak
 * evidence, counted when the header says "address".
 */
export function addressStrength(value: string): 0 | 1 | 2 {
  const v = value.trim();
  if (v.length < 5 || v.length > 120 || !/[\u4e00-\u9fff]/.test(v)) return 0;
  if (!HOUSE_NUMBER.test(v) || !PLACE.test(v)) return 0;
  return ADMIN_UNIT.test(v) ? 2 : 1;
}

const DECIMAL = /^[-+]?\d{1,3}\.(\d+)$/;

function coordinatePart(text: string, limit: number): boolean {
  const m = DECIMAL.exec(text);
  return m !== null && m[1]!.length >= 4 && Math.abs(Number(text)) <= limit;
}

/**
 * Geographic coordinates. A pair (`120.15507,30.27408`, `30.274 120.155`, `POINT(lng lat)`) with
 * at least four decimals each (about 10 m) is strong evidence. A single decimal in range is weak:
 * any column of fractions looks like that, so it counts only under a latitude or longitude header.
 */
export function coordinateStrength(value: string): 0 | 1 | 2 {
  const v = value.trim();
  const wkt = /^POINT\s*\(\s*(\S+)\s+(\S+)\s*\)$/i.exec(v);
  const pair = wkt ?? /^(\S+?)\s*[,，;\s]\s*(\S+)$/.exec(v);
  if (pair) {
    const [a, b] = [pair[1]!, pair[2]!];
    if (!coordinatePart(a, 180) || !coordinatePart(b, 180)) return 0;
    // One of the two must be a latitude.
    return Math.abs(Number(a)) <= 90 || Math.abs(Number(b)) <= 90 ? 2 : 0;
  }
  return coordinatePart(v, 180) ? 1 : 0;
}

const EARLIEST_BIRTH: CalendarDate = { year: 1900, month: 1, day: 1 };

/** A real calendar date, date only (a midnight time is tolerated), between 1900 and today. */
export function parseBirthDate(
  value: string,
  today: CalendarDate = todayInChina(),
): CalendarDate | undefined {
  const date = parseCalendarDate(value.trim());
  if (!date) return undefined;
  if (compareDates(date, EARLIEST_BIRTH) < 0 || compareDates(date, today) > 0) return undefined;
  return date;
}
