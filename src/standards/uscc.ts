/**
 * Unified social credit code (统一社会信用代码), GB 32100-2015: 18 characters —
 * registration authority (1), organization category (1), GB/T 2260 region (6),
 * organization code per GB 11714 (9, with its own check character), check character (1).
 */
export const USCC_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/** GB 11714 organization code: 8 body characters (digits or A–Z) and a check character. */
const ORG_CODE_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2];

export function usccCheckChar(first17: string): string | undefined {
  if (first17.length !== 17) return undefined;
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const value = USCC_ALPHABET.indexOf(first17[i]!);
    if (value < 0) return undefined;
    sum += value * USCC_WEIGHTS[i]!;
  }
  const check = (31 - (sum % 31)) % 31;
  return USCC_ALPHABET[check];
}

/** True when the code is 18 characters of the GB 32100 alphabet with a correct check character. */
export function isValidUscc(code: string): boolean {
  if (!/^[0-9A-HJ-NPQRTUWXY]{18}$/.test(code)) return false;
  return usccCheckChar(code.slice(0, 17)) === code[17];
}

function orgCodeCharValue(ch: string): number {
  if (/\d/.test(ch)) return Number(ch);
  if (/[A-Z]/.test(ch)) return ch.charCodeAt(0) - 55; // A = 10 … Z = 35
  return Number.NaN;
}

/** GB 11714 check character for an 8-character organization code body: 0–9, or X for 10. */
export function orgCodeCheckChar(body8: string): string | undefined {
  if (!/^[0-9A-Z]{8}$/.test(body8)) return undefined;
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += orgCodeCharValue(body8[i]!) * ORG_CODE_WEIGHTS[i]!;
  const check = 11 - (sum % 11);
  return check === 10 ? 'X' : check === 11 ? '0' : String(check);
}

/** Builds a valid credit code from its parts (the organization code's check is computed too). */
export function makeUscc(authority: string, category: string, regionCode: string, orgBody8: string): string {
  const orgCheck = orgCodeCheckChar(orgBody8);
  if (!orgCheck) throw new Error(`invalid organization code body: ${orgBody8}`);
  const first17 = `${authority}${category}${regionCode}${orgBody8}${orgCheck}`;
  const check = usccCheckChar(first17);
  if (!check) throw new Error(`invalid credit code parts: ${first17}`);
  return first17 + check;
}
