import { type RawBuilder, sql } from 'kysely';
import { AppError } from '../core/errors.ts';
import type { DataType } from '../core/tables.ts';

/**
 * Restricted predicates over a resource's fields: contract row filters and gateway query filters.
 * They are data (a small tree), never SQL text: every field is checked against the resource, every
 * value is converted to the field's type and travels as a bind parameter, and the tree compiles
 * to SQL only here.
 */
export const FILTER_OPS = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'like', 'ilike', 'in', 'is'] as const;
export type FilterOp = (typeof FILTER_OPS)[number];
type Scalar = string | number | boolean;

export type Predicate =
  | { field: string; op: Exclude<FilterOp, 'in' | 'is'>; value: Scalar }
  | { field: string; op: 'in'; value: Scalar[] }
  | { field: string; op: 'is'; value: 'null' | 'not_null' | 'true' | 'false' };
export type Filter = Predicate | { and: Filter[] } | { or: Filter[] } | { not: Filter };

export interface FilterField {
  name: string;
  label?: string;
  dataType: DataType;
}

const MAX_DEPTH = 4;
const MAX_TERMS = 50;
const MAX_IN = 100;

const bad = (field: string, zh: string, en: string, details: Record<string, unknown> = {}) =>
  new AppError('VALIDATION_FAILED', { field, ...details }, { zh, en });

/** A real calendar day with a year PostgreSQL accepts (2023-02-29 and 0000-01-01 are not). */
function calendarDay(y: number, m: number, d: number): boolean {
  if (y < 1 || m < 1 || m > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(2000, m, 0)).getUTCDate() - (m === 2 && !leap(y) ? 1 : 0);
}
const leap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

function typedValue(field: FilterField, raw: unknown, where: string): Scalar {
  // Only scalars are values: an object, array or null is refused here, never handed to SQL.
  if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
    throw bad(where, `${field.name} 的值必须是字符串或数字`, `${field.name} needs a string or number value`);
  }
  const text = typeof raw === 'string' ? raw : String(raw);
  // PostgreSQL text cannot hold NUL: refused for every type, with the field named.
  if (text.includes('\u0000'))
    throw bad(where, `${field.name} 的值含有空字符`, `${field.name}: NUL in value`);
  if (text.length > 1000) throw bad(where, '值过长', 'value too long');
  switch (field.dataType) {
    case 'integer': {
      const n = Number(text);
      if (!/^[+-]?\d{1,18}$/.test(text) || !Number.isSafeInteger(n))
        throw bad(where, `${field.name} 需要整数`, `${field.name} needs an integer`);
      return n;
    }
    case 'decimal':
      if (!/^[+-]?(?:\d{1,100}\.?\d{0,100}|\.\d{1,100})$/.test(text))
        throw bad(where, `${field.name} 需要数字`, `${field.name} needs a number`);
      return text;
    case 'boolean':
      if (!/^(true|false)$/.test(text))
        throw bad(where, `${field.name} 需要 true 或 false`, `${field.name} needs true or false`);
      return text === 'true';
    case 'date': {
      const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
      if (!m || !calendarDay(Number(m[1]), Number(m[2]), Number(m[3]))) {
        throw bad(where, `${field.name} 需要日期 YYYY-MM-DD`, `${field.name} needs a date YYYY-MM-DD`);
      }
      return text;
    }
    case 'timestamp': {
      const m = TIMESTAMP.exec(text);
      const ok =
        m !== null &&
        calendarDay(Number(m[1]), Number(m[2]), Number(m[3])) &&
        Number(m[4] ?? 0) < 24 &&
        Number(m[5] ?? 0) < 60 &&
        Number(m[6] ?? 0) < 60 &&
        (m[7] === undefined || m[7] === 'Z' || Number(m[7].slice(1, 3)) < 16) &&
        !Number.isNaN(Date.parse(text.replace(' ', 'T')));
      if (!ok)
        throw bad(where, `${field.name} 需要时间 (ISO 8601)`, `${field.name} needs an ISO 8601 timestamp`);
      const iso = new Date(text.replace(' ', 'T')).toISOString();
      if (!/^\d{4}-/.test(iso) || iso.startsWith('0000'))
        throw bad(where, `${field.name} 超出时间范围`, `${field.name} is out of range`);
      return iso;
    }
    default:
      return text;
  }
}

