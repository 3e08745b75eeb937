import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers.ts';
import { FIELDS, sharingFixture } from './sharing-fixture.ts';
import { inOneMinute } from './support/minute.ts';

/**
 * Issue 24: the default order (a per-contract keyed permutation of the row ordinal) is read from an
 * index of its own once the contract has read the version, instead of a scan and a sort. Whichever
 * way the database chooses the page, cursor paging must give every row the filters admit exactly
 * once, in the same order, and a cursor issued before the index existed must still continue.
 */
let t: TestApp;
let fx: ReturnType<typeof sharingFixture>;
let code: string;
const N = 1500;
const DISTRICTS = ['西湖区', '滨江区', '上城区'];
const rowsOf = Array.from({ length: N }, (_, i) => ({
  record_no: `R${String(i).padStart(5, '0')}`,
  person_id: `33010619900101${String(1000 + (i % 9000)).slice(-4)}`,
  name: `张${i}`,
  district: DISTRICTS[i % 3]!,
  visits: i % 11,
  note: `备注${i}`,
}));

async function orderIndexes(): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_indexes
    WHERE schemaname = 'datasets' AND indexname LIKE 'gk\\_%'`.execute(t.database.db);
  return rows[0]?.n ?? 0;
}

async function waitForOrderIndexes(n: number) {
  for (let i = 0; i < 500 && (await orderIndexes()) < n; i++) await new Promise((r) => setTimeout(r, 20));
  expect(await orderIndexes()).toBeGreaterThanOrEqual(n);
}

type Filter = { query: string; admits: (r: (typeof rowsOf)[number]) => boolean };
const FILTERS: Filter[] = [
  { query: '', admits: () => true },
  { query: `district=eq.${encodeURIComponent('滨江区')}`, admits: (r) => r.district === '滨江区' },
  { query: 'visits=gte.9', admits: (r) => r.visits >= 9 },
  { query: 'or=(visits.eq.0,visits.eq.10)', admits: (r) => r.visits === 0 || r.visits === 10 },
  { query: 'record_no=lt.R00010', admits: (r) => r.record_no < 'R00010' },
];

/** Every record_no of one read, page by page through the signed cursor. */
async function pageThrough(contract: string, limit: number, filter: string, from?: string) {
  const seen: string[] = [];
  let cursor: string | null | undefined = from;
  let pages = 0;
  do {
    const query = [`select=record_no`, `limit=${limit}`, filter, cursor ? `cursor=${cursor}` : '']
      .filter(Boolean)
      .join('&');
    const res = await fx.rows(contract, query);
    expect(res.statusCode, res.body).toBe(200);
    seen.push(...res.json().items.map((r: { record_no: string }) => r.record_no));
    cursor = res.json().nextCursor;
    pages++;
  } while (cursor && pages < 200);
  return seen;
}

/** A contract whose limits do not get in the way of paging through the whole version many times. */
async function contract(fields: string[]) {
  const id = await fx.contractFor(code, { fields });
  await t.database.db
    .updateTable('contracts')
    .set({ rate_limit_per_minute: 1_000_000, quota_rows_per_day: 1e9 })
    .where('id', '=', id)
    .execute();
  return id;
}

beforeAll(async () => {
  t = await startTestApp();
  fx = sharingFixture(t);
  await fx.login();
  code = await fx.resource('门诊就诊明细（分页）', 'conditional', 'g1');
  // A second, larger version becomes the current one: large enough that reading a page from the
  // order index is cheaper than a scan and a sort.
  const quote = (v: unknown) => `"${String(v).replaceAll('"', '""')}"`;
  const csv = `${FIELDS.map((f) => f.name).join(',')}\n${rowsOf.map((r) => FIELDS.map((f) => quote(r[f.name as keyof typeof r])).join(',')).join('\n')}\n`;
  const up = await t.request({
    method: 'POST',
    url: `/v1/resources/${code}/versions?filename=v2.csv&wait=true`,
    token: fx.tokens.steward,
    headers: { 'content-type': 'text/csv' },
    payload: csv,
  });
  expect(up.statusCode, up.body).toBe(201);
});
afterAll(() => t.close());

