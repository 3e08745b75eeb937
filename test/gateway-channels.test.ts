import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvCell } from '../src/core/csv.ts';
import { startTestApp, type TestApp } from './helpers.ts';
import { type Actors, sharingFixture } from './sharing-fixture.ts';
import { inOneMinute } from './support/minute.ts';

/**
 * Issue #14, section 1 and 4: the inference channels a hostile but authorized consumer used to
 * combine legitimate answers into personal data, each replayed as an attack that must now fail.
 */
let t: TestApp;
let tokens: Actors;
let fx: ReturnType<typeof sharingFixture>;
let code: string;
// Aggregate-only contracts on personal data go through differential privacy (test/dp.test.ts); the
// exact aggregate's channels are replayed on a resource without personal information.
let plainCode: string;

const aggregate = (contract: string, payload: unknown, token = tokens.key) =>
  t.request({
    method: 'POST',
    url: `/v1/gateway/contracts/${contract}/aggregate`,
    token,
    payload: payload as object,
  });

beforeAll(async () => {
  t = await startTestApp();
  fx = sharingFixture(t);
  tokens = fx.tokens;
  await fx.login();
  code = await fx.resource('门诊就诊明细', 'conditional');
  plainCode = await fx.resource('门诊就诊统计', 'conditional', 'g1');
});
afterAll(() => t.close());

describe('exact aggregates never touch a masked field', () => {
  it('refuses sum, avg, min, max and count(field) over a masked field: two sums differing by one person give nothing', async () => {
    const contract = await fx.contractFor(plainCode, {
      operations: ['aggregate'],
      masking: { visits: 'null', name: 'null' },
      minGroupSize: 10,
    });
    const all = { field: 'district', op: 'eq', value: '西湖区' };
    const allButOne = { and: [all, { field: 'record_no', op: 'neq', value: 'R000' }] };
    for (const filter of [all, allButOne]) {
      const res = await aggregate(contract, { metrics: [{ fn: 'sum', field: 'visits' }], filter });
      expect(res.statusCode, res.body).toBe(403);
      expect(res.json().error).toMatchObject({
        code: 'AGGREGATE_ON_MASKED_FIELD',
        details: { field: 'metrics.0.field', name: 'visits' },
      });
    }
    for (const metric of [
      { fn: 'avg', field: 'visits' },
      { fn: 'min', field: 'visits' },
      { fn: 'max', field: 'visits' },
      { fn: 'count', field: 'name' },
      { fn: 'count', field: 'visits' },
    ]) {
      const res = await aggregate(contract, { metrics: [{ fn: 'count' }, metric] });
      expect(res.statusCode, JSON.stringify(metric)).toBe(403);
      expect(res.json().error.details.field).toBe('metrics.1.field');
    }
    const plain = await aggregate(contract, { metrics: [{ fn: 'count' }] });
    expect(plain.statusCode).toBe(200);
    expect(plain.json().groups).toEqual([{ count: 40 }]);
  });
});

describe('k-suppressed cells', () => {
  let contract: string;
  beforeAll(async () => {
    contract = await fx.contractFor(plainCode, {
      operations: ['aggregate'],
      fields: ['record_no', 'district', 'visits'],
      minGroupSize: 10,
    });
  });

  it('withholds a cell that differs from the same query without one condition by fewer than k rows', async () => {
    const base = { field: 'district', op: 'eq', value: '西湖区' };
    const whole = await aggregate(contract, {
      metrics: [{ fn: 'count' }, { fn: 'sum', field: 'visits' }],
      filter: base,
    });
    expect(whole.json().groups).toEqual([{ count: 20, sum_visits: expect.anything() }]);
    // The textbook differencing attack: the same cell minus one person.
    const minusOne = await aggregate(contract, {
      metrics: [{ fn: 'count' }, { fn: 'sum', field: 'visits' }],
      filter: { and: [base, { field: 'record_no', op: 'neq', value: 'R000' }] },
    });
    expect(minusOne.statusCode, minusOne.body).toBe(200);
    expect(minusOne.json().groups).toEqual([]);
    // Grouped: the district holding the person is withheld, the others are answered.
    const grouped = await aggregate(contract, {
      groupBy: ['district'],
      metrics: [{ fn: 'count' }],
      filter: { field: 'record_no', op: 'neq', value: 'R000' },
    });
    expect(grouped.json().groups).toEqual([
      { district: '上城区', count: 10 },
      { district: '滨江区', count: 10 },
    ]);
  });

  it('does not say how many groups were suppressed', async () => {
    const res = await aggregate(contract, { groupBy: ['visits'], metrics: [{ fn: 'count' }] });
    expect(res.statusCode).toBe(200);
    expect(res.json()).not.toHaveProperty('suppressedGroups');
    expect(res.body).not.toMatch(/suppressed/i);
  });
});

