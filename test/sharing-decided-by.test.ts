import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers.ts';
import { type Actors, sharingFixture } from './sharing-fixture.ts';

/**
 * `GET /v1/applications?decidedBy=me`, the approval centre's 我已审批: only applications the
 * caller has decided, each with the caller's decision; another reviewer's decisions are not listed,
 * and no other value names anybody else.
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
  code = await fx.resource('门诊就诊明细（我已审批）', 'conditional');
}, 120_000);
afterAll(() => t?.close());

const decidedByMe = async (token: string) => {
  const res = await fx.call('GET', '/v1/applications?decidedBy=me', token);
  expect(res.statusCode, res.body).toBe(200);
  return res.json().items as { id: string; state: string; decisions: { by: string; decision: string }[] }[];
};
const userId = async (token: string) => (await fx.call('GET', '/v1/me', token)).json().user.id as string;

describe('applications decided by me', () => {
  it("lists the steward's and the security officer's own decisions, not undecided or others' ones", async () => {
    const pending = await fx.apply(code);
    const rejected = await fx.apply(code);
    const reject = await fx.call('POST', `/v1/applications/${rejected.id}/reject`, tokens.steward, {
      reason: '用途不明确',
    });
    expect(reject.statusCode, reject.body).toBe(200);
    // person_id is g4: the steward's approval goes to the security officer.
    const approved = await fx.apply(code);
    const first = await fx.call('POST', `/v1/applications/${approved.id}/approve`, tokens.steward, {});
    expect(first.json().state).toBe('security_review');

    const steward = await userId(tokens.steward);
    const stewardItems = await decidedByMe(tokens.steward);
    const stewardIds = stewardItems.map((a) => a.id);
    expect(stewardIds).toEqual(expect.arrayContaining([rejected.id, approved.id]));
    expect(stewardIds).not.toContain(pending.id);
    for (const a of stewardItems) expect(a.decisions.some((d) => d.by === steward)).toBe(true);

    // The security officer sees everything, but has decided nothing yet.
    expect(await decidedByMe(tokens.security)).toEqual([]);
    const second = await fx.call('POST', `/v1/applications/${approved.id}/approve`, tokens.security, {});
    expect(second.json().state).toBe('approved');
    expect((await decidedByMe(tokens.security)).map((a) => a.id)).toEqual([approved.id]);

    // The applicant decided nothing.
    expect(await decidedByMe(tokens.consumer)).toEqual([]);
  });

  it('takes no other value than me', async () => {
    const steward = await userId(tokens.steward);
    const res = await fx.call('GET', `/v1/applications?decidedBy=${steward}`, tokens.security);
    expect(res.statusCode).toBe(400);
  });
});
