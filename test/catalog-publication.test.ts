import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers.ts';

/**
 * Catalog governance (issue 18 item 6): a resource is drafted by its provider's steward, reviewed
 * by the data bureau and published before any other organization can find it or apply for it;
 * withdrawn, it takes no new applications. Driven through HTTP as each actor would.
 */
let t: TestApp;
let steward: string; // health commission
let otherSteward: string; // public security bureau
let consumer: string; // civil affairs
let admin: string; // the data bureau
let auditor: string;
let n = 0;

beforeAll(async () => {
  t = await startTestApp();
  steward = await t.login('steward.health');
  otherSteward = await t.login('steward.psb');
  consumer = await t.login('consumer.civil');
  admin = await t.login('admin');
  auditor = await t.login('auditor');
});
afterAll(() => t.close());

async function draft(): Promise<{ id: string; code: string; name: string }> {
  const name = `门诊治理测试${++n}`;
  const res = await t.request({
    method: 'POST',
    url: '/v1/resources',
    token: steward,
    payload: {
      name,
      theme: 'health',
      updateCycle: 'monthly',
      sharingType: 'conditional',
      sharingConditions: '依法履职需要',
      openType: 'not_open',
      fields: [
        { name: 'record_no', label: '记录编号', dataType: 'text', isKey: true },
        { name: 'district', label: '所属区县', dataType: 'text' },
      ],
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  expect(res.json().state).toBe('draft');
  return res.json();
}

const step = (code: string, event: string, token: string, payload: object = {}) =>
  t.request({ method: 'POST', url: `/v1/resources/${code}/${event}`, token, payload });

const get = (code: string, token: string) =>
  t.request({ method: 'GET', url: `/v1/resources/${code}`, token });

async function searched(name: string, token: string): Promise<boolean> {
  const res = await t.request({
    method: 'GET',
    url: `/v1/catalog/search?q=${encodeURIComponent(name)}&limit=100`,
    token,
  });
  expect(res.statusCode).toBe(200);
  return res.json().items.some((r: { name: string }) => r.name === name);
}

const apply = (code: string) =>
  t.request({
    method: 'POST',
    url: '/v1/applications',
    token: consumer,
    payload: {
      resource: code,
      fields: ['record_no', 'district'],
      purpose: '核验就医情况',
      purposeCategory: 'public_service',
      legalBasis: '《社会救助暂行办法》',
      scenario: '低保审核',
      operations: ['rows'],
      requestedTo: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    },
  });

async function grade(resourceId: string) {
  await t.database.db
    .updateTable('resource_fields')
    .set({ grade: 'g1' })
    .where('resource_id', '=', resourceId)
    .execute();
}

/** An account holding both the provider's steward role and the bureau's, as a careless grant would leave it. */
async function stewardAndAdmin(username: string, orgId: string) {
  const password = 'four-eyes-password-1';
  const res = await t.request({
    method: 'POST',
    url: '/v1/users',
    token: admin,
    payload: { orgId, username, displayName: '兼任管理员', password, roles: ['data_steward'] },
  });
  expect(res.statusCode, res.body).toBe(201);
  await sql`update users set roles = ${sql.val(['data_steward', 'platform_admin'])} where username = ${username}`.execute(
    t.database.db,
  );
  return t.login(username, password);
}

/** Until a statement of this database waits on a row lock (the request racing the held one). */
async function waitForLockWaiter() {
  for (let i = 0; i < 500; i++) {
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from pg_stat_activity
       where datname = current_database() and wait_event_type = 'Lock'`.execute(t.database.db);
    if (rows[0]!.n > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the racing request never waited on the lock');
}

describe('catalog review and publication', () => {
  it('keeps a draft to its provider and the bureau until the bureau publishes it', async () => {
    const r = await draft();
    // Another organization cannot find it, read it or apply for it: to them it does not exist.
    expect(await searched(r.name, consumer)).toBe(false);
    expect((await get(r.code, consumer)).statusCode).toBe(404);
    expect((await get(r.code, otherSteward)).statusCode).toBe(404);
    expect((await apply(r.code)).statusCode).toBe(404);
    // Its provider, the bureau and the auditor see it, in its state.
    expect(await searched(r.name, steward)).toBe(true);
    expect((await get(r.code, admin)).json().state).toBe('draft');
    expect((await get(r.code, auditor)).statusCode).toBe(200);
    const drafts = await t.request({ method: 'GET', url: '/v1/catalog/search?state=draft', token: admin });
    expect(drafts.json().items.map((x: { code: string }) => x.code)).toContain(r.code);
    // Nor do anonymous open-data harvesters see it.
    const dcat = await t.request({ method: 'GET', url: '/v1/catalog/dcat' });
    expect(dcat.body).not.toContain(r.code);

    // Only its own steward submits; only the bureau publishes.
    expect((await step(r.code, 'submit', otherSteward)).statusCode).toBe(404);
    expect((await step(r.code, 'publish', admin)).json().error.code).toBe('INVALID_TRANSITION');
    const submitted = await step(r.code, 'submit', steward);
    expect(submitted.statusCode, submitted.body).toBe(200);
    expect(submitted.json().state).toBe('in_review');
    expect((await step(r.code, 'publish', steward)).statusCode).toBe(403);
    expect(await searched(r.name, consumer)).toBe(false);

    // Unassessed fields are named; the bureau grades them or publishes knowing they are not served.
    const refused = await step(r.code, 'publish', admin);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('RESOURCE_NOT_READY');
    expect(refused.json().error.details).toMatchObject({
      reason: 'unassessed_fields',
      fields: ['record_no', 'district'],
    });
    await grade(r.id);
    const published = await step(r.code, 'publish', admin);
    expect(published.statusCode, published.body).toBe(200);
    expect(published.json().state).toBe('published');
    expect(await searched(r.name, consumer)).toBe(true);
    expect((await apply(r.code)).statusCode).toBe(201);

    const audit = await t.database.db
      .selectFrom('audit_events')
      .select(['action', 'actor_id'])
      .where('object_id', '=', r.id)
      .where('action', 'like', 'resource.%')
      .orderBy('queued')
      .execute();
    expect(audit.map((a) => a.action)).toEqual(['resource.create', 'resource.submit', 'resource.publish']);
  });

  it('returns a submission with a reason the steward reads, and publishes unassessed fields only when accepted', async () => {
    const r = await draft();
    expect((await step(r.code, 'submit', steward)).statusCode).toBe(200);
    const noReason = await step(r.code, 'return', admin, {});
    expect(noReason.statusCode).toBe(400);
    expect(noReason.json().error.details.field).toBe('reason');
    const returned = await step(r.code, 'return', admin, { reason: '请补充字段说明' });
    expect(returned.statusCode).toBe(200);
    expect(returned.json()).toMatchObject({ state: 'draft', stateReason: '请补充字段说明' });
    expect((await step(r.code, 'submit', steward)).json()).toMatchObject({
      state: 'in_review',
      stateReason: null,
    });
    const accepted = await step(r.code, 'publish', admin, { acceptUnassessed: true });
    expect(accepted.statusCode, accepted.body).toBe(200);
    const entry = await t.database.db
      .selectFrom('audit_events')
      .select('details')
      .where('object_id', '=', r.id)
      .where('action', '=', 'resource.publish')
      .executeTakeFirstOrThrow();
    expect(entry.details).toMatchObject({ acceptedUnassessed: ['record_no', 'district'] });
  });

  it('refuses submission while an import’s grade contradiction is open', async () => {
    const r = await draft();
    await sql`update resources set grade_flag = ${JSON.stringify({ raisedAt: new Date().toISOString(), fields: [] })}::jsonb where id = ${r.id}`.execute(
      t.database.db,
    );
    const res = await step(r.code, 'submit', steward);
    expect(res.statusCode).toBe(409);
    expect(res.json().error.details.reason).toBe('grade_flag');
    expect((await get(r.code, steward)).json().state).toBe('draft');
  });

  it('withdraws a published resource: no new applications or approvals, contracts keep naming it', async () => {
    const r = await draft();
    await grade(r.id);
    await t.publish(r.code, steward);
    const pending = await apply(r.code);
    expect(pending.statusCode, pending.body).toBe(201);
    expect((await step(r.code, 'withdraw', consumer, { reason: '不再需要' })).statusCode).toBe(403);
    expect((await step(r.code, 'withdraw', steward, {})).statusCode).toBe(400);
    const withdrawn = await step(r.code, 'withdraw', steward, { reason: '数据源停用' });
    expect(withdrawn.statusCode, withdrawn.body).toBe(200);
    expect(withdrawn.json()).toMatchObject({ state: 'withdrawn', stateReason: '数据源停用' });
    expect(await searched(r.name, consumer)).toBe(false);
    expect((await get(r.code, consumer)).statusCode).toBe(200);
    const again = await apply(r.code);
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('RESOURCE_NOT_PUBLISHED');
    const approve = await t.request({
      method: 'POST',
      url: `/v1/applications/${pending.json().id}/approve`,
      token: steward,
      payload: {},
    });
    expect(approve.statusCode).toBe(409);
    expect(approve.json().error.code).toBe('RESOURCE_NOT_PUBLISHED');
    // Corrected, it goes through the review again.
    expect((await step(r.code, 'submit', steward)).json().state).toBe('in_review');
    expect((await step(r.code, 'publish', admin)).json().state).toBe('published');
  });

  it('never lets the one who submitted also decide (four eyes), even holding both roles', async () => {
    const r = await draft();
    await grade(r.id);
    const both = await stewardAndAdmin('both.health', (await get(r.code, steward)).json().provider.id);
    expect((await step(r.code, 'submit', both)).statusCode).toBe(200);
    const own = await step(r.code, 'publish', both);
    expect(own.statusCode).toBe(403);
    expect(own.json().error.details.reason).toBe('own_submission');
    expect((await step(r.code, 'return', both, { reason: '自己退回' })).statusCode).toBe(403);
    expect((await step(r.code, 'publish', admin)).json().state).toBe('published');
  });

  it('asks the bureau to review a published resource again when its grades change', async () => {
    const r = await draft();
    await grade(r.id);
    await step(r.code, 'submit', steward);
    await step(r.code, 'publish', admin);
    expect((await get(r.code, consumer)).json().reviewDue).toBeNull();
    const pending = await apply(r.code);
    expect(pending.statusCode, pending.body).toBe(201);
    // The provider's steward raises a field's grade (the address turned out to be exact).
    const raised = await t.request({
      method: 'PUT',
      url: `/v1/resources/${r.code}/fields/district/grade`,
      token: steward,
      payload: { grade: 'g3', reason: '含精确到门牌的住址' },
    });
    expect(raised.statusCode, raised.body).toBe(200);
    const due = (await get(r.code, consumer)).json();
    expect(due.state).toBe('published');
    expect(due.reviewDue).toMatchObject({ since: expect.any(String) });
    // Still found and readable (contracts name it), but no new applications or approvals.
    expect(await searched(r.name, consumer)).toBe(true);
    const refused = await apply(r.code);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error).toMatchObject({
      code: 'RESOURCE_NOT_PUBLISHED',
      details: { reason: 'review_due' },
    });
    expect(refused.json().error.messages['zh-CN']).toContain('重新审核');
    const approve = await t.request({
      method: 'POST',
      url: `/v1/applications/${pending.json().id}/approve`,
      token: steward,
      payload: {},
    });
    expect(approve.json().error.details.reason).toBe('review_due');
    // The bureau finds it in its list and confirms it; the steward cannot.
    const list = await t.request({
      method: 'GET',
      url: '/v1/catalog/search?reviewDue=true&limit=100',
      token: admin,
    });
    expect(list.json().items.map((i: { code: string }) => i.code)).toContain(r.code);
    expect((await step(r.code, 'reconfirm', steward)).statusCode).toBe(403);
    const confirmed = await step(r.code, 'reconfirm', admin);
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    expect(confirmed.json()).toMatchObject({ state: 'published', reviewDue: null });
    expect((await apply(r.code)).statusCode).toBe(201);
    // Nothing changed since: nothing to confirm.
    const again = await step(r.code, 'reconfirm', admin);
    expect(again.statusCode).toBe(409);
    expect(again.json().error.details.reason).toBe('no_review_due');
    // A draft's grades change freely: only what the bureau published is due a review.
    const d = await draft();
    await grade(d.id);
    await t.request({
      method: 'PUT',
      url: `/v1/resources/${d.code}/fields/district/grade`,
      token: steward,
      payload: { grade: 'g2', reason: '区县级汇总' },
    });
    expect((await get(d.code, steward)).json().reviewDue).toBeNull();
    const audit = await t.database.db
      .selectFrom('audit_events')
      .select('action')
      .where('object_id', '=', r.id)
      .where('action', '=', 'resource.reconfirm')
      .execute();
    expect(audit).toHaveLength(1);
  });

  it('never lets whoever changed the grades also confirm the change (four eyes)', async () => {
    const r = await draft();
    await grade(r.id);
    await step(r.code, 'submit', steward);
    await step(r.code, 'publish', admin);
    const both = await stewardAndAdmin('regrade.both', (await get(r.code, steward)).json().provider.id);
    const raised = await t.request({
      method: 'PUT',
      url: `/v1/resources/${r.code}/fields/record_no/grade`,
      token: both,
      payload: { grade: 'g2', reason: '编号可关联到个人' },
    });
    expect(raised.statusCode, raised.body).toBe(200);
    const own = await step(r.code, 'reconfirm', both);
    expect(own.statusCode).toBe(403);
    expect(own.json().error.details.reason).toBe('own_regrade');
    expect((await step(r.code, 'reconfirm', admin)).json().reviewDue).toBeNull();
  });

  it('lets exactly one of two racing reviewers decide', async () => {
    const r = await draft();
    await grade(r.id);
    await step(r.code, 'submit', steward);
    const answers = await Promise.all([
      step(r.code, 'publish', admin),
      step(r.code, 'return', admin, { reason: '字段说明不全' }),
    ]);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 409]);
  });

  it('refuses to publish when an import raises a grade flag while the review is deciding', async () => {
    const r = await draft();
    await grade(r.id);
    await step(r.code, 'submit', steward);
    // The import's classification holds the resource's row lock while it writes the flag, as every
    // grade decision does. On a server the publish runs meanwhile on another connection; the
    // embedded database has one connection, so there the import simply commits first.
    const flag = {
      fields: [{ field: 'district', declared: 'g1', detected: 'g3' }],
      at: new Date().toISOString(),
    };
    let publishing: Promise<{ statusCode: number; json: () => { error: { details: { reason: string } } } }>;
    if (process.env.TEST_DATABASE_URL) {
      await t.database.db.transaction().execute(async (tx) => {
        await sql`select id from resources where id = ${r.id} for update`.execute(tx);
        publishing = step(r.code, 'publish', admin);
        await waitForLockWaiter();
        await sql`update resources set grade_flag = ${JSON.stringify(flag)}::jsonb where id = ${r.id}`.execute(
          tx,
        );
      });
    } else {
      await sql`update resources set grade_flag = ${JSON.stringify(flag)}::jsonb where id = ${r.id}`.execute(
        t.database.db,
      );
      publishing = step(r.code, 'publish', admin);
    }
    const res = await publishing!;
    expect(res.statusCode).toBe(409);
    expect(res.json().error.details.reason).toBe('grade_flag');
    expect((await get(r.code, admin)).json().state).toBe('in_review');
  });

  it('property: another organization finds a resource and may apply for it exactly when it is published', async () => {
    const actors = () => ({ steward, otherSteward, admin, consumer });
    const events = ['submit', 'return', 'publish', 'withdraw'] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            event: fc.constantFrom(...events),
            actor: fc.constantFrom('steward', 'otherSteward', 'admin', 'consumer' as const),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        async (script) => {
          const r = await draft();
          await grade(r.id);
          for (const { event, actor } of script) {
            const res = await step(r.code, event, actors()[actor], { reason: '理由说明' });
            expect(res.statusCode).toBeLessThan(500);
          }
          const state = (await get(r.code, admin)).json().state as string;
          expect(await searched(r.name, consumer)).toBe(state === 'published');
          const read = await get(r.code, consumer);
          expect(read.statusCode).toBe(state === 'draft' || state === 'in_review' ? 404 : 200);
          const applied = await apply(r.code);
          expect(applied.statusCode === 201).toBe(state === 'published');
        },
      ),
      { numRuns: 12 },
    );
  });
});
