import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../src/server.ts';
import { ANSWER_WORKING_DAYS } from '../src/sharing/service.ts';
import { chinaDate, isWorkingDay, workingDaysBetween } from '../src/standards/working-days.ts';
import { startTestApp, type TestApp } from './helpers.ts';
import { type Actors, sharingFixture } from './sharing-fixture.ts';
import { inOneMinute } from './support/minute.ts';

/**
 * The whole sharing flow through the API: apply, approve (with changes), security review,
 * contract, gateway queries with an API key, and every refusal the issue lists.
 */
let t: TestApp;
let tokens: Actors;
let call: ReturnType<typeof sharingFixture>['call'];
let resource: ReturnType<typeof sharingFixture>['resource'];
let application: ReturnType<typeof sharingFixture>['application'];
let apply: ReturnType<typeof sharingFixture>['apply'];
let contractFor: ReturnType<typeof sharingFixture>['contractFor'];
let rows: ReturnType<typeof sharingFixture>['rows'];
let code: string;
let openCode: string;
let closedCode: string;

beforeAll(async () => {
  t = await startTestApp();
  const fixture = sharingFixture(t);
  ({ tokens, call, resource, application, apply, contractFor, rows } = fixture);
  await fixture.login();
  code = await resource('门诊就诊明细', 'conditional');
  openCode = await resource('医疗机构公开信息', 'unconditional', 'g1');
  closedCode = await resource('重症病例', 'not_shared');
});
afterAll(() => t.close());

