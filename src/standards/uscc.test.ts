import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isValidUscc, makeUscc, orgCodeCheckChar, USCC_ALPHABET, usccCheckChar } from './uscc.ts';

describe('GB 32100 unified social credit code', () => {
  it('accepts published codes of real organizations', () => {
    // Codes printed on public business licences and in GB 32100's own example.
    for (const code of ['91350100M000100Y43', '911100001000159Y2X', '91110000600037341L']) {
      expect(isValidUscc(code)).toBe(true);
    }
  });

  it('refuses wrong length, letters outside the 31-character alphabet and wrong check characters', () => {
    for (const code of [
      '',
      '91350100M000100Y4',
      '91350100M000100Y433',
      '91350100M000100Y44',
      '9135010OM000100Y43',
      'I1350100M000100Y43',
      '91350100m000100y43',
    ]) {
      expect(isValidUscc(code)).toBe(false);
    }
  });

  it('maps a weighted sum of 0 to check character 0, not 31', () => {
    expect(usccCheckChar('00000000000000000')).toBe('0');
  });

  it('computes the GB 11714 organization code check, X for 10', () => {
    // Worked by hand: D=13, weighted sum 199, 11 − (199 mod 11) = 10, written X.
    expect(orgCodeCheckChar('D2143569')).toBe('X');
    expect(orgCodeCheckChar('d2143569')).toBeUndefined();
  });

  it('accepts every code it builds and refuses every single-character change (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('1', '5', '9', 'Y'),
        fc.constantFrom('1', '2', '3', '9'),
        fc.stringMatching(/^[0-9A-HJ-NPQRTUWXY]{8}$/),
        fc.integer({ min: 0, max: 17 }),
        fc.integer({ min: 1, max: 30 }),
        (authority, category, body, position, shift) => {
          const code = makeUscc(authority, category, '330106', body);
          expect(isValidUscc(code)).toBe(true);
          const replaced = USCC_ALPHABET[(USCC_ALPHABET.indexOf(code[position]!) + shift) % 31]!;
          const changed = code.slice(0, position) + replaced + code.slice(position + 1);
          expect(isValidUscc(changed)).toBe(false);
        },
      ),
    );
  });
});
