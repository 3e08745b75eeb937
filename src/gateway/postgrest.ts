import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../core/errors.ts';
import type { DataType } from '../core/tables.ts';
import { describeMaskRule } from '../rules/masking.ts';
import { READ_OPS } from '../rules/postgrest.ts';
import type { Granted } from './service.ts';

/**
 * The response side of PostgREST's read dialect on the rows endpoint: content negotiation, the
 * error fields PostgREST clients read, and the per-contract OpenAPI description. The request
 * side (query parameters and headers) is the library src/rules/postgrest.ts.
 */

export type AnswerKind = 'array' | 'object' | 'page' | 'csv' | 'ndjson';

export const PAGE_TYPE = 'application/vnd.shutong.page+json';
export const OBJECT_TYPE = 'application/vnd.pgrst.object+json';

/** What the client asked for: `format=` first, then `Accept` (the first type we can give). */
export function answerKind(req: FastifyRequest, format: string | undefined): AnswerKind {
  if (format !== undefined) {
    if (format === 'csv' || format === 'ndjson') return format;
    if (format === 'json') return 'array';
    if (format === 'page') return 'page';
    throw new AppError('VALIDATION_FAILED', { field: 'format', value: format });
  }
  const accept = (req.headers.accept ?? '').toLowerCase();
  if (accept.trim() === '') return 'array';
  for (const part of accept.split(',')) {
    const type = part.split(';')[0]!.trim();
    if (type === OBJECT_TYPE) return 'object';
    if (type === PAGE_TYPE) return 'page';
    if (type === 'text/csv') return 'csv';
    if (type === 'application/x-ndjson') return 'ndjson';
    if (type === 'application/json' || type === '*/*' || type === 'application/*') return 'array';
  }
  throw new AppError(
    'NOT_ACCEPTABLE',
    { accept, offered: ['application/json', OBJECT_TYPE, PAGE_TYPE, 'text/csv', 'application/x-ndjson'] },
    { zh: `无法提供 ${accept}`, en: `cannot answer in ${accept}` },
  );
}

const PGRST: Partial<Record<string, string>> = {
  VALIDATION_FAILED: 'PGRST100',
  NOT_ACCEPTABLE: 'PGRST107',
  RANGE_NOT_SATISFIABLE: 'PGRST103',
  UNAUTHENTICATED: 'PGRST301',
  ROUTE_NOT_FOUND: 'PGRST125',
};

/**
 * Shutong's error body `{ error: { code, message, messages, details } }` plus PostgREST's top-level
 * `code`, `message`, `details` and `hint`, which PostgREST clients (postgrest-js) hand to the caller.
 */
export function withPostgrestFields(payload: unknown): unknown {
  if (typeof payload !== 'string' || !payload.startsWith('{"error"')) return payload;
  try {
    const body = JSON.parse(payload) as {
      error: { code: string; messages?: { en?: string }; message: string; details?: Record<string, unknown> };
    };
    const details = body.error.details ?? {};
    const { pgrst, hint, ...rest } = details;
    return JSON.stringify({
      ...body,
      code: typeof pgrst === 'string' ? pgrst : (PGRST[body.error.code] ?? body.error.code),
      message: body.error.messages?.en ?? body.error.message,
      details: typeof rest.pgrstDetails === 'string' ? rest.pgrstDetails : JSON.stringify(rest),
      hint: typeof hint === 'string' ? hint : null,
    });
  } catch {
    return payload;
  }
}

export function notExactlyOne(served: number): AppError {
  const rows = served === 0 ? '0 rows' : 'more than 1 row';
  return new AppError(
    'NOT_ACCEPTABLE',
    {
      pgrst: 'PGRST116',
      rows: served > 1 ? '>1' : served,
      pgrstDetails: `The result contains ${rows}`,
    },
    {
      zh: `要求单个对象，结果为 ${served === 0 ? '0 行' : '多于 1 行'}`,
      en: `JSON object requested, multiple (or no) rows returned: ${rows}`,
    },
  );
}

export function setContentRange(reply: FastifyReply, value: string) {
  reply.header('content-range', value);
  reply.header('range-unit', 'items');
}

