import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { AppError } from '../core/errors.ts';
import { FILTER_OPS } from '../rules/filters.ts';
import * as gateway from './service.ts';

const access = { roles: 'any', scope: 'gateway' } as const;
const tags = ['gateway'];
const ContractParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const RESERVED = new Set(['select', 'order', 'limit', 'cursor', 'format']);

function formatOf(req: FastifyRequest, format: string | undefined): 'json' | 'csv' | 'ndjson' {
  if (format === 'csv' || format === 'ndjson' || format === 'json') return format;
  if (format !== undefined) throw new AppError('VALIDATION_FAILED', { field: 'format', value: format });
  const accept = req.headers.accept ?? '';
  if (accept.includes('text/csv')) return 'csv';
  if (accept.includes('application/x-ndjson')) return 'ndjson';
  return 'json';
}

/** Runs a gateway call, recording it in the audit log whether it is served or refused. */
async function recorded<T>(
  req: FastifyRequest,
  operation: 'rows' | 'aggregate',
  contractId: string,
  work: (started: number) => Promise<T>,
) {
  const started = Date.now();
  try {
    return await work(started);
  } catch (error) {
    const outcome = error instanceof AppError ? error.code : 'INTERNAL';
    await gateway.recordCall(req.ctx, { operation, contractId, outcome, started }).catch(() => {});
    throw error;
  }
}

/**
 * Fields whose grade rose since the contract was approved (served under a stricter mask, or core
 * and no longer served): named on every answer, in `x-changed-fields` and in JSON `changedFields`.
 */
function changedHeader(reply: FastifyReply, changed: ReadonlyArray<{ name: string }>) {
  if (changed.length > 0) reply.header('x-changed-fields', changed.map((f) => f.name).join(','));
}

function rateHeaders(reply: FastifyReply, error: unknown) {
  if (error instanceof AppError && (error.code === 'RATE_LIMITED' || error.code === 'QUOTA_EXCEEDED')) {
    const resetAt = String(error.details.resetAt);
    reply.header('retry-after', Math.max(1, Math.ceil((Date.parse(resetAt) - Date.now()) / 1000)));
  }
}

export const gatewayRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/v1/gateway/contracts/:id/rows',
    {
      config: { access },
      schema: {
        tags,
        summary: '按协议查询明细 / Query rows under a contract',
        description:
          'PostgREST-style: `select=a,b`, filters `field=op.value` with op one of ' +
          `${FILTER_OPS.join(', ')} (in.(a,b), like.张*, is.null), \`order=a.desc,b\`, \`limit\` (≤ ${gateway.MAX_PAGE}), ` +
          '`cursor` (signed, bound to contract, query and version). JSON by default; CSV or NDJSON (streamed) by ' +
          '`Accept` or `format=`. Masked and ungranted fields cannot be filtered or ordered by. Rows come in a ' +
          'per-contract keyed order, not file order. Fields re-graded since approval are served under the stricter ' +
          'mask (core ones not at all) and named in `x-changed-fields` / `changedFields`.',
        params: ContractParams,
        querystring: Type.Object(
          {
            select: Type.Optional(Type.String({ maxLength: 2000 })),
            order: Type.Optional(Type.String({ maxLength: 500 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: gateway.MAX_PAGE })),
            cursor: Type.Optional(Type.String({ maxLength: 300 })),
            format: Type.Optional(Type.String({ maxLength: 10 })),
          },
          { additionalProperties: Type.String({ maxLength: 2000 }) },
        ),
      },
    },
    async (req, reply) => {
      const { select, order, limit, cursor, format, ...rest } = req.query as Record<
        string,
        string | undefined
      > & { limit?: number };
      const filters = Object.fromEntries(
        Object.entries(rest).filter(([k, v]) => !RESERVED.has(k) && typeof v === 'string'),
      ) as Record<string, string>;
      try {
        return await recorded(req, 'rows', req.params.id, async (started) => {
          const kind = formatOf(req, format);
          const granted = await gateway.admit(req.ctx, req.params.id, 'rows', req.ip);
          const result = await gateway.queryRows(req.ctx, granted, { select, order, limit, cursor, filters });
          changedHeader(reply, result.changedFields);
          const names = result.fields.map((f) => f.name);
          const record = (bytes: number) =>
            gateway.recordCall(req.ctx, {
              operation: 'rows',
              contractId: req.params.id,
              fields: names,
              filter: result.filter,
              rows: result.items.length,
              bytes,
              outcome: 'ok',
              started,
            });
          if (kind === 'json') {
            const body = JSON.stringify({
              items: result.items,
              nextCursor: result.nextCursor,
              fields: result.fields,
              ...(result.changedFields.length > 0 ? { changedFields: result.changedFields } : {}),
            });
            await record(Buffer.byteLength(body));
            return reply.type('application/json; charset=utf-8').send(body);
          }
          if (result.nextCursor) reply.header('x-next-cursor', result.nextCursor);
          let bytes = 0;
          const lines = function* () {
            if (kind === 'csv') yield `\ufeff${names.map(gateway.csvCell).join(',')}\r\n`;
            for (const item of result.items) {
              yield kind === 'csv'
                ? `${names.map((n) => gateway.csvCell(item[n])).join(',')}\r\n`
                : `${JSON.stringify(item)}\n`;
            }
          };
          const stream = Readable.from(
            (function* () {
              for (const line of lines()) {
                bytes += Buffer.byteLength(line);
                yield line;
              }
            })(),
          );
          stream.on('end', () => void record(bytes).catch(() => {}));
          return reply
            .type(kind === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
            .send(stream);
        });
      } catch (error) {
        rateHeaders(reply, error);
        throw error;
      }
    },
  );

  app.post(
    '/v1/gateway/contracts/:id/aggregate',
    {
      config: { access },
      schema: {
        tags,
        summary: '按协议统计 / Aggregate under a contract',
        description:
          'Group by granted fields served raw with count, sum, avg, min, max over fields served raw (no aggregate of a ' +
          "masked field); groups smaller than the contract's minimum, and cells that differ by fewer than that many " +
          'rows from the same query without one filter condition, are withheld without saying how many.',
        params: ContractParams,
        body: Type.Object(
          {
            groupBy: Type.Optional(
              Type.Array(Type.String({ maxLength: 64 }), { maxItems: 5, uniqueItems: true }),
            ),
            metrics: Type.Array(
              Type.Object(
                {
                  fn: Type.Enum(['count', 'sum', 'avg', 'min', 'max'] as const),
                  field: Type.Optional(Type.String({ maxLength: 64 })),
                },
                { additionalProperties: false },
              ),
              { minItems: 1, maxItems: 10 },
            ),
            filter: Type.Optional(Type.Unknown()),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      try {
        return await recorded(req, 'aggregate', req.params.id, async (started) => {
          const granted = await gateway.admit(req.ctx, req.params.id, 'aggregate', req.ip);
          const { changedFields, ...result } = await gateway.aggregate(req.ctx, granted, req.body);
          changedHeader(reply, changedFields);
          const body = JSON.stringify({ ...result, ...(changedFields.length > 0 ? { changedFields } : {}) });
          await gateway.recordCall(req.ctx, {
            operation: 'aggregate',
            contractId: req.params.id,
            fields: [...(req.body.groupBy ?? []), ...req.body.metrics.map((m) => m.field ?? '*')],
            filter: result.filter,
            rows: result.groups.length,
            bytes: Buffer.byteLength(body),
            outcome: 'ok',
            started,
          });
          return reply.type('application/json; charset=utf-8').send(body);
        });
      } catch (error) {
        rateHeaders(reply, error);
        throw error;
      }
    },
  );
};
