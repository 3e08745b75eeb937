import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { CSV_BOM, csvRow } from '../core/csv.ts';
import { AppError } from '../core/errors.ts';
import * as ingest from '../ingest/service.ts';
import {
  contentRange,
  parseRange,
  parseRead,
  preferredCount,
  READ_OPS,
  rangeStatus,
  requestedWindow,
} from '../rules/postgrest.ts';
import {
  answerKind,
  contractOpenApi,
  notExactlyOne,
  OBJECT_TYPE,
  PAGE_TYPE,
  setContentRange,
  withPostgrestFields,
} from './postgrest.ts';
import { Aggregate, ContractOpenApi, rowsContent } from './schema.ts';
import * as gateway from './service.ts';
import * as spanMasked from './span-masked.ts';

const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

const access = { roles: 'any', scope: 'gateway' } as const;
const tags = ['gateway'];
const ContractParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
/**
 * Fields whose grade rose since the contract was approved (served under a stricter mask, or core
 * and no longer served): named on every answer, in `x-changed-fields` and in JSON `changedFields`.
 */
function changedHeader(reply: FastifyReply, changed: ReadonlyArray<{ name: string }>) {
  if (changed.length > 0) reply.header('x-changed-fields', changed.map((f) => f.name).join(','));
}

/** A refusal for rate or quota says when to come back. */
function rateHeaders(reply: FastifyReply, error: unknown) {
  const seconds = gateway.retryAfterSeconds(error);
  if (seconds !== null) reply.header('retry-after', seconds);
}

