import fc from 'fast-check';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DpMetric,
  type DpPlan,
  type DpSettings,
  deletionVectorSql,
  keptRowsSql,
  planRelease,
  rational,
  sumPairsSql,
} from '../src/rules/dp/index.ts';
import { freshDatabase } from './helpers.ts';
import { byGroup, DOMAIN, settingsOf } from './support/dp-exact.ts';

/**
 * Filtered DP aggregates (issue 14): bounding runs once over the whole version (the dropped rows,
 * `droppedRowsSql`), and a filtered query aggregates its filter's rows less those (`keptRowsSql`).
 * Checked on the database itself (PGlite and the server) against a plain JavaScript reference of
 * the definition, and as an attacker would use it: removing one person — and renumbering every
 * other row, as a new version does — moves no released vector by more than the plan's Δ₂, for
 * any filter.
 */
interface Row {
  unit: string | null;
  district: string | null;
  kind: string | null;
  visits: number | null;
}

const METRICS: DpMetric[] = [
  { fn: 'count' },
  { fn: 'sum', field: 'visits' },
  { fn: 'mean', field: 'visits' },
];

/** Row-wise filters, in SQL and in JavaScript. */
const FILTERS: Array<{ name: string; sql: RawBuilder<boolean>; js: (r: Row) => boolean }> = [
  { name: 'kind = x', sql: sql<boolean>`kind = 'x'`, js: (r) => r.kind === 'x' },
  { name: 'visits >= 0', sql: sql<boolean>`visits >= 0`, js: (r) => r.visits !== null && r.visits >= 0 },
  {
    name: 'district in (A, B)',
    sql: sql<boolean>`district IN ('A', 'B')`,
    js: (r) => r.district === 'A' || r.district === 'B',
  },
  { name: 'none', sql: sql<boolean>`true`, js: () => true },
];