describe('grades changed after approval', () => {
  let regraded: string;
  beforeAll(async () => {
    regraded = await fx.resource('门诊就诊明细（改级）', 'conditional');
  });
  const setGrade = async (name: string, grade: string, detector: string | null) => {
    const resource = await t.database.db
      .selectFrom('resources')
      .select('id')
      .where('code', '=', regraded)
      .executeTakeFirstOrThrow();
    await t.database.db
      .updateTable('resource_fields')
      .set({ grade: grade as never, detector })
      .where('resource_id', '=', resource.id)
      .where('name', '=', name)
      .execute();
  };

  it('serves a re-graded field under the stricter mask, tells the consumer and flags the contract; core is refused', async () => {
    const contract = await fx.contractFor(regraded, { fields: ['record_no', 'district', 'visits'] });
    const before = await fx.rows(contract, 'limit=1000');
    expect(before.json().items.some((r: { visits: number }) => r.visits > 0)).toBe(true);
    expect(before.headers['x-changed-fields']).toBeUndefined();
    await setGrade('visits', 'g3', null);
    const after = await fx.rows(contract, 'limit=1000');
    expect(after.statusCode, after.body).toBe(200);
    expect(after.json().items.every((r: { visits: unknown }) => r.visits === null)).toBe(true);
    expect(after.headers['x-changed-fields']).toBe('visits');
    expect(after.json().changedFields).toEqual([
      expect.objectContaining({ name: 'visits', grade: 'g3', contractMask: 'none', mask: 'null' }),
    ]);
    const agg = await aggregate(contract, { groupBy: ['visits'], metrics: [{ fn: 'count' }] });
    expect(agg.statusCode).toBe(403);
    const view = (await fx.call('GET', `/v1/contracts/${contract}`, tokens.steward)).json();
    expect(view.reviewFlag.fields.map((f: { name: string }) => f.name)).toEqual(['visits']);
    await setGrade('visits', 'core', null);
    const core = await fx.rows(contract, 'select=record_no,visits');
    expect(core.statusCode).toBe(403);
    expect(core.json().error).toMatchObject({
      code: 'CORE_DATA_NOT_SERVED',
      details: { field: 'select', name: 'visits' },
    });
    const rest = await fx.rows(contract);
    expect(rest.statusCode).toBe(200);
    expect(Object.keys(rest.json().items[0]).sort()).toEqual(['district', 'record_no']);
    expect(rest.headers['x-changed-fields']).toBe('visits');
    await setGrade('visits', 'g2', null);
  });

  it('serves a new version whose field classification flags as mobile numbers under the mobile mask', async () => {
    const contract = await fx.contractFor(regraded, { fields: ['record_no', 'note'] });
    const header = 'record_no,person_id,name,district,visits,note';
    // Real mobiles in no particular order (an increasing run would be a serial number, not mobiles).
    const lines = Array.from(
      { length: 40 },
      (_, i) => `R${i},,,西湖区,1,1381234${String(1000 + ((i * 37) % 40) * 211)}`,
    );
    const up = await t.request({
      method: 'POST',
      url: `/v1/resources/${regraded}/versions?filename=v2.csv&wait=true`,
      token: tokens.steward,
      headers: { 'content-type': 'text/csv' },
      payload: `${header}\n${lines.join('\n')}\n`,
    });
    expect(up.statusCode, up.body).toBe(201);
    const res = await fx.rows(contract, 'limit=1000');
    expect(res.statusCode, res.body).toBe(200);
    const notes = res.json().items.map((r: { note: string }) => r.note);
    expect(notes).toHaveLength(40);
    expect(notes.some((n: string) => /^1381234\d{4}$/.test(n))).toBe(false);
    expect(res.headers['x-changed-fields']).toBe('note');
  });
});

