import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { authorize, hasRole } from '../core/auth.ts';
import type { Ctx } from '../core/context.ts';
import { loadContract } from '../sharing/service.ts';
import { bytesSum, dayOf, requestsSum, rowsSum } from './usage-counters.ts';

/**
 * How much the gateway served, per Shanghai calendar day, read from the counters it keeps for
 * quotas and rate limits (`contract_usage`: `d:YYYY-MM-DD` buckets hold rows and bytes,
 * `m:YYYY-MM-DDTHH:MM` buckets hold admitted requests). Read-only; the console's contract usage
 * chart and overview dashboard use it. Refused calls are in the audit log, not here.
 */

const access = { roles: 'any', scope: 'sharing' } as const;
const tags = ['gateway'];
const DAY_MS = 86_400_000;

/** The last `days` Shanghai dates, oldest first, ending today. */
export function shanghaiDays(days: number, now = new Date()): string[] {
  const today = Date.parse(`${new Date(now.getTime() + 8 * 3_600_000).toISOString().slice(0, 10)}T00:00:00Z`);
  return Array.from({ length: days }, (_, i) =>
    new Date(today - (days - 1 - i) * DAY_MS).toISOString().slice(0, 10),
  );
}

export interface DayUsage {
  date: string;
  requests: number;
  rows: number;
  bytes: number;
}

function fill(keys: string[], rows: { day: string; requests: unknown; rows: unknown; bytes: unknown }[]) {
  return keys.map((date): DayUsage => {
    const row = rows.find((r) => r.day === date);
    return {
      date,
      requests: Number(row?.requests ?? 0),
      rows: Number(row?.rows ?? 0),
      bytes: Number(row?.bytes ?? 0),
    };
  });
}

/** One contract's use per day; visible to whoever may see the contract. */
export async function contractUsage(ctx: Ctx, id: string, days: number) {
  const contract = await loadContract(ctx, id);
  const keys = shanghaiDays(days);
  const rows = await ctx.db
    .selectFrom('contract_usage')
    .select([dayOf.as('day'), requestsSum.as('requests'), rowsSum.as('rows'), bytesSum.as('bytes')])
    .where('contract_usage.contract_id', '=', contract.id)
    .where(dayOf, '>=', keys[0]!)
    .groupBy(dayOf)
    .execute();
  return {
    contractId: contract.id,
    quotaRowsPerDay: Number(contract.quota_rows_per_day),
    rateLimitPerMinute: contract.rate_limit_per_minute,
    days: fill(keys, rows),
  };
}

/**
 * Use across the contracts the caller may see (their organization's as consumer or provider;
 * all for security officers, auditors and platform admins): per day, and the top consumers.
 */
export async function usageSummary(ctx: Ctx, days: number) {
  const principal = authorize(ctx.principal, access);
  const keys = shanghaiDays(days);
  const everything = hasRole(principal, 'security_officer', 'auditor', 'platform_admin');
  const base = () => {
    let q = ctx.db
      .selectFrom('contract_usage')
      .innerJoin('contracts', 'contracts.id', 'contract_usage.contract_id')
      .where(dayOf, '>=', keys[0]!);
    if (!everything) {
      q = q.where((eb) =>
        eb.or([
          eb('contracts.consumer_org_id', '=', principal.orgId),
          eb('contracts.provider_org_id', '=', principal.orgId),
        ]),
      );
    }
    return q;
  };
  const perDay = await base()
    .select([dayOf.as('day'), requestsSum.as('requests'), rowsSum.as('rows'), bytesSum.as('bytes')])
    .groupBy(dayOf)
    .execute();
  const consumers = await base()
    .innerJoin('organizations', 'organizations.id', 'contracts.consumer_org_id')
    .select([
      'contracts.consumer_org_id as orgId',
      'organizations.name as name',
      requestsSum.as('requests'),
      rowsSum.as('rows'),
    ])
    .groupBy(['contracts.consumer_org_id', 'organizations.name'])
    .execute();
  return {
    days: fill(keys, perDay),
    topConsumers: consumers
      .map((c) => ({ orgId: c.orgId, name: c.name, requests: Number(c.requests), rows: Number(c.rows) }))
      .sort((a, b) => b.requests - a.requests || b.rows - a.rows)
      .slice(0, 10),
  };
}

const Day = Type.Object({
  date: Type.String({ description: 'Asia/Shanghai calendar day, YYYY-MM-DD' }),
  requests: Type.Integer({ description: 'admitted gateway requests' }),
  rows: Type.Integer({ description: 'rows served' }),
  bytes: Type.Integer(),
});
const DaysQuery = Type.Object({
  days: Type.Optional(Type.Integer({ minimum: 1, maximum: 366, default: 30 })),
});

export const usageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/v1/contracts/:id/usage',
    {
      config: { access },
      schema: {
        tags,
        summary: '协议每日用量 / Daily use of a contract',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }),
        querystring: DaysQuery,
        response: {
          200: Type.Object({
            contractId: Type.String(),
            quotaRowsPerDay: Type.Integer(),
            rateLimitPerMinute: Type.Integer(),
            days: Type.Array(Day),
          }),
        },
      },
    },
    (req) => contractUsage(req.ctx, req.params.id, req.query.days ?? 30),
  );

  app.get(
    '/v1/gateway/usage',
    {
      config: { access },
      schema: {
        tags,
        summary: '网关用量汇总 / Gateway use per day and top consumers',
        querystring: DaysQuery,
        response: {
          200: Type.Object({
            days: Type.Array(Day),
            topConsumers: Type.Array(
              Type.Object({
                orgId: Type.String(),
                name: Type.String(),
                requests: Type.Integer(),
                rows: Type.Integer(),
              }),
            ),
          }),
        },
      },
    },
    (req) => usageSummary(req.ctx, req.query.days ?? 14),
  );
};
