import { isValidBankCard } from '../standards/bank-card.ts';
import { isValidLandline, isValidMobile } from '../standards/phone.ts';
import { isValidResidentId } from '../standards/resident-id.ts';
import { SINGLE_SURNAMES } from '../standards/surnames.ts';
import type { DetectorId } from './detectors.ts';
import { toHalfWidth } from './formats.ts';
import { addressStrength, isEmail, isPersonName } from './validators.ts';

/**
 * Entities inside free text (备注, 事项说明): identifiers, names and addresses found as spans.
 *
 * One table of span definitions serves two purposes. Detection runs each pattern over a text and
 * keeps the matches its validator accepts (check digits, surname list, address parts), counting
 * entities per type. The `redact_spans` mask (masking.ts) applies the same patterns, in the same
 * order, as global replacements in JavaScript and as nested `regexp_replace` in PostgreSQL: the
 * mask replaces every span of the entity's shape whether or not it validates (a mask must not
 * depend on a check digit SQL cannot compute), so it redacts at least what detection finds.
 *
 * The patterns stay in the subset where JavaScript (u flag) and PostgreSQL's advanced regular
 * expressions find the same matches: code-point ranges and literal characters in brackets, no `.`, no
 * `\d`, lookarounds only of bracket classes, only greedy quantifiers, and at each start position
 * at most one possible extent (a run ends where its class ends, alternatives are never prefixes of
 * one another), so backtracking order (JavaScript) and longest match (PostgreSQL) agree. The
 * replacement keeps only groups at fixed places (a surname, the first three and last four digits).
 * Every other group is non-capturing and single-character alternatives are bracket classes:
 * PostgreSQL dissects a match into its capturing groups, which costs more than the match itself
 * (bench/redact-spans.bench.ts).
 */
export interface SpanDefinition {
  /** The entity type, a detector id. */
  type: DetectorId;
  pattern: string;
  /** Literal text and group numbers, rendered as `$n` (JavaScript) or `\n` (PostgreSQL). */
  replacement: readonly (string | number)[];
  /** Whether a match is an entity of the type (detection only; the mask does not validate). */
  accept(match: RegExpExecArray): boolean;
  /**
   * A necessary condition on the original text: detection and the JavaScript mask skip the
   * definition when it fails (the result is the same; it spares the pattern's run). The replacements
   * never lengthen a digit run or add the characters a guard looks for, so a text that fails it
   * cannot match further down the chain either.
   */
  guard: string;
  /**
   * Strings of which the original text holds at least one whenever the pattern can match anywhere
   * down the chain (absent: no such cheap condition). The SQL form tests them with `strpos`, far
   * cheaper than a regular expression, and runs an empty pattern instead when none occurs.
   */
  needs?: readonly string[];
}

const SURNAME_CLASS = `[${[...SINGLE_SURNAMES].join('')}]`;
// Characters that end a given name in running text: what follows names in register remarks.
const STOP = '[电联住身先女的于在是和与及等已现年男性手证号码地家户称说因到来去向办申]';
const GIVEN = `(?:(?!${STOP})[一-龥])`;
const CONTEXT =
  '(?:申请人|联系人|当事人|户主|患者|经办人|法定代表人|负责人|监护人|收件人|姓名|委托人|被申请人)';
const ADMIN = '([区县市旗镇乡])';

// Digits and the signs numbers are written with, half- or full-width in any mix (１３８００１３８０００,
// ＋８６, ０５７１－８７６５４３２１, the ideographic space as a separator): the forms normaliseCell
// undoes for the column detectors, so a number they accept in a cell is also masked inside text.
// Each class holds both forms of the same characters, so a run still ends where its class ends.
const D = '[0-9０-９]';
const D19 = '[1-9１-９]';
const D29 = '[2-9２-９]';
const D39 = '[3-9３-９]';
const ZERO = '[0０]';
const ONE = '[1１]';
const CHECK = '[0-9０-９XxＸｘ]';
const SEP = '[- －　]';
const SEPARATORS = ['-', ' ', '－', '　'];
const PLUS = '[+＋]';
const OPEN = '[(（]';
const CLOSE = '[)）]';
const NOT_D = '(?<![0-9０-９])';
const NOT_D_AFTER = '(?![0-9０-９])';
const COUNTRY = `(?:${PLUS}?[8８][6６]|${ZERO}${ZERO}[8８][6６])`;
const ROAD = '[^区县市旗镇乡0-9０-９，。；、,;：:！？!? ]{1,20}';
const run = (n: number | string) => `${D}{${n}}`;

/** A match's text with full-width digits and signs as ASCII, for the validators. */
const plain = (m: RegExpExecArray) => toHalfWidth(m[0]);
const digitsOnly = (m: RegExpExecArray) => plain(m).replace(/[- ]/g, '');