describe('hostile values', () => {
  let typed: string;
  let contract: string;
  beforeAll(async () => {
    const res = await fx.call('POST', '/v1/resources', tokens.steward, {
      name: '类型测试',
      theme: 'health',
      updateCycle: 'monthly',
      sharingType: 'conditional',
      sharingConditions: '依法履职需要',
      openType: 'not_open',
      fields: [
        { name: 'd', label: '日期', dataType: 'date' },
        { name: 'ts', label: '时间', dataType: 'timestamp' },
        { name: 'n', label: '整数', dataType: 'integer' },
        { name: 'x', label: '小数', dataType: 'decimal' },
        { name: 'b', label: '布尔', dataType: 'boolean' },
        { name: 's', label: '文本', dataType: 'text' },
      ],
    });
    expect(res.statusCode, res.body).toBe(201);
    typed = res.json().code;
    await t.database.db
      .updateTable('resource_fields')
      .set({ grade: 'g1', detector: null })
      .where('resource_id', '=', res.json().id)
      .execute();
    const csv = `d,ts,n,x,b,s\n${Array.from({ length: 30 }, (_, i) => `2024-01-${String((i % 28) + 1).padStart(2, '0')},2024-01-01T0${i % 10}:00:00Z,${i},${i}.5,${i % 2 === 0},v${i % 3}`).join('\n')}\n`;
    const up = await t.request({
      method: 'POST',
      url: `/v1/resources/${typed}/versions?filename=t.csv&wait=true`,
      token: tokens.steward,
      headers: { 'content-type': 'text/csv' },
      payload: csv,
    });
    expect(up.statusCode, up.body).toBe(201);
    // Published once loaded and graded: a regrade after publication would await the bureau again.
    await t.publish(typed, tokens.steward);
    contract = await fx.contractFor(typed, {}, { fields: ['d', 'ts', 'n', 'x', 'b', 's'] });
    // Hundreds of probes: above the default rate limit, which refused calls now count against.
    await t.database.db
      .updateTable('contracts')
      .set({ rate_limit_per_minute: 1_000_000 })
      .where('id', '=', contract)
      .execute();
  });

  it('answers 400 naming the field for impossible dates, NUL bytes and objects as values', async () => {
    for (const [query, field] of [
      ['d=eq.2023-02-29', 'd.value'],
      ['d=gt.2023-13-01', 'd.value'],
      ['ts=eq.2023-02-29T00:00:00Z', 'ts.value'],
      [`s=eq.${encodeURIComponent('a\u0000b')}`, 's.value'],
      ['n=eq.9999999999999999999', 'n.value'],
      ['x=eq.1e400', 'x.value'],
      ['d=is.true', 'd.value'],
    ] as const) {
      const res = await fx.rows(contract, query);
      expect(res.statusCode, `${query}: ${res.body}`).toBe(400);
      expect(res.json().error.details.field, query).toBe(field);
    }
    for (const value of [{ a: 1 }, [1], null, 'a\u0000b']) {
      const res = await aggregate(contract, {
        metrics: [{ fn: 'count' }],
        filter: { field: 's', op: 'eq', value },
      });
      expect(res.statusCode, `${JSON.stringify(value)}: ${res.body}`).toBe(400);
      expect(res.json().error.details.field).toBe('filter.value');
    }
  });

  it('never answers 500 to any filter value on any field type (property)', async () => {
    const ops = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'like', 'in', 'is'];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('d', 'ts', 'n', 'x', 'b', 's'),
        fc.constantFrom(...ops),
        fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.date({ noInvalidDate: false }).map(String)),
        async (field, op, value) => {
          const raw = op === 'in' ? `(${value})` : value;
          const res = await fx.rows(contract, `${field}=${encodeURIComponent(`${op}.${raw}`)}&limit=1`);
          expect([200, 400], `${field}=${op}.${raw}: ${res.body}`).toContain(res.statusCode);
        },
      ),
      { numRuns: 100 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('d', 'ts', 'n', 'x', 'b', 's'),
        fc.constantFrom(...ops),
        fc.jsonValue(),
        async (field, op, value) => {
          const res = await aggregate(contract, { metrics: [{ fn: 'count' }], filter: { field, op, value } });
          expect([200, 400], `${field} ${op} ${JSON.stringify(value)}: ${res.body}`).toContain(
            res.statusCode,
          );
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('cursors, visibility, freezes, CSV, quotas, order', () => {
  let contract: string;
  beforeAll(async () => {
    contract = await fx.contractFor(code, { fields: ['record_no', 'district', 'visits', 'note'] });
  });

  it('signs cursors and binds them to contract and query: forged, tampered or replayed cursors are 400', async () => {
    const page1 = (await fx.rows(contract, 'limit=5')).json();
    expect(page1.nextCursor).toEqual(expect.any(String));
    const page2 = await fx.rows(contract, `limit=5&cursor=${page1.nextCursor}`);
    expect(page2.statusCode).toBe(200);
    const forged = Buffer.from('r:5').toString('base64url');
    const other = await fx.contractFor(code, { fields: ['record_no', 'district', 'visits', 'note'] });
    const tampered = `${page1.nextCursor.slice(0, -2)}${page1.nextCursor.endsWith('AA') ? 'BB' : 'AA'}`;
    for (const [id, query] of [
      [contract, `limit=5&cursor=${forged}`],
      [contract, `limit=5&cursor=${tampered}`],
      [contract, `limit=5&district=eq.${encodeURIComponent('西湖区')}&cursor=${page1.nextCursor}`],
      [contract, `limit=5&order=visits&cursor=${page1.nextCursor}`],
      [other, `limit=5&cursor=${page1.nextCursor}`],
    ] as const) {
      const res = await fx.rows(id, query);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().error.details.field).toBe('cursor');
    }
  });

  it('answers 404, not 403, for a contract the caller may not see', async () => {
    const viaKey = await fx.rows(contract, '', tokens.otherKey);
    expect(viaKey.statusCode).toBe(404);
    expect(viaKey.json().error.code).toBe('NOT_FOUND');
    const unknown = await fx.rows('ctr_doesnotexist', '', tokens.otherKey);
    expect(viaKey.json().error).toEqual({
      ...unknown.json().error,
      details: { ...unknown.json().error.details, id: contract },
    });
    expect((await fx.call('GET', `/v1/contracts/${contract}`, tokens.enterprise)).statusCode).toBe(404);
    expect((await fx.call('GET', `/v1/contracts/${contract}/usage`, tokens.enterprise)).statusCode).toBe(404);
  });

  it('does not tell the consumer why a freeze was made', async () => {
    const reason = '内部线索：举报人王某称该单位转卖数据';
    const frozen = await fx.call('POST', '/v1/monitor/freezes', tokens.security, {
      scope: 'contract',
      target: contract,
      reason,
    });
    expect(frozen.statusCode, frozen.body).toBe(201);
    const res = await fx.rows(contract);
    expect(res.statusCode).toBe(423);
    expect(res.json().error.code).toBe('FROZEN');
    expect(res.body).not.toContain('举报');
    expect(res.json().error.details).not.toHaveProperty('reason');
    await fx.call('POST', `/v1/monitor/freezes/${frozen.json().id}/lift`, tokens.security, {
      reason: '核查完毕',
    });
    expect((await fx.rows(contract)).statusCode).toBe(200);
  });

  it('neutralises formulas behind leading whitespace and in full-width forms', () => {
    for (const text of [' =1+1', '\u3000=1+1', '\t=1', '＝SUM(A1)', '＋1', '－1', '＠cmd', ' ＠x', '\n=1']) {
      expect(csvCell(text), text).toMatch(/^"?'/);
    }
    expect(csvCell('备注1')).toBe('备注1');
  });

  it('counts aggregates against the daily row quota and refused calls against the rate limit', async () => {
    const quota = await fx.contractFor(plainCode, {
      operations: ['aggregate'],
      fields: ['district'],
      quotaRowsPerDay: 3,
    });
    for (let i = 0; i < 3; i++)
      expect((await aggregate(quota, { metrics: [{ fn: 'count' }] })).statusCode).toBe(200);
    const over = await aggregate(quota, { metrics: [{ fn: 'count' }] });
    expect(over.statusCode).toBe(429);
    expect(over.json().error.code).toBe('QUOTA_EXCEEDED');
    const [refused, limited] = await inOneMinute(async () => {
      const rate = await fx.contractFor(code, { fields: ['record_no', 'district'], rateLimitPerMinute: 3 });
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await fx.rows(rate, 'order=secret')).statusCode);
      return [statuses, await fx.rows(rate)] as const;
    });
    expect(refused).toEqual([403, 403, 403]);
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('RATE_LIMITED');
  });

  it('orders rows by a per-contract keyed hash by default, not in file order, and pages through all of them', async () => {
    const order = async (id: string) => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res = await fx.rows(id, `select=record_no&limit=7${cursor ? `&cursor=${cursor}` : ''}`);
        expect(res.statusCode, res.body).toBe(200);
        seen.push(...res.json().items.map((r: { record_no: string }) => r.record_no));
        cursor = res.json().nextCursor;
      } while (cursor);
      return seen;
    };
    const a = await order(contract);
    expect(new Set(a).size).toBe(40);
    expect(a).not.toEqual([...a].sort());
    expect(await order(contract)).toEqual(a);
    const other = await fx.contractFor(code, { fields: ['record_no'] });
    expect(await order(other)).not.toEqual(a);
  });
});

