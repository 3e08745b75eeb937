import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { integrateAudit } from '../src/audit/integrate.ts';
import { cliCtx } from '../src/core/context.ts';
import { nextState } from '../src/core/lifecycle.ts';
import * as ratings from '../src/ratings/service.ts';
import { CASE_LIFECYCLE } from '../src/ratings/service.ts';
import { startTestApp, type TestApp } from './helpers.ts';

/**
 * 好差评 on a two-step bundle without shared data: the applicant rates finished steps; a bad
 * rating opens a rectification case at the step's department, due in working days; the case moves
 * through its lifecycle (appeal reviewed by the platform, return visit before a named case closes).
 */
let t: TestApp;
let admin: string;
let applicant: string;
let health: string;
let civil: string;
let outsider: string;
let applicationId = '';

const call = (method: 'GET' | 'POST', url: string, token: string | undefined, payload?: unknown) =>
  t.request({
    method,
    url,
    ...(token ? { token } : {}),
    ...(payload === undefined ? {} : { payload: payload as object }),
  });

const online = { efficiency: 2, guideAccuracy: 3, convenience: 2, usability: 4 };

beforeAll(async () => {
  t = await startTestApp({ RATINGS_RECTIFY_WORKING_DAYS: '5' });
  admin = await t.login('admin');
  applicant = await t.login('consumer.enterprise');
  health = await t.login('steward.health');
  civil = await t.login('consumer.civil');
  outsider = await t.login('steward.market');
  const orgOf = async (u: string) => (await t.actAs(u)).principal!.orgId;
  const step = (key: string, orgId: string) => ({
    key,
    name: key,
    orgId,
    dependsOn: [],
    workingDays: 3,
    fields: [],
  });
  const bundle = await call('POST', '/v1/services/bundles', admin, {
    code: 'RATE',
    name: '评价测试一件事',
    nameEn: 'Rating test',
    // An enterprise rates the departments that handled its business event.
    eventKind: 'business',
    leadOrgId: await orgOf('steward.health'),
    promisedWorkingDays: 5,
    steps: [step('cert', await orgOf('steward.health')), step('card', await orgOf('consumer.civil'))],
  });
  expect(bundle.statusCode, bundle.body).toBe(201);
  await call('POST', `/v1/services/bundles/${bundle.json().id}/publish`, admin);
  const app = await call('POST', `/v1/services/bundles/${bundle.json().id}/applications`, applicant, {
    form: {},
  });
  expect(app.statusCode, app.body).toBe(201);
  applicationId = app.json().id;
  for (const event of ['accept', 'start', 'complete'])
    await call('POST', `/v1/services/applications/${applicationId}/steps/cert/${event}`, health);
}, 120_000);

afterAll(async () => {
  await t?.close();
});

