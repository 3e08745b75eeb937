import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers.ts';
import { sharingFixture } from './sharing-fixture.ts';

/** Approved computations (issue 14 §3): submit, approve, then only the template runs, audited. */
const DISTRICTS = ['西湖区', '滨江区', '上城区', '拱墅区'];

describe('approved computations', () => {
  let t: TestApp;
  let f: ReturnType<typeof sharingFixture>;
  const post = (url: string, payload: unknown, token = f.tokens.key) =>
    t.request({ method: 'POST', url, token, payload: payload as object });
  const template = {
    name: '各区就诊人数',
    metrics: [{ fn: 'count' }],
    groupBy: ['district'],
    filter: { field: 'visits', op: 'gte', value: { param: 'min_visits' } },
    params: { min_visits: 'integer' },
  };

  beforeAll(async () => {
    t = await startTestApp();
    f = sharingFixture(t);
    await f.login();
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it('a DP template: submitted, approved by the provider, then the only thing the contract runs', async () => {
    const code = await f.resource('门诊记录（模板）', 'conditional');
    const put = await t.request({
      method: 'PUT',
      url: `/v1/gateway/resources/${code}/dp`,
      token: f.tokens.steward,
      payload: { unit: 'person_id', maxRowsPerGroup: 1, domains: { district: { values: DISTRICTS } } },
    });
    expect(put.statusCode, put.body).toBe(200);
    const contract = await f.contractFor(code, { operations: ['aggregate'] }, { operations: ['aggregate'] });
    // An undeclared parameter and a masked field are refused at submission.
    expect(
      (await post(`/v1/gateway/contracts/${contract}/templates`, { ...template, params: {} })).statusCode,
    ).toBe(400);
    expect(
      (
        await post(`/v1/gateway/contracts/${contract}/templates`, {
          ...template,
          name: 'x',
          groupBy: ['name'],
        })
      ).statusCode,
    ).toBe(403);
    const submitted = await post(`/v1/gateway/contracts/${contract}/templates`, template);
    expect(submitted.statusCode, submitted.body).toBe(201);
    const tpl = submitted.json();
    expect(tpl).toMatchObject({ state: 'submitted', mode: 'dp', needsSecurity: false });
    const free = { metrics: [{ fn: 'count' }], groupBy: ['district'], rho: 0.01 };
    // Before any approval free-form DP queries still run; a template cannot run yet.
    expect((await post(`/v1/gateway/contracts/${contract}/dp/aggregate`, free)).statusCode).toBe(200);
    expect(
      (await post(`/v1/gateway/templates/${tpl.id}/run`, { params: { min_visits: 1 }, rho: 0.1 })).statusCode,
    ).toBe(403);
    // The consumer cannot approve its own template.
    expect((await post(`/v1/gateway/templates/${tpl.id}/approve`, {}, f.tokens.consumer)).statusCode).toBe(
      403,
    );
    const approved = await post(
      `/v1/gateway/templates/${tpl.id}/approve`,
      { reason: '用途相符' },
      f.tokens.steward,
    );
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json().state).toBe('approved');
    const refused = await post(`/v1/gateway/contracts/${contract}/dp/aggregate`, free);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe('TEMPLATE_REQUIRED');
    const run = await post(`/v1/gateway/templates/${tpl.id}/run`, { params: { min_visits: 2 }, rho: 0.1 });
    expect(run.statusCode, run.body).toBe(200);
    expect(run.json().mode).toBe('dp');
    expect(
      run
        .json()
        .result.rows.map((r: { district: string }) => r.district)
        .sort(),
    ).toEqual([...DISTRICTS].sort());
    expect(run.json().result.spent.rho).toBe(0.1);
    // Parameters are typed; unknown ones are refused; a DP run needs ρ.
    for (const body of [
      { params: { min_visits: '2' }, rho: 0.1 },
      { params: { min_visits: 2, x: 1 }, rho: 0.1 },
      { params: { min_visits: 2 } },
    ])
      expect((await post(`/v1/gateway/templates/${tpl.id}/run`, body)).statusCode, JSON.stringify(body)).toBe(
        400,
      );
    // Another organization's key cannot run it.
    expect(
      (
        await post(
          `/v1/gateway/templates/${tpl.id}/run`,
          { params: { min_visits: 2 }, rho: 0.1 },
          f.tokens.otherKey,
        )
      ).statusCode,
    ).toBe(404);
    const actions = await t.database.db
      .selectFrom('audit_events')
      .select(['action', 'details'])
      .where('object_id', '=', contract)
      .where('action', 'like', 'gateway.template.%')
      .execute();
    expect(actions.map((a) => a.action).sort()).toEqual([
      'gateway.template.approve',
      'gateway.template.run',
      'gateway.template.submit',
    ]);
    const list = await t.request({
      method: 'GET',
      url: `/v1/gateway/contracts/${contract}/templates`,
      token: f.tokens.steward,
    });
    expect(list.json().items).toHaveLength(1);
  });

  it('an exact template on a non-personal resource runs the k-suppressed aggregate; free-form aggregates are refused', async () => {
    const code = await f.resource('门诊统计（模板，无个人信息）', 'conditional', 'g1');
    const contract = await f.contractFor(code, { operations: ['aggregate'] }, { operations: ['aggregate'] });
    const submitted = await post(`/v1/gateway/contracts/${contract}/templates`, {
      name: '某区就诊人数',
      metrics: [{ fn: 'count' }, { fn: 'mean', field: 'visits' }],
      filter: { field: 'district', op: 'eq', value: { param: 'district' } },
      params: { district: 'text' },
    });
    expect(submitted.statusCode, submitted.body).toBe(201);
    const tpl = submitted.json();
    expect(tpl.mode).toBe('exact');
    const rejected = await post(
      `/v1/gateway/templates/${tpl.id}/reject`,
      { reason: '不需要' },
      f.tokens.steward,
    );
    expect(rejected.json().state).toBe('rejected');
    expect((await post(`/v1/gateway/templates/${tpl.id}/approve`, {}, f.tokens.steward)).statusCode).toBe(
      409,
    );
    const again = (
      await post(`/v1/gateway/contracts/${contract}/templates`, {
        name: '某区就诊人数（二）',
        metrics: [{ fn: 'count' }],
        filter: { field: 'district', op: 'eq', value: { param: 'district' } },
        params: { district: 'text' },
      })
    ).json();
    expect((await post(`/v1/gateway/templates/${again.id}/approve`, {}, f.tokens.steward)).json().state).toBe(
      'approved',
    );
    const run = await post(`/v1/gateway/templates/${again.id}/run`, { params: { district: '西湖区' } });
    expect(run.statusCode, run.body).toBe(200);
    expect(run.json().result.groups).toEqual([{ count: 20 }]);
    const free = await post(`/v1/gateway/contracts/${contract}/aggregate`, { metrics: [{ fn: 'count' }] });
    expect(free.statusCode).toBe(403);
    expect(free.json().error.code).toBe('TEMPLATE_REQUIRED');
  });
  it('a template that needs the security officer goes to security review after the provider, and only the officer finishes it', async () => {
    const code = await f.resource('门诊统计（模板，安全审核）', 'conditional', 'g1');
    const contract = await f.contractFor(code, { operations: ['aggregate'] }, { operations: ['aggregate'] });
    const tpl = (
      await post(`/v1/gateway/contracts/${contract}/templates`, { name: '总数', metrics: [{ fn: 'count' }] })
    ).json();
    expect(tpl.needsSecurity).toBe(false);
    // As submission sets it when a touched field ranks g4 or above.
    await t.database.db
      .updateTable('query_templates' as never)
      .set({ needs_security: true } as never)
      .where('id' as never, '=', tpl.id as never)
      .execute();
    const first = await post(`/v1/gateway/templates/${tpl.id}/approve`, {}, f.tokens.steward);
    expect(first.json().state).toBe('security_review');
    expect((await post(`/v1/gateway/templates/${tpl.id}/approve`, {}, f.tokens.steward)).statusCode).toBe(
      403,
    );
    expect((await post(`/v1/gateway/templates/${tpl.id}/run`, {})).statusCode).toBe(403);
    const second = await post(
      `/v1/gateway/templates/${tpl.id}/approve`,
      { reason: '已核' },
      f.tokens.security,
    );
    expect(second.statusCode, second.body).toBe(200);
    expect(second.json().state).toBe('approved');
    expect(second.json().decisions.map((d: { role: string }) => d.role)).toEqual([
      'data_steward',
      'security_officer',
    ]);
    const run = await post(`/v1/gateway/templates/${tpl.id}/run`, {});
    expect(run.statusCode, run.body).toBe(200);
    expect(run.json().result.groups).toEqual([{ count: 40 }]);
  });
});