describe('applications', () => {
  it('refuses applications for a not-shared resource with a clear error', async () => {
    const res = await call('POST', '/v1/applications', tokens.consumer, application(closedCode));
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toMatchObject({
      code: 'RESOURCE_NOT_SHARED',
      details: { field: 'resource', basis: '依法履职需要' },
    });
  });

  it('approves unconditional g1/g2 applications automatically, still recording application and contract', async () => {
    const app = await apply(openCode);
    expect(app.state).toBe('approved');
    expect(app.contractId).toMatch(/^ctr_/);
    expect(app.decisions[0]).toMatchObject({ by: 'system', decision: 'approve' });
  });

  it('sends g4 fields through security review after the provider, and lets reviewers narrow the terms', async () => {
    const app = await apply(code);
    expect(app).toMatchObject({ state: 'submitted', needsSecurityReview: true, overdue: false });
    // Ten working days on the official calendar, to the end of the last one in Beijing time,
    // whatever day and hour the application came in.
    const due = new Date(app.dueAt);
    const dueDay = chinaDate(due);
    expect(isWorkingDay(dueDay)).toBe(true);
    expect(workingDaysBetween(chinaDate(new Date(app.submittedAt as string)), dueDay)).toBe(
      ANSWER_WORKING_DAYS,
    );
    expect(chinaDate(new Date(due.getTime() + 1))).not.toBe(dueDay);
    const byConsumer = await call('POST', `/v1/applications/${app.id}/approve`, tokens.consumer, {});
    expect(byConsumer.statusCode).toBe(403);
    const first = await call('POST', `/v1/applications/${app.id}/approve`, tokens.steward, {
      fields: ['record_no', 'person_id', 'district'],
      rowFilter: { field: 'district', op: 'eq', value: '西湖区' },
      rateLimitPerMinute: 30,
    });
    expect(first.json()).toMatchObject({ state: 'security_review' });
    expect(first.json().granted.fields).toEqual(['record_no', 'person_id', 'district']);
    const widen = await call('POST', `/v1/applications/${app.id}/approve`, tokens.security, {
      fields: ['name'],
    });
    expect(widen.statusCode).toBe(400);
    const done = await call('POST', `/v1/applications/${app.id}/approve`, tokens.security, {});
    expect(done.json().state).toBe('approved');
    const contract = (await call('GET', `/v1/contracts/${done.json().contractId}`, tokens.consumer)).json();
    expect(contract).toMatchObject({
      state: 'active',
      fields: ['record_no', 'person_id', 'district'],
      rateLimitPerMinute: 30,
    });
    expect(contract.masking.person_id).toBe('keep_first_last(6,4)');
    const receipt = await call('GET', `/v1/contracts/${contract.id}/receipt`, tokens.consumer);
    expect(receipt.body).toContain('所属区县 = 西湖区');
    expect(receipt.body).toContain('公民身份号码');
  });

  it('refuses masks weaker than the grade default unless the security officer signs off', async () => {
    const app = await apply(code);
    const weak = await call('POST', `/v1/applications/${app.id}/approve`, tokens.steward, {
      masking: { person_id: 'none' },
    });
    expect(weak.statusCode).toBe(403);
    expect(weak.json().error.code).toBe('MASK_TOO_WEAK');
    const stricter = await call('POST', `/v1/applications/${app.id}/approve`, tokens.steward, {
      masking: { person_id: 'keep_first_last(3,2)' },
    });
    expect(stricter.json().state).toBe('security_review');
    const signed = await call('POST', `/v1/applications/${app.id}/approve`, tokens.security, {
      masking: { name: 'none' },
      allowWeakerMasking: true,
    });
    expect(signed.statusCode, signed.body).toBe(200);
    const contract = (await call('GET', `/v1/contracts/${signed.json().contractId}`, tokens.security)).json();
    expect(contract).toMatchObject({
      securitySignoff: true,
      masking: { name: 'none', person_id: 'keep_first_last(3,2)' },
    });
  });

  it('lets exactly one of two concurrent approvals win; the other gets 409', async () => {
    const app = await apply(code, { fields: ['record_no', 'district'] });
    const [a, b] = await Promise.all([
      call('POST', `/v1/applications/${app.id}/approve`, tokens.steward, {}),
      call('POST', `/v1/applications/${app.id}/approve`, tokens.steward, {}),
    ]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 409]);
    const contracts = await t.database.db
      .selectFrom('contracts')
      .select('id')
      .where('application_id', '=', app.id)
      .execute();
    expect(contracts).toHaveLength(1);
  });

  it('rejects with a reason, withdraws, and refuses transitions outside the table with 409', async () => {
    const app = await apply(code, { fields: ['district'] });
    expect(
      (await call('POST', `/v1/applications/${app.id}/reject`, tokens.steward, { reason: '' })).statusCode,
    ).toBe(400);
    const rejected = await call('POST', `/v1/applications/${app.id}/reject`, tokens.steward, {
      reason: '用途与职责不符',
    });
    expect(rejected.json().state).toBe('rejected');
    const again = await call('POST', `/v1/applications/${app.id}/approve`, tokens.steward, {});
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('INVALID_TRANSITION');
    const draft = await apply(code, { fields: ['district'], submit: false });
    expect(draft.state).toBe('draft');
    expect((await call('POST', `/v1/applications/${draft.id}/withdraw`, tokens.consumer)).json().state).toBe(
      'withdrawn',
    );
  });

  it('flags open applications past their answer deadline as overdue', async () => {
    const app = await apply(code, { fields: ['district'] });
    await t.database.db
      .updateTable('applications')
      .set({ due_at: new Date(Date.now() - 1000) })
      .where('id', '=', app.id)
      .execute();
    expect((await call('GET', `/v1/applications/${app.id}`, tokens.steward)).json().overdue).toBe(true);
  });
});

