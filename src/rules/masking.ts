import { createHmac } from 'node:crypto';
import { type RawBuilder, sql } from 'kysely';
import { COMPOUND_SURNAMES } from '../standards/surnames.ts';
import { redactSpans, SPAN_DEFINITIONS, SPAN_GUARD, sqlReplacement } from './entities.ts';

/**
 * Masking rules. Every rule exists twice: a JavaScript function for values already in memory
 * (exports, previews, evidence samples) and a SQL expression the gateway pushes into the query,
 * so raw values never leave the database. The two forms return the same string for every
 * text input, which the tests check against a real PostgreSQL; to make that possible the rules
 * work on the value as text (SQL casts the column to text first) and use only operations whose
 * semantics are identical in both languages: code-point lengths, ASCII-only regular
 * expressions, and exact decimal rounding.
 *
 * A value that does not have the shape a rule expects is replaced by `***` rather than passed
 * through: a wrongly typed column must not leak.
 *
 * Rule ids: `none`, `null`, `keep_first_last(m,n)`, `mobile`, `landline`, `name_surname`,
 * `bank_last4`, `year_only`, `district_only`, `email`, `plate`, `ip_prefix`, `round_coord`,
 * `pseudonym`, `redact_spans` (free text: each entity span replaced, see entities.ts).
 */
export const MASK_FALLBACK = '***';
/** Hex characters kept from the HMAC-SM3 digest: 128 bits, ample against collisions. */
export const PSEUDONYM_HEX_LENGTH = 32;

export type MaskFamily =
  | 'none'
  | 'null'
  | 'keep_first_last'
  | 'mobile'
  | 'landline'
  | 'name_surname'
  | 'bank_last4'
  | 'year_only'
  | 'district_only'
  | 'email'
  | 'plate'
  | 'ip_prefix'
  | 'round_coord'
  | 'pseudonym'
  | 'redact_spans';

export interface MaskRule {
  id: string;
  family: MaskFamily;
  args: readonly number[];
}

export interface MaskContext {
  /** Per-contract pseudonymisation key (bytes or hex), e.g. from {@link derivePseudonymKey}. */
  pseudonymKey?: Uint8Array | string;
}

/**
 * What a rule's output can reveal, the basis of the strictness order: `everything` (none) <
 * partial masks and generalisations < `linkable` (pseudonym: no content, only equality within
 * one contract) < `nothing` (null). Partial masks that keep leading and trailing characters are
 * compared by how many they keep; other rules on the same level compare only with themselves.
 */
export type Reveal =
  | { kind: 'everything' }
  | { kind: 'affix'; first: number; last: number }
  | { kind: 'generalised'; family: MaskFamily }
  | { kind: 'linkable' }
  | { kind: 'nothing' };

type Sql = RawBuilder<unknown>;

export interface MaskFamilySpec {
  family: MaskFamily;
  arity: number;
  /** In words; a family with parameters says them (保留前6位和后4位, never the bare template). */
  description: { zh: string; en: string } | ((args: readonly number[]) => { zh: string; en: string });
  reveal(args: readonly number[]): Reveal;
  /** Applied to non-null text; null always maps to null. */
  js(value: string, args: readonly number[], context: MaskContext): string | null;
  /** `t` is the column already cast to text; the result is wrapped in a null guard. */
  sql(t: Sql, args: readonly number[], context: MaskContext): Sql;
}

// Patterns shared verbatim by both forms. They stay within the subset where JavaScript (with
// the u flag) and PostgreSQL advanced regular expressions agree: bracket classes with explicit
// ASCII ranges, no `.`, no `\d`/`\s`, and only patterns whose match is unique, except for
// DISTRICT, whose JS form emulates PostgreSQL's longest-match rule (see districtOnly).
const NON_DIGIT = '[^0-9]';
const MOBILE_DIGITS = '^(86|0086)?1[0-9]{10}$';
const INTL_PREFIX_DIGITS = '^(0086|86)[1-9][0-9]{8,10}$';
const INTL_PREFIX = '^(0086|86)';
const LANDLINE_SHORT = '^0(10|2[0-9])[0-9]{8}$';
const LANDLINE_LONG = '^0[3-9][0-9]{2}[0-9]{7,8}$';
const YEAR_START = '^(18|19|20)[0-9]{2}';
const EMAIL_SHAPE = '^[^@]+@[^@]+$';
const PLATE_SEPARATORS = '[·• -]';
const IPV4_SHAPE = '^[0-9]{1,3}([.][0-9]{1,3}){3}$';
const IPV6_SHAPE = '^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$';
const COORD_SINGLE = '^([-+]?[0-9]{1,3}([.][0-9]+)?)$';
const COORD_PAIR = '^([-+]?[0-9]{1,3}([.][0-9]+)?) *[,，;] *([-+]?[0-9]{1,3}([.][0-9]+)?)$';

