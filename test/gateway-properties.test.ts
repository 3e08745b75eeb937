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

/**
 * PostgREST's richer reads: logic trees, not., like/ilike, in, is, on any field, in any window
 * (offset/limit or a Range header). Any filter that names a masked or ungranted field — however
 * deep in a tree, however negated — is refused before the data is touched, with one answer
 * whatever the value (no inference oracle); every other read returns exactly the rows the
 * contract's and the query's filters admit, in the requested window, masked values masked.
 */
type Leaf = { field: string; op: string; value: unknown; negate: boolean };
type Node = Leaf | { kind: 'and' | 'or'; negate: boolean; children: Node[] };

const TEXT_VALUES: Record<string, { eq: string[]; like: string[] }> = {
  record_no: { eq: ['R005', 'R017'], like: ['R00*', 'r01*', '*9'] },
  person_id: { eq: ['330106199001011000'], like: ['3301*', '*1001'] },
  name: { eq: ['张小0', '李小1'], like: ['张*', '*小1*'] },
  district: { eq: ['西湖区', '滨江区', '上城区'], like: ['*区', '西*', '*湖*'] },
  note: { eq: ['备注3'], like: ['备注1*', '*9'] },
  secret: { eq: ['x'], like: ['x*'] },
};

const leaf: fc.Arbitrary<Leaf> = fc.oneof(
  fc.record({
    field: fc.constant('visits'),
    op: fc.constantFrom('eq', 'neq', 'gt', 'gte', 'lt', 'lte'),
    value: fc.integer({ min: 0, max: 7 }),
    negate: fc.boolean(),
  }),
  fc.record({
    field: fc.constant('visits'),
    op: fc.constant('in'),
    value: fc.subarray([0, 1, 2, 3, 4, 5, 6], { minLength: 1 }),
    negate: fc.boolean(),
  }),
  fc.constantFrom(...Object.keys(TEXT_VALUES)).chain((field) =>
    fc.oneof(
      fc.record({
        field: fc.constant(field),
        op: fc.constantFrom('eq', 'neq'),
        value: fc.constantFrom(...TEXT_VALUES[field]!.eq),
        negate: fc.boolean(),
      }),
      fc.record({
        field: fc.constant(field),
        op: fc.constantFrom('like', 'ilike'),
        value: fc.constantFrom(...TEXT_VALUES[field]!.like),
        negate: fc.boolean(),
      }),
      fc.record({
        field: fc.constant(field),
        op: fc.constant('in'),
        value: fc.subarray(TEXT_VALUES[field]!.eq, { minLength: 1 }),
        negate: fc.boolean(),
      }),
      fc.record({
        field: fc.constant(field),
        op: fc.constant('is'),
        value: fc.constantFrom('null', 'not_null'),
        negate: fc.boolean(),
      }),
    ),
  ),
);

const node: fc.Arbitrary<Node> = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', maxDepth: 3, withCrossShrink: true },
    leaf,
    fc.record({
      kind: fc.constantFrom('and' as const, 'or' as const),
      negate: fc.boolean(),
      children: fc.array(tie('node'), { minLength: 1, maxLength: 3 }),
    }),
  ),
})).node;

const isLeaf = (n: Node): n is Leaf => 'field' in n;
const valueText = (l: Leaf) => (l.op === 'in' ? `(${(l.value as unknown[]).join(',')})` : String(l.value));
const inner = (n: Node): string =>
  isLeaf(n)
    ? `${n.field}.${n.negate ? 'not.' : ''}${n.op}.${valueText(n)}`
    : `${n.negate ? 'not.' : ''}${n.kind}(${n.children.map(inner).join(',')})`;
const param = (n: Node): string =>
  isLeaf(n)
    ? `${n.field}=${encodeURIComponent(`${n.negate ? 'not.' : ''}${n.op}.${valueText(n)}`)}`
    : `${n.negate ? 'not.' : ''}${n.kind}=${encodeURIComponent(`(${n.children.map(inner).join(',')})`)}`;
