import { AppError } from '../core/errors.ts';
import { checkFilter, type Filter, type FilterField, fieldsOf } from './filters.ts';

/**
 * PostgREST's read dialect (query parameters and request headers) turned into the gateway's own
 * structures: a select list, a filter tree of `filters.ts` (values typed and bound there), an order,
 * and a range. Pure: no database, no capability. Which fields may be named where is the caller's
 * rule, given as the `fields` (granted, with their masks): filters and order only on fields served
 * raw, select on any granted field.
 *
 *   select=a,alias:b,*            order=a.desc.nullslast,b        limit=10&offset=20
 *   a=eq.1&a=lt.9 (repeated)      a=not.in.(1,2)  a=ilike.*张*      a=is.null|not_null|true|false
 *   or=(a.eq.1,and(b.gt.2,c.is.null),not.or(d.eq.x,d.eq.y))   and=(…)   not.or=(…)   not.and=(…)
 */

export const READ_OPS = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'like', 'ilike', 'in', 'is'] as const;
/** PostgREST operators the gateway does not offer (documented in ARCHITECTURE.md). */
const UNSUPPORTED_OPS = new Set([
  'match',
  'imatch',
  'fts',
  'plfts',
  'phfts',
  'wfts',
  'cs',
  'cd',
  'ov',
  'sl',
  'sr',
  'nxr',
  'nxl',
  'adj',
  'isdistinct',
]);
export const RESERVED_PARAMS = new Set(['select', 'order', 'limit', 'offset', 'cursor', 'format', 'columns']);
const LOGIC_PARAMS = new Set(['or', 'and', 'not.or', 'not.and']);
const MAX_PARAMS = 60;

export interface SelectItem {
  /** The granted field. */
  field: string;
  /** The key in the answer (`alias:field`), the field's name when not renamed. */
  alias: string;
}
export interface OrderTerm {
  field: string;
  direction: 'asc' | 'desc';
  /** PostgreSQL's default (last for asc, first for desc) when not given. */
  nulls?: 'first' | 'last';
}

export interface ReadFields {
  fields: ReadonlyArray<FilterField & { mask: string }>;
  /** Granted fields the gateway no longer serves (re-graded to core): named, they are refused as such. */
  withheld?: readonly string[];
}

export interface ParsedRead {
  /** Every granted field when the query has no select or `select=*`. */
  select: SelectItem[];
  filter: Filter | null;
  order: OrderTerm[];
  limit?: number;
  offset?: number;
  cursor?: string;
  format?: string;
}

/** A PostgREST parse error: 400, PostgREST's PGRST100. */
export function grammar(param: string, zh: string, en: string, details: Record<string, unknown> = {}) {
  return new AppError('VALIDATION_FAILED', { field: param, pgrst: 'PGRST100', ...details }, { zh, en });
}

/** Splits on top-level commas, keeping parentheses and double-quoted text together. */
export function splitTop(text: string, param: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '\\' && i + 1 < text.length) {
        current += c + text[++i];
        continue;
      }
      if (c === '"') quoted = false;
      current += c;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === '(') depth++;
    else if (c === ')') {
      depth--;
      if (depth < 0) throw grammar(param, `${param}：括号不配对`, `${param}: unbalanced parentheses`);
    } else if (c === ',' && depth === 0) {
      parts.push(current);
      current = '';
      continue;
    }
    current += c;
  }
  if (depth !== 0 || quoted)
    throw grammar(param, `${param}：括号或引号不配对`, `${param}: unbalanced parentheses or quotes`);
  parts.push(current);
  return parts;
}

/**
 * The items of an `in.(…)` list: split on commas; an item that starts with a double quote runs to
 * the closing quote (backslash escapes), as PostgREST reads it. Parentheses inside are literal.
 */