const JSON_TYPES: Record<DataType, Record<string, unknown>> = {
  text: { type: 'string' },
  integer: { type: 'integer', format: 'int64' },
  decimal: { type: 'string', format: 'decimal', description: 'exact decimal as text' },
  boolean: { type: 'boolean' },
  date: { type: 'string', format: 'date' },
  timestamp: { type: 'string', format: 'date-time' },
} as Record<DataType, Record<string, unknown>>;

function opsFor(dataType: DataType): string[] {
  return READ_OPS.filter((op) => (op === 'like' || op === 'ilike' ? dataType === 'text' : true));
}

/** An OpenAPI 3.0 description of one contract's rows endpoint: its fields, types, masks and operators. */
export function contractOpenApi(granted: Granted, base: string) {
  const properties: Record<string, unknown> = {};
  for (const f of granted.fields) {
    const masked = f.mask !== 'none';
    const mask = describeMaskRule(f.mask);
    properties[f.name] = {
      ...(masked ? { type: 'string' } : (JSON_TYPES[f.dataType] ?? { type: 'string' })),
      nullable: true,
      title: f.label ?? f.name,
      description: masked
        ? `${f.label ?? f.name}: masked (${f.mask}: ${mask.en} / ${mask.zh}); cannot be filtered or ordered by`
        : `${f.label ?? f.name}: served raw; filter operators ${opsFor(f.dataType).join(', ')}`,
      'x-shutong-data-type': f.dataType,
      'x-shutong-mask': f.mask,
      'x-shutong-operators': masked ? [] : opsFor(f.dataType),
    };
  }
  const raw = granted.fields.filter((f) => f.mask === 'none');
  const parameters: unknown[] = [
    {
      name: 'select',
      in: 'query',
      schema: { type: 'string' },
      description: `Fields to return, \`*\` or \`alias:field\`: ${granted.fields.map((f) => f.name).join(', ')}`,
    },
    {
      name: 'order',
      in: 'query',
      schema: { type: 'string' },
      description: `field[.asc|.desc][.nullsfirst|.nullslast], comma-separated; on: ${raw.map((f) => f.name).join(', ')}`,
    },
    { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 0, maximum: 1000 } },
    { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0 } },
    { name: 'or', in: 'query', schema: { type: 'string' }, description: 'logic tree, e.g. (a.eq.1,b.gt.2)' },
    { name: 'and', in: 'query', schema: { type: 'string' } },
    { name: 'Range', in: 'header', schema: { type: 'string' }, description: 'e.g. 0-9 (items)' },
    {
      name: 'Prefer',
      in: 'header',
      schema: { type: 'string', enum: ['count=exact', 'count=planned', 'count=estimated'] },
    },
    ...raw.map((f) => ({
      name: f.name,
      in: 'query',
      schema: { type: 'string' },
      description: `[not.]operator.value with operator one of ${opsFor(f.dataType).join(', ')}`,
    })),
  ];
  const row = { $ref: '#/components/schemas/rows' };
  const errorSchema = {
    type: 'object',
    properties: {
      code: { type: 'string' },
      message: { type: 'string' },
      details: { type: 'string' },
      hint: { type: 'string', nullable: true },
      error: { type: 'object' },
    },
  };
  return {
    openapi: '3.0.3',
    info: {
      title: `Shutong contract ${granted.contract.id}`,
      version: String(granted.contract.updated_at?.toISOString?.() ?? '1'),
      description:
        'PostgREST-compatible reads of the rows one data-sharing contract grants. Masked fields are served masked ' +
        'and cannot be filtered or ordered by. 按协议读取明细（PostgREST 兼容）。',
    },
    servers: [{ url: base }],
    paths: {
      '/rows': {
        get: {
          summary: 'Rows under the contract',
          parameters,
          responses: {
            200: {
              description: 'rows',
              content: {
                'application/json': { schema: { type: 'array', items: row } },
                [OBJECT_TYPE]: { schema: row },
                'text/csv': { schema: { type: 'string' } },
              },
            },
            206: { description: 'partial content (Prefer: count)' },
            default: { description: 'error', content: { 'application/json': { schema: errorSchema } } },
          },
        },
      },
    },
    components: {
      schemas: { rows: { type: 'object', properties } },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
    security: [{ bearer: [] }],
  };
}
