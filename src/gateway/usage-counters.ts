import { sql } from 'kysely';
import type { Ctx } from '../core/context.ts';

/**
 * Sums over the gateway's usage counters (`contract_usage`: `d:YYYY-MM-DD` buckets hold rows and
 * bytes, `m:YYYY-MM-DDTHH:MM` buckets hold admitted requests), shared by the usage views
 * (`usage.ts`) and the evaluation index's platform figures.
 */
export const dayOf = sql<string>`substr(contract_usage.bucket, 3, 10)`;
export const requestsSum = sql<string>`coalesce(sum(case when contract_usage.bucket like 'm:%' then contract_usage.requests else 0 end), 0)`;
export const rowsSum = sql<string>`coalesce(sum(case when contract_usage.bucket like 'd:%' then contract_usage.rows else 0 end), 0)`;
export const bytesSum = sql<string>`coalesce(sum(case when contract_usage.bucket like 'd:%' then contract_usage.bytes else 0 end), 0)`;

/**
 * Admitted gateway calls per consuming organization over Shanghai days [`from`, `to`) —
 * the evaluation index's platform activity (`indicators/platform.ts`). Its caller authorizes.
 */
export async function callsByConsumer(ctx: Ctx, from: string, to: string): Promise<Map<string, number>> {
  const rows = await ctx.db
    .selectFrom('contract_usage')
    .innerJoin('contracts', 'contracts.id', 'contract_usage.contract_id')
    .select(['contracts.consumer_org_id as orgId', requestsSum.as('requests')])
    .where(dayOf, '>=', from)
    .where(dayOf, '<', to)
    .groupBy('contracts.consumer_org_id')
    .execute();
  return new Map(rows.map((r) => [r.orgId, Number(r.requests)]));
}
