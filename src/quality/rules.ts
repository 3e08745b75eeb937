import { type RawBuilder, sql } from 'kysely';
import { ROW_ORDINAL } from '../core/datasets.ts';
import type { DataType } from '../core/tables.ts';
import type { Dimension, Rule } from './schema.ts';

/**
 * Quality rules compiled to SQL predicates over one version's table. A row rule is two
 * predicates: `applies` (the rows the rule judges: conformance and accuracy skip empty values,
 * which completeness judges) and `fails`. All row rules of a version are counted in ONE scan
 * (`count(*) FILTER (WHERE …)` per rule); only failing rules are asked for their first row
 * numbers. Values never leave PostgreSQL except the row numbers (the ordinal column).
 */

export const DIMENSION_OF: Record<Rule['kind'], Dimension> = {
  required: 'completeness',
  null_rate: 'completeness',
  pattern: 'conformance',
  enum: 'conformance',
  region_code: 'conformance',
  detector: 'conformance',
  range: 'accuracy',
  check_digit: 'accuracy',
  id_birth_date: 'accuracy',
  compare: 'accuracy',
  unique: 'consistency',
  reference: 'consistency',
  timeliness: 'timeliness',
};

export type IdentifiedRule = Rule & { id: string; dimension: Dimension };

export function ruleFields(rule: Rule): string[] {
  switch (rule.kind) {
    case 'unique':
      return rule.fields;
    case 'id_birth_date':
      return [rule.field, rule.birthField];
    case 'compare':
      return [rule.field, rule.otherField];
    case 'timeliness':
      return rule.field ? [rule.field] : [];
    default:
      return [rule.field];
  }
}

/** A stable id for a rule without one: kind and fields (`unique:a+b`), numbered when repeated. */
export function identify(rules: readonly Rule[]): IdentifiedRule[] {
  const used = new Set<string>();
  return rules.map((rule) => {
    let id = rule.id ?? `${rule.kind}:${ruleFields(rule).join('+') || 'version'}`;
    for (let n = 2; used.has(id); n++) id = `${rule.id ?? `${rule.kind}:${ruleFields(rule).join('+')}`}#${n}`;
    used.add(id);
    return { ...rule, id, dimension: DIMENSION_OF[rule.kind] };
  });
}

export const SQL_TYPES: Record<DataType, string> = {
  integer: 'bigint',
  decimal: 'numeric',
  boolean: 'boolean',
  date: 'date',
  timestamp: 'timestamptz',
  text: 'text',
};

// Shapes checked by `detector` rules (conformance). Check characters are accuracy (check_digit).
const DETECTOR_PATTERNS: Record<string, string> = {
  cn_resident_id: '^([0-9]{17}[0-9Xx]|[0-9]{15})$',
  cn_uscc: '^[0-9A-HJ-NPQRTUWXY]{18}$',
  // The public mobile segments of standards/phone.ts, with an optional +86/0086/86 prefix.
  cn_mobile: '^(\\+?86|0086)?1(3[0-9]|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8[0-9]|9[0-35-9])[0-9]{8}$',
  // The dot-atom shape without bounded repetitions: PostgreSQL's regex engine pays dearly for
  // {m,n} (the RFC 5321 pattern of rules/validators.ts costs ~50 µs a value there; this ~2 µs).
  email:
    "^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\\.[A-Za-z]+$",
  ipv4: '^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$',
};

const RESIDENT_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const USCC_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

const ref = (name: string) => sql.ref(name);
/** The value as trimmed text; empty text counts as empty. */
const text = (name: string) => sql`btrim(${ref(name)}::text)`;
const present = (name: string) => sql<boolean>`(${ref(name)} IS NOT NULL AND ${text(name)} <> '')`;

/** Every character of `v` is an ASCII digit (or one of `also`): one C call, no regular expression. */
const onlyDigits = (v: RawBuilder<unknown>) => sql<boolean>`translate(${v}, '0123456789', '') = ''`;

/**
 * The weighted sum of GB 11643 modulo 11, read three digits at a time: a chunk's contribution
 * (its digits times their weights, mod 11) is looked up in a constant array of 1,000 entries.
 * Six lookups instead of seventeen digit casts and products: the check character was ~60% of a
 * version's evaluation (PostgreSQL evaluates each occurrence of an expression anew).
 */
