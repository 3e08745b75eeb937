import type { DpPlan, DpSettings } from '../../src/rules/dp/index.ts';

/** The public domain of the DP tests' district field. */
export const DOMAIN = ['A', 'B', 'C', 'D'];

/** The DP tests' settings: person_id the unit, visits bounded to [−5, 10], districts public or not. */
export const settingsOf = (l0: number, linf: number, publicDomain: boolean): DpSettings => ({
  unit: 'person_id',
  maxGroups: l0,
  maxRowsPerGroup: linf,
  bounds: { visits: { lower: -5, upper: 10, precision: 0 } },
  domains: publicDomain ? { district: DOMAIN } : {},
});

/**
 * The exact bounded aggregates as the SQL returns them (`g0…` keys, one text column per
 * measurement), keyed like the tests' references: JSON of the group keys → measurement → value.
 */
export function byGroup(
  plan: DpPlan,
  rows: ReadonlyArray<Readonly<Record<string, unknown>>>,
): Map<string, Record<string, bigint>> {
  const out = new Map<string, Record<string, bigint>>();
  for (const row of rows) {
    const keys = plan.groupBy.map((_, i) => (row[`g${i}`] ?? null) as string | null);
    out.set(
      JSON.stringify(keys),
      Object.fromEntries(
        plan.measurements.map((m) => [m.key, BigInt(String(row[m.key.replace(':', '__')]))]),
      ),
    );
  }
  return out;
}