describe('好差评 and rectification', () => {
  let caseId = '';

  it('refuses a rating of an unfinished step, by someone else, or with the wrong indicators', async () => {
    const body = (over: Record<string, unknown>) => ({
      applicationId,
      step: 'cert',
      channel: 'online',
      level: 2,
      indicators: online,
      text: '等了很久',
      named: true,
      ...over,
    });
    const unfinished = await call('POST', '/v1/ratings', applicant, body({ step: 'card' }));
    expect(unfinished.statusCode).toBe(409);
    expect((await call('POST', '/v1/ratings', outsider, body({}))).statusCode).toBe(404);
    // The department sees the application but is not its applicant.
    expect((await call('POST', '/v1/ratings', health, body({}))).statusCode).toBe(403);
    const offline = await call('POST', '/v1/ratings', applicant, body({ channel: 'offline' }));
    expect(offline.statusCode).toBe(400);
    expect(offline.json().error.details.field).toBe('indicators');
    expect((await call('POST', '/v1/ratings', applicant, body({ level: 6 }))).statusCode).toBe(400);
    expect((await call('POST', '/v1/ratings', applicant, body({ text: undefined }))).statusCode).toBe(400);
    expect((await call('POST', '/v1/ratings', undefined, body({}))).statusCode).toBe(401);
  });

  it('opens a case for a bad rating, due in the configured working days, visible to the department only', async () => {
    const res = await call('POST', '/v1/ratings', applicant, {
      applicationId,
      step: 'cert',
      channel: 'online',
      level: 2,
      indicators: online,
      text: '等了很久',
      named: true,
    });
    expect(res.statusCode, res.body).toBe(201);
    const rating = res.json();
    expect(rating.levelName).toEqual({ zh: '不满意', en: 'dissatisfied' });
    expect(rating.case).toMatchObject({ state: 'open', workingDays: 5, returnVisit: true, overdue: false });
    caseId = rating.case.id;
    expect((await call('POST', '/v1/ratings', applicant, { ...rating, id: undefined })).statusCode).toBe(400);
    const twice = await call('POST', '/v1/ratings', applicant, {
      applicationId,
      step: 'cert',
      channel: 'online',
      level: 5,
      indicators: online,
      named: false,
    });
    expect(twice.statusCode).toBe(409);
    expect((await call('GET', `/v1/ratings/cases/${caseId}`, health)).statusCode).toBe(200);
    expect((await call('GET', `/v1/ratings/cases/${caseId}`, applicant)).statusCode).toBe(200);
    expect((await call('GET', `/v1/ratings/cases/${caseId}`, civil)).statusCode).toBe(404);
    expect((await call('GET', `/v1/ratings/${rating.id}`, outsider)).statusCode).toBe(404);
    expect(
      (await call('GET', '/v1/ratings/cases', health)).json().items.map((c: { id: string }) => c.id),
    ).toEqual([caseId]);
    expect((await call('GET', '/v1/ratings/cases', civil)).json().items).toEqual([]);
  });

  it('lists an application’s ratings to its applicant and to the department rated, no one else', async () => {
    const list = async (token: string) =>
      call('GET', `/v1/ratings?applicationId=${encodeURIComponent(applicationId)}`, token);
    const own = await list(applicant);
    expect(own.statusCode, own.body).toBe(200);
    expect(own.json().items.map((r: { step: string; level: number }) => [r.step, r.level])).toEqual([
      ['cert', 2],
    ]);
    expect(own.json().items[0].case).toMatchObject({ id: caseId, state: 'open' });
    expect((await list(health)).json().items).toHaveLength(1);
    // The other step's department sees the application, not a rating of someone else's step.
    const other = await list(civil);
    expect(other.statusCode).toBe(200);
    expect(other.json().items).toEqual([]);
    expect((await list(outsider)).statusCode).toBe(404);
    expect((await call('GET', '/v1/ratings?applicationId=sap_missing', applicant)).statusCode).toBe(404);
    expect((await call('GET', '/v1/ratings', applicant)).statusCode).toBe(400);
  });

  it('moves the case through appeal, review, rectification and the return visit', async () => {
    const act = (event: string, token: string, body: Record<string, unknown> = { note: '处理记录' }) =>
      call('POST', `/v1/ratings/cases/${caseId}/${event}`, token, body);
    expect((await act('rectify', health)).statusCode).toBe(409);
    expect((await act('verify', civil)).statusCode).toBe(404);
    expect((await act('verify', applicant)).statusCode).toBe(403);
    expect((await act('appeal', health)).json().state).toBe('appealed');
    // Only the platform reviews an appeal.
    expect((await act('dismiss', health)).statusCode).toBe(403);
    expect((await act('dismiss', admin)).json().state).toBe('verified');
    expect((await act('rectify', health)).json().state).toBe('rectified');
    const noVisit = await act('close', health);
    expect(noVisit.statusCode).toBe(409);
    expect(noVisit.json().error.code).toBe('INVALID_TRANSITION');
    const closed = await act('close', health, { note: '已整改', returnVisit: '电话回访，群众满意' });
    expect(closed.statusCode, closed.body).toBe(200);
    expect(closed.json()).toMatchObject({ state: 'closed', closedOn: expect.any(String) });
    expect(Object.keys(closed.json().notes).sort()).toEqual([
      'appeal',
      'close',
      'dismiss',
      'rectify',
      'returnVisit',
    ]);
  });

  it('lists a case past its working-day deadline as overdue', async () => {
    const ctx = await t.actAs('consumer.civil');
    for (const event of ['accept', 'start', 'complete'])
      await call('POST', `/v1/services/applications/${applicationId}/steps/card/${event}`, civil);
    const rating = await ratings.rate(
      await t.actAs('consumer.enterprise'),
      {
        applicationId,
        step: 'card',
        channel: 'offline',
        level: 1,
        indicators: { efficiency: 1, serviceLevel: 1, attitude: 1 },
        text: '态度差',
        named: false,
      },
      new Date('2025-09-30T02:00:00Z'),
    );
    // 5 working days from 30 September across the National Day holiday.
    expect(rating.case?.dueOn).toBe('2025-10-14');
    const late = await ratings.listCases(ctx, { overdue: true }, new Date('2025-10-16T02:00:00Z'));
    expect(late.items).toEqual([
      expect.objectContaining({ id: rating.case!.id, overdue: true, workingDaysOverdue: 2 }),
    ]);
    // The scheduler's sweep reports it once; the monitor raises it for the department.
    const system = cliCtx(t.database.db, t.config);
    expect(await ratings.reportOverdueCases(system, new Date('2025-10-16T02:00:00Z'))).toBe(1);
    expect(await ratings.reportOverdueCases(system, new Date('2025-10-17T02:00:00Z'))).toBe(0);
    await expect(ratings.reportOverdueCases(ctx)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await integrateAudit(t.database.db);
    const security = await t.login('security');
    expect((await call('POST', '/v1/monitor/evaluate', security, {})).statusCode).toBe(200);
    const alerts = (await call('GET', '/v1/monitor/alerts?rule=service_overdue', security)).json().items;
    expect(alerts).toEqual([
      expect.objectContaining({
        severity: 'warning',
        subject: { type: 'organization', id: rating.orgId },
        details: expect.objectContaining({ objectId: rating.case!.id, dueOn: '2025-10-14' }),
      }),
    ]);
    // An anonymous bad rating needs no return visit before its case closes.
    expect(rating.case?.returnVisit).toBe(false);
  });

  it('publishes satisfaction and rectification rates per department', async () => {
    const res = await call('GET', '/v1/ratings/stats', undefined);
    expect(res.statusCode, res.body).toBe(200);
    const stats = res.json();
    expect(stats.total).toEqual({ ratings: 2, satisfactionPercent: 0, bad: 2, rectificationPercent: 50 });
    expect(stats.departments).toHaveLength(2);
    // Named, for readers without an organization directory (the public, citizens).
    expect(stats.departments.map((d: { orgName: string }) => d.orgName).sort()).toEqual(
      ['云岚市卫生健康委员会', '云岚市民政局'].sort(),
    );
    expect(stats.departments.find((d: { rectified: number }) => d.rectified === 1)).toMatchObject({
      ratings: 1,
      bad: 1,
      rectificationPercent: 100,
    });
    expect((await call('GET', '/v1/ratings/stats?from=yesterday', undefined)).statusCode).toBe(400);
  });
});

describe('the rectification lifecycle (property)', () => {
  const events = ['verify', 'appeal', 'uphold', 'dismiss', 'rectify', 'explain', 'close'] as const;
  it('reaches closed only through verification, and a named case only after the return visit', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...events), { maxLength: 12 }), fc.boolean(), (seq, visited) => {
        let state: (typeof CASE_LIFECYCLE)[number]['to'] = 'open';
        const seen: string[] = [state];
        for (const event of seq) {
          try {
            state = nextState(CASE_LIFECYCLE, 'rectification_case', state, event, visited ? ['visited'] : []);
            seen.push(state);
          } catch {
            // refused moves leave the state as it was
          }
        }
        if (state === 'closed') {
          expect(visited).toBe(true);
          expect(seen).toContain('verified');
          expect(seen.some((s) => s === 'rectified' || s === 'explained')).toBe(true);
        }
        // Terminal states have no way out.
        if (seen.includes('voided')) expect(state).toBe('voided');
      }),
    );
  });
});
