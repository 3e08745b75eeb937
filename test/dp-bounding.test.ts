import fc from 'fast-check';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  boundedAggregateSql,
  type DpMetric,
  type DpSettings,
  planRelease,
  rational,
} from '../src/rules/dp/index.ts';
import { freshDatabase } from './helpers.ts';

/**
 * The sensitivity the noise is calibrated to must hold for the SQL that bounds contributions
 * (issue 14): removing one privacy unit — however many rows it has, in however many groups —
 * changes each measurement's vector of exact bounded aggregates by at most Δ₂ (Σ over groups of
 * the squared change ≤ Δ₂² of the plan) and any single released number by at most L∞·B. Checked
 * on the bounded aggregates before noise, on the database itself (both PGlite and the server).
 */
interface Row {
  unit: string | null;
  district: string | null;
  visits: number | null;
}

const DOMAIN = ['A', 'B', 'C', 'D'];
const METRICS: DpMetric[] = [{ fn: 'count' }, { fn: 'mean', field: 'visits' }];
const alias = (key: string) => key.replace(':', '__');

describe('DP contribution bounding in SQL', () => {
  let db: Kysely<unknown>;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const fresh = await freshDatabase();
    db = fresh.database.db as unknown as Kysely<unknown>;
    drop = fresh.drop;
  }, 60_000);
  afterAll(async () => {
    await drop?.();
  });

  /** The exact bounded aggregates of `rows`, per measurement key, per group key. */
  async function bounded(settings: DpSettings, groupBy: string[], rows: Row[]) {
    const plan = planRelease(settings, METRICS, groupBy, rational(1n), 1);
    // A row without a unit keeps the VALUES list non-empty; the bounding drops it.
    const all = [{ unit: null, district: 'A', visits: 1 }, ...rows];
    const table = sql`(VALUES ${sql.join(
      all.map((r) => sql`(${r.unit}::text, ${r.district}::text, ${r.visits}::numeric)`),
    )}) AS src(person_id, district, visits)`;
    const result = await boundedAggregateSql(plan, settings, { table, where: null }).execute(db);
    const out = new Map<string, Map<string, bigint>>();
    for (const m of plan.measurements) {
      const byGroup = new Map<string, bigint>();
      for (const row of result.rows) byGroup.set(String(row.g0 ?? ''), BigInt(String(row[alias(m.key)])));
      out.set(m.key, byGroup);
    }
    return { plan, out };
  }

  /** Checks the change from removing `unit` against the plan's sensitivity; returns the largest squared change. */
  async function checkRemoval(settings: DpSettings, groupBy: string[], rows: Row[], unit: string) {
    const withUnit = await bounded(settings, groupBy, rows);
    const without = await bounded(
      settings,
      groupBy,
      rows.filter((r) => r.unit !== unit),
    );
    let largest = 0n;
    for (const m of withUnit.plan.measurements) {
      const a = withUnit.out.get(m.key)!;
      const b = without.out.get(m.key)!;
      const bound = m.kind === 'sum' ? BigInt(settings.bounds.visits!.upper) : 1n;
      let squared = 0n;
      for (const key of new Set([...a.keys(), ...b.keys()])) {
        const d = (a.get(key) ?? 0n) - (b.get(key) ?? 0n);
        const abs = d < 0n ? -d : d;
        expect(abs).toBeLessThanOrEqual(BigInt(settings.maxRowsPerGroup) * bound);
        squared += d * d;
      }
      // Δ₂² is an integer here (precision 0): the exact comparison.
      expect(m.sensitivity2.d).toBe(1n);
      expect(squared).toBeLessThanOrEqual(m.sensitivity2.n);
      if (squared > largest) largest = squared;
    }
    return largest;
  }

  const settingsOf = (l0: number, linf: number, publicDomain: boolean): DpSettings => ({
    unit: 'person_id',
    maxGroups: l0,
    maxRowsPerGroup: linf,
    bounds: { visits: { lower: -5, upper: 10, precision: 0 } },
    domains: publicDomain ? { district: DOMAIN } : {},
  });

  it('one unit with many rows in many groups moves each count and sum by at most the stated sensitivity', async () => {
    // 60 rows of one person spread over every district, values far outside the bounds.
    const heavy: Row[] = Array.from({ length: 60 }, (_, i) => ({
      unit: 'X',
      district: DOMAIN[i % DOMAIN.length]!,
      visits: i % 2 === 0 ? 1000 : -1000,
    }));
    const others: Row[] = DOMAIN.map((d, i) => ({ unit: `P${i}`, district: d, visits: 3 }));
    for (const publicDomain of [true, false])
      for (const groupBy of [['district'], []]) {
        const settings = settingsOf(2, 3, publicDomain);
        const largest = await checkRemoval(settings, groupBy, [...heavy, ...others], 'X');
        // Bounding actually binds: without it the count alone would move by 60.
        expect(largest).toBeGreaterThan(0n);
      }
    // With L0 at least the domain's size the window is skipped: the bound must hold by construction.
    const wide = settingsOf(DOMAIN.length, 2, true);
    expect(planRelease(wide, METRICS, ['district'], rational(1n), 1).boundGroups).toBe(false);
    await checkRemoval(wide, ['district'], [...heavy, ...others], 'X');
  });

  it('property: removing any one unit never moves a measurement by more than its Δ₂', async () => {
    const row = fc.record({
      unit: fc.constantFrom('U1', 'U2', 'U3', 'U4', null),
      district: fc.constantFrom('A', 'B', 'C', 'D', 'E', null),
      visits: fc.option(fc.integer({ min: -40, max: 40 }), { nil: null }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(row, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 3 }),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom('U1', 'U2', 'U3', 'U4'),
        async (rows, l0, linf, publicDomain, grouped, unit) => {
          await checkRemoval(settingsOf(l0, linf, publicDomain), grouped ? ['district'] : [], rows, unit);
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);
});
