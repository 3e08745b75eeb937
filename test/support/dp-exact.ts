import type { DpPlan } from '../../src/rules/dp/index.ts';

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
