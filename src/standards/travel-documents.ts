/**
 * Identity documents other than the resident identity card, in the forms that validators in
 * common use accept (REFERENCE.md §4). The document numbers carry no check character, so these
 * are shape checks; the column scanner relies on them only together with the column's share
 * of matching values.
 */

// Ordinary passports: E + 8 digits (electronic, from 2012) or E + a letter + 7 digits once the
// numeric block ran out; G was the pre-2012 series; D/S/P diplomatic, service and public-affairs
// passports; K and H are series issued abroad and in Hong Kong/Macao; DE/SE/PE, KJ and MA the
// newer official-passport blocks; 14/15 + 7 digits the older numeric series.
const PASSPORT = /^(?:[EKGDSPH]\d{8}|E[A-HJ-NP-Z]\d{7}|(?:DE|SE|PE|KJ|MA)\d{7}|1[45]\d{7})$/;

// Mainland travel permit for Hong Kong and Macao (往来港澳通行证): the card form issued since
// 2014 is C + 8 characters, the first of which may be a letter; the older booklet was W + 8 digits.
// REFERENCE.md marks the permit format "to confirm", so the booklet form is kept optional.
const HK_MACAU_PERMIT = /^C[0-9A-HJ-NP-Z]\d{7}$/;
const HK_MACAU_BOOKLET = /^W\d{8}$/;

export function isValidPassport(value: string): boolean {
  return PASSPORT.test(value.toUpperCase());
}

export function isValidHkMacauPermit(value: string, options: { booklet?: boolean } = {}): boolean {
  const v = value.toUpperCase();
  return HK_MACAU_PERMIT.test(v) || (options.booklet !== false && HK_MACAU_BOOKLET.test(v));
}
