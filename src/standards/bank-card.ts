import { isLuhnValid } from './luhn.ts';

/**
 * Payment card numbers (ISO/IEC 7812): 15–19 digits with a Luhn check digit. The issuer
 * prefix must belong to a scheme that issues cards in China or abroad; this rejects the many
 * internal identifiers that pass Luhn by chance (one in ten) but start like dates or counters.
 *
 * Accepted prefixes: UnionPay 62 and 60/65/68/69 ranges used by Chinese banks and Discover,
 * Visa 4, Mastercard 51–55 and 2221–2720, Maestro 50/56–59, American Express 34/37,
 * JCB 35, Diners 30/36/38/39, and the 955xx debit prefixes of the large state banks
 * (e.g. ICBC 9558, ABC 95595–95599) that predate UnionPay numbering.
 */
const ISSUER_PREFIX = /^(?:4|5\d|6|3[045-9]|2(?:22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)|955)/;

/** Digits of a card number written plain or in groups separated by single spaces or hyphens. */
export function cardDigits(value: string): string | undefined {
  if (/^\d+$/.test(value)) return value;
  if (!/^\d+(?:[ -]\d+)+$/.test(value)) return undefined;
  return value.replace(/[ -]/g, '');
}

export function isPlausibleCardIssuer(digits: string): boolean {
  return ISSUER_PREFIX.test(digits);
}

export function isValidBankCard(value: string): boolean {
  const digits = cardDigits(value);
  if (!digits || digits.length < 15 || digits.length > 19) return false;
  return isPlausibleCardIssuer(digits) && isLuhnValid(digits);
}