export const gatewayRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // A version that becomes current gets its span-masked copies built (span-masked.ts); registering again is a no-op.
  ingest.onVersionCurrent(spanMasked.onVersionCurrent);
  // PostgREST clients read `code`, `message`, `details` and `hint` at the top of an error body.
  app.addHook('onSend', async (req, reply, payload) => {
    if (reply.statusCode < 400 || !req.url.startsWith('/v1/gateway/contracts/')) return payload;
    return withPostgrestFields(payload);
  });

  app.get(
    '/v1/gateway/contracts/:id/',
    {
      config: { access },
      schema: {
        tags,
        summary: '协议的 OpenAPI 描述 / OpenAPI description of a contract',
        description:
          'The fields the contract grants, their types, masks and the filter operators allowed on each, ' +
          'as OpenAPI 3.0 for generators and tools (PostgREST serves the same at its root).',
        params: ContractParams,
        response: { 200: ContractOpenApi },
      },
    },
    async (req) => {
      let granted: gateway.Granted;
      try {
        granted = await gateway.admit(req.ctx, req.params.id, 'rows', req.ip);
      } catch (error) {
        if (!(error instanceof AppError) || error.code !== 'OPERATION_NOT_ALLOWED') throw error;
        granted = await gateway.admit(req.ctx, req.params.id, 'aggregate', req.ip);
      }
      return contractOpenApi(granted, `/v1/gateway/contracts/${req.params.id}`);
    },
  );

  app.route({
    method: ['GET', 'HEAD'],
    url: '/v1/gateway/contracts/:id/rows',
    config: { access },
    schema: {
      tags,
      summary: '按协议查询明细 / Query rows under a contract',
      description:
        "PostgREST's read dialect within the contract: `select=a,alias:b,*`; filters `field=[not.]op.value` " +
        `(repeatable) with op one of ${READ_OPS.join(', ')} (in.(a,b), like.张*, ilike.*abc*, is.null|not_null|true|false); ` +
        '`or=(a.eq.1,and(b.gt.2,c.is.null))`, `and=(…)`, `not.or=(…)`; `order=a.desc.nullslast,b`; `limit` ' +
        `(≤ ${gateway.MAX_PAGE}), \`offset\`, \`Range: 0-9\` (answered with \`Content-Range\`, 206 when partial), ` +
        '`Prefer: count=exact|planned|estimated`, HEAD. A bare JSON array by default; one object with ' +
        `\`Accept: ${OBJECT_TYPE}\` (406 unless exactly one row); the paged envelope {items, nextCursor, fields} ` +
        `with \`Accept: ${PAGE_TYPE}\` (\`cursor\` paging); CSV or NDJSON (streamed) by \`Accept\` or \`format=\`. ` +
        'Masked and ungranted fields cannot be filtered or ordered by. `cursor` is signed and bound to the ' +
        'contract, the query and the version. Rows come in a per-contract keyed order, not file order. Fields ' +
        're-graded since approval are served under the stricter mask (core ones not at all) and named in ' +
        '`x-changed-fields` / `changedFields`.',
      params: ContractParams,
      querystring: Type.Object(
        {
          select: Type.Optional(Type.String({ maxLength: 2000 })),
          order: Type.Optional(Type.String({ maxLength: 500 })),
          limit: Type.Optional(Type.String({ maxLength: 10 })),
          offset: Type.Optional(Type.String({ maxLength: 10 })),
          cursor: Type.Optional(Type.String({ maxLength: 300 })),
          format: Type.Optional(Type.String({ maxLength: 10 })),
        },
        {
          additionalProperties: Type.Union([
            Type.String({ maxLength: 2000 }),
            Type.Array(Type.String({ maxLength: 2000 }), { maxItems: 20 }),
          ]),
        },
      ),
      response: { 200: rowsContent(OBJECT_TYPE, PAGE_TYPE), 206: rowsContent(OBJECT_TYPE, PAGE_TYPE) },
    },
    handler: async (req, reply) => {
      const id = (req.params as { id: string }).id;
      const head = req.method === 'HEAD';
      try {
        const call = { contractId: id, operation: 'rows' as const, clientIp: req.ip };
        return await gateway.underContract(req.ctx, call, async (granted, started) => {
          const search = req.url.indexOf('?');
          const params = [...new URLSearchParams(search < 0 ? '' : req.url.slice(search + 1))];
          const read = parseRead(params, granted);
          const kind = answerKind(req, read.format);
          const range = parseRange(header(req.headers.range), header(req.headers['range-unit']));
          const window = requestedWindow(read, range);
          const wantCount = preferredCount(header(req.headers.prefer)) !== null;
          // One object needs exactly one row: two are enough to tell, and take no more of the quota.
          const limit =
            kind === 'object'
              ? Math.min(window.limit ?? 2, 2)
              : (window.limit ?? (kind === 'page' ? undefined : gateway.MAX_PAGE));
          const result = await gateway.queryRows(req.ctx, granted, {
            select: read.select,
            filter: read.filter,
            order: read.order,
            limit,
            offset: window.offset,
            cursor: read.cursor,
            count: wantCount || head,
            head,
          });
          changedHeader(reply, result.changedFields);
          const served = head ? result.wouldServe : result.items.length;
          const total = wantCount ? result.total : null;
          const status = rangeStatus(result.offset, served, total);
          setContentRange(reply, contentRange(result.offset, served, total));
          if (status === 416) {
            throw new AppError('RANGE_NOT_SATISFIABLE', {
              pgrst: 'PGRST103',
              offset: result.offset,
              total,
              pgrstDetails: `An offset of ${result.offset} was requested, but there are only ${total} rows.`,
            });
          }
          if (kind === 'object' && !head && result.items.length !== 1)
            throw notExactlyOne(result.items.length);
          if (result.nextCursor) reply.header('x-next-cursor', result.nextCursor);
          reply.status(status);
          const names = result.fields.map((f) => f.name);
          const record = (bytes: number) =>
            gateway.recordCall(req.ctx, {
              operation: 'rows',
              contractId: id,
              fields: read.select.map((s) => s.field),
              filter: result.filter,
              rows: result.items.length,
              bytes,
              outcome: 'ok',
              started,
            });
          if (kind === 'array' || kind === 'object' || kind === 'page') {
            const type = kind === 'object' ? OBJECT_TYPE : kind === 'page' ? PAGE_TYPE : 'application/json';
            const body = head
              ? ''
              : JSON.stringify(
                  kind === 'array'
                    ? result.items
                    : kind === 'object'
                      ? result.items[0]
                      : {
                          items: result.items,
                          nextCursor: result.nextCursor,
                          fields: result.fields,
                          ...(result.changedFields.length > 0 ? { changedFields: result.changedFields } : {}),
                        },
                );
            // Encoded once: Fastify takes a Buffer's length as it is and writes it unchanged (a
            // string was measured twice and encoded a third time on the way out).
            const bytes = Buffer.from(body);
            await record(bytes.length);
            return reply.type(`${type}; charset=utf-8`).send(bytes as never);
          }
          const type = kind === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8';
          if (head) {
            await record(0);
            return reply.type(type).send('');
          }
          let bytes = 0;
          const lines = function* () {
            if (kind === 'csv') yield `${CSV_BOM}${csvRow(names)}`;
            for (const item of result.items) {
              yield kind === 'csv' ? csvRow(names.map((n) => item[n])) : `${JSON.stringify(item)}\n`;
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
          // A stream is sent as it is; the schema types the JSON answers only.
          return reply.type(type).send(stream as never);
        });
      } catch (error) {
        rateHeaders(reply, error);
        throw error;
      }
    },
  });

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
        response: { 200: Aggregate },
      },
    },
    async (req, reply) => {
      try {
        const call = { contractId: req.params.id, operation: 'aggregate' as const, clientIp: req.ip };
        return await gateway.underContract(req.ctx, call, async (granted, started) => {
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
          // Serialized once above (its size is the usage record's); a string is not serialized again.
          return reply.type('application/json; charset=utf-8').send(body as never);
        });
      } catch (error) {
        rateHeaders(reply, error);
        throw error;
      }
    },
  );
};