/** Checks a filter tree against the fields, converting values; throws a 400 naming the problem. */
export function checkFilter(
  filter: unknown,
  fields: readonly FilterField[],
  where = 'filter',
  depth = 0,
  count = { n: 0 },
): Filter {
  if (depth > MAX_DEPTH) throw bad(where, '过滤条件嵌套过深', 'filter nested too deeply');
  if (++count.n > MAX_TERMS) throw bad(where, '过滤条件过多', 'too many filter terms');
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter))
    throw bad(where, '过滤条件格式错误', 'malformed filter');
  const node = filter as Record<string, unknown>;
  if ('not' in node) {
    if (Object.keys(node).length !== 1) throw bad(where, 'not 只含一个条件', 'not takes one filter');
    return { not: checkFilter(node.not, fields, `${where}.not`, depth, count) };
  }
  for (const combinator of ['and', 'or'] as const) {
    if (combinator in node) {
      const list = node[combinator];
      if (!Array.isArray(list) || list.length === 0 || Object.keys(node).length !== 1) {
        throw bad(where, `${combinator} 需要非空数组`, `${combinator} needs a non-empty array`);
      }
      const children = list.map((child, i) =>
        checkFilter(child, fields, `${where}.${combinator}.${i}`, depth + 1, count),
      );
      return combinator === 'and' ? { and: children } : { or: children };
    }
  }
  const field = fields.find((f) => f.name === node.field);
  if (!field)
    throw bad(`${where}.field`, `未知字段 ${String(node.field)}`, `unknown field ${String(node.field)}`);
  const op = node.op as FilterOp;
  if (!FILTER_OPS.includes(op))
    throw bad(`${where}.op`, `未知运算符 ${String(node.op)}`, `unknown operator ${String(node.op)}`);
  if (op === 'is') {
    if (typeof node.value !== 'string' || !['null', 'not_null', 'true', 'false'].includes(node.value)) {
      throw bad(
        `${where}.value`,
        'is 只接受 null、not_null、true、false',
        'is takes null, not_null, true or false',
      );
    }
    if ((node.value === 'true' || node.value === 'false') && field.dataType !== 'boolean') {
      throw bad(
        `${where}.value`,
        `${field.name} 不是布尔字段，is 只接受 null 或 not_null`,
        `${field.name} is not boolean: is takes null or not_null`,
      );
    }
    return { field: field.name, op, value: String(node.value) as 'null' };
  }
  if (op === 'in') {
    if (!Array.isArray(node.value) || node.value.length === 0 || node.value.length > MAX_IN) {
      throw bad(`${where}.value`, `in 需要 1 到 ${MAX_IN} 个值`, `in takes 1 to ${MAX_IN} values`);
    }
    return { field: field.name, op, value: node.value.map((v) => typedValue(field, v, `${where}.value`)) };
  }
  if ((op === 'like' || op === 'ilike') && field.dataType !== 'text')
    throw bad(`${where}.op`, `${op} 只用于文本字段`, `${op} applies to text fields`);
  return { field: field.name, op, value: typedValue(field, node.value, `${where}.value`) };
}

/**
 * PostgREST-style query parameters (`district=eq.西湖区`, `age=gte.18`, `id=in.(1,2)`,
 * `name=like.张*`, `x=is.null`) as one AND-ed filter.
 */
export function parseQueryFilters(
  params: Record<string, string>,
  fields: readonly FilterField[],
): Filter | null {
  const terms: unknown[] = [];
  for (const [name, raw] of Object.entries(params)) {
    const match = /^(not\.)?([a-z]+)\.([\s\S]*)$/.exec(raw);
    if (!match || match[1])
      throw bad(
        name,
        `${name}：过滤写法应为 运算符.值，如 eq.西湖区`,
        `${name}: write filters as operator.value, e.g. eq.西湖区`,
      );
    const op = match[2] as FilterOp;
    let value: unknown = match[3];
    if (op === 'in') {
      const list = /^\(([\s\S]*)\)$/.exec(match[3]!);
      if (!list) throw bad(name, `${name}：in 的写法为 in.(a,b)`, `${name}: write in.(a,b)`);
      value = list[1]!.split(',').map((v) => v.trim().replace(/^"(.*)"$/, '$1'));
    }
    if (op === 'like') value = String(value).replaceAll('*', '%');
    terms.push({ field: name, op, value });
  }
  if (terms.length === 0) return null;
  // Each parameter is checked on its own, so an error names the parameter (`visits.value`).
  const checked = terms.map((term) => checkFilter(term, fields, (term as { field: string }).field));
  return checked.length === 1 ? checked[0]! : { and: checked };
}

export function fieldsOf(filter: Filter | null): string[] {
  if (!filter) return [];
  if ('and' in filter) return filter.and.flatMap(fieldsOf);
  if ('or' in filter) return filter.or.flatMap(fieldsOf);
  if ('not' in filter) return fieldsOf(filter.not);
  return [filter.field];
}

const SQL_OPS: Record<Exclude<FilterOp, 'in' | 'is' | 'like' | 'ilike'>, string> = {
  eq: '=',
  neq: '<>',
  gt: '>',
  gte: '>=',
  lt: '<',
  lte: '<=',
};