const RESIDENT_CHUNKS = [1, 4, 7, 10, 13, 16].map((start) => {
  const length = Math.min(3, 18 - start);
  const table = Array.from({ length: 10 ** length }, (_, value) => {
    let sum = 0;
    const digits = String(value).padStart(length, '0');
    for (let j = 0; j < length; j++) sum += Number(digits[j]) * RESIDENT_WEIGHTS[start - 1 + j]!;
    return sum % 11;
  });
  return { start, length, table: sql.raw(`ARRAY[${table.join(',')}]::int[]`) };
});

/**
 * GB 11643 check character computed in SQL over a trimmed value `v` (15 digits pass: they have
 * none). A last character other than a digit or X never equals the computed one, so it fails
 * without a test of its own.
 */
function residentCheckFails(v: RawBuilder<unknown>): RawBuilder<boolean> {
  const terms = RESIDENT_CHUNKS.map(
    (c) => sql`(${c.table})[substr(${v}, ${sql.lit(c.start)}, ${sql.lit(c.length)})::int + 1]`,
  );
  return sql<boolean>`CASE WHEN length(${v}) = 15 AND ${onlyDigits(v)} THEN false
    WHEN length(${v}) <> 18 OR NOT ${onlyDigits(sql`left(${v}, 17)`)} THEN true
    ELSE substr('10X98765432', ((${sql.join(terms, sql` + `)}) % 11) + 1, 1) <> upper(right(${v}, 1)) END`;
}

/** GB 32100 check character in SQL. */
function usccCheckFails(v: RawBuilder<unknown>): RawBuilder<boolean> {
  const alphabet = sql.lit(USCC_ALPHABET);
  const terms = USCC_WEIGHTS.map(
    (w, i) => sql`(strpos(${alphabet}, substr(${v}, ${sql.lit(i + 1)}, 1)) - 1) * ${sql.lit(w)}`,
  );
  return sql<boolean>`CASE WHEN ${v} !~ '^[0-9A-HJ-NPQRTUWXY]{18}$' THEN true
    ELSE substr(${alphabet}, ((31 - ((${sql.join(terms, sql` + `)}) % 31)) % 31) + 1, 1) <> substr(${v}, 18, 1) END`;
}

export interface RowPredicate {
  rule: IdentifiedRule;
  applies: RawBuilder<boolean>;
  fails: RawBuilder<boolean>;
}

export interface CompileContext {
  types: ReadonlyMap<string, DataType>;
  /** GB/T 2260 codes (current divisions), bound as one array parameter. */
  regionCodes: () => string[];
}

function regionArray(codes: string[]): RawBuilder<unknown> {
  if (!codes.every((code) => /^\d{6}$/.test(code))) throw new Error('region codes must be six digits');
  return sql.raw(`ARRAY['${codes.join("','")}']::text[]`);
}

function bound(value: number | string, type: DataType): RawBuilder<unknown> {
  return sql`CAST(${String(value)} AS ${sql.raw(SQL_TYPES[type])})`;
}

