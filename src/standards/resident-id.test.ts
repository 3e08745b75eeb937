import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIsoDate, todayInChina } from './calendar.ts';
import { countiesOf, isRegionCode } from './region.ts';
import {
  isAcceptedRegionCode,
  isValidResidentId,
  makeLegacyResidentId,
  makeResidentId,
  parseResidentId,
  residentIdCheckChar,
  upgradeLegacyResidentId,
} from './resident-id.ts';

const COUNTIES = ['110000', '330100', '440300', '510100', '650100'].flatMap((p) =>
  countiesOf(p).map((r) => r.code),
);

const birthDate = fc
  .date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2020-12-31T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));
const validId = fc
  .tuple(fc.constantFrom(...COUNTIES), birthDate, fc.integer({ min: 0, max: 999 }))
  .map(([region, birth, seq]) => makeResidentId(region, birth, seq));

describe('resident identity number (GB 11643-1999)', () => {
  it('accepts the examples of the standard', () => {
    // The standard's worked examples: check character X, and the earliest birth year it shows.
    expect(isValidResidentId('11010519491231002X')).toBe(true);
    expect(isValidResidentId('440524188001010014')).toBe(true);
    expect(residentIdCheckChar('11010519491231002')).toBe('X');
    expect(parseResidentId('11010519491231002X')).toMatchObject({
      regionCode: '110105',
      birthDate: '1949-12-31',
      sequence: 2,
      sex: 'female',
      legacy: false,
    });
  });

  it('accepts a lowercase check character x', () => {
    expect(isValidResidentId('11010519491231002x')).toBe(true);
  });

  it('rejects wrong check characters, impossible dates and unknown provinces', () => {
    expect(isValidResidentId('110105194912310021')).toBe(false); // check should be X
    expect(isValidResidentId(makeResidentId('110105', '1949-12-31', 2).replace('1231', '1232'))).toBe(false);
    const feb30 = '11010519490230002';
    expect(isValidResidentId(feb30 + residentIdCheckChar(feb30))).toBe(false);
    const province20 = '20010519491231002';
    expect(isValidResidentId(province20 + residentIdCheckChar(province20))).toBe(false);
    expect(isValidResidentId('11010519491231002Y')).toBe(false);
    expect(isValidResidentId('1101051949123100')).toBe(false);
    expect(isValidResidentId('')).toBe(false);
  });

  it('rejects birth dates in the future or before 1880', () => {
    const today = todayInChina();
    const tomorrow = new Date(Date.UTC(today.year, today.month - 1, today.day + 1));
    expect(isValidResidentId(makeResidentId('110105', tomorrow, 1))).toBe(false);
    expect(isValidResidentId(makeResidentId('110105', '1879-12-31', 1))).toBe(false);
    expect(isValidResidentId(makeResidentId('110105', formatIsoDate(today), 1))).toBe(true);
  });

  it('treats leap days correctly', () => {
    expect(isValidResidentId(makeResidentId('110105', '2000-02-29', 1))).toBe(true);
    const first17 = '11010519000229001';
    expect(isValidResidentId(first17 + residentIdCheckChar(first17))).toBe(false); // 1900 is not leap
  });

  it('accepts abolished address codes under the plausible rule only', () => {
    // 崇文区 (110103) merged into 东城区 in 2010; 下城区 (330103) into 拱墅区 in 2021.
    for (const code of ['110103', '330103']) {
      expect(isRegionCode(code)).toBe(false);
      const id = makeResidentId(code, '1980-05-06', 17);
      expect(isValidResidentId(id)).toBe(true);
      expect(parseResidentId(id)?.regionCurrent).toBe(false);
      expect(isValidResidentId(id, { regionRule: 'current' })).toBe(false);
    }
    expect(isAcceptedRegionCode('810000')).toBe(true); // residence permits for Hong Kong residents
    expect(isAcceptedRegionCode('110000')).toBe(true);
    expect(isAcceptedRegionCode('117101')).toBe(false); // prefecture digits 71–89 are never assigned
    expect(isAcceptedRegionCode('110100')).toBe(true); // in the current list
    expect(isAcceptedRegionCode('119900')).toBe(false);
    expect(isAcceptedRegionCode('000000')).toBe(false);
    expect(isAcceptedRegionCode('990101')).toBe(false);
  });

  it('reads and upgrades legacy 15-digit numbers', () => {
    const legacy = makeLegacyResidentId('110105', '1949-12-31', 2);
    expect(legacy).toBe('110105491231002');
    expect(parseResidentId(legacy)).toMatchObject({ legacy: true, birthDate: '1949-12-31' });
    expect(upgradeLegacyResidentId(legacy)).toBe('11010519491231002X');
    expect(isValidResidentId('110105491331002')).toBe(false); // month 13
    expect(() => makeLegacyResidentId('110105', '2001-01-01', 1)).toThrow();
  });

  it('refuses to build numbers from bad parts', () => {
    expect(() => makeResidentId('11010', '1990-01-01', 1)).toThrow();
    expect(() => makeResidentId('110105', '1990-02-30', 1)).toThrow();
    expect(() => makeResidentId('110105', '1990-01-01', 1000)).toThrow();
  });

  it('property: every generated number is valid and parses back to its parts', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...COUNTIES),
        birthDate,
        fc.integer({ min: 0, max: 999 }),
        (region, birth, seq) => {
          const id = makeResidentId(region, birth, seq);
          expect(parseResidentId(id)).toMatchObject({ regionCode: region, birthDate: birth, sequence: seq });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: any single-character change is rejected', () => {
    fc.assert(
      fc.property(validId, fc.nat(17), fc.constantFrom(...'0123456789X'), (id, position, replacement) => {
        fc.pre(id[position] !== replacement);
        const changed = id.slice(0, position) + replacement + id.slice(position + 1);
        expect(isValidResidentId(changed)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: swapping two different adjacent digits is rejected', () => {
    fc.assert(
      fc.property(validId, fc.nat(15), (id, i) => {
        fc.pre(id[i] !== id[i + 1]);
        const swapped = id.slice(0, i) + id[i + 1] + id[i] + id.slice(i + 2);
        expect(isValidResidentId(swapped)).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });
});