// Address generalisation: [province] [prefecture] county-level unit. Name characters exclude
// the unit markers, digits and road/house words, so the match cannot run past the district into
// the street part; without a county-level unit it stops at the prefecture-level city.
const NAME = '[^省市区县旗盟0-9路街道巷弄号栋幢室楼村镇乡组]';
const DISTRICT = [
  `(${NAME}{2,7}省|${NAME}{2,6}自治区|北京市|天津市|上海市|重庆市)?`,
  `(${NAME}{1,10}(市|自治州|地区|盟))?`,
  `${NAME}{1,10}(区|县|市|旗)`,
].join('');
const DISTRICT_MAX_CHARS = 40;
const DISTRICT_FULL = new RegExp(`^(?:${DISTRICT})$`, 'u');

const COMPOUND_LIST = COMPOUND_SURNAMES.join(',');

const re = (source: string, flags = '') => new RegExp(source, `u${flags}`);
const RE = {
  nonDigit: re(NON_DIGIT, 'g'),
  mobile: re(MOBILE_DIGITS),
  intlDigits: re(INTL_PREFIX_DIGITS),
  intl: re(INTL_PREFIX),
  landShort: re(LANDLINE_SHORT),
  landLong: re(LANDLINE_LONG),
  year: re(YEAR_START),
  email: re(EMAIL_SHAPE),
  plateSep: re(PLATE_SEPARATORS, 'g'),
  ipv4: re(IPV4_SHAPE),
  ipv6: re(IPV6_SHAPE),
  coordSingle: re(COORD_SINGLE),
  coordPair: re(COORD_PAIR),
};

const COMPOUND = new Set(COMPOUND_SURNAMES);
const stars = (n: number) => '*'.repeat(Math.max(0, n));
const chars = (s: string) => Array.from(s);
/** Text parameter: typed explicitly so PostgreSQL never has to guess between overloads. */
const txt = (value: string) => sql`${value}::text`;
const int = (value: number) => sql`${value}::int`;
const len = (t: Sql) => sql`char_length(${t})`;
const digitsSql = (t: Sql) => sql`regexp_replace(${t}, ${txt(NON_DIGIT)}, '', 'g')`;

function keepFirstLastJs(value: string, first: number, last: number): string {
  const cs = chars(value);
  if (cs.length <= first + last) return stars(cs.length);
  return cs.slice(0, first).join('') + stars(cs.length - first - last) + cs.slice(cs.length - last).join('');
}

function keepFirstLastSql(t: Sql, first: number, last: number): Sql {
  return sql`CASE WHEN ${len(t)} > ${int(first + last)}
    THEN left(${t}, ${int(first)}) || repeat('*', ${len(t)} - ${int(first + last)}) || right(${t}, ${int(last)})
    ELSE repeat('*', ${len(t)}) END`;
}

function landlineDigitsJs(value: string): string {
  const d = value.replace(RE.nonDigit, '');
  return RE.intlDigits.test(d) ? `0${d.replace(RE.intl, '')}` : d;
}

function landlineDigitsSql(t: Sql): Sql {
  const d = digitsSql(t);
  return sql`(CASE WHEN ${d} ~ ${txt(INTL_PREFIX_DIGITS)}
    THEN '0' || regexp_replace(${d}, ${txt(INTL_PREFIX)}, '') ELSE ${d} END)`;
}

/** PostgreSQL's split_part: the n-th (1-based) field, '' past the end. */
function splitPart(s: string, sep: string, n: number): string {
  return s.split(sep)[n - 1] ?? '';
}