describe('contracts list', () => {
  it("filters by resource (id or code) among the caller's own, and names an unknown resource in a 404", async () => {
    const listed = await resource('门诊就诊明细（协议列表）', 'conditional');
    const mine = await contractFor(listed, { fields: ['record_no'] });
    const other = await contractFor(code, { fields: ['record_no'] });
    const list = async (query: string, token = tokens.consumer) => {
      const res = await call('GET', `/v1/contracts?limit=200&${query}`, token);
      expect(res.statusCode, res.body).toBe(200);
      return res.json().items as Array<{ id: string; resourceId: string }>;
    };
    const byCode = await list(`resource=${listed}`);
    expect(byCode.map((c) => c.id)).toContain(mine);
    expect(byCode.map((c) => c.id)).not.toContain(other);
    const resourceId = byCode[0]!.resourceId;
    expect(byCode.every((c) => c.resourceId === resourceId)).toBe(true);
    expect((await list(`resource=${resourceId}`)).map((c) => c.id)).toEqual(byCode.map((c) => c.id));
    // Another organization's consumer sees none of these contracts, filter or not.
    expect(await list(`resource=${listed}`, tokens.enterprise)).toEqual([]);
    const unknown = await call('GET', '/v1/contracts?resource=NO-SUCH-RESOURCE', tokens.consumer);
    expect(unknown.statusCode).toBe(404);
  });
});

