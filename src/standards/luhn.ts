/**
 * Luhn (ISO/IEC 7812-1 annex B) check digit, used by payment card numbers.
 */

/** The digit that completes `partial` (digits only) to a Luhn-valid number. */
export function luhnCheckDigit(partial: string): string {
  if (!/^\d*$/.test(partial)) throw new Error('Luhn input must be digits');
  // Doubling starts at the rightmost digit of the partial number, because the check digit
  // appended after it takes the undoubled position.
  let sum = 0;
  for (let i = 0; i < partial.length; i++) {
    let d = partial.charCodeAt(partial.length - 1 - i) - 48;
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

/** True for a non-empty string of digits whose last digit is its Luhn check digit. */
export function isLuhnValid(digits: string): boolean {
  if (!/^\d{2,}$/.test(digits)) return false;
  return luhnCheckDigit(digits.slice(0, -1)) === digits[digits.length - 1];
}