describe('re-identification risk at approval', () => {
  it('computes the prosecutor risk of the served quasi-identifiers and sends a risky approval to the security officer', async () => {
    // district × surname × visits: 28 classes of one or two records, all smaller than k.
    const risky = await fx.apply(code, { fields: ['district', 'name', 'visits'], operations: ['rows'] });
    const approved = await fx.call('POST', `/v1/applications/${risky.id}/approve`, tokens.steward, {});
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json()).toMatchObject({
      state: 'security_review',
      needsSecurityReview: true,
      reidentification: {
        quasiIdentifiers: ['district', 'name', 'visits'],
        records: 40,
        recordsAtRisk: 40,
        risk: 1,
      },
    });
    const viewed = (await fx.call('GET', `/v1/applications/${risky.id}`, tokens.consumer)).json();
    expect(viewed.reidentification.risk).toBe(1);
    // The name suppressed: only the district is served with content, classes of ten or twenty.
    const safe = await fx.apply(code, { fields: ['district', 'name'], operations: ['rows'] });
    const done = await fx.call('POST', `/v1/applications/${safe.id}/approve`, tokens.steward, {
      masking: { name: 'null' },
    });
    expect(done.statusCode, done.body).toBe(200);
    expect(done.json()).toMatchObject({
      state: 'approved',
      reidentification: { quasiIdentifiers: ['district'], records: 40, recordsAtRisk: 0, risk: 0 },
    });
  });
});
