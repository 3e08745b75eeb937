import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Filter, matches } from '../src/rules/filters.ts';
import { startTestApp, type TestApp } from './helpers.ts';
import { ROWS, sharingFixture } from './sharing-fixture.ts';

/**
 * For random contracts (fields, masks, row filters) and random queries (select, filters, limits):
 * no response ever contains an ungranted field, a raw value of a masked field, or a row outside
 * the contract's row filter or the query's filter.
 */
let t: TestApp;
let fixture: ReturnType<typeof sharingFixture>;
let code: string;

beforeAll(async () => {
  t = await startTestApp();
  fixture = sharingFixture(t);
  await fixture.login();
  code = await fixture.resource('门诊就诊明细（属性测试）', 'conditional');
});
afterAll(() => t.close());

// Masks each field may get: its grade default or anything stricter.
const MASK_CHOICES: Record<string, string[]> = {
  person_id: ['keep_first_last(6,4)', 'keep_first_last(3,2)', 'pseudonym', 'null'],
  name: ['name_surname', 'pseudonym', 'null'],
  district: ['none', 'pseudonym', 'null'],
  visits: ['none', 'null'],
  note: ['none', 'keep_first_last(1,1)', 'null'],
};
const OPTIONAL = Object.keys(MASK_CHOICES);
const raw = new Map(ROWS.map((r) => [r.record_no, r as Record<string, unknown>]));

const rowFilter: fc.Arbitrary<Filter | null> = fc.oneof(
  fc.constant(null),
  fc.record({
    field: fc.constant('district'),
    op: fc.constantFrom('eq' as const, 'neq' as const),
    value: fc.constantFrom('西湖区', '滨江区', '上城区'),
  }),
  fc.record({
    field: fc.constant('visits'),
    op: fc.constantFrom('gte' as const, 'lt' as const),
    value: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({
    field: fc.constant('district'),
    op: fc.constant('in' as const),
    value: fc.subarray(['西湖区', '滨江区', '上城区'], { minLength: 1 }),
  }),
);

const terms = fc
  .record({
    fields: fc.subarray(OPTIONAL),
    masks: fc.record(Object.fromEntries(OPTIONAL.map((f) => [f, fc.constantFrom(...MASK_CHOICES[f]!)]))),
    rowFilter,
    querySelectRatio: fc.double({ min: 0, max: 1, noNaN: true }),
    queryFilter: fc.option(
      fc.tuple(
        fc.constantFrom('visits'),
        fc.constantFrom('gte', 'lte', 'eq'),
        fc.integer({ min: 0, max: 6 }),
      ),
      { nil: null },
    ),
    limit: fc.integer({ min: 1, max: 50 }),
  })
  .map((x) => ({ ...x, fields: ['record_no', ...x.fields] }));

describe('gateway properties', () => {
  it('never returns an ungranted field, a raw masked value, or a row outside the filters', async () => {
    await fc.assert(
      fc.asyncProperty(terms, async (x) => {
        const masking = Object.fromEntries(
          x.fields.filter((f) => f !== 'record_no').map((f) => [f, x.masks[f]!]),
        );
        const contract = await fixture.contractFor(code, {
          fields: x.fields,
          masking,
          ...(x.rowFilter ? { rowFilter: x.rowFilter } : {}),
        });
        const select = x.fields.filter(
          (f, i) => f === 'record_no' || i / x.fields.length <= x.querySelectRatio,
        );
        const params = [`select=${select.join(',')}`, `limit=${x.limit}`];
        let queryFilter: Filter | null = null;
        const filterField = x.queryFilter?.[0];
        if (x.queryFilter && x.fields.includes(filterField!)) {
          params.push(`${x.queryFilter[0]}=${x.queryFilter[1]}.${x.queryFilter[2]}`);
          queryFilter = { field: x.queryFilter[0], op: x.queryFilter[1] as 'gte', value: x.queryFilter[2] };
        }
        const res = await fixture.rows(contract, params.join('&'));
        const usedMaskedFilter = queryFilter !== null && masking[queryFilter.field] !== 'none';
        if (usedMaskedFilter) {
          expect(res.statusCode).toBe(403);
          expect(res.json().error.code).toBe('FILTER_ON_MASKED_FIELD');
          return;
        }
        expect(res.statusCode, res.body).toBe(200);
        const items = res.json().items as Array<Record<string, unknown>>;
        expect(items.length).toBeLessThanOrEqual(x.limit);
        for (const item of items) {
          for (const key of Object.keys(item)) expect(select).toContain(key);
          const original = raw.get(String(item.record_no))!;
          expect(original).toBeDefined();
          if (x.rowFilter) expect(matches(x.rowFilter, original)).toBe(true);
          if (queryFilter) expect(matches(queryFilter, original)).toBe(true);
          for (const [field, rule] of Object.entries(masking)) {
            if (rule === 'none' || !(field in item)) continue;
            if (original[field] !== null) expect(String(item[field])).not.toBe(String(original[field]));
          }
        }
        // Completeness: every row the filters admit is served when the page is large enough.
        if (x.limit >= 40) {
          const expected = ROWS.filter(
            (r) => (!x.rowFilter || matches(x.rowFilter, r)) && (!queryFilter || matches(queryFilter, r)),
          );
          expect(items.length).toBe(expected.length);
        }
      }),
      { numRuns: 25 },
    );
  });
});
