import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkEligibility, type EligibilityRule, fullYears } from '../src/services/eligibility.ts';
import { makeResidentId } from '../src/standards/resident-id.ts';
import { makeUscc } from '../src/standards/uscc.ts';

/**
 * The checked conditions of a bundle (services/eligibility.ts) against what a subject's key
 * carries, compared with independent readings of GB 11643 and GB 32100 and with calendar
 * arithmetic done through Date.
 */
const dayUpTo = (max: string) =>
  fc
    .date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date(`${max}T00:00:00Z`), noInvalidDate: true })
    .map((d) => d.toISOString().slice(0, 10));
// Birth dates up to some days ago (an ID number cannot be born in the future); checks on any day.
const day = dayUpTo('2030-12-31');
const region = fc.constantFrom('330106', '330102', '330302', '340104', '110101', '440305', '510104');
const person = fc.record({ region, birth: dayUpTo('2026-11-30'), seq: fc.integer({ min: 0, max: 999 }) });

/** Age through Date: the last birthday on or before `today` (29 February counts from 1 March). */
function ageByDate(birth: string, today: string): number {
  const [by, bm, bd] = birth.split('-').map(Number) as [number, number, number];
  const t = new Date(`${today}T00:00:00Z`);
  let age = t.getUTCFullYear() - by;
  const birthday = new Date(Date.UTC(t.getUTCFullYear(), bm - 1, bd));
  // Date.UTC rolls 29 February into 1 March in a common year, as the rule reads it.
  if (birthday.getTime() > t.getTime()) age -= 1;
  return age;
}

describe('eligibility rules', () => {
  it('property: region, age and sex are met exactly when the ID number says so', () => {
    fc.assert(
      fc.property(
        person,
        day,
        fc.constantFrom('33', '3301', '330106', '34', '1101'),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        (p, today, prefix, a, b) => {
          fc.pre(today >= p.birth);
          const id = makeResidentId(p.region, p.birth, p.seq);
          const [min, max] = a <= b ? [a, b] : [b, a];
          const rules: EligibilityRule[] = [
            { kind: 'region', text: 'r', prefixes: [prefix] },
            { kind: 'age', text: 'a', min, max },
            { kind: 'sex', text: 's', sex: 'female' },
          ];
          const [r, age, sex] = checkEligibility(rules, id, today);
          const years = ageByDate(p.birth, today);
          expect(fullYears(p.birth, today)).toBe(years);
          expect(r!.met).toBe(p.region.startsWith(prefix));
          expect(age!.met).toBe(years >= min && years <= max);
          expect(sex!.met).toBe(p.seq % 2 === 0);
          for (const result of [r!, age!, sex!])
            expect(result.reason !== undefined).toBe(result.met === false);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('reads an enterprise’s division from its credit code, and never meets a person’s rule with it', () => {
    const uscc = makeUscc('9', '1', '330106', 'MA2X7Q0K');
    const results = checkEligibility(
      [
        { kind: 'region', text: '本市企业', prefixes: ['3301'] },
        { kind: 'region', text: '外地企业', prefixes: ['34'] },
        { kind: 'age', text: '成年', min: 18 },
        { kind: 'sex', text: '女性', sex: 'female' },
        { kind: 'note', text: '说明' },
      ],
      uscc,
      '2026-12-07',
    );
    expect(results.map((r) => r.met)).toEqual([true, false, false, false, null]);
    expect(results[2]!.reason!.en).toContain('persons only');
  });

  it('counts a birthday on the day itself, and a 29 February birthday from 1 March in a common year', () => {
    expect(fullYears('2008-12-07', '2026-12-07')).toBe(18);
    expect(fullYears('2008-12-08', '2026-12-07')).toBe(17);
    expect(fullYears('2008-02-29', '2026-02-28')).toBe(17);
    expect(fullYears('2008-02-29', '2026-03-01')).toBe(18);
  });
});