const oracle = (n: Node): Filter => {
  const f: Filter = isLeaf(n)
    ? ({
        field: n.field,
        op: n.op,
        value: n.op === 'like' || n.op === 'ilike' ? String(n.value).replaceAll('*', '%') : n.value,
      } as Filter)
    : n.kind === 'and'
      ? { and: n.children.map(oracle) }
      : { or: n.children.map(oracle) };
  return n.negate ? { not: f } : f;
};
const fieldsIn = (n: Node): string[] => (isLeaf(n) ? [n.field] : n.children.flatMap(fieldsIn));

const reads = fc.record({
  fields: fc.subarray(OPTIONAL),
  masks: fc.record(Object.fromEntries(OPTIONAL.map((f) => [f, fc.constantFrom(...MASK_CHOICES[f]!)]))),
  rowFilter,
  nodes: fc.array(node, { minLength: 1, maxLength: 3 }),
  offset: fc.integer({ min: 0, max: 45 }),
  limit: fc.integer({ min: 0, max: 45 }),
  byRange: fc.boolean(),
  count: fc.boolean(),
});

describe('gateway properties: PostgREST operators and windows', () => {
  it('refuses any filter naming a masked field and serves exactly the admitted window otherwise', async () => {
    await fc.assert(
      fc.asyncProperty(reads, async (x) => {
        const fields = ['record_no', ...x.fields];
        const masking = Object.fromEntries(x.fields.map((f) => [f, x.masks[f]!]));
        const contract = await fixture.contractFor(code, {
          fields,
          masking,
          ...(x.rowFilter ? { rowFilter: x.rowFilter } : {}),
        });
        const query = ['order=record_no', ...x.nodes.map(param)];
        const headers: Record<string, string> = {};
        if (x.byRange) {
          // A zero-length window by Range is an open range (`offset-`).
          headers.range = x.limit === 0 ? `${x.offset}-` : `${x.offset}-${x.offset + x.limit - 1}`;
          headers['range-unit'] = 'items';
        } else query.push(`offset=${x.offset}`, `limit=${x.limit}`);
        if (x.count) headers.prefer = 'count=exact';
        const res = await t.request({
          method: 'GET',
          url: `/v1/gateway/contracts/${contract}/rows?${query.join('&')}`,
          token: fixture.tokens.key,
          headers,
        });
        const named = x.nodes.flatMap(fieldsIn);
        const refused = named.some((f) => !fields.includes(f) || (masking[f] ?? 'none') !== 'none');
        if (refused) {
          expect(res.statusCode, res.body).toBe(403);
          expect(res.json().error.code).toBe('FILTER_ON_MASKED_FIELD');
          expect(res.json().code).toBe('FILTER_ON_MASKED_FIELD');
          return;
        }
        const filter: Filter = { and: x.nodes.map(oracle) };
        const admitted = ROWS.filter(
          (r) => (!x.rowFilter || matches(x.rowFilter, r)) && matches(filter, r),
        ).sort((a, b) => a.record_no.localeCompare(b.record_no));
        const windowed =
          x.byRange && x.limit === 0
            ? admitted.slice(x.offset)
            : admitted.slice(x.offset, x.offset + x.limit);
        if (x.count && x.offset > admitted.length) {
          expect(res.statusCode, res.body).toBe(416);
          return;
        }
        expect([200, 206], res.body).toContain(res.statusCode);
        const items = res.json() as Array<Record<string, unknown>>;
        expect(items.map((r) => r.record_no)).toEqual(windowed.map((r) => r.record_no));
        for (const item of items) {
          expect(Object.keys(item).sort()).toEqual([...fields].sort());
          const original = raw.get(String(item.record_no))!;
          for (const [field, rule] of Object.entries(masking)) {
            if (rule !== 'none' && original[field] !== null)
              expect(String(item[field])).not.toBe(String(original[field]));
          }
        }
        const total = x.count ? admitted.length : '*';
        const range = windowed.length > 0 ? `${x.offset}-${x.offset + windowed.length - 1}` : '*';
        expect(res.headers['content-range']).toBe(`${range}/${total}`);
        expect(res.statusCode).toBe(x.count && windowed.length < admitted.length ? 206 : 200);
      }),
      { numRuns: 30 },
    );
  });
});