function splitList(text: string): string[] {
  const items: string[] = [];
  let i = 0;
  while (i <= text.length) {
    if (text[i] === '"') {
      let j = i + 1;
      let value = '';
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\' && j + 1 < text.length) j++;
        value += text[j++];
      }
      if (j < text.length && (text[j + 1] === ',' || j + 1 === text.length)) {
        items.push(value);
        i = j + 2;
        continue;
      }
    }
    const comma = text.indexOf(',', i);
    const end = comma < 0 ? text.length : comma;
    items.push(text.slice(i, end).trim());
    i = end + 1;
  }
  return items;
}

function unquote(value: string): string {
  const trimmed = value.trim();
  if (trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"'))
    return trimmed.slice(1, -1).replace(/\\(.)/g, '$1');
  return value;
}

/** `[not.]op.value` for one field: a predicate (or its negation) with raw values. */
function operation(field: string, text: string, param: string, inTree: boolean): unknown {
  let rest = text;
  let negate = false;
  if (rest.startsWith('not.')) {
    negate = true;
    rest = rest.slice(4);
  }
  const dot = rest.indexOf('.');
  const op = dot < 0 ? rest : rest.slice(0, dot);
  if (dot < 0 || !/^[a-z]+(\((any|all)\))?$/.test(op)) {
    throw grammar(
      param,
      `${param}：过滤写法应为 运算符.值，如 eq.西湖区`,
      `${param}: write filters as operator.value, e.g. eq.西湖区`,
      { value: text.slice(0, 100) },
    );
  }
  if (!(READ_OPS as readonly string[]).includes(op)) {
    const known = UNSUPPORTED_OPS.has(op.replace(/\(.*$/, '')) || /\((any|all)\)$/.test(op);
    throw grammar(
      param,
      known ? `${param}：网关不支持运算符 ${op}` : `${param}：未知运算符 ${op}`,
      known ? `${param}: the gateway does not offer the operator ${op}` : `${param}: unknown operator ${op}`,
      { operator: op, supported: READ_OPS },
    );
  }
  let value: unknown = rest.slice(dot + 1);
  if (inTree) value = unquote(String(value));
  if (op === 'in') {
    const list = /^\(([\s\S]*)\)$/.exec(String(value));
    if (!list) throw grammar(param, `${param}：in 的写法为 in.(a,b)`, `${param}: write in.(a,b)`);
    value = list[1] === '' ? [] : splitList(list[1]!);
  }
  if (op === 'like' || op === 'ilike') value = String(value).replaceAll('*', '%');
  const predicate = { field, op, value };
  return negate ? { not: predicate } : predicate;
}

/** One element of a logic tree: `field.[not.]op.value`, `and(…)`, `or(…)`, `not.and(…)`, `not.or(…)`. */
function treeItem(text: string, param: string, depth: number): unknown {
  const item = text.trim();
  const logic = /^(not\.)?(and|or)\(([\s\S]*)\)$/.exec(item);
  if (logic) {
    const node = logicTree(logic[2] as 'and' | 'or', logic[3]!, param, depth + 1);
    return logic[1] ? { not: node } : node;
  }
  const dot = item.indexOf('.');
  if (dot <= 0)
    throw grammar(param, `${param}：条件写法应为 字段.运算符.值`, `${param}: write field.operator.value`, {
      value: item,
    });
  return operation(item.slice(0, dot), item.slice(dot + 1), param, true);
}

function logicTree(kind: 'and' | 'or', inner: string, param: string, depth: number): unknown {
  if (depth > 4) throw grammar(param, `${param}：嵌套过深`, `${param}: nested too deeply`);
  const items = splitTop(inner, param).filter((s) => s.trim() !== '');
  if (items.length === 0) throw grammar(param, `${param}：条件为空`, `${param}: no conditions`);
  const children = items.map((s) => treeItem(s, param, depth));
  return kind === 'and' ? { and: children } : { or: children };
}

function nonNegative(param: string, raw: string): number {
  if (!/^\d{1,9}$/.test(raw))
    throw grammar(param, `${param} 需要非负整数`, `${param} needs a non-negative integer`, { value: raw });
  return Number(raw);
}

/** The rule that makes filters, order and renaming safe: only fields served raw are compared. */
function rawField(fields: ReadFields['fields'], name: string, where: string): FilterField & { mask: string } {
  const field = fields.find((f) => f.name === name);
  if (!field || field.mask !== 'none') {
    throw new AppError('FILTER_ON_MASKED_FIELD', {
      field: where,
      name,
      reason: field ? 'masked' : 'not_granted',
      hint: `filter and order only on: ${fields
        .filter((f) => f.mask === 'none')
        .map((f) => f.name)
        .join(', ')}`,
    });
  }
  return field;
}

function parseSelect(
  text: string | undefined,
  fields: ReadFields['fields'],
  withheld: readonly string[] = [],
): SelectItem[] {
  const all = () => fields.map((f) => ({ field: f.name, alias: f.name }));
  if (text === undefined || text.trim() === '' || text.trim() === '*') return all();
  const out: SelectItem[] = [];
  for (const raw of splitTop(text, 'select')) {
    const item = raw.trim();
    if (item === '') continue;
    if (item === '*') {
      out.push(...all());
      continue;
    }
    const match = /^(?:([^:()"]+):)?([^:()"]+)$/.exec(item);
    if (!match) {
      throw grammar(
        'select',
        `select：网关只支持 字段 与 别名:字段（不支持类型转换、JSON 路径、嵌入与聚合）`,
        'select: the gateway takes field and alias:field only (no casts, JSON paths, embedding or aggregates)',
        { value: item },
      );
    }
    const name = match[2]!.trim();
    const alias = (match[1] ?? name).trim();
    if (withheld.includes(name)) throw new AppError('CORE_DATA_NOT_SERVED', { field: 'select', name });
    if (!fields.some((f) => f.name === name))
      throw new AppError('FIELD_NOT_GRANTED', { field: 'select', name });
    if (!alias) throw grammar('select', 'select：别名为空', 'select: empty alias');
    out.push({ field: name, alias });
  }
  if (out.length === 0) return all();
  return out;
}

function parseOrder(text: string | undefined, fields: ReadFields['fields']): OrderTerm[] {
  if (!text) return [];
  return splitTop(text, 'order')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((term) => {
      const [name, ...mods] = term.split('.');
      const out: OrderTerm = { field: name!, direction: 'asc' };
      for (const [i, mod] of mods.entries()) {
        if (i === 0 && (mod === 'asc' || mod === 'desc')) out.direction = mod;
        else if (i === mods.length - 1 && (mod === 'nullsfirst' || mod === 'nullslast'))
          out.nulls = mod === 'nullsfirst' ? 'first' : 'last';
        else
          throw grammar('order', `order：无法识别 ${term}`, `order: cannot read ${term}`, {
            value: term,
          });
      }
      rawField(fields, out.field, 'order');
      return out;
    });
}

/**
 * Reads the query parameters (in order, repeated names kept) under the granted fields. Throws 400
 * (PGRST100-like) on grammar, 403 FIELD_NOT_GRANTED / FILTER_ON_MASKED_FIELD on fields.
 */
export function parseRead(
  params: ReadonlyArray<[string, string]>,
  { fields, withheld }: ReadFields,
): ParsedRead {
  if (params.length > MAX_PARAMS)
    throw grammar('query', '查询参数过多', 'too many query parameters', { max: MAX_PARAMS });
  const single = new Map<string, string>();
  const terms: Array<{ term: unknown; param: string }> = [];
  for (const [name, value] of params) {
    if (RESERVED_PARAMS.has(name)) {
      if (single.has(name)) throw grammar(name, `${name} 只能出现一次`, `${name} may appear once`, { value });
      single.set(name, value);
      continue;
    }
    if (LOGIC_PARAMS.has(name)) {
      const inner = /^\(([\s\S]*)\)$/.exec(value);
      if (!inner)
        throw grammar(name, `${name} 的写法为 ${name}=(条件,…)`, `write ${name}=(condition,…)`, { value });
      const negate = name.startsWith('not.');
      const tree = logicTree(
        negate ? (name.slice(4) as 'and' | 'or') : (name as 'and' | 'or'),
        inner[1]!,
        name,
        0,
      );
      terms.push({ term: negate ? { not: tree } : tree, param: name });
      continue;
    }
    if (name.includes('.') || name.includes('->')) {
      throw grammar(
        name,
        `${name}：网关不支持嵌入资源或 JSON 路径`,
        `${name}: the gateway offers no embedded resources or JSON paths`,
      );
    }
    terms.push({ term: operation(name, value, name, false), param: name });
  }
  // Fields first (403 names the masked field), then values (400 names the parameter).
  const raw = fields.filter((f) => f.mask === 'none');
  const checked = terms.map(({ term, param }) => {
    for (const name of fieldsOf(term as Filter)) rawField(fields, name, param);
    return checkFilter(term, raw, param);
  });
  const read: ParsedRead = {
    select: parseSelect(single.get('select'), fields, withheld),
    filter: checked.length === 0 ? null : checked.length === 1 ? checked[0]! : { and: checked },
    order: parseOrder(single.get('order'), fields),
  };
  const limit = single.get('limit');
  if (limit !== undefined) read.limit = nonNegative('limit', limit);
  const offset = single.get('offset');
  if (offset !== undefined) read.offset = nonNegative('offset', offset);
  const cursor = single.get('cursor');
  if (cursor !== undefined) read.cursor = cursor;
  const format = single.get('format');
  if (format !== undefined) read.format = format;
  return read;
}

/** `Range: 0-9` (with `Range-Unit: items` or none): the first row and the last (inclusive, optional). */
export function parseRange(
  range: string | undefined,
  unit: string | undefined,
): { from: number; to?: number } | null {
  if (!range) return null;
  if (unit && unit.trim().toLowerCase() !== 'items') return null;
  const match = /^\s*(?:items=)?(\d{1,9})-(\d{0,9})\s*$/.exec(range);
  if (!match) return null;
  const from = Number(match[1]);
  if (match[2] === '') return { from };
  const to = Number(match[2]);
  if (to < from) throw new AppError('RANGE_NOT_SATISFIABLE', { range, pgrst: 'PGRST103' });
  return { from, to };
}

/**
 * The window a request asks for: the intersection of `offset`/`limit` and the `Range` header,
 * as PostgREST does.
 */
export function requestedWindow(
  read: Pick<ParsedRead, 'limit' | 'offset'>,
  range: { from: number; to?: number } | null,
): { offset: number; limit?: number } {
  const qFrom = read.offset ?? 0;
  const qTo = read.limit === undefined ? undefined : qFrom + read.limit - 1;
  const hFrom = range?.from ?? 0;
  const hTo = range?.to;
  const from = Math.max(qFrom, hFrom);
  const tos = [qTo, hTo].filter((t): t is number => t !== undefined);
  if (tos.length === 0) return { offset: from };
  const to = Math.min(...tos);
  return { offset: from, limit: Math.max(0, to - from + 1) };
}

/** `Prefer: count=exact|planned|estimated` (other preferences are ignored, as PostgREST does). */
export function preferredCount(prefer: string | undefined): 'exact' | 'planned' | 'estimated' | null {
  const match = /(?:^|[,;\s])count=(exact|planned|estimated)\b/.exec(prefer ?? '');
  return (match?.[1] as 'exact' | 'planned' | 'estimated' | undefined) ?? null;
}

/** PostgREST's Content-Range: `first-last/total` (`*` for an empty page or an unknown total). */
export function contentRange(offset: number, served: number, total: number | null): string {
  const range = served > 0 && total !== 0 ? `${offset}-${offset + served - 1}` : '*';
  return `${range}/${total ?? '*'}`;
}

/** PostgREST's status for a read: 206 when a known total is more than was served, 416 past the end. */
export function rangeStatus(offset: number, served: number, total: number | null): 200 | 206 | 416 {
  if (total === null) return 200;
  if (offset > total) return 416;
  if (served < total) return 206;
  return 200;
}