/** The row predicates of a row rule; null for rules judged otherwise (unique, reference, timeliness). */
export function compileRowRule(rule: IdentifiedRule, c: CompileContext): RowPredicate | null {
  const all = sql<boolean>`true`;
  switch (rule.kind) {
    case 'required':
      return { rule, applies: all, fails: sql<boolean>`NOT ${present(rule.field)}` };
    case 'null_rate':
      return { rule, applies: all, fails: sql<boolean>`NOT ${present(rule.field)}` };
    case 'pattern':
      return {
        rule,
        applies: present(rule.field),
        fails: sql<boolean>`${text(rule.field)} !~ ${rule.pattern}`,
      };
    case 'enum':
      return {
        rule,
        applies: present(rule.field),
        fails: sql<boolean>`NOT (${text(rule.field)} = ANY(${rule.values}::text[]))`,
      };
    case 'region_code':
      return {
        rule,
        applies: present(rule.field),
        // Inlined as a constant (six-digit codes from our own table, checked again here): only a
        // constant array lets PostgreSQL hash `= ANY`; bound as a parameter it compared every
        // value with all ~3,000 codes (minutes for 200,000 rows on a busy server).
        fails: sql<boolean>`NOT (${text(rule.field)} = ANY(${regionArray(c.regionCodes())}))`,
      };
    case 'detector':
      return {
        rule,
        applies: present(rule.field),
        fails: sql<boolean>`${text(rule.field)} !~ ${DETECTOR_PATTERNS[rule.detector]!}`,
      };
    case 'range': {
      const type = c.types.get(rule.field) ?? 'text';
      const parts: RawBuilder<boolean>[] = [];
      if (rule.min !== undefined) parts.push(sql<boolean>`${ref(rule.field)} < ${bound(rule.min, type)}`);
      if (rule.max !== undefined) parts.push(sql<boolean>`${ref(rule.field)} > ${bound(rule.max, type)}`);
      return {
        rule,
        applies: sql<boolean>`${ref(rule.field)} IS NOT NULL`,
        fails: parts.length > 0 ? sql<boolean>`(${sql.join(parts, sql` OR `)})` : sql<boolean>`false`,
      };
    }
    case 'check_digit':
      return {
        rule,
        applies: present(rule.field),
        fails:
          rule.standard === 'cn_resident_id'
            ? residentCheckFails(text(rule.field))
            : usccCheckFails(sql`upper(${text(rule.field)})`),
      };
    case 'id_birth_date': {
      const id = text(rule.field);
      const birthType = c.types.get(rule.birthField) ?? 'text';
      // The birth date as YYYYMMDD: formatted from a date, or the digits of a text date.
      const birth =
        birthType === 'date' || birthType === 'timestamp'
          ? sql`to_char(${ref(rule.birthField)}, 'YYYYMMDD')`
          : sql`regexp_replace(${text(rule.birthField)}, '[^0-9]', '', 'g')`;
      // 15-character numbers carry the year without its century (19xx).
      const inside = sql`CASE WHEN length(${id}) = 15 THEN '19' || substr(${id}, 7, 6) ELSE substr(${id}, 7, 8) END`;
      return {
        rule,
        applies: sql<boolean>`(${present(rule.field)} AND ${ref(rule.birthField)} IS NOT NULL AND length(${id}) IN (15, 18))`,
        fails: sql<boolean>`${inside} IS DISTINCT FROM ${birth}`,
      };
    }
    case 'compare':
      return {
        rule,
        applies: sql<boolean>`(${ref(rule.field)} IS NOT NULL AND ${ref(rule.otherField)} IS NOT NULL)`,
        fails: sql<boolean>`NOT (${ref(rule.field)} ${sql.raw(rule.op)} ${ref(rule.otherField)})`,
      };
    default:
      return null;
  }
}

/** Rows whose key repeats one already seen (the first occurrence passes): count and first row numbers. */
export function duplicatesQuery(table: string, fields: string[], limit: number) {
  const key = sql.join(fields.map(ref));
  const notNull = sql.join(
    fields.map((f) => sql`${ref(f)} IS NOT NULL`),
    sql` AND `,
  );
  return sql<{ total: string | number; row: string | number }>`
    SELECT count(*) OVER () AS total, d.${ref(ROW_ORDINAL)} AS row FROM (
      SELECT ${ref(ROW_ORDINAL)}, row_number() OVER (PARTITION BY ${key} ORDER BY ${ref(ROW_ORDINAL)}) AS n
      FROM ${sql.table(table)} WHERE ${notNull}
    ) d WHERE d.n > 1 ORDER BY d.${ref(ROW_ORDINAL)} LIMIT ${limit}`;
}

/** Rows whose value is not found in the referenced table's field. */
export function referenceQuery(
  table: string,
  field: string,
  target: string,
  targetField: string,
  limit: number,
) {
  return sql<{ total: string | number; row: string | number }>`
    SELECT count(*) OVER () AS total, t.${ref(ROW_ORDINAL)} AS row FROM ${sql.table(table)} t
    WHERE t.${ref(field)} IS NOT NULL AND btrim(t.${ref(field)}::text) <> ''
      AND NOT EXISTS (SELECT 1 FROM ${sql.table(target)} r WHERE btrim(r.${ref(targetField)}::text) = btrim(t.${ref(field)}::text))
    ORDER BY t.${ref(ROW_ORDINAL)} LIMIT ${limit}`;
}
