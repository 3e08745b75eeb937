import { parseResidentId } from '../standards/resident-id.ts';
import { isValidUscc } from '../standards/uscc.ts';

/**
 * A bundle's conditions of application (申请条件), each either declared text the applicant reads
 * and confirms (`note`), or a rule the server checks against the application's subject — the
 * person or enterprise whose data the departments pull (services.subjectOf), never what the
 * applicant types. What a subject's key itself carries is enough for the rules here, so checking
 * them reads no one's data:
 * - `region`: the administrative division (GB/T 2260) of the subject — digits 1–6 of a resident
 *   ID number (where it was first issued, the 户籍 of most residents), digits 3–8 of a unified
 *   social credit code (the registering authority's division) — starts with one of `prefixes`
 *   (`3301` = a city and its districts, `330106` = one district);
 * - `age`: the person's age in full years on the day of application (birth date of the ID number),
 *   between `min` and `max` inclusive;
 * - `sex`: the person's sex (parity of the ID number's sequence code, GB 11643).
 * A person rule on an enterprise's key, or an enterprise rule on a person's, is not met.
 */
export type EligibilityRule =
  | { kind: 'note'; text: string }
  | { kind: 'region'; text: string; prefixes: string[] }
  | { kind: 'age'; text: string; min?: number | undefined; max?: number | undefined }
  | { kind: 'sex'; text: string; sex: 'male' | 'female' };

/** As a bundle author declares them: plain text is a note. */
export type EligibilityInput = string | EligibilityRule;

export interface EligibilityResult {
  text: string;
  kind: EligibilityRule['kind'];
  /** null: declared, for the applicant to confirm; true/false: checked by the server. */
  met: boolean | null;
  /** Why a checked rule is not met, in words the applicant can act on. */
  reason?: { zh: string; en: string };
}

export function toRules(input: readonly EligibilityInput[] | undefined): EligibilityRule[] {
  return (input ?? []).map((rule) => (typeof rule === 'string' ? { kind: 'note', text: rule } : rule));
}

/** Age in full years on `day` (YYYY-MM-DD) of someone born on `birth` (YYYY-MM-DD). */
export function fullYears(birth: string, day: string): number {
  const years = Number(day.slice(0, 4)) - Number(birth.slice(0, 4));
  return day.slice(5) >= birth.slice(5) ? years : years - 1;
}

function subjectFacts(subjectKey: string, today: string) {
  const person = parseResidentId(subjectKey, { regionRule: 'plausible' });
  if (person)
    return {
      region: person.regionCode,
      age: fullYears(person.birthDate, today),
      sex: person.sex,
    };
  if (isValidUscc(subjectKey)) return { region: subjectKey.slice(2, 8), age: null, sex: null };
  return { region: null, age: null, sex: null };
}

const NOT_A_PERSON = { zh: '此条件只适用于个人', en: 'this condition applies to persons only' };

/** Each rule's result for this subject on `today` (China's date, YYYY-MM-DD). */
export function checkEligibility(
  rules: readonly EligibilityRule[],
  subjectKey: string,
  today: string,
): EligibilityResult[] {
  const facts = subjectFacts(subjectKey, today);
  return rules.map((rule) => resultOf(rule, facts));
}

function resultOf(rule: EligibilityRule, facts: ReturnType<typeof subjectFacts>): EligibilityResult {
  const base = { text: rule.text, kind: rule.kind };
  switch (rule.kind) {
    case 'note':
      return { ...base, met: null };
    case 'region': {
      const met = facts.region !== null && rule.prefixes.some((p) => facts.region!.startsWith(p));
      return met
        ? { ...base, met }
        : {
            ...base,
            met,
            reason: {
              zh: `申请对象的行政区划代码 ${facts.region ?? '未知'} 不在 ${rule.prefixes.join('、')} 之内`,
              en: `the subject's division code ${facts.region ?? 'unknown'} is not within ${rule.prefixes.join(', ')}`,
            },
          };
    }
    case 'age': {
      if (facts.age === null) return { ...base, met: false, reason: NOT_A_PERSON };
      const met =
        (rule.min === undefined || facts.age >= rule.min) &&
        (rule.max === undefined || facts.age <= rule.max);
      const range = `${rule.min ?? 0}–${rule.max ?? '∞'}`;
      return met
        ? { ...base, met }
        : {
            ...base,
            met,
            reason: {
              zh: `申请对象年龄 ${facts.age} 周岁，不在 ${range} 周岁之间`,
              en: `the subject is ${facts.age}, not ${range}`,
            },
          };
    }
    case 'sex': {
      if (facts.sex === null) return { ...base, met: false, reason: NOT_A_PERSON };
      const met = facts.sex === rule.sex;
      const zh = { male: '男性', female: '女性' }[rule.sex];
      return met
        ? { ...base, met }
        : {
            ...base,
            met,
            reason: { zh: `此条件要求申请对象为${zh}`, en: `the subject must be ${rule.sex}` },
          };
    }
  }
}

/** The rules a subject fails (checked and not met). */
export function unmet(results: readonly EligibilityResult[]): EligibilityResult[] {
  return results.filter((r) => r.met === false);
}