describe('the default order, read from its index', () => {
  it('pages through every admitted row exactly once, in the same order before and after the index exists', async () => {
    const id = await contract(['record_no', 'district', 'visits', 'note']);
    const before = await orderIndexes();
    // The first read starts the index; its first page and cursor may come from the sort.
    const first = (await fx.rows(id, 'select=record_no&limit=50')).json();
    const early = await pageThrough(id, 50, '');
    await waitForOrderIndexes(before + 1);
    const all = await pageThrough(id, 50, '');
    expect(all).toEqual(early);
    expect(new Set(all).size).toBe(N);
    expect(all).not.toEqual([...all].sort());
    // A cursor from before the index existed continues where it left off.
    const rest = await pageThrough(id, 50, '', first.nextCursor);
    expect([...first.items.map((r: { record_no: string }) => r.record_no), ...rest]).toEqual(all);

    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 40, max: 400 }),
        fc.constantFrom(...FILTERS),
        async (limit, filter) => {
          const seen = await pageThrough(id, limit, filter.query);
          const admitted = new Set(rowsOf.filter(filter.admits).map((r) => r.record_no));
          expect(seen.length).toBe(admitted.size);
          expect(new Set(seen)).toEqual(admitted);
          // Filtering keeps the order: the filtered read is the full order restricted to what it admits.
          expect(seen).toEqual(all.filter((r) => admitted.has(r)));
        },
      ),
      { numRuns: 8 },
    );
  });

  it('gives each contract its own order, each from an index of its own', async () => {
    const before = await orderIndexes();
    const a = await contract(['record_no']);
    const b = await contract(['record_no']);
    await pageThrough(a, 400, '');
    await pageThrough(b, 400, '');
    await waitForOrderIndexes(before + 2);
    const orderA = await pageThrough(a, 400, '');
    const orderB = await pageThrough(b, 400, '');
    expect(new Set(orderA).size).toBe(N);
    expect(new Set(orderB)).toEqual(new Set(orderA));
    expect(orderB).not.toEqual(orderA);
  });
});

describe('admission in one statement still reads everything afresh', () => {
  it('a consumer paging fast meets a raised grade, a freeze and a revocation on the very next request', async () => {
    const id = await contract(['record_no', 'district', 'note']);
    const page = () => fx.rows(id, 'select=record_no,note&limit=5');
    const first = await page();
    expect(first.statusCode).toBe(200);
    expect(first.json().items[0].note).toMatch(/^备注\d+$/);
    // The note is re-graded personal (g3 with a name detector): served masked from the next request.
    const resource = await t.database.db
      .selectFrom('resources')
      .select('id')
      .where('code', '=', code)
      .executeTakeFirstOrThrow();
    await t.database.db
      .updateTable('resource_fields')
      .set({ grade: 'g3', detector: 'person_name' })
      .where('resource_id', '=', resource.id)
      .where('name', '=', 'note')
      .execute();
    const regraded = await page();
    expect(regraded.statusCode, regraded.body).toBe(200);
    expect(regraded.headers['x-changed-fields']).toBe('note');
    for (const row of regraded.json().items) expect(row.note).not.toMatch(/^备注\d+$/);
    const frozen = await fx.call('POST', '/v1/monitor/freezes', fx.tokens.security, {
      scope: 'contract',
      target: id,
      reason: '核查',
    });
    expect(frozen.statusCode, frozen.body).toBe(201);
    expect((await page()).statusCode).toBe(423);
    await fx.call('POST', `/v1/monitor/freezes/${frozen.json().id}/lift`, fx.tokens.security, {
      reason: '完毕',
    });
    expect((await page()).statusCode).toBe(200);
    const revoked = await fx.call('POST', `/v1/contracts/${id}/revoke`, fx.tokens.security, {
      reason: '超范围使用',
    });
    expect(revoked.json().state).toBe('revoked');
    const after = await page();
    expect(after.statusCode).toBe(403);
    expect(after.json().error.code).toBe('CONTRACT_NOT_ACTIVE');
    await t.database.db
      .updateTable('resource_fields')
      .set({ grade: 'g1', detector: null })
      .where('resource_id', '=', resource.id)
      .where('name', '=', 'note')
      .execute();
  });

  it('counts every call against the rate limit, refused ones included, and only the consumer’s own', async () => {
    const { statuses, limited } = await inOneMinute(async () => {
      const id = await fx.contractFor(code, { fields: ['record_no'], rateLimitPerMinute: 4 });
      const statuses: number[] = [];
      // Another organization's probes are 404 and spend nothing of the consumer's limit.
      for (let i = 0; i < 3; i++) statuses.push((await fx.rows(id, '', fx.tokens.otherKey)).statusCode);
      statuses.push((await fx.rows(id, 'order=person_id')).statusCode);
      for (let i = 0; i < 3; i++) statuses.push((await fx.rows(id)).statusCode);
      return { statuses, limited: await fx.rows(id) };
    });
    expect(statuses).toEqual([404, 404, 404, 403, 200, 200, 200]);
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('RATE_LIMITED');
  });
});