function ipv6First3Js(value: string): string {
  const lo = value.toLowerCase();
  const compressed = lo.includes('::');
  let full = lo;
  if (compressed) {
    const head = splitPart(lo, '::', 1);
    const tail = splitPart(lo, '::', 2);
    const groupsIn = (s: string) => (s === '' ? 0 : s.split(':').length);
    // An embedded dotted IPv4 tail stands for two groups.
    const a = groupsIn(head);
    const b = groupsIn(tail) + (tail !== '' && tail.includes('.') ? 1 : 0);
    const zeros = '0:'.repeat(Math.max(8 - a - b, 0)).replace(/:$/, '');
    full = [head, zeros, tail].filter((p) => p !== '').join(':');
  }
  const group = (k: number) => splitPart(full, ':', k).replace(/^0+/, '') || '0';
  return `${group(1)}:${group(2)}:${group(3)}::`;
}

function ipv6First3Sql(t: Sql): Sql {
  const lo = sql`lower(${t})`;
  const compressed = sql`strpos(${lo}, '::') > 0`;
  const head = sql`split_part(${lo}, '::', 1)`;
  const tail = sql`split_part(${lo}, '::', 2)`;
  const colons = (s: Sql) => sql`(char_length(${s}) - char_length(replace(${s}, ':', '')))`;
  const a = sql`(CASE WHEN ${head} = '' THEN 0 ELSE ${colons(head)} + 1 END)`;
  const b = sql`(CASE WHEN ${tail} = '' THEN 0 ELSE ${colons(tail)} + 1
    + (CASE WHEN strpos(${tail}, '.') > 0 THEN 1 ELSE 0 END) END)`;
  const zeros = sql`rtrim(repeat('0:', greatest(8 - ${a} - ${b}, 0)), ':')`;
  const full = sql`(CASE WHEN ${compressed}
    THEN concat_ws(':', nullif(${head}, ''), nullif(${zeros}, ''), nullif(${tail}, '')) ELSE ${lo} END)`;
  const group = (k: number) => sql`coalesce(nullif(ltrim(split_part(${full}, ':', ${k}), '0'), ''), '0')`;
  return sql`${group(1)} || ':' || ${group(2)} || ':' || ${group(3)} || '::'`;
}

