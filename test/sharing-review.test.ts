import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers.ts';
import { type Actors, sharingFixture } from './sharing-fixture.ts';

/**
 * Clearing the review flag the gateway sets when grades rise under a live contract
 * (`POST /v1/contracts/{id}/review`): only the provider's data steward or a security officer, a
 * contract the caller may not see is a 404, the contract takes the masks the gateway serves so the
 * flag stays cleared, a core field leaves the contract, and every review is audited.
 */
let t: TestApp;
let tokens: Actors;
let fx: ReturnType<typeof sharingFixture>;
let code: string;

beforeAll(async () => {
  t = await startTestApp();
  fx = sharingFixture(t);
  tokens = fx.tokens;
  await fx.login();
  code = await fx.resource('门诊就诊明细（复核）', 'conditional');
}, 120_000);
afterAll(() => t?.close());

async function setGrade(name: string, grade: string) {
  const resource = await t.database.db
    .selectFrom('resources')
    .select('id')
    .where('code', '=', code)
    .executeTakeFirstOrThrow();
  await t.database.db
    .updateTable('resource_fields')
    .set({ grade: grade as never, detector: null })
    .where('resource_id', '=', resource.id)
    .where('name', '=', name)
    .execute();
}

const review = (id: string, token: string, payload: Record<string, unknown> = { reason: '已复核定级变更' }) =>
  t.request({ method: 'POST', url: `/v1/contracts/${id}/review`, token, payload });
const contract = async (id: string) => (await fx.call('GET', `/v1/contracts/${id}`, tokens.steward)).json();
const reviews = (id: string) =>
  t.database.db
    .selectFrom('audit_events')
    .select(['action', 'actor_id', 'details'])
    .where('object_id', '=', id)
    .where('action', '=', 'contract.review')
    .execute();

describe('reviewing a flagged contract', () => {
  it('the provider steward accepts the stricter mask: the flag is cleared, stays cleared, and the review is audited', async () => {
    const id = await fx.contractFor(code, { fields: ['record_no', 'district', 'visits'] });
    // Nothing to review yet.
    const early = await review(id, tokens.steward);
    expect(early.statusCode).toBe(409);
    expect(early.json().error.code).toBe('CONFLICT');
    expect(early.json().error.messages['zh-CN']).toMatch(/复核/);

    await setGrade('visits', 'g3');
    expect((await fx.rows(id)).headers['x-changed-fields']).toBe('visits');
    const flagged = await contract(id);
    expect(flagged.reviewFlag.fields.map((f: { name: string }) => f.name)).toEqual(['visits']);

    // The consumer sees the contract but may not review it; another organization does not see it.
    for (const [token, status] of [
      [tokens.consumer, 403],
      [tokens.enterprise, 404],
      [await t.login('steward.market'), 404],
    ] as const) {
      const res = await review(id, token);
      expect(res.statusCode, res.body).toBe(status);
      expect(res.json().error.messages.en).toBeTruthy();
      expect(res.json().error.messages['zh-CN']).toBeTruthy();
    }
    // A flag other than the one read is not cleared.
    const stale = await review(id, tokens.steward, { reason: '已复核', since: '2020-01-01T00:00:00.000Z' });
    expect(stale.statusCode).toBe(409);
    expect((await contract(id)).reviewFlag).not.toBeNull();
    expect(await reviews(id)).toHaveLength(0);

    const res = await review(id, tokens.steward, {
      reason: '已复核定级变更',
      since: flagged.reviewFlag.since,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ id, reviewFlag: null, state: 'active' });
    expect(res.json().masking.visits).toBe(flagged.reviewFlag.fields[0].mask);
    expect(res.json().fields).toEqual(['record_no', 'district', 'visits']);

    // The gateway serves as before and finds nothing changed: no new flag.
    const after = await fx.rows(id, 'limit=1000');
    expect(after.statusCode).toBe(200);
    expect(after.headers['x-changed-fields']).toBeUndefined();
    expect(after.json().items.every((r: { visits: unknown }) => r.visits === null)).toBe(true);
    expect((await contract(id)).reviewFlag).toBeNull();

    const audit = await reviews(id);
    expect(audit).toHaveLength(1);
    expect(audit[0]!.details).toMatchObject({
      reason: '已复核定级变更',
      flaggedSince: flagged.reviewFlag.since,
      dropped: [],
    });
    // Cleared once: a second review has nothing to clear.
    expect((await review(id, tokens.steward)).statusCode).toBe(409);
    await setGrade('visits', 'g2');
  });

  it('a security officer may review too; a field now core leaves the contract', async () => {
    const id = await fx.contractFor(code, { fields: ['record_no', 'district', 'note'] });
    await setGrade('note', 'core');
    try {
      expect((await fx.rows(id)).headers['x-changed-fields']).toBe('note');
      const res = await review(id, tokens.security);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().reviewFlag).toBeNull();
      expect(res.json().fields).toEqual(['record_no', 'district']);
      expect(res.json().masking).not.toHaveProperty('note');
      const rows = await fx.rows(id);
      expect(rows.statusCode).toBe(200);
      expect(rows.headers['x-changed-fields']).toBeUndefined();
      expect(Object.keys(rows.json().items[0]).sort()).toEqual(['district', 'record_no']);
      const audit = await reviews(id);
      expect(audit).toHaveLength(1);
      expect(audit[0]!.details).toMatchObject({ dropped: ['note'] });
    } finally {
      await setGrade('note', 'g1');
    }
  });
});