/** In application order; `redact_spans` applies them one after another. */
export const SPAN_DEFINITIONS: readonly SpanDefinition[] = [
  {
    type: 'email',
    guard: '@',
    needs: ['@'],
    pattern: '(?<![A-Za-z0-9._%+-])([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:[.][A-Za-z0-9-]+)+)',
    replacement: [1, '***@', 2],
    accept: (m) => isEmail(m[0]),
  },
  // ID numbers (and cards) end where the digits end, whatever letters touch them (`sfz330106…`): a mask errs
  // on the side of masking. Written plain, with a lower-case x, as legacy 15-digit numbers, and in
  // groups (6-8-4 or 6-4-4-4, by spaces or hyphens) as the column detector accepts them.
  {
    type: 'cn_resident_id',
    guard: run(17),
    pattern: `${NOT_D}(${D19}${run(5)})${run(8)}(${run(3)}${CHECK})${NOT_D_AFTER}`,
    replacement: [1, '********', 2],
    accept: (m) => isValidResidentId(plain(m)),
  },
  {
    type: 'cn_resident_id',
    guard: run(15),
    pattern: `${NOT_D}(${D19}${run(5)})${run(6)}(${run(3)})${NOT_D_AFTER}`,
    replacement: [1, '******', 2],
    accept: (m) => isValidResidentId(plain(m)),
  },
  {
    type: 'cn_resident_id',
    guard: `${run(6)}${SEP}${run(4)}`,
    needs: SEPARATORS,
    pattern: `${NOT_D}(${D19}${run(5)})${SEP}${run(4)}${SEP}?${run(4)}${SEP}(${run(3)}${CHECK})${NOT_D_AFTER}`,
    replacement: [1, '********', 2],
    accept: (m) => isValidResidentId(digitsOnly(m)),
  },
  {
    type: 'bank_card',
    guard: run(16),
    pattern: `${NOT_D}${run('12,15')}(${run(4)})${NOT_D_AFTER}`,
    replacement: ['************', 1],
    accept: (m) => isValidBankCard(plain(m)),
  },
  // Cards written in groups of four, as printed (16 digits, or 19 with a last group of three).
  {
    type: 'bank_card',
    guard: `${run(4)}${SEP}${run(4)}${SEP}${run(4)}${SEP}${run(4)}${SEP}${run(3)}`,
    needs: SEPARATORS,
    pattern: `${NOT_D}${run(4)}${SEP}${run(4)}${SEP}${run(4)}${SEP}${run(4)}${SEP}(${run(3)})${NOT_D_AFTER}`,
    replacement: ['**** **** **** **** ', 1],
    accept: (m) => isValidBankCard(digitsOnly(m)),
  },
  {
    type: 'bank_card',
    guard: `${run(4)}${SEP}${run(4)}${SEP}${run(4)}${SEP}${run(4)}`,
    needs: SEPARATORS,
    pattern: `${NOT_D}${run(4)}${SEP}${run(4)}${SEP}${run(4)}${SEP}(${run(4)})${NOT_D_AFTER}`,
    replacement: ['**** **** **** ', 1],
    accept: (m) => isValidBankCard(digitsOnly(m)),
  },
  {
    type: 'cn_mobile',
    guard: `${ONE}${D39}${run(9)}`,
    // With the country prefix as the column detector accepts it: 86, +86, 0086.
    pattern: `(?<![0-9０-９+＋])(${COUNTRY}?${ONE}${D39}${D})${run(4)}(${run(4)})${NOT_D_AFTER}`,
    replacement: [1, '****', 2],
    accept: (m) => isValidMobile(plain(m)),
  },
  {
    type: 'cn_mobile',
    guard: `${ONE}${D39}${D}${SEP}${run(4)}${SEP}`,
    needs: SEPARATORS,
    pattern: `(?<![0-9０-９+＋])(${COUNTRY}?${ONE}${D39}${D})${SEP}${run(4)}${SEP}(${run(4)})${NOT_D_AFTER}`,
    replacement: [1, '-****-', 2],
    accept: (m) => isValidMobile(plain(m)),
  },
  {
    type: 'cn_landline',
    guard: `${ZERO}${D19}${D}`,
    needs: ['0', '０'],
    pattern: `${NOT_D}(${ZERO}${D19}${D})${D}?${SEP}?${D29}${run('4,5')}(${run(2)})${NOT_D_AFTER}`,
    replacement: [1, '-******', 2],
    accept: (m) => isValidLandline(plain(m)),
  },
  {
    // The area code in brackets, half- or full-width: (0571)87654321.
    type: 'cn_landline',
    guard: `${OPEN}${ZERO}${D19}${D}`,
    needs: ['(', '（'],
    pattern: `${OPEN}(${ZERO}${D19}${D})${D}?${CLOSE}${SEP}?${D29}${run('4,5')}(${run(2)})${NOT_D_AFTER}`,
    replacement: [1, '-******', 2],
    accept: (m) => isValidLandline(plain(m)),
  },
  {
    type: 'person_name',
    // Up to three characters after the surname: compound surnames (欧阳娜娜) are masked whole.
    guard: CONTEXT,
    needs: ['人', '主', '者', '名'],
    // One group for all that is kept (context, separator, surname): PostgreSQL's dissection costs
    // per group, and three groups cost some 5% more of the whole chain than one.
    pattern: `(${CONTEXT}[：:为是]?${SURNAME_CLASS})${GIVEN}{1,3}`,
    replacement: [1, '**'],
    accept: (m) => {
      // The kept group ends with the surname, one character.
      const surname = [...m[1]!].at(-1)!;
      const name = m[0].slice(m[1]!.length - surname.length);
      for (let n = Math.min(4, name.length); n >= 2; n--) if (isPersonName(name.slice(0, n))) return true;
      return false;
    },
  },
  {
    type: 'person_name',
    guard: '先生|女士',
    needs: ['先生', '女士'],
    pattern: `(${SURNAME_CLASS})${GIVEN}{0,2}(先生|女士)`,
    replacement: [1, '**', 2],
    accept: (m) => m[0].length <= 5,
  },
  {
    type: 'address',
    guard: `[区县市旗镇乡][^0-9０-９]*${D}+[号栋幢室弄组]`,
    needs: ['区', '县', '市', '旗', '镇', '乡'],
    pattern: `${ADMIN}${ROAD}${run('1,5')}[号栋幢室弄组](?:${run('1,5')}(?:[号栋幢室弄组楼层]|单元))*`,
    replacement: [1, '****'],
    accept: (m) => addressStrength(plain(m)) >= 1,
  },
];

