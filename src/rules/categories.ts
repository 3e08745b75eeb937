import { createRequire } from 'node:module';

/**
 * Value vocabularies of the sensitive categories that are not identifiers (PIPL art. 28,
 * GB/T 35273-2020 annex B): ethnicity, marital status, religion, health, criminal record. The
 * lists live in src/rules/vocab/*.json, each naming its source; financial columns (balances,
 * income, tax) have no vocabulary and are told by amount-shaped values under a header hint.
 */
interface Vocab {
  source: string;
  values?: string[];
  extra?: string[];
  charges?: string[];
  diagnoses?: string[];
  vaccines?: string[];
  suffixes?: string[];
}

const require = createRequire(import.meta.url);
const load = (name: string) => require(`./vocab/${name}.json`) as Vocab;

export const VOCABULARIES = {
  ethnicity: load('ethnicity'),
  marital: load('marital'),
  religion: load('religion'),
  health: load('health'),
  criminal: load('criminal'),
} as const;

const ETHNIC = new Set(VOCABULARIES.ethnicity.values);
// Without the final 族 (蒙古, 维吾尔); single characters (汉, 回, 苗) are ordinary words and count
// only as weak evidence.
const ETHNIC_SHORT = new Set([...ETHNIC].map((e) => e.slice(0, -1)));
const ETHNIC_EXTRA = new Set(VOCABULARIES.ethnicity.extra);

/** 2: one of the 56 ethnic groups by its full name; 1: a short form or an extra entry. */
export function ethnicityStrength(value: string): 0 | 1 | 2 {
  if (value.length > 10) return 0;
  if (ETHNIC.has(value)) return 2;
  if (ETHNIC_SHORT.has(value)) return value.length >= 2 ? 2 : 1;
  return ETHNIC_EXTRA.has(value) ? 1 : 0;
}

const MARITAL = new Set(VOCABULARIES.marital.values);
export function isMaritalStatus(value: string): boolean {
  return value.length <= 10 && MARITAL.has(value);
}

const RELIGION = new Set(VOCABULARIES.religion.values);
export function isReligion(value: string): boolean {
  return value.length <= 8 && RELIGION.has(value);
}

function alternation(words: readonly string[]): RegExp {
  const escaped = [...words]
    .sort((a, b) => b.length - a.length)
    .map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(escaped.join('|'));
}

const HEALTH_TERMS = alternation([...VOCABULARIES.health.diagnoses!, ...VOCABULARIES.health.vaccines!]);
// Last characters of every term: a value without any of them cannot contain one.
const HEALTH_LAST = new Set(
  [...VOCABULARIES.health.diagnoses!, ...VOCABULARIES.health.vaccines!].map((t) => t[t.length - 1]!),
);
const HEALTH_SUFFIX = new RegExp(`(?:${VOCABULARIES.health.suffixes!.join('|')})$`);
/** ICD-10: a letter (U is reserved), two digits, an optional subdivision (`E11.9`, `J18.900`). */
export const ICD10 = /^[A-TV-Z][0-9]{2}(?:\.[0-9X]{1,4})?$/;

function hasAnyChar(value: string, chars: ReadonlySet<string>): boolean {
  for (let i = 0; i < value.length; i++) if (chars.has(value[i]!)) return true;
  return false;
}

/**
 * 2: a diagnosis or vaccine of the vocabulary appears in the value (`2型糖尿病伴肾病`,
 * `乙肝疫苗第2剂`), or it names a vaccine; 1: an ICD-10 code, or a short disease-shaped word
 * (`…炎`, `…症`), which counts only under a health header.
 */
export function healthStrength(value: string): 0 | 1 | 2 {
  if (value.length > 60) return 0;
  if (value.length <= 9 && ICD10.test(value)) return 1;
  if (!hasAnyChar(value, HEALTH_LAST) && !value.endsWith('疫苗')) {
    return value.length <= 12 && HEALTH_SUFFIX.test(value) ? 1 : 0;
  }
  if (HEALTH_TERMS.test(value) || (value.length <= 20 && value.endsWith('疫苗'))) return 2;
  return value.length <= 12 && HEALTH_SUFFIX.test(value) ? 1 : 0;
}

const CRIMINAL = new Set(VOCABULARIES.criminal.values);
const CHARGES = alternation(VOCABULARIES.criminal.charges!);
const SENTENCE =
  /判处.{0,12}(?:有期徒刑|无期徒刑|拘役|管制|死刑)|(?:有期徒刑|拘役)[一二三四五六七八九十0-9]+(?:年|个月)/;

/** A criminal-record entry: a record statement, a charge of the Criminal Law, or a sentence. */
export function isCriminalRecord(value: string): boolean {
  if (value.length > 80) return false;
  if (CRIMINAL.has(value)) return true;
  if (value.includes('罪') && CHARGES.test(value)) return true;
  return (value.includes('判处') || value.includes('徒刑') || value.includes('拘役')) && SENTENCE.test(value);
}

/** An amount: `12345.67`, `-12.5`, `1,234,567.00`, `3.5万元`, `¥1200` (weak evidence only). */
const AMOUNT = /^[-+]?[¥￥]?(?:\d{1,3}(?:,\d{3})+|\d{1,13})(?:\.\d{1,4})?(?:万元|万|元)?$/;
export function isAmount(value: string): boolean {
  return value.length <= 24 && AMOUNT.test(value);
}
