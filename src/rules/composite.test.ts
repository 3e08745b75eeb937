import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  aggregate,
  computeIndex,
  type IndexSpec,
  minMax,
  normalize,
  type RawTable,
  rankScores,
  zScores,
} from './composite.ts';

const table = (rows: Record<string, Record<string, number>>): RawTable =>
  new Map(Object.entries(rows).map(([unit, values]) => [unit, new Map(Object.entries(values))]));

const one = (
  values: Record<string, number>,
  normalization: Parameters<typeof normalize>[1]['normalization'],
) => Object.fromEntries(normalize(new Map(Object.entries(values)), { code: 'x', weight: 1, normalization }));

describe('normalization, against hand-computed values', () => {
  it('minmax: (x − min) / (max − min); all equal → 1', () => {
    expect(minMax([2, 4, 6])).toEqual([0, 0.5, 1]);
    expect(minMax([3, 3])).toEqual([1, 1]);
  });

  it('z-scores use the population standard deviation', () => {
    // mean 4, variance ((−2)² + 0 + 2²)/3 = 8/3, sd = 1.63299…
    const z = zScores([2, 4, 6]);
    expect(z[0]).toBeCloseTo(-1.224745, 6);
    expect(z[1]).toBe(0);
    expect(z[2]).toBeCloseTo(1.224745, 6);
  });

  it('egdi: z-score then min–max, with the TII cap at 120 applied first', () => {
    // 150 is capped to 120: capped set 60, 90, 120 → 0, 0.5, 1.
    expect(one({ a: 60, b: 90, c: 150 }, { method: 'egdi', cap: 120 })).toEqual({ a: 0, b: 0.5, c: 1 });
    // Without the cap the outlier stretches the scale: (90 − 60) / (150 − 60) = 1/3.
    expect(one({ a: 60, b: 90, c: 150 }, { method: 'egdi' }).b).toBeCloseTo(1 / 3, 12);
  });

  it('fixed (DESI): fixed bounds, clamped, so a new year does not move old scores', () => {
    expect(one({ a: 25, b: 110, c: -5 }, { method: 'fixed', min: 0, max: 100 })).toEqual({
      a: 0.25,
      b: 1,
      c: 0,
    });
  });

  it('binary (LOSI): a yes/no feature counts 1 or 0; a criterion is the share present', () => {
    const spec: IndexSpec = {
      aggregation: 'arithmetic',
      dimensions: [
        {
          code: 'content',
          weight: 1,
          indicators: ['f1', 'f2', 'f3', 'f4'].map((code) => ({
            code,
            weight: 1,
            normalization: { method: 'binary' as const },
          })),
        },
      ],
    };
    const [city] = computeIndex(spec, table({ city: { f1: 1, f2: 0, f3: 1, f4: 1 } }));
    expect(city!.score).toBe(0.75);
  });

  it('direction lower mirrors the scale', () => {
    expect(one({ a: 2, b: 6 }, { method: 'minmax' })).toEqual({ a: 0, b: 1 });
    const lower = normalize(
      new Map([
        ['a', 2],
        ['b', 6],
      ]),
      {
        code: 'days',
        weight: 1,
        normalization: { method: 'minmax' },
        direction: 'lower',
      },
    );
    expect(Object.fromEntries(lower)).toEqual({ a: 1, b: 0 });
  });
});

describe('aggregation, against hand-computed values', () => {
  it('arithmetic: Σ wv / Σ w', () => {
    expect(
      aggregate(
        [
          { weight: 2, value: 0.5 },
          { weight: 1, value: 0.8 },
        ],
        'arithmetic',
      ).value,
    ).toBeCloseTo(0.6, 12);
  });

  it('geometric: Π v^(w/Σw); a zero part makes the whole zero', () => {
    // 0.5^(2/3) · 0.8^(1/3) = 0.629960… · 0.928317… = 0.5848035…
    expect(
      aggregate(
        [
          { weight: 2, value: 0.5 },
          { weight: 1, value: 0.8 },
        ],
        'geometric',
      ).value,
    ).toBeCloseTo(0.5848035, 7);
    expect(
      aggregate(
        [
          { weight: 1, value: 0 },
          { weight: 1, value: 1 },
        ],
        'geometric',
      ).value,
    ).toBe(0);
  });

  it('missing parts are left out and the rest reweighted; coverage says how much was there', () => {
    const result = aggregate(
      [
        { weight: 3, value: 0.4 },
        { weight: 1, value: null },
      ],
      'arithmetic',
    );
    expect(result.value).toBeCloseTo(0.4, 12);
    expect(result.coverage).toBe(0.75);
    expect(aggregate([{ weight: 1, value: null }], 'arithmetic')).toEqual({ value: null, coverage: 0 });
  });

  it('ranks with ties sharing a place, and no rank without a score', () => {
    expect(rankScores([0.5, 0.9, 0.5, null, 0.1])).toEqual([2, 1, 2, null, 4]);
  });
});