describe('DP aggregates under a filter: bounding before the filter', () => {
  let db: Kysely<unknown>;
  let drop: () => Promise<void>;
  let n = 0;

  beforeAll(async () => {
    const fresh = await freshDatabase();
    db = fresh.database.db as unknown as Kysely<unknown>;
    drop = fresh.drop;
  }, 60_000);
  afterAll(async () => {
    await drop?.();
  });

  /** A version's table: the rows in order, numbered from 1 as ingest numbers them. */
  async function versionTable(rows: Row[]): Promise<string> {
    const name = `v_${++n}`;
    await sql`CREATE TABLE ${sql.table(name)} (_row bigint, person_id text, district text, kind text, visits numeric)`.execute(
      db,
    );
    if (rows.length > 0)
      await sql`INSERT INTO ${sql.table(name)} VALUES ${sql.join(
        rows.map((r, i) => sql`(${i + 1}, ${r.unit}, ${r.district}, ${r.kind}, ${r.visits})`),
      )}`.execute(db);
    return name;
  }

  /** The filtered exact aggregate as the gateway computes it: the deletion vector, then kept rows summed. */
  async function fromSql(
    plan: DpPlan,
    settings: DpSettings,
    table: string,
    filter: RawBuilder<boolean>,
    shorten = 0,
  ) {
    const vector = await deletionVectorSql(plan, settings, sql.table(table)).execute(db);
    const bits = vector.rows[0]!.bits;
    const kept = keptRowsSql(plan, settings, ['visits'], {
      table: sql.table(table),
      where: filter,
      dropped: bits.subarray(0, bits.length - shorten),
    });
    const result = await sumPairsSql(plan, ['visits'], sql`(${kept}) b`).execute(db);
    return byGroup(plan, result.rows);
  }

  /**
   * The definition, plainly: eligible rows (a unit, keys inside their public domains); per unit,
   * its pairs in the order of PostgreSQL's hashtext of (unit, keys), the first L0 when the plan
   * bounds groups; in each pair the first L∞ rows by the hash of their content; then the filter,
   * and per group Σ 1, Σ clamped value, Σ has-value. Only the two hashes are the database's.
   */
  async function reference(
    plan: DpPlan,
    settings: DpSettings,
    table: string,
    rows: Row[],
    keep: (r: Row) => boolean,
  ) {
    const pairHash = new Map<string, number>();
    const contentHash = new Map<number, bigint>();
    const hashed = await sql<{ row: string; p: number; c: string }>`
      SELECT _row::text AS row,
             hashtext(concat_ws(chr(31), person_id::text, ${sql.join(plan.groupBy.length > 0 ? plan.groupBy.map((g) => sql.ref(g)) : [sql`NULL`])})) AS p,
             hashtextextended((to_jsonb(t) - '_row'::text)::text, 0)::text AS c
      FROM ${sql.table(table)} t`.execute(db);
    const b = settings.bounds.visits!;
    const clamp = (v: number) => BigInt(Math.min(b.upper, Math.max(b.lower, Math.round(v))));
    const pairs = new Map<
      string,
      { unit: string; keys: Array<string | null>; h: number; rows: Array<{ i: number; r: Row }> }
    >();
    rows.forEach((r, index) => {
      const i = index + 1;
      const h = hashed.rows.find((x) => Number(x.row) === i)!;
      contentHash.set(i, BigInt(h.c));
      if (r.unit === null) return;
      const keys = plan.groupBy.map((g) => r[g as 'district' | 'kind']);
      if (keys.some((k, j) => plan.domains[j] && (k === null || !plan.domains[j]!.includes(k)))) return;
      const id = JSON.stringify([r.unit, ...keys]);
      pairHash.set(id, h.p);
      const pair = pairs.get(id) ?? { unit: r.unit, keys, h: h.p, rows: [] };
      pair.rows.push({ i, r });
      pairs.set(id, pair);
    });
    const byKey = (a: string | null, z: string | null) =>
      a === z ? 0 : a === null ? 1 : z === null ? -1 : a < z ? -1 : 1;
    const byUnit = new Map<string, Array<typeof pairs extends Map<string, infer P> ? P : never>>();
    for (const p of pairs.values()) byUnit.set(p.unit, [...(byUnit.get(p.unit) ?? []), p]);
    const out = new Map<string, Record<string, bigint>>();
    if (plan.groupBy.length === 0)
      out.set('[]', Object.fromEntries(plan.measurements.map((m) => [m.key, 0n])));
    for (const list of byUnit.values()) {
      list.sort((x, y) => x.h - y.h || x.keys.reduce((acc, k, j) => acc || byKey(k, y.keys[j]!), 0));
      for (const p of plan.boundGroups ? list.slice(0, plan.l0) : list) {
        const chosen = [...p.rows]
          .sort((x, y) => {
            const a = contentHash.get(x.i)!;
            const z = contentHash.get(y.i)!;
            return a < z ? -1 : a > z ? 1 : x.i - y.i;
          })
          .slice(0, plan.linf)
          .filter((x) => keep(x.r));
        if (chosen.length === 0) continue;
        const id = JSON.stringify(p.keys);
        const sums = out.get(id) ?? Object.fromEntries(plan.measurements.map((m) => [m.key, 0n]));
        for (const { r } of chosen)
          for (const m of plan.measurements) {
            if (m.kind === 'count') sums[m.key]! += 1n;
            else if (r.visits !== null) sums[m.key]! += m.kind === 'sum' ? clamp(r.visits) : 1n;
          }
        out.set(id, sums);
      }
    }
    return out;
  }

  // Few people with many rows each: most pairs reach L∞, where a missing L0 or L∞ shows in Δ₂.
  const row = fc.record({
    unit: fc.constantFrom('U1', 'U2', 'U3', null),
    district: fc.constantFrom('A', 'B', 'C', 'D', 'E', null),
    kind: fc.constantFrom('x', 'y', null),
    visits: fc.option(fc.integer({ min: -20, max: 20 }), { nil: null }),
  });

  /** Rows, L0, L∞, a public domain or not, a group-by and a filter: the settings and plan they make. */
  const scenario = (rows: fc.Arbitrary<Row[]>) =>
    fc
      .tuple(
        rows,
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.boolean(),
        fc.constantFrom<string[]>([], ['district']),
        fc.constantFrom(...FILTERS),
      )
      .map(([rows, l0, linf, publicDomain, groupBy, filter]) => {
        const settings = settingsOf(l0, linf, publicDomain);
        return {
          rows,
          linf,
          settings,
          plan: planRelease(settings, METRICS, groupBy, rational(1n), 1),
          filter,
        };
      });

  it('property: the filtered aggregate equals a plain reference of the definition', async () => {
    await fc.assert(
      fc.asyncProperty(
        scenario(fc.array(row, { maxLength: 40 })),
        async ({ rows, settings, plan, filter }) => {
          const table = await versionTable(rows);
          const actual = await fromSql(plan, settings, table, filter.sql);
          const expected = await reference(plan, settings, table, rows, filter.js);
          // Groups the filter leaves empty are absent from the SQL's answer and the reference's alike.
          expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(expected));
        },
      ),
      { numRuns: 60 },
    );
  }, 180_000);

  it('property: removing one person and renumbering the other rows moves no measurement by more than its Δ₂, for any filter', async () => {
    await fc.assert(
      fc.asyncProperty(
        scenario(fc.array(row, { minLength: 1, maxLength: 60 })),
        async ({ rows, linf, settings, plan, filter }) => {
          const withUnit = await fromSql(plan, settings, await versionTable(rows), filter.sql);
          // Each person in turn: a new version without them, where every later row gets a new ordinal.
          for (const unit of ['U1', 'U2', 'U3']) {
            const without = await fromSql(
              plan,
              settings,
              await versionTable(rows.filter((r) => r.unit !== unit)),
              filter.sql,
            );
            for (const m of plan.measurements) {
              const bound = m.kind === 'sum' ? BigInt(settings.bounds.visits!.upper) : 1n;
              let squared = 0n;
              for (const key of new Set([...withUnit.keys(), ...without.keys()])) {
                const d = (withUnit.get(key)?.[m.key] ?? 0n) - (without.get(key)?.[m.key] ?? 0n);
                const abs = d < 0n ? -d : d;
                expect(abs).toBeLessThanOrEqual(BigInt(linf) * bound);
                squared += d * d;
              }
              expect(m.sensitivity2.d).toBe(1n);
              expect(squared).toBeLessThanOrEqual(m.sensitivity2.n);
            }
          }
        },
      ),
      { numRuns: 80 },
    );
  }, 180_000);

  it('a row past the end of the deletion vector counts as dropped', async () => {
    const rows: Row[] = Array.from({ length: 20 }, (_, i) => ({
      unit: `P${i}`,
      district: 'A',
      kind: 'x',
      visits: 1,
    }));
    const settings = settingsOf(1, 1, true);
    const plan = planRelease(settings, METRICS, [], rational(1n), 1);
    const table = await versionTable(rows);
    const none = FILTERS.find((f) => f.name === 'none')!;
    // Ordinals 0…20 take three bytes; without the last byte rows 16…20 are outside it.
    expect((await fromSql(plan, settings, table, none.sql)).get('[]')!.count).toBe(20n);
    expect((await fromSql(plan, settings, table, none.sql, 1)).get('[]')!.count).toBe(15n);
  });

  it('one person with many rows, filtered any way, adds at most L∞ rows to at most L0 groups', async () => {
    const heavy: Row[] = Array.from({ length: 60 }, (_, i) => ({
      unit: 'X',
      district: DOMAIN[i % DOMAIN.length]!,
      kind: i % 3 === 0 ? 'x' : 'y',
      visits: i % 2 === 0 ? 1000 : -1000,
    }));
    const settings = settingsOf(2, 3, false);
    const plan = planRelease(settings, METRICS, ['district'], rational(1n), 1);
    const table = await versionTable(heavy);
    for (const filter of FILTERS) {
      const out = await fromSql(plan, settings, table, filter.sql);
      expect(out.size, filter.name).toBeLessThanOrEqual(2);
      for (const sums of out.values()) {
        expect(sums.count, filter.name).toBeLessThanOrEqual(3n);
        const sum = sums['sum:visits']!;
        expect(sum < 0n ? -sum : sum, filter.name).toBeLessThanOrEqual(30n);
      }
    }
  });
});
