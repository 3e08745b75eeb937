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
import { byGroup, DOMAIN, settingsOf } from './support/dp-exact.ts';

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

interface Wide {
  unit: string | null;
  district: string | null;
  kind: string | null;
  /** Hundredths. */
  visits: number | null;
}

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
      const perGroup = new Map<string, bigint>();
      for (const row of result.rows) perGroup.set(String(row.g0 ?? ''), BigInt(String(row[alias(m.key)])));
      out.set(m.key, perGroup);
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

  /**
   * The same bounding, written plainly in JavaScript from its definition (the comment of
   * `boundedAggregateSql`): rows with a unit and keys inside their public domains; values scaled
   * by 10^p, rounded half away from zero and clamped, NULL staying NULL; per (unit, group) c, s, n;
   * L∞ scaling truncated toward zero; per unit the first L0 pairs by (hashtext, keys), NULL keys
   * last. Only the hash is the database's: `hashes` maps a pair to PostgreSQL's hashtext of it.
   */
  function reference(
    plan: ReturnType<typeof planRelease>,
    settings: DpSettings,
    rows: Wide[],
    hashes: Map<string, number>,
  ): Map<string, Record<string, bigint>> {
    const b = settings.bounds.visits!;
    const scale = 10n ** BigInt(b.precision);
    const lo = BigInt(Math.round(b.lower * 10 ** b.precision));
    const hi = BigInt(Math.round(b.upper * 10 ** b.precision));
    const linf = BigInt(plan.linf);
    // Values are generated in hundredths; 10^p·v rounded half away from zero, exactly.
    const scaled = (hundredths: number) => {
      const x = BigInt(hundredths) * scale;
      const q = x / 100n;
      const r = x % 100n;
      return r >= 50n ? q + 1n : r <= -50n ? q - 1n : q;
    };
    const pairs = new Map<
      string,
      { unit: string; keys: Array<string | null>; c: bigint; s: bigint; n: bigint }
    >();
    for (const row of rows) {
      if (row.unit === null) continue;
      const keys = plan.groupBy.map((g) => row[g as 'district' | 'kind']);
      if (keys.some((k, i) => plan.domains[i] && (k === null || !plan.domains[i]!.includes(k)))) continue;
      const id = JSON.stringify([row.unit, ...keys]);
      const pair = pairs.get(id) ?? { unit: row.unit, keys, c: 0n, s: 0n, n: 0n };
      pair.c += 1n;
      if (row.visits !== null) {
        const v = scaled(row.visits);
        pair.s += v < lo ? lo : v > hi ? hi : v;
        pair.n += 1n;
      }
      pairs.set(id, pair);
    }
    const byUnit = new Map<
      string,
      Array<{ keys: Array<string | null>; c: bigint; s: bigint; n: bigint; h: number }>
    >();
    for (const [id, p] of pairs) {
      const bounded =
        p.c <= linf
          ? { keys: p.keys, c: p.c, s: p.s, n: p.n }
          : { keys: p.keys, c: linf, s: (p.s * linf) / p.c, n: (p.n * linf) / p.c };
      const list = byUnit.get(p.unit) ?? [];
      list.push({ ...bounded, h: hashes.get(id)! });
      byUnit.set(p.unit, list);
    }
    const byKey = (a: string | null, z: string | null) =>
      a === z ? 0 : a === null ? 1 : z === null ? -1 : a < z ? -1 : 1;
    const out = new Map<string, Record<string, bigint>>();
    // Without group-by the SQL is one aggregate over everything: one row, zeros when empty.
    if (plan.groupBy.length === 0)
      out.set('[]', Object.fromEntries(plan.measurements.map((m) => [m.key, 0n])));
    for (const list of byUnit.values()) {
      list.sort((x, y) => x.h - y.h || x.keys.reduce((acc, k, i) => acc || byKey(k, y.keys[i]!), 0));
      for (const p of plan.boundGroups ? list.slice(0, plan.l0) : list) {
        const id = JSON.stringify(p.keys);
        const sums = out.get(id) ?? Object.fromEntries(plan.measurements.map((m) => [m.key, 0n]));
        for (const m of plan.measurements)
          sums[m.key]! += m.kind === 'count' ? p.c : m.kind === 'sum' ? p.s : p.n;
        out.set(id, sums);
      }
    }
    return out;
  }

  /** The bounded aggregate as the SQL computes it, keyed like `reference`. */
  async function fromSql(plan: ReturnType<typeof planRelease>, settings: DpSettings, rows: Wide[]) {
    const all: Wide[] = [{ unit: null, district: 'A', kind: 'x', visits: 100 }, ...rows];
    const table = sql`(VALUES ${sql.join(
      all.map(
        (r) =>
          sql`(${r.unit}::text, ${r.district}::text, ${r.kind}::text, ${r.visits === null ? null : (r.visits / 100).toFixed(2)}::numeric)`,
      ),
    )}) AS src(person_id, district, kind, visits)`;
    const result = await boundedAggregateSql(plan, settings, { table, where: null }).execute(db);
    return byGroup(plan, result.rows);
  }

  /** PostgreSQL's hashtext of every (unit, keys) pair, as the bounding SQL computes it. */
  async function hashesOf(plan: ReturnType<typeof planRelease>, rows: Wide[]) {
    const ids = [
      ...new Set(
        rows
          .filter((r) => r.unit !== null)
          .map((r) => JSON.stringify([r.unit, ...plan.groupBy.map((g) => r[g as 'district' | 'kind'])])),
      ),
    ];
    const hashes = new Map<string, number>();
    if (ids.length === 0 || plan.groupBy.length === 0) return hashes;
    const parts = ids.map((id) => JSON.parse(id) as Array<string | null>);
    const result = await sql<{ i: number; h: number }>`SELECT i, hashtext(concat_ws(chr(31), ${sql.join(
      [0, ...plan.groupBy.map((_, i) => i + 1)].map((j) => sql.ref(`c${j}`)),
    )})) AS h FROM (VALUES ${sql.join(
      parts.map((p, i) => sql`(${i}::int, ${sql.join(p.map((v) => sql`${v}::text`))})`),
    )}) AS v(i, ${sql.join([0, ...plan.groupBy.map((_, i) => i + 1)].map((j) => sql.ref(`c${j}`)))})`.execute(
      db,
    );
    for (const row of result.rows) hashes.set(ids[row.i]!, Number(row.h));
    return hashes;
  }

  const WIDE_METRICS: DpMetric[] = [
    { fn: 'count' },
    { fn: 'sum', field: 'visits' },
    { fn: 'mean', field: 'visits' },
  ];

  it("NULL values are rows but not values: never clamped to the lower bound, never in a mean's count", async () => {
    const settings: DpSettings = {
      unit: 'person_id',
      maxGroups: 4,
      maxRowsPerGroup: 5,
      bounds: { visits: { lower: 2, upper: 10, precision: 0 } },
      domains: { district: DOMAIN },
    };
    const plan = planRelease(settings, WIDE_METRICS, ['district'], rational(1n), 1);
    const rows: Wide[] = [
      { unit: 'U1', district: 'A', kind: 'x', visits: null },
      { unit: 'U1', district: 'A', kind: 'x', visits: null },
      { unit: 'U1', district: 'A', kind: 'x', visits: 500 },
      { unit: 'U2', district: 'B', kind: 'x', visits: null },
    ];
    const out = await fromSql(plan, settings, rows);
    // A: three rows, one value (5); B: one row, no value — a clamped NULL would make it 2, count 1.
    expect(out.get('["A"]')).toEqual({ count: 3n, 'sum:visits': 5n, 'nonnull:visits': 1n });
    expect(out.get('["B"]')).toEqual({ count: 1n, 'sum:visits': 0n, 'nonnull:visits': 0n });
  });

  it('property: the SQL bounded aggregate equals a plain reference implementation, NULLs included', async () => {
    const row = fc.record({
      unit: fc.constantFrom('U1', 'U2', 'U3', 'U4', 'U5', null),
      district: fc.constantFrom('A', 'B', 'C', 'D', 'E', '', null),
      kind: fc.constantFrom('x', 'y', null),
      // Hundredths: with precision 1 some round half away from zero, many fall outside the bounds.
      visits: fc.option(fc.integer({ min: -2000, max: 2000 }), { nil: null }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(row, { minLength: 0, maxLength: 40 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom<string[]>([], ['district'], ['kind'], ['district', 'kind']),
        fc.boolean(),
        fc.boolean(),
        async (rows, l0, linf, groupBy, districtPublic, kindPublic) => {
          const settings: DpSettings = {
            unit: 'person_id',
            maxGroups: l0,
            maxRowsPerGroup: linf,
            bounds: { visits: { lower: -5, upper: 10, precision: 1 } },
            domains: {
              ...(districtPublic ? { district: DOMAIN } : {}),
              ...(kindPublic ? { kind: ['x'] } : {}),
            },
          };
          const plan = planRelease(settings, WIDE_METRICS, groupBy, rational(1n), 1);
          const expected = reference(plan, settings, rows, await hashesOf(plan, rows));
          const actual = await fromSql(plan, settings, rows);
          expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(expected));
        },
      ),
      { numRuns: 60 },
    );
  }, 180_000);

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