// EGDI = (OSI + TII + HCI) / 3 (UN E-Government Survey, Annex A.1): three component indices, each
// already on 0–1, weighed alike.
const egdi: IndexSpec = {
  aggregation: 'arithmetic',
  dimensions: ['osi', 'tii', 'hci'].map((code) => ({
    code,
    weight: 1,
    indicators: [{ code, weight: 1, normalization: { method: 'fixed' as const, min: 0, max: 1 } }],
  })),
};

describe('the EGDI structure: the mean of three component indices', () => {
  it('reproduces the hand-computed composite, ranks and contributions', () => {
    const results = computeIndex(
      egdi,
      table({
        A: { osi: 0.9, tii: 0.8, hci: 0.7 },
        B: { osi: 0.6, tii: 0.9, hci: 0.9 },
        C: { osi: 0.3, tii: 0.4, hci: 0.5 },
      }),
    );
    const byUnit = Object.fromEntries(results.map((r) => [r.unit, r]));
    expect(byUnit.A!.score).toBeCloseTo(0.8, 12);
    expect(byUnit.B!.score).toBeCloseTo(0.8, 12);
    expect(byUnit.C!.score).toBeCloseTo(0.4, 12);
    expect(results.map((r) => r.rank)).toEqual([1, 1, 3]);
    const contributions = byUnit.A!.dimensions.map((d) => d.contribution!);
    expect(contributions[0]).toBeCloseTo(0.3, 12);
    expect(contributions.reduce((a, b) => a + b, 0)).toBeCloseTo(0.8, 12);
  });

  it('gives no score when less than the minimum coverage is present', () => {
    const [unit] = computeIndex(egdi, table({ A: { osi: 0.9 } }));
    expect(unit!.coverage).toBeCloseTo(1 / 3, 12);
    expect(unit!.score).toBeNull();
    expect(unit!.rank).toBeNull();
  });
});

describe('the published EGDI of the UN E-Government Survey 2022, reproduced', () => {
  // test/fixtures/egov-data-2022.csv is the survey's country table as the UN E-Government
  // Knowledgebase's Data Center publishes it (EGOV_DATA_2022.csv: rank, EGDI, EPI, OSI, HCI, TII for
  // all 193 Member States, to four decimals; https://publicadministration.un.org/egovkb/en-us/Data-Center),
  // here as redistributed unchanged in github.com/pluralitybook/plurality (figs/data/egovernment/).
  // The components are published rounded to four decimals, so the mean of the rounded components
  // may differ from the published EGDI (the mean of the unrounded ones) by up to 0.00005 from the
  // components and 0.00005 from the EGDI's own rounding: 0.0001 at most. The ranks are the
  // survey's: by EGDI at four decimals, ties sharing a place (Iceland and Sweden are both 5th).
  const published = readFileSync(new URL('../../test/fixtures/egov-data-2022.csv', import.meta.url), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const cells = line.match(/("[^"]*"|[^,]+)/g)!;
      const [, name, rank, egdiValue, , osi, hci, tii] = cells;
      return {
        country: name!.replaceAll('"', '').trim(),
        rank: Number(rank),
        egdi: Number(egdiValue),
        components: { osi: Number(osi), hci: Number(hci), tii: Number(tii) },
      };
    });
  const results = computeIndex(
    egdi,
    new Map(published.map((p) => [p.country, new Map(Object.entries(p.components))])),
  );
  const score = new Map(results.map((r) => [r.unit, r.score!]));

  it('has every Member State', () => {
    expect(published).toHaveLength(193);
    expect(new Set(published.map((p) => p.country)).size).toBe(193);
  });

  it('gives every country its published EGDI within the rounding of the published components', () => {
    const off = published.filter((p) => Math.abs(score.get(p.country)! - p.egdi) > 0.0001);
    expect(off).toEqual([]);
    // The top of the table, to the published four decimals.
    for (const [country, value] of [
      ['Denmark', 0.9717],
      ['Finland', 0.9533],
      ['Republic of Korea', 0.9529],
      ['Sweden', 0.941],
      ['Australia', 0.9405],
      ['Estonia', 0.9393],
    ] as const) {
      expect(Number(score.get(country)!.toFixed(4)), country).toBe(value);
    }
  });

  it('ranks the 193 countries exactly as the survey does', () => {
    const rounded = published.map((p) => Number(score.get(p.country)!.toFixed(4)));
    expect(rankScores(rounded)).toEqual(published.map((p) => p.rank));
    const byRank = (rank: number) => published.filter((p) => p.rank === rank).map((p) => p.country);
    expect([byRank(1), byRank(2), byRank(3), byRank(4), byRank(5).sort()]).toEqual([
      ['Denmark'],
      ['Finland'],
      ['Republic of Korea'],
      ['New Zealand'],
      ['Iceland', 'Sweden'],
    ]);
  });
});

