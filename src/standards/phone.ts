/**
 * Mainland China telephone numbers (numbering plan of the Ministry of Industry and
 * Information Technology).
 *
 * Mobile: 11 digits, `1` then a network segment. Only segments assigned to public mobile
 * service are accepted: 13x, 145–149, 15x except 154, 162/165–167, 170–178, 18x, and 19x except
 * 194. The 140–144 blocks carry 13-digit IoT numbers, which are not personal phone numbers.
 *
 * Landline: trunk prefix 0, area code (010 and 02x are three digits with 8-digit local
 * numbers; the others are four digits with 7- or 8-digit local numbers), local numbers start
 * with 2–9. A local number alone is not accepted: any 7–8 digit counter would pass.
 */
const MOBILE_SEGMENT = /^1(?:3\d|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8\d|9[0-35-9])\d{8}$/;

/** The 11-digit national number of a mobile number written with or without +86/0086/86. */
export function mobileNationalNumber(value: string): string | undefined {
  // Spaces and hyphens group the digits (138 1234 5678, +86-138-1234-5678); nothing else may appear.
  if (!/^\+?[\d -]+$/.test(value) || /[ -]{2}/.test(value)) return undefined;
  let digits = value.replace(/[ -]/g, '');
  const plus = digits.startsWith('+');
  if (plus) digits = digits.slice(1);
  if (digits.length === 13 && digits.startsWith('86')) digits = digits.slice(2);
  else if (digits.length === 15 && digits.startsWith('0086') && !plus) digits = digits.slice(4);
  else if (plus) return undefined;
  return MOBILE_SEGMENT.test(digits) ? digits : undefined;
}

export function isValidMobile(value: string): boolean {
  return mobileNationalNumber(value) !== undefined;
}

export interface Landline {
  /** Area code with its trunk 0, e.g. `010`, `0571`. */
  areaCode: string;
  local: string;
  extension?: string;
}

function splitArea(digits: string): Landline | undefined {
  if (!digits.startsWith('0')) return undefined;
  const short = digits[1] === '1' || digits[1] === '2';
  if (digits[1] === '1' && digits[2] !== '0') return undefined; // 010 is the only 01x area code
  const areaCode = digits.slice(0, short ? 3 : 4);
  const local = digits.slice(areaCode.length);
  const lengthOk = short ? local.length === 8 : local.length === 7 || local.length === 8;
  if (!lengthOk || !/^[2-9]/.test(local) || digits[1] === '0') return undefined;
  return { areaCode, local };
}

/**
 * Parses `010-12345678`, `(0571)88888888`, `0571 8888 8888`, `057188888888`, `+86 571 88888888`,
 * optionally followed by an extension (`-123`, `转123`, `分机123`, `ext 123`).
 */
export function parseLandline(value: string): Landline | undefined {
  const m = /^(.*?)(?:\s*(?:转|分机|ext\.?|x|#)\s*(\d{1,6}))?$/i.exec(value.trim());
  if (!m) return undefined;
  let body = m[1]!;
  let extension = m[2];
  let international = false;
  const intl = /^(?:\+86|0086)[\s-]*/.exec(body);
  if (intl) {
    international = true;
    body = body.slice(intl[0].length);
  }
  let area: string | undefined;
  let local: string;
  if (/^\d{9,12}$/.test(body)) {
    // Written without separators: the area code length follows from its first digits.
    local = body;
  } else {
    // Area code in parentheses, or separated from the local number by a hyphen or space;
    // the local number itself may be split once (8888 8888 / 8888-8888).
    const shaped = /^(?:\((\d{2,4})\)\s*|(\d{2,4})[\s-]+)?(\d{3,4}[\s-]?\d{4})(?:-(\d{1,6}))?$/.exec(body);
    if (!shaped) return undefined;
    area = shaped[1] ?? shaped[2];
    local = shaped[3]!.replace(/[\s-]/g, '');
    if (shaped[4] !== undefined) {
      if (extension !== undefined) return undefined;
      extension = shaped[4];
    }
  }
  let digits: string;
  if (international) {
    // After +86 the trunk 0 is dropped.
    const national = (area ?? '') + local;
    if (national.startsWith('0')) return undefined;
    digits = `0${national}`;
  } else {
    digits = (area ?? '') + local;
  }
  if (area !== undefined && !international && !area.startsWith('0')) return undefined;
  const parsed = splitArea(digits);
  if (!parsed) return undefined;
  // With an explicit separator the area code must be exactly where the separator says.
  if (area !== undefined && (international ? `0${area}` : area) !== parsed.areaCode) return undefined;
  return extension === undefined ? parsed : { ...parsed, extension };
}

export function isValidLandline(value: string): boolean {
  return parseLandline(value) !== undefined;
}
