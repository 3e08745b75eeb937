import { randomBytes } from 'node:crypto';

/** Crockford base32: sortable as text, no ambiguous letters. */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export type IdPrefix =
  | 'org'
  | 'usr'
  | 'csn'
  | 'ntf'
  | 'key'
  | 'ses'
  | 'req'
  | 'aud'
  | 'res'
  | 'ver'
  | 'job'
  | 'app'
  | 'ctr'
  | 'alr'
  | 'frz'
  | 'dpr'
  | 'tpl'
  | 'qrp'
  | 'qal'

  // registry and operation (migration 0016)
  | 'rgn'
  | 'obj'
  | 'pln'
  | 'agr'
  | 'prd'
  | 'sub'
  | 'bil'

  // service bundles and ratings (migration 0019)
  | 'bdl'
  | 'sap'
  | 'stp'
  | 'rat'
  | 'rcf'
  // indicators, one-form reporting and evaluation (migration 0020)
  | 'ind'
  | 'frm'
  | 'rsb'
  | 'rso'
  | 'ivl'
  | 'eix'
  // messages pushed to the messaging gateway (migration 0035)
  | 'msp';

/**
 * Prefixed, time-sortable ids (`org_01j…`): 48 bits of milliseconds then 80 random bits,
 * like a ULID, so ids created later sort later and cursor paging can use them directly.
 */
export function newId(prefix: IdPrefix): string {
  let time = Date.now();
  let timePart = '';
  for (let i = 0; i < 10; i++) {
    timePart = ALPHABET[time % 32] + timePart;
    time = Math.floor(time / 32);
  }
  const random = randomBytes(10);
  let randomPart = '';
  let bits = 0;
  let buffer = 0;
  for (const byte of random) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      randomPart += ALPHABET[(buffer >> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  return `${prefix}_${timePart}${randomPart}`;
}

export function isId(prefix: IdPrefix, value: string): boolean {
  return new RegExp(`^${prefix}_[0-9a-hjkmnp-tv-z]{26}$`).test(value);
}