// ------------------------------------------------------------------------------------ properties

const methods = fc.constantFrom<Parameters<typeof normalize>[1]['normalization']>(
  { method: 'minmax' },
  { method: 'egdi', cap: 120 },
  { method: 'fixed', min: 0, max: 100 },
  { method: 'binary' },
);
const value = fc.double({ min: -1000, max: 1000, noNaN: true });
const units = ['u1', 'u2', 'u3', 'u4'];
const rawRows = fc.tuple(...units.map(() => fc.tuple(value, value, value)));

function specOf(
  normalization: Parameters<typeof normalize>[1]['normalization'],
  aggregation: 'arithmetic' | 'geometric',
) {
  return {
    aggregation,
    minCoverage: 0,
    dimensions: [
      {
        code: 'd1',
        weight: 2,
        indicators: [
          { code: 'a', weight: 1, normalization },
          { code: 'b', weight: 3, normalization },
        ],
      },
      { code: 'd2', weight: 1, indicators: [{ code: 'c', weight: 1, normalization }] },
    ],
  } satisfies IndexSpec;
}

const tableOf = (rows: Array<[number, number, number]>) =>
  table(Object.fromEntries(rows.map(([a, b, c], i) => [units[i]!, { a, b, c }])));

describe('properties', () => {
  it('every normalised value, dimension and score lies in [0, 1]', () => {
    fc.assert(
      fc.property(
        methods,
        fc.constantFrom('arithmetic' as const, 'geometric' as const),
        rawRows,
        (n, agg, rows) => {
          for (const r of computeIndex(specOf(n, agg), tableOf(rows))) {
            for (const v of [
              r.score!,
              ...r.dimensions.map((d) => d.score!),
              ...Object.values(r.normalized),
            ]) {
              expect(v).toBeGreaterThanOrEqual(0);
              expect(v).toBeLessThanOrEqual(1);
            }
          }
        },
      ),
    );
  });

  it('monotonic: raising one unit’s own value never lowers its score', () => {
    fc.assert(
      fc.property(
        methods,
        fc.constantFrom('arithmetic' as const, 'geometric' as const),
        rawRows,
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 2 }),
        fc.double({ min: 0, max: 500, noNaN: true }),
        (n, agg, rows, unit, column, raise) => {
          const spec = specOf(n, agg);
          const before = computeIndex(spec, tableOf(rows))[unit]!.score!;
          const raised = rows.map(
            (r, i) =>
              r.map((v, j) => (i === unit && j === column ? v + raise : v)) as [number, number, number],
          );
          const after = computeIndex(spec, tableOf(raised))[unit]!.score!;
          expect(after).toBeGreaterThanOrEqual(before - 1e-12);
        },
      ),
    );
  });

  it('arithmetic contributions add up to the score', () => {
    fc.assert(
      fc.property(methods, rawRows, (n, rows) => {
        for (const r of computeIndex(specOf(n, 'arithmetic'), tableOf(rows))) {
          const sum = r.dimensions.reduce((a, d) => a + d.contribution!, 0);
          expect(sum).toBeCloseTo(r.score!, 9);
        }
      }),
    );
  });
});