describe('gateway', () => {
  let contract: string;
  beforeAll(async () => {
    contract = await contractFor(code, {
      rowFilter: { field: 'district', op: 'in', value: ['西湖区', '滨江区'] },
    });
  });

  it('serves masked, filtered rows to the consumer organization’s key', async () => {
    const res = await rows(contract, 'limit=1000');
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.items).toHaveLength(30);
    expect(body.items.every((r: { district: string }) => ['西湖区', '滨江区'].includes(r.district))).toBe(
      true,
    );
    const first = body.items.find((r: { record_no: string }) => r.record_no === 'R001');
    expect(first.person_id).toBe('330106********1001');
    expect(first.name).toBe('李**');
    expect(body.fields.find((f: { name: string }) => f.name === 'person_id').mask).toBe(
      'keep_first_last(6,4)',
    );
  });

  it('applies PostgREST-style select, filters, order and cursor paging', async () => {
    const res = await rows(
      contract,
      `select=record_no,visits&district=eq.${encodeURIComponent('西湖区')}&visits=gte.3&order=visits.desc`,
    );
    const items = res.json().items;
    expect(Object.keys(items[0])).toEqual(['record_no', 'visits']);
    expect(items.every((r: { visits: number }) => r.visits >= 3)).toBe(true);
    expect(items.map((r: { visits: number }) => r.visits)).toEqual(
      [...items.map((r: { visits: number }) => r.visits)].sort((a, b) => b - a),
    );
    const page1 = (await rows(contract, 'select=record_no&limit=7')).json();
    const page2 = (await rows(contract, `select=record_no&limit=7&cursor=${page1.nextCursor}`)).json();
    const seen = [...page1.items, ...page2.items].map((r: { record_no: string }) => r.record_no);
    expect(new Set(seen).size).toBe(14);
  });

  it('refuses filtering, ordering or selecting masked or ungranted fields: no inference oracle', async () => {
    for (const query of ['person_id=eq.330106199001011001', 'order=name', 'name=like.张*', 'secret=eq.1']) {
      const res = await rows(contract, query);
      expect(res.statusCode, query).toBe(403);
      expect(res.json().error.code).toBe('FILTER_ON_MASKED_FIELD');
    }
    const select = await rows(contract, 'select=record_no,password');
    expect(select.statusCode).toBe(403);
    expect(select.json().error.code).toBe('FIELD_NOT_GRANTED');
    const badValue = await rows(contract, 'visits=gte.many');
    expect(badValue.statusCode).toBe(400);
    expect(badValue.json().error.details.field).toBe('visits.value');
  });

  it('streams CSV with formula injection neutralised, and NDJSON', async () => {
    const csv = await t.request({
      method: 'GET',
      url: `/v1/gateway/contracts/${contract}/rows?select=record_no,note`,
      token: tokens.key,
      headers: { accept: 'text/csv' },
    });
    expect(csv.headers['content-type']).toContain('text/csv');
    expect(csv.body).toContain(`"'=HYPERLINK(""http://evil"")"`);
    const ndjson = await rows(contract, 'select=record_no&format=ndjson&limit=3');
    expect(
      ndjson.body
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).record_no),
    ).toHaveLength(3);
  });

  it("answers another organization's key as if the contract did not exist, and refuses anonymous calls", async () => {
    const res = await rows(contract, '', tokens.otherKey);
    expect(res.statusCode).toBe(404);
    expect(
      (await t.request({ method: 'GET', url: `/v1/gateway/contracts/${contract}/rows` })).statusCode,
    ).toBe(401);
  });

  it('aggregates with small groups suppressed, and aggregate-only contracts serve nothing else', async () => {
    // The exact aggregate is for resources without personal information (issue 14: personal data is aggregated under DP).
    const plain = await resource('门诊统计（无个人信息）', 'conditional', 'g1');
    const aggOnly = await contractFor(plain, { operations: ['aggregate'], minGroupSize: 10 });
    const res = await t.request({
      method: 'POST',
      url: `/v1/gateway/contracts/${aggOnly}/aggregate`,
      token: tokens.key,
      payload: { groupBy: ['district'], metrics: [{ fn: 'count' }, { fn: 'sum', field: 'visits' }] },
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.groups).toEqual([
      { district: '上城区', count: 10, sum_visits: expect.anything() },
      { district: '滨江区', count: 10, sum_visits: expect.anything() },
      { district: '西湖区', count: 20, sum_visits: expect.anything() },
    ]);
    const bigger = await contractFor(plain, { operations: ['aggregate'], minGroupSize: 15 });
    const suppressed = (
      await t.request({
        method: 'POST',
        url: `/v1/gateway/contracts/${bigger}/aggregate`,
        token: tokens.key,
        payload: { groupBy: ['district'], metrics: [{ fn: 'count' }] },
      })
    ).json();
    expect(suppressed.groups).toEqual([{ district: '西湖区', count: 20 }]);
    // How many groups were left out is not said: that would tell whether a person exists.
    expect(suppressed).not.toHaveProperty('suppressedGroups');
    const personal = await contractFor(code, { operations: ['aggregate'] });
    const byMasked = await t.request({
      method: 'POST',
      url: `/v1/gateway/contracts/${personal}/aggregate`,
      token: tokens.key,
      payload: { groupBy: ['person_id'], metrics: [{ fn: 'count' }] },
    });
    expect(byMasked.statusCode).toBe(403);
    expect(byMasked.json().error.code).toBe('DP_REQUIRED');
    const rowsRefused = await rows(aggOnly);
    expect(rowsRefused.statusCode).toBe(403);
    expect(rowsRefused.json().error.code).toBe('OPERATION_NOT_ALLOWED');
  });

  it('holds the row quota and the rate limit, answering 429 with the reset time', async () => {
    const quota = await contractFor(code, { quotaRowsPerDay: 5, fields: ['record_no', 'district'] });
    const first = await rows(quota, 'limit=100');
    expect(first.json().items).toHaveLength(5);
    const second = await rows(quota);
    expect(second.statusCode).toBe(429);
    expect(second.json().error.code).toBe('QUOTA_EXCEEDED');
    expect(Date.parse(second.json().error.details.resetAt)).toBeGreaterThan(Date.now());
    expect(Number(second.headers['retry-after'])).toBeGreaterThan(0);
    const answers = await inOneMinute(async () => {
      const rate = await contractFor(code, { rateLimitPerMinute: 2, fields: ['record_no'] });
      return [await rows(rate), await rows(rate), await rows(rate)];
    });
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 429]);
    expect(answers[2]!.json().error.code).toBe('RATE_LIMITED');
  });

  it('stops serving on the very next request after suspension or revocation, also on another node', async () => {
    const c = await contractFor(code, { fields: ['record_no'] });
    const otherNode = await buildServer({
      config: t.config,
      database: t.database,
      logStream: { write: () => true } as never,
    });
    const viaOther = () =>
      otherNode.inject({
        method: 'GET',
        url: `/v1/gateway/contracts/${c}/rows`,
        headers: { authorization: `Bearer ${tokens.key}` },
      });
    expect((await viaOther()).statusCode).toBe(200);
    expect(
      (await call('POST', `/v1/contracts/${c}/suspend`, tokens.consumer, { reason: '我想暂停' })).statusCode,
    ).toBe(403);
    expect(
      (await call('POST', `/v1/contracts/${c}/suspend`, tokens.steward, { reason: '核查中' })).json().state,
    ).toBe('suspended');
    expect((await viaOther()).json().error.code).toBe('CONTRACT_NOT_ACTIVE');
    expect(
      (await call('POST', `/v1/contracts/${c}/resume`, tokens.steward, { reason: '核查完毕' })).json().state,
    ).toBe('active');
    expect((await viaOther()).statusCode).toBe(200);
    expect(
      (await call('POST', `/v1/contracts/${c}/revoke`, tokens.security, { reason: '超范围使用' })).json()
        .state,
    ).toBe('revoked');
    expect((await viaOther()).statusCode).toBe(403);
    expect((await rows(c)).json().error.code).toBe('CONTRACT_NOT_ACTIVE');
    expect(
      (await call('POST', `/v1/contracts/${c}/resume`, tokens.steward, { reason: '恢复一下' })).statusCode,
    ).toBe(409);
    await otherNode.close();
  });

  it('follows the current version unless pinned to one', async () => {
    const pinned = await contractFor(code, { fields: ['record_no'], pinVersion: 1 });
    const following = await contractFor(code, { fields: ['record_no'] });
    const up = await t.request({
      method: 'POST',
      url: `/v1/resources/${code}/versions?filename=v2.csv&wait=true`,
      token: tokens.steward,
      headers: { 'content-type': 'text/csv' },
      payload: 'record_no,district\nNEW1,西湖区\n',
    });
    expect(up.statusCode, up.body).toBe(201);
    expect((await rows(following)).json().items.map((r: { record_no: string }) => r.record_no)).toEqual([
      'NEW1',
    ]);
    expect((await rows(pinned, 'limit=1000')).json().items).toHaveLength(40);
    const back = await t.request({
      method: 'POST',
      url: `/v1/resources/${code}/versions/1/activate`,
      token: tokens.steward,
    });
    expect(back.statusCode).toBe(200);
    const badPin = await t.request({
      method: 'POST',
      url: `/v1/applications/${(await apply(code, { fields: ['record_no'] })).id}/approve`,
      token: tokens.steward,
      payload: { pinVersion: 99 },
    });
    expect(badPin.statusCode).toBe(400);
    expect(badPin.json().error.details.field).toBe('pinVersion');
  });

  it('refuses an expired contract', async () => {
    const c = await contractFor(code, { fields: ['record_no'] });
    await t.database.db
      .updateTable('contracts')
      .set({ valid_to: new Date(Date.now() - 1000) })
      .where('id', '=', c)
      .execute();
    const res = await rows(c);
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('CONTRACT_EXPIRED');
    expect((await call('GET', `/v1/contracts/${c}`, tokens.consumer)).json().state).toBe('expired');
  });

  it('records every gateway call, served or refused, in the audit log', async () => {
    const served = await t.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', 'gateway.rows')
      .execute();
    const refused = await t.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', 'gateway.refused')
      .execute();
    expect(served.length).toBeGreaterThan(5);
    expect(refused.length).toBeGreaterThan(5);
    expect(served[0]!.details).toMatchObject({ operation: 'rows', outcome: 'ok' });
    expect(refused.map((r) => (r.details as { outcome: string }).outcome)).toContain(
      'FILTER_ON_MASKED_FIELD',
    );
    expect(refused.map((r) => (r.details as { outcome: string }).outcome)).toContain('QUOTA_EXCEEDED');
  });
});
