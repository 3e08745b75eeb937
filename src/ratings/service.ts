import { appendAudit, auditAs } from '../audit/append.ts';
import { type AccessRule, authorize, hasRole } from '../core/auth.ts';
import type { Ctx } from '../core/context.ts';
import { withTx } from '../core/db.ts';
import { AppError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { applyTransition, type Lifecycle } from '../core/lifecycle.ts';
import { type Page, pageOf } from '../core/paging.ts';
import * as identity from '../identity/service.ts';
import * as services from '../services/service.ts';
import { addWorkingDays, chinaDate, workingDaysBetween } from '../standards/working-days.ts';
import { CASE_LIFECYCLE, type CaseEvent } from './case-lifecycle.ts';
import {
  type CaseRow,
  type CaseState,
  type Channel,
  type RatingRow,
  type StatsQuery,
  ratingsStore as store,
} from './store.ts';

/**
 * 好差评: the applicant rates each finished step once, five levels (5 非常满意 … 1 非常不满意) with
 * the indicators of the channel. A bad rating (1 or 2) opens a rectification case due in
 * `config.ratingsRectifyWorkingDays` working days: the department verifies it (or appeals, which
 * the platform reviews), then rectifies or explains, and closes it — after a return visit when
 * the rating was named. Every step is a transition of CASE_LIFECYCLE with its audit entry.
 */

export const LEVELS = {
  5: { zh: '非常满意', en: 'very satisfied' },
  4: { zh: '满意', en: 'satisfied' },
  3: { zh: '基本满意', en: 'fairly satisfied' },
  2: { zh: '不满意', en: 'dissatisfied' },
  1: { zh: '非常不满意', en: 'very dissatisfied' },
} as const;
export const BAD_LEVEL = 2;

/** The indicators besides the overall level, per channel (the national 好差评 system's online and offline sets). */
export const INDICATORS: Record<Channel, readonly string[]> = {
  online: ['efficiency', 'guideAccuracy', 'convenience', 'usability'],
  offline: ['efficiency', 'serviceLevel', 'attitude'],
};

export { CASE_LIFECYCLE, type CaseEvent };

const CASES: Lifecycle<CaseState, CaseEvent> = {
  objectType: 'rectification_case',
  table: 'rectification_cases',
  transitions: CASE_LIFECYCLE,
};

/** Who moves a case: the department's staff; appeals are reviewed by the platform. */
export const CASE_HANDLERS: AccessRule = services.DEPARTMENT_STAFF;
export const APPEAL_REVIEWERS: AccessRule = { roles: ['platform_admin'], scope: 'services' };
const READ: AccessRule = services.SERVICES_USE;

export function isBad(level: number): boolean {
  return level <= BAD_LEVEL;
}

function ratingView(r: RatingRow, c: CaseRow | undefined, today: string) {
  return {
    id: r.id,
    applicationId: r.application_id,
    step: r.step_key,
    orgId: r.org_id,
    bundleId: r.bundle_id,
    raterUserId: r.rater_user_id,
    channel: r.channel,
    level: r.level,
    levelName: LEVELS[r.level as keyof typeof LEVELS],
    indicators: r.indicators,
    text: r.text,
    named: r.named,
    ratedOn: r.rated_on,
    case: c ? caseView(c, today) : null,
  };
}

function caseView(c: CaseRow, today: string) {
  const open = c.state === 'open' || c.state === 'verified' || c.state === 'appealed';
  return {
    id: c.id,
    ratingId: c.rating_id,
    orgId: c.org_id,
    state: c.state,
    openedOn: c.opened_on,
    dueOn: c.due_on,
    workingDays: c.working_days,
    returnVisit: c.return_visit,
    overdue: open && c.due_on < today,
    workingDaysOverdue: open && c.due_on < today ? workingDaysBetween(c.due_on, today) : 0,
    notes: c.notes,
    closedOn: c.closed_on,
  };
}
export type RatingView = ReturnType<typeof ratingView>;
export type CaseView = ReturnType<typeof caseView>;

export interface RatingInput {
  applicationId: string;
  step: string;
  channel: Channel;
  level: number;
  indicators: Record<string, number>;
  text?: string | undefined;
  named: boolean;
}

export async function rate(ctx: Ctx, input: RatingInput, now = new Date()): Promise<RatingView> {
  authorize(ctx.principal, READ);
  const expected = INDICATORS[input.channel];
  const given = Object.keys(input.indicators);
  const wrong = [
    ...expected.filter((k) => !given.includes(k)),
    ...given.filter((k) => !expected.includes(k)),
  ];
  if (wrong.length > 0)
    throw new AppError(
      'VALIDATION_FAILED',
      { field: 'indicators', expected, wrong },
      {
        zh: `${input.channel === 'online' ? '网上' : '现场'}评价的指标为：${expected.join('、')}`,
        en: `the ${input.channel} indicators are ${expected.join(', ')}`,
      },
    );
  if (isBad(input.level) && !input.text?.trim())
    throw new AppError(
      'VALIDATION_FAILED',
      { field: 'text' },
      { zh: '差评须说明原因', en: 'a bad rating says what went wrong' },
    );
  const step = await services.ratableStep(ctx, input.applicationId, input.step);
  const today = chinaDate(now);
  const id = newId('rat');
  await withTx(ctx.db, async (tx) => {
    if (await store.findRatingOf(tx, input.applicationId, input.step))
      throw new AppError(
        'CONFLICT',
        { field: 'step', applicationId: input.applicationId, step: input.step },
        { zh: '该事项已评价', en: 'this step is already rated' },
      );
    await store.insertRating(tx, {
      id,
      application_id: input.applicationId,
      step_key: input.step,
      org_id: step.orgId,
      bundle_id: step.bundleId,
      rater_user_id: ctx.principal!.userId,
      channel: input.channel,
      level: input.level,
      indicators: JSON.stringify(input.indicators),
      text: input.text ?? null,
      named: input.named,
      rated_on: today,
    });
    await auditAs(ctx, tx, 'rating.create', 'rating', id, {
      application: input.applicationId,
      step: input.step,
      level: input.level,
    });
    if (!isBad(input.level)) return;
    const caseId = newId('rcf');
    const days = ctx.config.ratingsRectifyWorkingDays;
    await store.insertCase(tx, {
      id: caseId,
      rating_id: id,
      org_id: step.orgId,
      state: 'open',
      opened_on: today,
      due_on: addWorkingDays(today, days),
      working_days: days,
      return_visit: input.named,
      notes: '{}',
      updated_at: now,
    });
    await auditAs(ctx, tx, 'rectification.open', 'rectification_case', caseId, {
      rating: id,
      level: input.level,
    });
  });
  return getRating(ctx, id, now);
}

function canSeeRating(ctx: Ctx, r: Pick<RatingRow, 'org_id' | 'rater_user_id'>): boolean {
  const p = ctx.principal!;
  return r.rater_user_id === p.userId || r.org_id === p.orgId || hasRole(p, 'platform_admin');
}

/**
 * The ratings of one application the caller may see — the applicant's own, a department's of its
 * steps — so the applicant's pages know which finished steps are still to rate. An application
 * the caller cannot see is answered like a missing one.
 */
export async function ratingsOfApplication(ctx: Ctx, applicationId: string, now = new Date()) {
  authorize(ctx.principal, READ);
  if (!(await services.visibleApplication(ctx, applicationId)))
    throw new AppError('NOT_FOUND', { objectType: 'service_application', id: applicationId });
  const today = chinaDate(now);
  const visible = (await store.ratingsOfApplication(ctx.db, applicationId)).filter((r) =>
    canSeeRating(ctx, r),
  );
  const items = [];
  for (const r of visible) items.push(ratingView(r, await store.findCaseOfRating(ctx.db, r.id), today));
  return { items };
}

export async function getRating(ctx: Ctx, id: string, now = new Date()): Promise<RatingView> {
  authorize(ctx.principal, READ);
  const r = await store.findRating(ctx.db, id);
  if (!r || !canSeeRating(ctx, r)) throw new AppError('NOT_FOUND', { objectType: 'rating', id });
  return ratingView(r, await store.findCaseOfRating(ctx.db, id), chinaDate(now));
}

async function loadCase(ctx: Ctx, id: string) {
  authorize(ctx.principal, READ);
  const c = await store.findCase(ctx.db, id);
  const r = c ? await store.findRating(ctx.db, c.rating_id) : undefined;
  if (!c || !r || !canSeeRating(ctx, r))
    throw new AppError('NOT_FOUND', { objectType: 'rectification_case', id });
  return c;
}

export async function getCase(ctx: Ctx, id: string, now = new Date()): Promise<CaseView> {
  return caseView(await loadCase(ctx, id), chinaDate(now));
}

export async function listCases(
  ctx: Ctx,
  q: {
    state?: CaseState | undefined;
    overdue?: boolean | undefined;
    limit?: number | undefined;
    cursor?: string | undefined;
  },
  now = new Date(),
): Promise<Page<CaseView>> {
  const principal = authorize(ctx.principal, READ);
  const limit = q.limit ?? 50;
  const today = chinaDate(now);
  const rows = await store.listCases(
    ctx.db,
    { org: hasRole(principal, 'platform_admin') ? null : principal.orgId, rater: principal.userId },
    { state: q.state, overdueOn: q.overdue ? today : undefined, limit, cursor: q.cursor },
  );
  const page = pageOf(rows, limit);
  return { items: page.items.map((c) => caseView(c, today)), nextCursor: page.nextCursor };
}

/**
 * One step of a case, with its note. `close` of a named rating's case needs the return visit's
 * note (`returnVisit`); the transition table refuses it otherwise.
 */
export async function actOnCase(
  ctx: Ctx,
  id: string,
  event: CaseEvent,
  body: { note: string; returnVisit?: string | undefined },
  now = new Date(),
): Promise<CaseView> {
  const c = await loadCase(ctx, id);
  const reviewing = event === 'uphold' || event === 'dismiss';
  authorize(
    ctx.principal,
    reviewing ? APPEAL_REVIEWERS : { ...CASE_HANDLERS, orgId: c.org_id, crossOrg: [] },
  );
  const today = chinaDate(now);
  const visited = !c.return_visit || Boolean(body.returnVisit?.trim());
  const note = { by: ctx.principal!.userId, on: today, note: body.note };
  const notes = {
    ...c.notes,
    [event]: note,
    ...(event === 'close' && body.returnVisit ? { returnVisit: { ...note, note: body.returnVisit } } : {}),
  };
  const row = await withTx(ctx.db, (tx) =>
    applyTransition<CaseState, CaseEvent, CaseRow>(tx, CASES, c, event, {
      facts: visited ? ['visited'] : [],
      set: {
        notes: JSON.stringify(notes),
        updated_at: now,
        ...(event === 'close' || event === 'uphold' ? { closed_on: today } : {}),
      },
      audit: (atx, change) =>
        auditAs(ctx, atx, `rectification.${event}`, 'rectification_case', id, {
          from: change.from,
          to: change.to,
          late: c.due_on < today,
        }),
    }),
  );
  return caseView(row, today);
}

/**
 * The scheduler's sweep (with the services' one): each open case past its deadline is reported
 * once as `rectification.overdue`, which the monitor's `service_overdue` rule raises as an alert.
 */
export async function reportOverdueCases(ctx: Ctx, now = new Date()): Promise<number> {
  authorize(ctx.principal, services.PLATFORM);
  const today = chinaDate(now);
  let reported = 0;
  for (const c of await store.unreportedOverdue(ctx.db, today)) {
    const claimed = await withTx(ctx.db, async (tx) => {
      if (!(await store.claimOverdueReport(tx, c.id))) return false;
      await appendAudit(tx, {
        actorId: null,
        orgId: c.org_id,
        action: 'rectification.overdue',
        objectType: 'rectification_case',
        objectId: c.id,
        requestId: ctx.requestId,
        details: { state: c.state, dueOn: c.due_on, workingDaysOverdue: workingDaysBetween(c.due_on, today) },
      });
      return true;
    });
    if (claimed) reported += 1;
  }
  return reported;
}

/**
 * Satisfaction and rectification per department: satisfaction rate = satisfied (4–5) / ratings;
 * rectification rate = closed bad cases / bad ratings not voided on appeal. Aggregates only, so
 * the feed is public (as the national platform publishes them).
 */
export async function statistics(ctx: Ctx, q: StatsQuery) {
  const rows = await store.stats(ctx.db, q);
  const names = await identity.organizationNames(
    ctx,
    rows.map((r) => r.org_id),
  );
  const rate = (n: number, d: number) => (d === 0 ? null : Math.round((n / d) * 10_000) / 100);
  const departments = rows.map((r) => ({
    orgId: r.org_id,
    orgName: names.get(r.org_id) ?? r.org_id,
    ratings: r.ratings,
    satisfied: r.satisfied,
    bad: r.bad,
    voided: r.voided,
    rectified: r.closed,
    rectifiedInTime: r.closed_in_time,
    satisfactionPercent: rate(r.satisfied, r.ratings),
    rectificationPercent: rate(r.closed, r.bad - r.voided),
  }));
  const sum = (k: 'ratings' | 'satisfied' | 'bad' | 'voided' | 'rectified') =>
    departments.reduce((n, d) => n + d[k], 0);
  return {
    period: { from: q.from ?? null, to: q.to ?? null },
    total: {
      ratings: sum('ratings'),
      satisfactionPercent: rate(sum('satisfied'), sum('ratings')),
      bad: sum('bad'),
      rectificationPercent: rate(sum('rectified'), sum('bad') - sum('voided')),
    },
    departments,
  };
}