const COMPILED = SPAN_DEFINITIONS.map((d) => ({
  d,
  re: new RegExp(d.pattern, 'gu'),
  guard: new RegExp(d.guard, 'u'),
}));
/**
 * A character every span contains (a digit, '@', a character of each context word or honorific,
 * an administrative unit): a text without one has no span, so detection and the SQL mask skip it.
 */
export const SPAN_GUARD = '[0-9０-９@人主者名先女区县市旗镇乡]';
const MAYBE = new RegExp(SPAN_GUARD, 'u');

export interface Entity {
  type: DetectorId;
  start: number;
  end: number;
}

/**
 * The entities in a text: every match of a span definition that its validator accepts, in text
 * order per definition. A match overlapping an entity of an earlier definition is skipped (an ID
 * number is not also read as a bank card).
 */
export function findEntities(text: string): Entity[] {
  const out: Entity[] = [];
  if (!MAYBE.test(text)) return out;
  for (const { d, re, guard } of COMPILED) {
    if (!guard.test(text)) continue;
    re.lastIndex = 0;
    const before = out.length;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const start = m.index;
      const end = start + m[0].length;
      if (before > 0 && overlaps(out, before, start, end)) continue;
      if (d.accept(m)) out.push({ type: d.type, start, end });
    }
  }
  return out;
}

/** Whether [start, end) overlaps any of the first `count` entities. */
function overlaps(entities: readonly Entity[], count: number, start: number, end: number): boolean {
  for (let i = 0; i < count; i++) {
    const e = entities[i]!;
    if (start < e.end && e.start < end) return true;
  }
  return false;
}

/** Entities per type in a text. */
export function countEntities(
  text: string,
  into: Map<DetectorId, number> = new Map(),
): Map<DetectorId, number> {
  for (const e of findEntities(text)) into.set(e.type, (into.get(e.type) ?? 0) + 1);
  return into;
}

function render(
  parts: readonly (string | number)[],
  group: (n: number) => string,
  literal: (s: string) => string,
) {
  return parts.map((p) => (typeof p === 'number' ? group(p) : literal(p))).join('');
}

/** The JavaScript replacement string of a definition. */
export function jsReplacement(d: SpanDefinition): string {
  return render(
    d.replacement,
    (n) => `$${n}`,
    (s) => s.replaceAll('$', '$$$$'),
  );
}

/** The PostgreSQL replacement string of a definition. */
export function sqlReplacement(d: SpanDefinition): string {
  return render(
    d.replacement,
    (n) => `\\${n}`,
    (s) => s.replaceAll('\\', '\\\\').replaceAll('&', '\\&'),
  );
}

const JS_SPANS = COMPILED.map(({ d, re, guard }) => ({ re, guard, replacement: jsReplacement(d) }));

/** `redact_spans` in JavaScript: every span definition whose guard the text passes, in order. */
export function redactSpans(text: string): string {
  if (!MAYBE.test(text)) return text;
  let out = text;
  for (const { re, guard, replacement } of JS_SPANS) if (guard.test(text)) out = out.replace(re, replacement);
  return out;
}

/** The most sensitive entity type of a count: highest default grade, then table order. */
export function mostSensitive(
  counts: ReadonlyMap<DetectorId, number>,
  rank: (type: DetectorId) => number,
): DetectorId | null {
  let best: DetectorId | null = null;
  for (const type of counts.keys()) if (best === null || rank(type) > rank(best)) best = type;
  return best;
}