/** The filter as SQL over the version table's columns; values are bind parameters. */
export function compileFilter(filter: Filter): RawBuilder<boolean> {
  if ('and' in filter) return sql<boolean>`(${sql.join(filter.and.map(compileFilter), sql` AND `)})`;
  if ('or' in filter) return sql<boolean>`(${sql.join(filter.or.map(compileFilter), sql` OR `)})`;
  if ('not' in filter) return sql<boolean>`(NOT ${compileFilter(filter.not)})`;
  const column = sql.ref(filter.field);
  switch (filter.op) {
    case 'is':
      return filter.value === 'null'
        ? sql<boolean>`${column} IS NULL`
        : filter.value === 'not_null'
          ? sql<boolean>`${column} IS NOT NULL`
          : sql<boolean>`${column} IS ${sql.raw(filter.value === 'true' ? 'TRUE' : 'FALSE')}`;
    case 'in':
      return sql<boolean>`${column} IN (${sql.join(filter.value.map((v) => sql`${v}`))})`;
    case 'like':
      // No escape character: a pattern ending in a backslash is a literal backslash, not an error.
      return sql<boolean>`${column} LIKE ${filter.value} ESCAPE ''`;
    case 'ilike':
      return sql<boolean>`${column} ILIKE ${filter.value} ESCAPE ''`;
    default:
      return sql<boolean>`${column} ${sql.raw(SQL_OPS[filter.op])} ${filter.value}`;
  }
}

/**
 * Evaluates the filter on a row in memory with SQL's three-valued logic (a comparison with NULL is
 * unknown, and `not` of unknown stays unknown): the tests' oracle for what the SQL must return.
 */
export function matches(filter: Filter, row: Record<string, unknown>): boolean {
  return evaluate(filter, row) === true;
}

function evaluate(filter: Filter, row: Record<string, unknown>): boolean | null {
  if ('and' in filter) {
    const values = filter.and.map((f) => evaluate(f, row));
    return values.includes(false) ? false : values.includes(null) ? null : true;
  }
  if ('or' in filter) {
    const values = filter.or.map((f) => evaluate(f, row));
    return values.includes(true) ? true : values.includes(null) ? null : false;
  }
  if ('not' in filter) {
    const value = evaluate(filter.not, row);
    return value === null ? null : !value;
  }
  const value = row[filter.field];
  if (filter.op === 'is') {
    if (filter.value === 'null') return value === null || value === undefined;
    if (filter.value === 'not_null') return value !== null && value !== undefined;
    return value === (filter.value === 'true');
  }
  if (value === null || value === undefined) return null;
  const cmp = (a: unknown, b: unknown) => {
    const x =
      typeof b === 'number' || (typeof a === 'number' && typeof b === 'string') ? Number(a) : String(a);
    const y = typeof x === 'number' ? Number(b) : String(b);
    return x < y ? -1 : x > y ? 1 : 0;
  };
  switch (filter.op) {
    case 'in':
      return filter.value.some((v) => cmp(value, v) === 0);
    case 'like':
    case 'ilike': {
      const pattern = new RegExp(
        `^${String(filter.value)
          .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
          .replaceAll('%', '.*')
          .replaceAll('_', '.')}$`,
        filter.op === 'ilike' ? 'si' : 's',
      );
      return pattern.test(String(value));
    }
    case 'eq':
      return cmp(value, filter.value) === 0;
    case 'neq':
      return cmp(value, filter.value) !== 0;
    case 'gt':
      return cmp(value, filter.value) > 0;
    case 'gte':
      return cmp(value, filter.value) >= 0;
    case 'lt':
      return cmp(value, filter.value) < 0;
    case 'lte':
      return cmp(value, filter.value) <= 0;
  }
}

const OP_TEXT: Record<FilterOp, string> = {
  eq: '=',
  neq: '≠',
  gt: '>',
  gte: '≥',
  lt: '<',
  lte: '≤',
  like: '匹配',
  ilike: '匹配（不分大小写）',
  in: '属于',
  is: '为',
};

/** Human-readable form for receipts: 所属区县 = 西湖区 且 年份 ≥ 2023. */
export function describeFilter(
  filter: Filter | null,
  fields: readonly Pick<FilterField, 'name' | 'label'>[],
): string {
  if (!filter) return '全部行 / all rows';
  if ('and' in filter) return filter.and.map((f) => describeFilter(f, fields)).join(' 且 ');
  if ('or' in filter) return `(${filter.or.map((f) => describeFilter(f, fields)).join(' 或 ')})`;
  if ('not' in filter) return `非 (${describeFilter(filter.not, fields)})`;
  const label = fields.find((f) => f.name === filter.field)?.label ?? filter.field;
  const value = Array.isArray(filter.value) ? `(${filter.value.join(', ')})` : String(filter.value);
  return `${label} ${OP_TEXT[filter.op]} ${value}`;
}