/** numeric round(x, 2) of PostgreSQL: exact decimal, half away from zero, no negative zero. */
export function roundDecimal2(text: string): string {
  const m = /^([-+]?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw new Error(`not a decimal: ${text}`);
  const frac = (m[3] ?? '').padEnd(3, '0');
  let scaled = BigInt(m[2]! + frac.slice(0, 2));
  if (frac[2]! >= '5') scaled += 1n;
  const negative = m[1] === '-' && scaled !== 0n;
  const whole = scaled / 100n;
  const cents = String(scaled % 100n).padStart(2, '0');
  return `${negative ? '-' : ''}${whole}.${cents}`;
}

function districtOnlyJs(value: string): string {
  // PostgreSQL returns the longest match of a greedy expression; JavaScript returns the first
  // by backtracking priority. Trying prefixes from the longest down reproduces PostgreSQL.
  const cs = chars(value);
  for (let k = Math.min(cs.length, DISTRICT_MAX_CHARS); k > 0; k--) {
    const prefix = cs.slice(0, k).join('');
    if (DISTRICT_FULL.test(prefix)) return prefix;
  }
  return MASK_FALLBACK;
}

function pseudonymKeyHex(context: MaskContext): string {
  const key = context.pseudonymKey;
  if (key === undefined) throw new Error('the pseudonym rule needs a per-contract key');
  const hex = typeof key === 'string' ? key.toLowerCase() : Buffer.from(key).toString('hex');
  if (!/^(?:[0-9a-f]{2}){16,}$/.test(hex)) throw new Error('pseudonym key must be at least 16 bytes');
  return hex;
}

/**
 * The per-contract pseudonymisation key: HMAC-SM3 of the contract id under the deployment's
 * master secret, so the same person gets the same pseudonym throughout one contract and
 * unrelated pseudonyms in another, and no per-contract key has to be stored.
 */
export function derivePseudonymKey(masterKey: Uint8Array | string, contractId: string): Buffer {
  return createHmac('sm3', masterKey).update(`shutong/pseudonym/v1/${contractId}`, 'utf8').digest();
}

/**
 * A statement that tells whether the database can compute the SQL pseudonym: it needs the
 * pgcrypto extension and an OpenSSL build with SM3 (OpenSSL 1.1.1 and later, unless a
 * distribution disabled it). Run it at startup and compare its `h` with `expected`.
 */
export function pseudonymSqlProbe(): { query: RawBuilder<{ h: string }>; expected: string } {
  const key = '00'.repeat(16);
  return {
    query: sql<{
      h: string;
    }>`SELECT ${maskSqlExpression('pseudonym', sql`${'probe'}::text`, { pseudonymKey: key })} AS h`,
    expected: applyMask('pseudonym', 'probe', { pseudonymKey: key })!,
  };
}

const affix = (first: number, last: number) => (): Reveal => ({ kind: 'affix', first, last });
const generalised = (family: MaskFamily) => (): Reveal => ({ kind: 'generalised', family });

// A pattern no text matches, which PostgreSQL rejects without scanning: what a definition runs
// when the text holds none of the strings it needs.
const NO_MATCH = '[^\\s\\S]';

function redactSpansSql(t: Sql): Sql {
  let out: Sql = t;
  for (const d of SPAN_DEFINITIONS) {
    // The pattern is chosen per row: a definition whose needed strings are all absent from the
    // text (strpos, no regular expression) runs the empty pattern. The nesting cannot be a CASE
    // around each call instead: every level would copy the chain below it.
    const pattern = d.needs
      ? sql`CASE WHEN ${sql.join(
          d.needs.map((n) => sql`strpos(${t}, ${txt(n)}) > 0`),
          sql` OR `,
        )} THEN ${txt(d.pattern)} ELSE ${txt(NO_MATCH)} END`
      : txt(d.pattern);
    out = sql`regexp_replace(${out}, ${pattern}, ${txt(sqlReplacement(d))}, 'g')`;
  }
  // A text no span can match is served as it is, without running the chain: the guard is a
  // necessary condition of every pattern, so the result is the same.
  return sql`CASE WHEN ${t} ~ ${txt(SPAN_GUARD)} THEN ${out} ELSE ${t} END`;
}

/** The declared table of masking rules. */
export const MASK_FAMILIES: readonly MaskFamilySpec[] = [
  {
    family: 'none',
    arity: 0,
    description: { zh: '不脱敏', en: 'no masking' },
    reveal: () => ({ kind: 'everything' }),
    js: (v) => v,
    sql: (t) => t,
  },
  {
    family: 'null',
    arity: 0,
    description: { zh: '置空（删除）', en: 'suppression: always null' },
    reveal: () => ({ kind: 'nothing' }),
    js: () => null,
    sql: () => sql`CAST(NULL AS text)`,
  },
  {
    family: 'keep_first_last',
    arity: 2,
    description: ([m, n]) => ({
      zh: `保留前${m}位和后${n}位`,
      en: `keep the first ${m} and last ${n} characters`,
    }),
    reveal: ([m, n]) => ({ kind: 'affix', first: m!, last: n! }),
    js: (v, [m, n]) => keepFirstLastJs(v, m!, n!),
    sql: (t, [m, n]) => keepFirstLastSql(t, m!, n!),
  },
  {
    family: 'mobile',
    arity: 0,
    description: { zh: '手机号保留前3后4位', en: 'mobile: keep the first 3 and last 4 digits' },
    reveal: affix(3, 4),
    js: (v) => {
      const d = v.replace(RE.nonDigit, '');
      return RE.mobile.test(d) ? `${d.slice(-11, -8)}****${d.slice(-4)}` : MASK_FALLBACK;
    },
    sql: (t) => {
      const d = digitsSql(t);
      return sql`CASE WHEN ${d} ~ ${txt(MOBILE_DIGITS)}
        THEN left(right(${d}, 11), 3) || '****' || right(${d}, 4) ELSE ${txt(MASK_FALLBACK)} END`;
    },
  },
  {
    family: 'landline',
    arity: 0,
    description: { zh: '固话保留区号和后2位', en: 'landline: keep the area code and the last 2 digits' },
    reveal: affix(4, 2),
    js: (v) => {
      const d = landlineDigitsJs(v);
      if (RE.landShort.test(d)) return `${d.slice(0, 3)}-******${d.slice(-2)}`;
      if (RE.landLong.test(d)) return `${d.slice(0, 4)}-${stars(d.length - 6)}${d.slice(-2)}`;
      return MASK_FALLBACK;
    },
    sql: (t) => {
      const d = landlineDigitsSql(t);
      return sql`CASE WHEN ${d} ~ ${txt(LANDLINE_SHORT)} THEN left(${d}, 3) || '-******' || right(${d}, 2)
        WHEN ${d} ~ ${txt(LANDLINE_LONG)} THEN left(${d}, 4) || '-' || repeat('*', ${len(d)} - 6) || right(${d}, 2)
        ELSE ${txt(MASK_FALLBACK)} END`;
    },
  },
  {
    family: 'name_surname',
    arity: 0,
    description: { zh: '姓名保留姓氏', en: 'name: keep the surname (one or two characters)' },
    reveal: affix(2, 0),
    js: (v) => {
      const cs = chars(v);
      if (cs.length <= 1) return stars(cs.length);
      const keep = cs.length >= 3 && COMPOUND.has(cs[0]! + cs[1]!) ? 2 : 1;
      return cs.slice(0, keep).join('') + stars(cs.length - keep);
    },
    sql: (t) => sql`CASE WHEN ${len(t)} <= 1 THEN repeat('*', ${len(t)})
      WHEN ${len(t)} >= 3 AND left(${t}, 2) = ANY(string_to_array(${txt(COMPOUND_LIST)}, ','))
        THEN left(${t}, 2) || repeat('*', ${len(t)} - 2)
      ELSE left(${t}, 1) || repeat('*', ${len(t)} - 1) END`,
  },
  {
    family: 'bank_last4',
    arity: 0,
    description: { zh: '银行卡保留后4位', en: 'bank card: keep the last 4 digits' },
    reveal: affix(0, 4),
    js: (v) => {
      const d = v.replace(RE.nonDigit, '');
      return d.length >= 8 ? stars(d.length - 4) + d.slice(-4) : MASK_FALLBACK;
    },
    sql: (t) => {
      const d = digitsSql(t);
      return sql`CASE WHEN ${len(d)} >= 8 THEN repeat('*', ${len(d)} - 4) || right(${d}, 4)
        ELSE ${txt(MASK_FALLBACK)} END`;
    },
  },
  {
    family: 'year_only',
    arity: 0,
    description: { zh: '日期泛化到年', en: 'date generalised to the year' },
    reveal: generalised('year_only'),
    js: (v) => (RE.year.test(v) ? v.slice(0, 4) : MASK_FALLBACK),
    sql: (t) => sql`CASE WHEN ${t} ~ ${txt(YEAR_START)} THEN left(${t}, 4) ELSE ${txt(MASK_FALLBACK)} END`,
  },
  {
    family: 'district_only',
    arity: 0,
    description: { zh: '地址泛化到区县', en: 'address generalised to the district or county' },
    reveal: generalised('district_only'),
    js: districtOnlyJs,
    sql: (t) => sql`coalesce(substring(${t} from ${txt(`^(${DISTRICT})`)}), ${txt(MASK_FALLBACK)})`,
  },
  {
    family: 'email',
    arity: 0,
    description: { zh: '邮箱保留首字符和域名', en: 'email: keep the first character and the domain' },
    reveal: generalised('email'),
    js: (v) => (RE.email.test(v) ? `${chars(v)[0]}***@${v.slice(v.indexOf('@') + 1)}` : MASK_FALLBACK),
    sql: (
      t,
    ) => sql`CASE WHEN ${t} ~ ${txt(EMAIL_SHAPE)} THEN left(${t}, 1) || '***@' || split_part(${t}, '@', 2)
      ELSE ${txt(MASK_FALLBACK)} END`,
  },
  {
    family: 'plate',
    arity: 0,
    description: {
      zh: '车牌保留省份、发牌机关和末位',
      en: 'plate: keep province, authority letter and last character',
    },
    reveal: affix(2, 1),
    js: (v) => {
      const p = v.replace(RE.plateSep, '');
      const n = chars(p).length;
      return n === 7 || n === 8 ? keepFirstLastJs(p, 2, 1) : MASK_FALLBACK;
    },
    sql: (t) => {
      const p = sql`regexp_replace(${t}, ${txt(PLATE_SEPARATORS)}, '', 'g')`;
      return sql`CASE WHEN ${len(p)} IN (7, 8) THEN ${keepFirstLastSql(p, 2, 1)} ELSE ${txt(MASK_FALLBACK)} END`;
    },
  },
  {
    family: 'ip_prefix',
    arity: 0,
    description: { zh: 'IP保留前两段/前48位', en: 'IP: keep the first two octets or the first 48 bits' },
    reveal: generalised('ip_prefix'),
    js: (v) => {
      if (RE.ipv4.test(v)) return `${splitPart(v, '.', 1)}.${splitPart(v, '.', 2)}.*.*`;
      if (RE.ipv6.test(v)) return ipv6First3Js(v);
      return MASK_FALLBACK;
    },
    sql: (
      t,
    ) => sql`CASE WHEN ${t} ~ ${txt(IPV4_SHAPE)} THEN split_part(${t}, '.', 1) || '.' || split_part(${t}, '.', 2) || '.*.*'
      WHEN ${t} ~ ${txt(IPV6_SHAPE)} THEN ${ipv6First3Sql(t)}
      ELSE ${txt(MASK_FALLBACK)} END`,
  },
  {
    family: 'round_coord',
    arity: 0,
    description: { zh: '坐标四舍五入到0.01度', en: 'coordinates rounded to 0.01°' },
    reveal: generalised('round_coord'),
    js: (v) => {
      if (RE.coordSingle.test(v)) return roundDecimal2(v);
      const m = RE.coordPair.exec(v);
      return m ? `${roundDecimal2(m[1]!)},${roundDecimal2(m[3]!)}` : MASK_FALLBACK;
    },
    sql: (t) => {
      const part = (k: number) =>
        sql`round(((regexp_match(${t}, ${txt(COORD_PAIR)}))[${sql.lit(k)}])::numeric, 2)::text`;
      return sql`CASE WHEN ${t} ~ ${txt(COORD_SINGLE)} THEN round(${t}::numeric, 2)::text
        WHEN ${t} ~ ${txt(COORD_PAIR)} THEN ${part(1)} || ',' || ${part(3)}
        ELSE ${txt(MASK_FALLBACK)} END`;
    },
  },
  {
    family: 'redact_spans',
    arity: 0,
    description: {
      zh: '自由文本：逐段遮盖其中的证件号、手机号、姓名、地址等',
      en: 'free text: each identifier, phone number, name or address inside replaced',
    },
    reveal: generalised('redact_spans'),
    js: (v) => redactSpans(v),
    sql: (t) => redactSpansSql(t),
  },
  {
    family: 'pseudonym',
    arity: 0,
    description: {
      zh: '假名化（HMAC-SM3，同一合约内稳定）',
      en: 'keyed pseudonym (HMAC-SM3, stable within one contract)',
    },
    reveal: () => ({ kind: 'linkable' }),
    js: (v, _args, context) =>
      createHmac('sm3', Buffer.from(pseudonymKeyHex(context), 'hex'))
        .update(v, 'utf8')
        .digest('hex')
        .slice(0, PSEUDONYM_HEX_LENGTH),
    // pgcrypto's hmac() hands the algorithm name to OpenSSL, which implements SM3.
    sql: (t, _args, context) => sql`left(encode(hmac(convert_to(${t}, 'UTF8'),
      decode(${txt(pseudonymKeyHex(context))}, 'hex'), ${txt('sm3')}), 'hex'), ${int(PSEUDONYM_HEX_LENGTH)})`,
  },
];

const BY_FAMILY = new Map(MASK_FAMILIES.map((f) => [f.family, f]));
const RULE_ID = /^([a-z0-9_]+)(?:\(\s*(\d{1,3}(?:\s*,\s*\d{1,3})*)\s*\))?$/;

/** Parses a rule id such as `mobile` or `keep_first_last(6,4)`; throws on an unknown rule. */
export function parseMaskRule(id: string): MaskRule {
  const m = RULE_ID.exec(id.trim());
  const spec = m ? BY_FAMILY.get(m[1] as MaskFamily) : undefined;
  if (!m || !spec) throw new Error(`unknown mask rule: ${id}`);
  const args = m[2] === undefined ? [] : m[2].split(',').map((a) => Number(a.trim()));
  if (args.length !== spec.arity)
    throw new Error(`mask rule ${spec.family} takes ${spec.arity} arguments: ${id}`);
  const canonical = args.length > 0 ? `${spec.family}(${args.join(',')})` : spec.family;
  return { id: canonical, family: spec.family, args };
}

export function isMaskRuleId(id: string): boolean {
  try {
    parseMaskRule(id);
    return true;
  } catch {
    return false;
  }
}

function resolve(rule: string | MaskRule): { rule: MaskRule; spec: MaskFamilySpec } {
  const parsed = typeof rule === 'string' ? parseMaskRule(rule) : rule;
  return { rule: parsed, spec: BY_FAMILY.get(parsed.family)! };
}

export function describeMaskRule(rule: string | MaskRule): { zh: string; en: string } {
  const { rule: r, spec } = resolve(rule);
  return typeof spec.description === 'function' ? spec.description(r.args) : spec.description;
}

/** The JavaScript form. Non-string inputs must be rendered as the database renders them as text. */
export function applyMask(
  rule: string | MaskRule,
  value: string | null | undefined,
  context: MaskContext = {},
): string | null {
  const { rule: r, spec } = resolve(rule);
  if (r.family === 'null') return null;
  if (value === null || value === undefined) return null;
  return spec.js(value, r.args, context);
}

/** The SQL form over any expression; the expression is cast to text first. */
export function maskSqlExpression(
  rule: string | MaskRule,
  expression: RawBuilder<unknown>,
  context: MaskContext = {},
): RawBuilder<string | null> {
  const { rule: r, spec } = resolve(rule);
  // No masking keeps the column's own type (numbers stay numbers); every other rule yields text.
  if (r.family === 'none') return expression as RawBuilder<string | null>;
  const t = sql`CAST(${expression} AS text)`;
  if (r.family === 'null') return spec.sql(t, r.args, context) as RawBuilder<string | null>;
  return sql<string | null>`(CASE WHEN ${t} IS NULL THEN NULL ELSE ${spec.sql(t, r.args, context)} END)`;
}

/** The SQL form over a column (`name` or `table.name`), for the gateway's select list. */
export function maskSql(
  rule: string | MaskRule,
  column: string,
  context: MaskContext = {},
): RawBuilder<string | null> {
  return maskSqlExpression(rule, sql.ref(column), context);
}

export function maskReveal(rule: string | MaskRule): Reveal {
  const { rule: r, spec } = resolve(rule);
  return spec.reveal(r.args);
}

const LEVEL: Readonly<Record<Reveal['kind'], number>> = {
  everything: 0,
  affix: 1,
  generalised: 1,
  linkable: 2,
  nothing: 3,
};

/** 0 none, 1 partial masking or generalisation, 2 pseudonym, 3 suppression. */
export function strictnessLevel(rule: string | MaskRule): number {
  return LEVEL[maskReveal(rule).kind];
}

/**
 * Whether `candidate` is at least as strict as `baseline`, i.e. reveals no more: a contract may
 * replace a field's default rule only by one for which this holds. The order is partial:
 * `keep_first_last(3,4)` is at least as strict as `keep_first_last(6,4)`, but `year_only` and
 * `mobile` are not comparable, and then the answer is false.
 */
export function isAtLeastAsStrict(baseline: string | MaskRule, candidate: string | MaskRule): boolean {
  const a = maskReveal(baseline);
  const b = maskReveal(candidate);
  if (LEVEL[b.kind] !== LEVEL[a.kind]) return LEVEL[b.kind] > LEVEL[a.kind];
  if (a.kind === 'affix' && b.kind === 'affix') return b.first <= a.first && b.last <= a.last;
  if (a.kind === 'generalised' && b.kind === 'generalised') return a.family === b.family;
  return a.kind === b.kind;
}
