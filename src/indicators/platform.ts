import type { Ctx } from '../core/context.ts';
import * as gateway from '../gateway/service.ts';
import * as identity from '../identity/service.ts';
import * as ratings from '../ratings/service.ts';
import * as services from '../services/service.ts';
import * as sharing from '../sharing/service.ts';
import { gbt2260Part } from '../standards/division-units.ts';
import { countiesOf, findRegion } from '../standards/region.ts';
import { periodEnd } from './forms.ts';
import type { Level, PlatformMetric } from './store.ts';

/**
 * Platform activity as dictionary indicators (issue 23: "platform activity such as resources
 * shared, gateway calls, bundles done, satisfaction rate"): figures the platform holds itself, so
 * nobody reports them. Each is counted per organization by the capability that owns it, over the
 * period (Shanghai days), and credited to the division the organization sits in — a district's
 * when the organization is a district's (or a town's within it), a city's for every organization
 * in the city. Computed when results are asked for, like formulas, never stored.
 */

/** A period's first day and the day after its last ('2026-Q2' → 2026-04-01, 2026-07-01). */
export function periodDays(period: string): { from: string; to: string } {
  const last = periodEnd(period);
  const year = Number(period.slice(0, 4));
  const months = period.length === 4 ? 12 : period.includes('Q') ? 3 : 1;
  const lastMonth = Number(last.slice(5, 7));
  const from = new Date(Date.UTC(year, lastMonth - months, 1)).toISOString().slice(0, 10);
  const to = new Date(Date.parse(`${last}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  return { from, to };
}

/** The unit at `level` an organization's region belongs to, if any. */
function unitOf(region: string, level: Level): string | undefined {
  const county = findRegion(gbt2260Part(region));
  if (!county) return undefined;
  if (level === 'district') return county.level === 'county' ? county.code : undefined;
  if (county.level === 'prefecture') return county.code;
  return county.level === 'county' ? (county.parentCode ?? undefined) : undefined;
}

/**
 * A metric's value per unit at `level` for `period`, for the units given (units with no activity
 * count 0; the satisfaction rate has no value without ratings) and any other unit with activity.
 */
export async function platformValues(
  ctx: Ctx,
  metric: PlatformMetric,
  level: Level,
  period: string,
  units: Iterable<string>,
  within: string | undefined,
): Promise<Map<string, number>> {
  const { from, to } = periodDays(period);
  const start = new Date(`${from}T00:00:00+08:00`);
  const end = new Date(`${to}T00:00:00+08:00`);
  let byOrg: Map<string, number>;
  let rated: Map<string, number> | undefined;
  switch (metric) {
    case 'resources_shared':
      byOrg = await sharing.sharedResourcesByProvider(ctx, start, end);
      break;
    case 'gateway_calls':
      byOrg = await gateway.callsByConsumer(ctx, from, to);
      break;
    case 'bundles_done':
      byOrg = await services.bundlesDoneByLeadOrg(ctx, start, end);
      break;
    case 'satisfaction_rate': {
      // Inclusive dates: the ratings' own statistics read `to` as the last day.
      const last = periodEnd(period);
      const stats = await ratings.statistics(ctx, { from, to: last });
      byOrg = new Map(stats.departments.map((d) => [d.orgId, d.satisfied]));
      rated = new Map(stats.departments.map((d) => [d.orgId, d.ratings]));
      break;
    }
  }
  const regions = await identity.organizationRegions(ctx, [...byOrg.keys()]);
  const sums = new Map<string, { n: number; of: number }>([...units].map((u) => [u, { n: 0, of: 0 }]));
  for (const [orgId, n] of byOrg) {
    const region = regions.get(orgId);
    const unit = region === undefined ? undefined : unitOf(region, level);
    if (unit === undefined || (within !== undefined && !unit.startsWith(within))) continue;
    const sum = sums.get(unit) ?? { n: 0, of: 0 };
    sum.n += n;
    sum.of += rated?.get(orgId) ?? 0;
    sums.set(unit, sum);
  }
  const values = new Map<string, number>();
  for (const [unit, { n, of }] of sums) {
    if (!rated) values.set(unit, n);
    else if (of > 0) values.set(unit, Math.round((n / of) * 10_000) / 100);
  }
  return values;
}

/**
 * The units of `level` a results query covers even without activity: with `within` (a code
 * prefix such as 3301) every district of that city starting so; nothing otherwise.
 */
export function unitsWithin(within: string | undefined, level: Level): string[] {
  if (within === undefined || within.length < 4 || level !== 'district') return [];
  return countiesOf(`${within.slice(0, 4)}00`)
    .map((r) => r.code)
    .filter((code) => code.startsWith(within));
}
