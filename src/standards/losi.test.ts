import { describe, expect, it } from 'vitest';
import { losi2022Definition } from '../indicators/templates.ts';
import { computeIndex, type RawTable } from '../rules/composite.ts';
import { LOSI_2022_CRITERIA, LOSI_2022_INDICATORS } from './losi.ts';

describe('LOSI 2022 as data', () => {
  it('has 86 indicators: institutional framework 8, content 25, services 18, participation 17, technology 18', () => {
    const count = (c: string) => LOSI_2022_INDICATORS.filter((i) => i.criterion === c).length;
    expect(LOSI_2022_CRITERIA.map((c) => [c.code, c.count])).toEqual([
      ['IF', 8],
      ['CP', 25],
      ['SP', 18],
      ['PE', 17],
      ['TE', 18],
    ]);
    for (const c of LOSI_2022_CRITERIA) expect(count(c.code)).toBe(c.count);
    expect(LOSI_2022_INDICATORS).toHaveLength(86);
  });

  it('codes are unique, and so are the names that were read in the survey', () => {
    expect(new Set(LOSI_2022_INDICATORS.map((i) => i.code)).size).toBe(86);
    const named = LOSI_2022_INDICATORS.filter((i) => i.named);
    // Only Figure 3.10 (participation and engagement) was found offline; see losi.ts.
    expect(named.map((i) => i.criterion)).toEqual(Array(17).fill('PE'));
    expect(new Set(named.map((i) => i.nameEn)).size).toBe(17);
    expect(new Set(named.map((i) => i.nameZh)).size).toBe(17);
    expect(named[0]).toMatchObject({ code: 'LOSI-PE-01', nameEn: 'E-voting', nameZh: '电子投票' });
    for (const i of LOSI_2022_INDICATORS.filter((x) => !x.named)) {
      expect(i.nameEn).toMatch(/survey wording not on file/);
    }
  });
});

describe('the LOSI 2022 index definition', () => {
  const spec = losi2022Definition();
  /** A city answering yes to the first `yes[c]` features of each criterion. */
  const city = (yes: Record<string, number>) => {
    const values = new Map<string, number>();
    for (const c of LOSI_2022_CRITERIA) {
      LOSI_2022_INDICATORS.filter((i) => i.criterion === c.code).forEach((i, n) => {
        values.set(i.code, n < (yes[c.code] ?? 0) ? 1 : 0);
      });
    }
    return values;
  };

  it('scores the share of the 86 features present, each criterion its own share', () => {
    const raw: RawTable = new Map([
      ['A', city({ IF: 6, CP: 20, SP: 9, PE: 17, TE: 12 })],
      ['B', city({ IF: 4, CP: 10, SP: 9, PE: 8, TE: 12 })],
    ]);
    const [a, b] = computeIndex(spec, raw);
    // A: 6 + 20 + 9 + 17 + 12 = 64 of 86. The mean of the five criterion shares would be
    // (0.75 + 0.8 + 0.5 + 1 + 2/3) / 5 = 0.743333…, not the survey's count.
    expect(a!.score).toBeCloseTo(64 / 86, 12);
    expect(a!.score).not.toBeCloseTo((0.75 + 0.8 + 0.5 + 1 + 2 / 3) / 5, 4);
    expect(a!.dimensions.map((d) => d.score)).toEqual([0.75, 0.8, 0.5, 1, expect.closeTo(2 / 3, 12)]);
    // Each criterion contributes its yes count over 86.
    expect(a!.dimensions.map((d) => d.contribution! * 86)).toEqual([
      expect.closeTo(6, 9),
      expect.closeTo(20, 9),
      expect.closeTo(9, 9),
      expect.closeTo(17, 9),
      expect.closeTo(12, 9),
    ]);
    // B: 4 + 10 + 9 + 8 + 12 = 43 of 86.
    expect(b!.score).toBeCloseTo(0.5, 12);
    expect([a!.rank, b!.rank]).toEqual([1, 2]);
  });

  it('gives no score to a city with a feature not assessed (absent counts 0, unknown is not guessed)', () => {
    const partial = city({ IF: 8, CP: 25, SP: 18, PE: 17, TE: 18 });
    partial.delete('LOSI-TE-18');
    const [unit] = computeIndex(spec, new Map([['C', partial]]));
    expect(unit!.coverage).toBeCloseTo(85 / 86, 12);
    expect(unit!.score).toBeNull();
  });
});
