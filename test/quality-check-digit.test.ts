import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileRowRule, identify } from '../src/quality/rules.ts';
import { residentIdCheckChar } from '../src/standards/resident-id.ts';
import { startTestApp, type TestApp } from './helpers.ts';

/**
 * The GB 11643 check character as quality computes it in SQL (three-digit lookups, no regular
 * expression) against the standard's own implementation, on arbitrary and near-valid values.
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const [rule] = identify([{ kind: 'check_digit', field: 'v', standard: 'cn_resident_id' }]);
const predicate = compileRowRule(rule!, { types: new Map([['v', 'text']]), regionCodes: () => [] })!;

/** What the SQL should say: judged when non-empty after trimming; failing unless 15 digits or a right check character. */
function expected(value: string): { applies: boolean; fails: boolean } {
  const v = value.replace(/^ +| +$/g, '');
  if (v === '') return { applies: false, fails: false };
  if (/^[0-9]{15}$/.test(v)) return { applies: true, fails: false };
  if (!/^[0-9]{17}[0-9Xx]$/.test(v)) return { applies: true, fails: true };
  return { applies: true, fails: residentIdCheckChar(v.slice(0, 17)) !== v[17]!.toUpperCase() };
}

describe('check_digit in SQL', () => {
  it('agrees with the GB 11643 implementation', async () => {
    const digits = fc.stringMatching(/^[0-9]{17}$/);
    const value = fc
      .oneof(
        digits.map((d) => d + residentIdCheckChar(d)!),
        digits.map((d) => d + residentIdCheckChar(d)!.toLowerCase()),
        fc.tuple(digits, fc.constantFrom(...'0123456789Xx')).map(([d, c]) => d + c),
        fc.stringMatching(/^[0-9]{15}$/),
        fc.stringMatching(/^ {0,2}[0-9Xx]{14,19} {0,2}$/),
        fc.string({ maxLength: 20 }),
        fc.string({ unit: 'grapheme', maxLength: 18 }),
      )
      .filter((v) => !v.includes('\0')); // PostgreSQL text holds no NUL
    await fc.assert(
      fc.asyncProperty(fc.array(value, { minLength: 1, maxLength: 30 }), async (values) => {
        const rows = sql.join(values.map((v) => sql`(${v}::text)`));
        const { rows: got } = await sql<{
          applies: boolean;
          fails: boolean | null;
        }>`SELECT (${predicate.applies}) AS applies, (${predicate.applies} AND ${predicate.fails}) AS fails FROM (VALUES ${rows}) AS t(v)`.execute(
          t.database.db,
        );
        expect(got.map((r) => ({ applies: r.applies, fails: r.fails === true }))).toEqual(
          values.map(expected),
        );
      }),
      { numRuns: 40 },
    );
  });
});
