import { auditAs } from '../audit/append.ts';
import { type AccessRule, authorize } from '../core/auth.ts';
import type { Ctx } from '../core/context.ts';
import { type Executor, withTx } from '../core/db.ts';
import { AppError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { applyTransition, type Lifecycle } from '../core/lifecycle.ts';
import * as gateway from '../gateway/service.ts';
import * as identity from '../identity/service.ts';
import { contractsInForce } from '../sharing/service.ts';
import {
  type ChainLevel,
  divisionsAbove,
  unitLevel,
  unitPrefix,
  unitWithin,
} from '../standards/division-units.ts';
import { addCalendarDays, addWorkingDays, calendarCovers, chinaDate } from '../standards/working-days.ts';
import { isPlatformAdmin, platformCtx, raced } from './service.ts';
import {
  type FormBasis,
  type FormRow,
  type FormState,
  type IndicatorRow,
  type IndicatorRule,
  type IndicatorSource,
  type Level,
  type PeriodKind,
  type PrefillRow,
  type SignoffRow,
  type SignoffState,
  type SubmissionRow,
  type SubmissionState,
  type SumCheck,
  indicatorStore as store,
  type ValueRow,
} from './store.ts';

/**
 * One-form reporting (一表通). A form is a set of dictionary indicators with a period and a level of
 * collection; it is on the year's catalogue (only the data bureau puts it there) or issued outside
 * it with a recorded one-off approval (一事一报) or after-the-fact filing. A grassroots unit reports
 * each figure once: a value is kept per indicator, period and unit whichever form brought it, so
 * a second form asking for it is pre-filled, a different figure for it is refused, and every
 * department reads the one value. A submission climbs the divisions between its unit and the form's
 * department (town, district, city, province), each signing it off or returning it for correction,
 * before the department accepts it; a returned one is corrected and submitted again.
 */

export type FormEvent = 'issue' | 'withdraw';
export const FORMS: Lifecycle<FormState, FormEvent> = {
  objectType: 'form',
  table: 'report_forms',
  transitions: [
    { from: ['draft'], event: 'issue', to: 'issued' },
    { from: ['draft', 'issued'], event: 'withdraw', to: 'withdrawn' },
  ],
};

export type SubmissionEvent = 'accept' | 'return' | 'resubmit';
export const SUBMISSIONS: Lifecycle<SubmissionState, SubmissionEvent> = {
  objectType: 'submission',
  table: 'report_submissions',
  transitions: [
    // The form's department decides only once every division below has signed off (or had no
    // government department to do so).
    { from: ['submitted'], event: 'accept', to: 'accepted', when: 'signed_off' },
    { from: ['submitted'], event: 'return', to: 'returned', when: 'signed_off' },
    // A division returns it at its own step (SIGNOFFS), which ends the round.
    { from: ['submitted'], event: 'return', to: 'returned', when: 'returned_at_step' },
    // A resubmission opens the next round of sign-offs.
    { from: ['returned'], event: 'resubmit', to: 'submitted' },
  ],
};

/**
 * One division's step of a round. A step acts only in its turn — every step before it signed off
 * or skipped —, so the chain goes up in order; `cancel` closes the steps above one that returned
 * the submission (the next round starts again from the bottom). Skipped steps are written so when
 * the round opens (no government department sits at that division) and never move.
 */
export type SignoffEvent = 'signoff' | 'return' | 'cancel';
export const SIGNOFFS: Lifecycle<SignoffState, SignoffEvent> = {
  objectType: 'signoff',
  table: 'report_signoffs',
  transitions: [
    { from: ['pending'], event: 'signoff', to: 'signed', when: 'its_turn' },
    { from: ['pending'], event: 'return', to: 'returned', when: 'its_turn' },
    { from: ['pending'], event: 'cancel', to: 'cancelled' },
  ],
};

/** Departments design and issue forms and decide on what comes back; grassroots stewards report. */
export const FORM_STAFF: AccessRule = {
  roles: ['data_steward', 'org_admin', 'platform_admin'],
  scope: 'indicators',
};
export const REPORTERS = FORM_STAFF;

// ---------------------------------------------------------------------------- periods and units

const PERIOD_PATTERN: Record<PeriodKind, RegExp> = {
  year: /^(\d{4})$/,
  quarter: /^(\d{4})-Q[1-4]$/,
  month: /^(\d{4})-(0[1-9]|1[0-2])$/,
};

/** The kind of a period string ('2026', '2026-Q1', '2026-03'), or undefined. */
export function periodKind(period: string): PeriodKind | undefined {
  return (Object.keys(PERIOD_PATTERN) as PeriodKind[]).find((k) => PERIOD_PATTERN[k].test(period));
}

function checkPeriod(form: FormRow, period: string) {
  const match = PERIOD_PATTERN[form.period].exec(period);
  if (!match || Number(match[1]) !== form.year) {
    throw new AppError('VALIDATION_FAILED', {
      field: 'period',
      period,
      expected: form.period,
      year: form.year,
    });
  }
}

function checkUnit(unitCode: string, level: Level) {
  const actual = unitLevel(unitCode);
  if (actual !== level) {
    throw new AppError('VALIDATION_FAILED', {
      field: 'unitCode',
      unitCode,
      expected: level,
      actual: actual ?? null,
    });
  }
}

/** A reporter reports for units in their organization's area; the platform admin for any. */
async function checkJurisdiction(ctx: Ctx, unitCode: string) {
  if (isPlatformAdmin(ctx)) return;
  const org = await identity.getOrganization(platformCtx(ctx), ctx.principal!.orgId);
  if (!org.regionCode || !unitWithin(unitCode, org.regionCode)) {
    throw new AppError('OUTSIDE_JURISDICTION', { unitCode, regionCode: org.regionCode });
  }
}

// ---------------------------------------------------------------------------- the sign-off chain

const LEVEL_RANK: Record<Level | ChainLevel, number> = {
  community: 0,
  town: 1,
  district: 2,
  city: 3,
  province: 4,
};
const LEVEL_ZH: Record<ChainLevel, string> = { town: '乡镇', district: '区县', city: '市', province: '省' };
const STATE_ZH: Record<SignoffState, string> = {
  pending: '待签核',
  signed: '已签核',
  returned: '已退回',
  skipped: '已跳过',
  cancelled: '已取消',
};

/**
 * The divisions a unit's report climbs to reach the form's department, nearest first: every
 * division above the unit up to, not including, the first that contains the department's own
 * region (a city department's community form: town and district; a province's: town, district and
 * city; a national department's, which has no region: all of them; a district's own community
 * form: the town only). A division where no government department sits is skipped — a town has
 * one only when a township office (乡镇、街道, level `township`) is registered at its nine-digit
 * code — and the next division up signs for the way below it. Decided when a round opens: a
 * department set up later joins the next round.
 */
async function planChain(ctx: Ctx, unitCode: string, form: FormRow) {
  const region = (await identity.getOrganization(platformCtx(ctx), form.owner_org_id)).regionCode;
  const divisions: Array<{ unitCode: string; level: ChainLevel }> = [];
  for (const d of divisionsAbove(unitCode)) {
    if (region !== null && region.startsWith(unitPrefix(d.unitCode))) break;
    divisions.push(d);
  }
  const staffed = await identity.governmentRegions(
    ctx,
    divisions.map((d) => d.unitCode),
  );
  return divisions.map((d) => ({ ...d, skipped: !staffed.has(d.unitCode) }));
}
type ChainPlan = Awaited<ReturnType<typeof planChain>>;

async function openRound(tx: Executor, submissionId: string, round: number, plan: ChainPlan) {
  await store.insertSignoffs(
    tx,
    plan.map((d, position) => ({
      id: newId('rso'),
      submission_id: submissionId,
      round,
      position,
      level: d.level,
      unit_code: d.unitCode,
      state: d.skipped ? ('skipped' as const) : ('pending' as const),
      decided_by: null,
      decided_org_id: null,
      decided_at: null,
      comment: null,
    })),
  );
}

const passed = (step: SignoffRow) => step.state === 'signed' || step.state === 'skipped';

/** The step a round waits at: its first one still pending (none: it is the department's turn). */
const waitingStep = (steps: SignoffRow[]) => steps.find((s) => s.state === 'pending');

function chainView(row: SubmissionRow, form: FormRow, steps: SignoffRow[]) {
  const waiting = waitingStep(steps);
  return {
    round: row.round,
    steps: steps.map((s) => ({
      level: s.level,
      unitCode: s.unit_code,
      state: s.state,
      decidedBy: s.decided_by,
      decidedOrgId: s.decided_org_id,
      decidedAt: s.decided_at?.toISOString() ?? null,
      comment: s.comment,
    })),
    signedOff: steps.every(passed),
    awaiting:
      row.state !== 'submitted'
        ? null
        : waiting
          ? { by: 'division' as const, level: waiting.level, unitCode: waiting.unit_code, orgId: null }
          : { by: 'department' as const, level: null, unitCode: null, orgId: form.owner_org_id },
  };
}

/**
 * Whether a roll-up at a level counts a submission: it has been signed off at that level or above
 * — the first step of its round at the level or above that was not skipped is signed — or, when no
 * such step is left (the level is the department's own or above), the department accepted it.
 */
function signedOffAt(row: SubmissionRow, steps: SignoffRow[], level: Level): boolean {
  if (row.state === 'accepted') return true;
  if (row.state !== 'submitted') return false;
  const first = steps.find((s) => LEVEL_RANK[s.level] >= LEVEL_RANK[level] && s.state !== 'skipped');
  return first?.state === 'signed';
}

/** The current rounds' steps of many submissions, by submission. */
async function chainsOf(db: Executor, rows: SubmissionRow[]) {
  const chains = new Map<string, SignoffRow[]>(rows.map((r) => [r.id, []]));
  for (const step of await store.signoffsOf(
    db,
    rows.map((r) => r.id),
  ))
    chains.get(step.submission_id)!.push(step);
  return chains;
}

function notYet(waiting: SignoffRow) {
  return new AppError(
    'SIGNOFF_PENDING',
    { awaiting: { level: waiting.level, unitCode: waiting.unit_code } },
    {
      zh: `尚待 ${waiting.unit_code}（${LEVEL_ZH[waiting.level]}）签核`,
      en: `waiting for the ${waiting.level} ${waiting.unit_code} to sign off`,
    },
  );
}

/**
 * The division the caller signs off at: their organization's region, when it is a government
 * department. Exactly that division — a city department's region contains the district too, and
 * reading it as the reporting jurisdiction does would let the city sign for the district.
 */
async function signingDivision(ctx: Ctx): Promise<string | null> {
  const org = await identity.getOrganization(platformCtx(ctx), ctx.principal!.orgId);
  return org.type === 'government_department' ? org.regionCode : null;
}

/** The caller's step: the one at their division; the platform admin's is where the round waits. */
function stepOf(ctx: Ctx, division: string | null, steps: SignoffRow[]) {
  if (isPlatformAdmin(ctx)) return waitingStep(steps);
  return division === null ? undefined : steps.find((s) => s.unit_code === division);
}

/** The last civil date of a period: '2026' → 2026-12-31, '2026-Q2' → 2026-06-30, '2026-03' → 2026-03-31. */
export function periodEnd(period: string): string {
  const kind = periodKind(period);
  const year = Number(period.slice(0, 4));
  const month =
    kind === 'quarter' ? Number(period.slice(6)) * 3 : kind === 'month' ? Number(period.slice(5)) : 12;
  // Day 0 of the next month is the last day of this one.
  return new Date(Date.UTC(year, month, 0)).toISOString().slice(0, 10);
}

/** Every period of a form's year, in order. */
function periodsOf(form: Pick<FormRow, 'year' | 'period'>): string[] {
  const y = String(form.year);
  if (form.period === 'year') return [y];
  if (form.period === 'quarter') return [1, 2, 3, 4].map((q) => `${y}-Q${q}`);
  return Array.from({ length: 12 }, (_, m) => `${y}-${String(m + 1).padStart(2, '0')}`);
}

/**
 * When a unit's report of a form for a period is due: by the end of the n-th working day after
 * the period ends (official holiday calendar, make-up working days included). `calendarCertain`
 * is false when the holiday arrangement of that year is not yet published.
 */
export function deadlineOf(form: Pick<FormRow, 'due_working_days'>, period: string, today = chinaDate()) {
  const dueOn = addWorkingDays(periodEnd(period), form.due_working_days);
  return { dueOn, overdueToday: today > dueOn, calendarCertain: calendarCovers(Number(dueOn.slice(0, 4))) };
}

// ---------------------------------------------------------------------------- forms

export interface FormInput {
  code: string;
  nameZh: string;
  nameEn: string;
  year: number;
  period: PeriodKind;
  level: Level;
  basis: FormBasis;
  approval?: string | undefined;
  indicators: string[];
  checks?: SumCheck[] | undefined;
  /** Working days after the period's end the report is due (10 when not given). */
  dueWorkingDays?: number | undefined;
}

type ItemRow = IndicatorRow & { form_id: string; position: number };

function formView(row: FormRow, items: ItemRow[]) {
  return {
    id: row.id,
    code: row.code,
    nameZh: row.name_zh,
    nameEn: row.name_en,
    year: row.year,
    period: row.period,
    level: row.level,
    ownerOrgId: row.owner_org_id,
    basis: row.basis,
    approval: row.approval,
    checks: row.checks,
    state: row.state,
    dueWorkingDays: row.due_working_days,
    indicators: items
      .filter((i) => i.form_id === row.id)
      .map((i) => ({
        code: i.code,
        nameZh: i.name_zh,
        nameEn: i.name_en,
        unit: i.unit,
        dataType: i.data_type,
      })),
    createdAt: row.created_at.toISOString(),
  };
}
export type FormView = ReturnType<typeof formView>;

async function findForm(ctx: Ctx, code: string): Promise<FormRow> {
  const row = await store.findForm(ctx.db, code);
  if (!row) throw new AppError('NOT_FOUND', { objectType: 'form', code });
  return row;
}

export async function createForm(ctx: Ctx, input: FormInput): Promise<FormView> {
  const principal = authorize(ctx.principal, FORM_STAFF);
  // The catalogue is the data bureau's: a department issues outside it only with an approval on record.
  if (input.basis === 'catalogue') authorize(principal, { ...FORM_STAFF, roles: ['platform_admin'] });
  if (input.basis !== 'catalogue' && !input.approval) {
    throw new AppError('VALIDATION_FAILED', { field: 'approval', reason: 'required_outside_catalogue' });
  }
  const codes = [...new Set(input.indicators)];
  if (codes.length !== input.indicators.length) {
    throw new AppError('VALIDATION_FAILED', { field: 'indicators', reason: 'repeated' });
  }
  const rows = await store.indicatorsByCodes(ctx.db, codes);
  for (const code of codes) {
    const row = rows.find((r) => r.code === code);
    if (!row || row.state !== 'active')
      throw new AppError('VALIDATION_FAILED', { field: 'indicators', code, reason: 'unknown_or_inactive' });
    // Computed figures — formulas, the platform's own activity — are never asked of anyone.
    if (row.source_kind === 'formula' || row.source_kind === 'platform')
      throw new AppError('VALIDATION_FAILED', { field: 'indicators', code, reason: 'computed' });
    if (row.period !== input.period || row.level !== input.level) {
      throw new AppError('VALIDATION_FAILED', {
        field: 'indicators',
        code,
        reason: 'period_or_level_differ',
      });
    }
  }
  for (const check of input.checks ?? []) {
    for (const code of [check.total, ...check.parts]) {
      if (!codes.includes(code))
        throw new AppError('VALIDATION_FAILED', { field: 'checks', code, reason: 'not_on_form' });
    }
  }
  const ordered = codes.map((code) => rows.find((r) => r.code === code)!);
  return raced(() =>
    withTx(ctx.db, async (tx) => {
      if (await store.findForm(tx, input.code))
        throw new AppError('CONFLICT', { field: 'code', code: input.code });
      const now = new Date();
      const id = newId('frm');
      await store.insertForm(
        tx,
        {
          id,
          code: input.code,
          name_zh: input.nameZh,
          name_en: input.nameEn,
          year: input.year,
          period: input.period,
          level: input.level,
          owner_org_id: principal.orgId,
          basis: input.basis,
          approval: input.approval ?? null,
          checks: JSON.stringify(input.checks ?? []),
          state: 'draft',
          ...(input.dueWorkingDays === undefined ? {} : { due_working_days: input.dueWorkingDays }),
          created_by: principal.userId,
          created_at: now,
          updated_at: now,
        },
        ordered.map((r) => r.id),
      );
      await auditAs(ctx, tx, 'form.create', 'form', id, {
        code: input.code,
        basis: input.basis,
        approval: input.approval,
      });
      const form = (await store.findForm(tx, input.code))!;
      return formView(form, await store.itemsOf(tx, [id]));
    }),
  );
}

export async function getForm(ctx: Ctx, code: string): Promise<FormView> {
  authorize(ctx.principal, { roles: 'any', scope: 'indicators' });
  const form = await findForm(ctx, code);
  return formView(form, await store.itemsOf(ctx.db, [form.id]));
}

/**
 * The catalogue of a year with its burden measured: forms and item slots as issued, and the
 * distinct indicators they come to once every figure is collected once.
 */
export async function formCatalogue(
  ctx: Ctx,
  query: { year?: number | undefined; state?: FormState | undefined },
) {
  authorize(ctx.principal, { roles: 'any', scope: 'indicators' });
  const forms = await store.listForms(ctx.db, query);
  const items = await store.itemsOf(
    ctx.db,
    forms.map((f) => f.id),
  );
  return {
    forms: forms.map((f) => formView(f, items)),
    measure: burden(forms, items),
  };
}

function burden(forms: FormRow[], items: ItemRow[]) {
  return {
    forms: forms.length,
    onCatalogue: forms.filter((f) => f.basis === 'catalogue').length,
    items: items.length,
    indicators: new Set(items.map((i) => i.id)).size,
  };
}

export async function actOnForm(ctx: Ctx, code: string, event: FormEvent): Promise<FormView> {
  const principal = authorize(ctx.principal, FORM_STAFF);
  const form = await findForm(ctx, code);
  authorize(principal, { ...FORM_STAFF, orgId: form.owner_org_id });
  return withTx(ctx.db, async (tx) => {
    const row = await applyTransition<FormState, FormEvent, FormRow>(tx, FORMS, form, event, {
      set: { updated_at: new Date() },
      audit: (tx) => auditAs(ctx, tx, `form.${event}`, 'form', form.id, { code }),
    });
    return formView(row, await store.itemsOf(tx, [form.id]));
  });
}

// ---------------------------------------------------------------------------- validation

export interface Failure {
  indicator: string;
  rule: string;
  value?: number | undefined;
  limit?: number | undefined;
  expected?: number | undefined;
}

/** Type and range of one value. */
export function valueFailures(
  indicator: Pick<IndicatorRow, 'code' | 'data_type' | 'rule'>,
  value: number,
): Failure[] {
  const failures: Failure[] = [];
  const code = indicator.code;
  if (!Number.isFinite(value)) return [{ indicator: code, rule: 'finite', value }];
  if (indicator.data_type === 'integer' && !Number.isInteger(value))
    failures.push({ indicator: code, rule: 'integer', value });
  if (indicator.data_type === 'boolean' && value !== 0 && value !== 1)
    failures.push({ indicator: code, rule: 'boolean', value });
  if (indicator.data_type === 'percent' && (value < 0 || value > 100))
    failures.push({ indicator: code, rule: 'percent', value });
  const rule = indicator.rule as IndicatorRule;
  if (rule.min !== undefined && value < rule.min)
    failures.push({ indicator: code, rule: 'min', value, limit: rule.min });
  if (rule.max !== undefined && value > rule.max)
    failures.push({ indicator: code, rule: 'max', value, limit: rule.max });
  return failures;
}

/** Cross-indicator checks: the parts add up to the total (to a millionth, for decimals). */
export function checkFailures(checks: SumCheck[], values: ReadonlyMap<string, number>): Failure[] {
  const failures: Failure[] = [];
  for (const check of checks) {
    const total = values.get(check.total);
    const sum = check.parts.reduce((a, code) => a + (values.get(code) ?? 0), 0);
    if (total !== undefined && Math.abs(total - sum) > 1e-6 * Math.max(1, Math.abs(total))) {
      failures.push({ indicator: check.total, rule: 'sum', value: total, expected: sum });
    }
  }
  return failures;
}

// ---------------------------------------------------------------------------- submissions

export interface SubmitInput {
  period: string;
  unitCode: string;
  values: Record<string, number>;
}

/**
 * Where a submitted figure came from: typed in, reused from the value another form brought, or
 * taken from shared data (a department's resource, read through a contract — `from` names it).
 */
type ItemSource = 'entered' | 'reused' | 'shared';

function submissionView(
  row: SubmissionRow,
  form: FormRow,
  steps: SignoffRow[],
  items: Array<{ code: string; value: number | null; source: ItemSource | null; from: string | null }> = [],
) {
  return {
    id: row.id,
    formCode: form.code,
    period: row.period,
    unitCode: row.unit_code,
    orgId: row.org_id,
    state: row.state,
    reason: row.reason,
    submittedBy: row.submitted_by,
    decidedBy: row.decided_by,
    chain: chainView(row, form, steps),
    items,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
export type SubmissionView = ReturnType<typeof submissionView>;

/**
 * Submits a form for a unit and period. Each item is entered, or taken from the value already
 * held for its indicator, period and unit (reused — whichever form brought it). A figure that
 * differs from the one held is refused (VALUE_ALREADY_REPORTED) unless it is this submission's own,
 * being corrected after a return. A second submission of the same form, unit and period is refused
 * (SUBMISSION_DUPLICATE) unless the first was returned, which this one then resubmits.
 */
export async function submitForm(ctx: Ctx, code: string, input: SubmitInput): Promise<SubmissionView> {
  const principal = authorize(ctx.principal, REPORTERS);
  const form = await findForm(ctx, code);
  if (form.state !== 'issued') {
    throw new AppError('INVALID_TRANSITION', { objectType: 'form', state: form.state, event: 'submit' });
  }
  checkPeriod(form, input.period);
  checkUnit(input.unitCode, form.level);
  await checkJurisdiction(ctx, input.unitCode);
  const items = await store.itemsOf(ctx.db, [form.id]);
  const onForm = new Set(items.map((i) => i.code));
  const extra = Object.keys(input.values).filter((c) => !onForm.has(c));
  if (extra.length > 0) throw new AppError('VALIDATION_FAILED', { field: 'values', notOnForm: extra });
  const chain = await planChain(ctx, input.unitCode, form);

  return raced(() =>
    withTx(ctx.db, async (tx) => {
      const existing = await store.findSubmissionFor(tx, form.id, input.period, input.unitCode);
      if (existing && existing.state !== 'returned') {
        throw new AppError('SUBMISSION_DUPLICATE', { submissionId: existing.id, state: existing.state });
      }
      const submissionId = existing?.id ?? newId('rsb');
      const held = new Map(
        (
          await store.heldValues(
            tx,
            items.map((i) => i.id),
            input.period,
            input.unitCode,
            true,
          )
        ).map((v) => [v.indicator_id, v]),
      );
      const shared = await sharedOffers(
        tx,
        items.map((i) => i.id),
        input.period,
        input.unitCode,
      );
      const conflicts: Array<{ indicator: string; held: number; given: number; submissionId: string }> = [];
      const missing: string[] = [];
      const final = new Map<string, number>();
      const plan: Array<{
        item: ItemRow;
        value: number;
        source: ItemSource;
        held: ValueRow | undefined;
        offer: PrefillRow | undefined;
      }> = [];
      for (const item of items) {
        const given = input.values[item.code];
        const h = held.get(item.id);
        const own = h?.submission_id === submissionId;
        if (h && !own && given !== undefined && given !== h.value) {
          conflicts.push({ indicator: item.code, held: h.value, given, submissionId: h.submission_id });
          continue;
        }
        // A figure shared data offers is taken as it is unless the unit gives its own.
        const offer = given === undefined && !h ? shared.get(item.id) : undefined;
        const value = given ?? h?.value ?? offer?.value;
        if (value === undefined) {
          missing.push(item.code);
          continue;
        }
        final.set(item.code, value);
        const source: ItemSource = h && !own ? 'reused' : offer ? 'shared' : 'entered';
        plan.push({ item, value, source, held: h, offer });
      }
      if (conflicts.length > 0) throw new AppError('VALUE_ALREADY_REPORTED', { conflicts });
      if (missing.length > 0) throw new AppError('VALIDATION_FAILED', { field: 'values', missing });
      const failures = [
        ...plan.flatMap((p) => (p.source !== 'reused' ? valueFailures(p.item, p.value) : [])),
        ...checkFailures(form.checks, final),
      ];
      if (failures.length > 0) throw new AppError('REPORT_CHECK_FAILED', { failures });

      const now = new Date();
      let row: SubmissionRow;
      const count = (source: ItemSource) => plan.filter((p) => p.source === source).length;
      const audit = {
        form: code,
        period: input.period,
        unitCode: input.unitCode,
        entered: count('entered'),
        reused: count('reused'),
        shared: plan.filter((p) => p.offer).map((p) => [p.item.code, p.offer!.contract_id]),
      };
      if (existing) {
        row = await applyTransition<SubmissionState, SubmissionEvent, SubmissionRow>(
          tx,
          SUBMISSIONS,
          existing,
          'resubmit',
          {
            set: {
              reason: null,
              submitted_by: principal.userId,
              round: existing.round + 1,
              updated_at: now,
            },
            audit: (tx) =>
              auditAs(ctx, tx, 'submission.resubmit', 'submission', submissionId, {
                ...audit,
                round: existing.round + 1,
              }),
          },
        );
        // The corrected report climbs the whole way again.
        await openRound(tx, submissionId, row.round, chain);
      } else {
        await store.insertSubmission(tx, {
          id: submissionId,
          form_id: form.id,
          period: input.period,
          unit_code: input.unitCode,
          org_id: principal.orgId,
          state: 'submitted',
          submitted_by: principal.userId,
          created_at: now,
          updated_at: now,
        });
        await openRound(tx, submissionId, 1, chain);
        await auditAs(ctx, tx, 'submission.create', 'submission', submissionId, {
          ...audit,
          chain: chain.map((d) => [d.unitCode, d.skipped ? 'skipped' : 'pending']),
        });
        row = (await store.findSubmission(tx, submissionId))!;
      }
      for (const p of plan) {
        if (p.held && p.source === 'entered' && p.held.value !== p.value)
          await store.updateValue(tx, p.held.id, p.value, principal.userId);
      }
      await store.insertValues(
        tx,
        plan
          .filter((p) => !p.held)
          .map((p) => ({
            id: newId('ivl'),
            indicator_id: p.item.id,
            period: input.period,
            unit_code: input.unitCode,
            value: p.value,
            submission_id: submissionId,
            reported_by: principal.userId,
            reported_at: now,
          })),
      );
      return submissionView(
        row,
        form,
        await store.signoffsOf(tx, [submissionId]),
        plan.map((p) => ({
          code: p.item.code,
          value: p.value,
          source: p.source,
          from:
            p.source === 'reused'
              ? p.held!.submission_id
              : p.source === 'shared'
                ? p.offer!.contract_id
                : submissionId,
        })),
      );
    }),
  );
}

export async function listSubmissions(ctx: Ctx, code: string) {
  const principal = authorize(ctx.principal, FORM_STAFF);
  const form = await findForm(ctx, code);
  authorize(principal, { ...FORM_STAFF, orgId: form.owner_org_id });
  const rows = await store.listSubmissions(ctx.db, form.id);
  const chains = await chainsOf(ctx.db, rows);
  return rows.map((s) => submissionView(s, form, chains.get(s.id)!));
}

async function findSubmission(ctx: Ctx, id: string) {
  const submission = await store.findSubmission(ctx.db, id);
  if (!submission) throw new AppError('NOT_FOUND', { objectType: 'submission', id });
  return { submission, form: (await store.findFormById(ctx.db, submission.form_id))! };
}

/**
 * One submission with its chain: for the form's department, and for reporters whose area holds
 * the unit — the unit's own and every division on its way up.
 */
export async function getSubmission(ctx: Ctx, id: string): Promise<SubmissionView> {
  const principal = authorize(ctx.principal, REPORTERS);
  const { submission, form } = await findSubmission(ctx, id);
  if (principal.orgId !== form.owner_org_id) await checkJurisdiction(ctx, submission.unit_code);
  return submissionView(submission, form, await store.signoffsOf(ctx.db, [id]));
}

/**
 * The form's department accepts a submission or returns it for correction with a reason, once
 * every division below has signed it off (409 SIGNOFF_PENDING before). A return by a division on
 * the chain — or by the platform admin while a division holds it — is that division's return.
 */
export async function decideSubmission(
  ctx: Ctx,
  id: string,
  event: 'accept' | 'return',
  reason?: string | undefined,
): Promise<SubmissionView> {
  const principal = authorize(ctx.principal, FORM_STAFF);
  const { form } = await findSubmission(ctx, id);
  if (event === 'return') {
    const division = await signingDivision(ctx);
    if (stepOf(ctx, division, await store.signoffsOf(ctx.db, [id])))
      return actAtStep(ctx, id, form, division, 'return', reason);
  }
  authorize(principal, { ...FORM_STAFF, orgId: form.owner_org_id });
  return withTx(ctx.db, async (tx) => {
    const submission = (await store.lockSubmission(tx, id))!;
    const steps = await store.signoffsOf(tx, [id]);
    const waiting = waitingStep(steps);
    if (submission.state === 'submitted' && waiting) throw notYet(waiting);
    const row = await applyTransition<SubmissionState, SubmissionEvent, SubmissionRow>(
      tx,
      SUBMISSIONS,
      submission,
      event,
      {
        facts: steps.every(passed) ? ['signed_off'] : [],
        set: { reason: reason ?? null, decided_by: principal.userId, updated_at: new Date() },
        audit: (tx) =>
          auditAs(ctx, tx, `submission.${event}`, 'submission', id, {
            form: form.code,
            round: submission.round,
            level: 'department',
            reason,
          }),
      },
    );
    return submissionView(row, form, steps);
  });
}

/**
 * A division signs a submission off at its step, with an optional comment, and it goes up to the
 * next division (or to the department). 403 OUTSIDE_JURISDICTION when the caller's organization is
 * no government department at a division of the chain; 409 SIGNOFF_PENDING before the divisions
 * below have signed; 409 SIGNOFF_DECIDED when the step was already decided — of two reviewers
 * racing on one step, the second finds it signed.
 */
export async function signOff(ctx: Ctx, id: string, comment?: string | undefined): Promise<SubmissionView> {
  authorize(ctx.principal, REPORTERS);
  const { form } = await findSubmission(ctx, id);
  return actAtStep(ctx, id, form, await signingDivision(ctx), 'signoff', comment);
}

/**
 * Signs off or returns at the caller's step. The submission's row is locked first, so its steps
 * and decisions are taken one at a time; each step then moves by its lifecycle, recorded as
 * who, when, which division and level, and the comment or reason — and audited on the submission.
 */
async function actAtStep(
  ctx: Ctx,
  id: string,
  form: FormRow,
  division: string | null,
  event: 'signoff' | 'return',
  note: string | undefined,
): Promise<SubmissionView> {
  const principal = ctx.principal!;
  return withTx(ctx.db, async (tx) => {
    const submission = (await store.lockSubmission(tx, id))!;
    const steps = await store.signoffsOf(tx, [id]);
    const step = stepOf(ctx, division, steps);
    if (!step) {
      const divisions = steps.filter((s) => s.state !== 'skipped').map((s) => s.unit_code);
      throw new AppError(
        'OUTSIDE_JURISDICTION',
        { unitCode: submission.unit_code, regionCode: division, chain: divisions },
        divisions.length === 0
          ? { zh: '该报送无需逐级签核', en: 'this submission needs no sign-off on its way up' }
          : {
              zh: `签核须由 ${divisions.join('、')} 的政府部门办理`,
              en: `sign-off is for the government departments of ${divisions.join(', ')}`,
            },
      );
    }
    // Said plainly, before the lifecycle would refuse it: the reviewer who lost a race to the
    // same step finds it decided here, since the row lock above made them wait for the winner.
    if (step.state !== 'pending') {
      throw new AppError(
        'SIGNOFF_DECIDED',
        { level: step.level, unitCode: step.unit_code, state: step.state, decidedBy: step.decided_by },
        {
          zh: `${step.unit_code} 的签核状态为 ${STATE_ZH[step.state]}`,
          en: `the step of ${step.unit_code} is ${step.state}`,
        },
      );
    }
    const below = waitingStep(steps.filter((s) => s.position < step.position));
    if (submission.state === 'submitted' && below) throw notYet(below);
    const now = new Date();
    const facts = submission.state === 'submitted' && !below ? ['its_turn'] : [];
    const decided = {
      decided_by: principal.userId,
      decided_org_id: principal.orgId,
      decided_at: now,
      comment: note ?? null,
    };
    const details = { form: form.code, round: submission.round, level: step.level, unitCode: step.unit_code };
    if (event === 'signoff') {
      await applyTransition(tx, SIGNOFFS, step, 'signoff', {
        facts,
        set: decided,
        audit: (tx) =>
          auditAs(ctx, tx, 'submission.signoff', 'submission', id, { ...details, comment: note }),
      });
      await store.touchSubmission(tx, id, now);
    } else {
      // The submission's return entry records the step's return and the steps above it it closes.
      await applyTransition(tx, SIGNOFFS, step, 'return', { facts, set: decided, audit: null });
      for (const above of steps.filter((s) => s.position > step.position && s.state === 'pending'))
        await applyTransition(tx, SIGNOFFS, above, 'cancel', { audit: null });
      await applyTransition(tx, SUBMISSIONS, submission, 'return', {
        facts: ['returned_at_step'],
        set: { reason: note ?? null, decided_by: principal.userId, updated_at: now },
        audit: (tx) => auditAs(ctx, tx, 'submission.return', 'submission', id, { ...details, reason: note }),
      });
    }
    return submissionView((await store.findSubmission(tx, id))!, form, await store.signoffsOf(tx, [id]));
  });
}

/**
 * What waits for the caller: submissions whose round has reached their organization's division
 * (sign off or return), and submissions of their organization's forms signed off all the way up
 * (accept or return) — the oldest first.
 */
export async function signoffTodo(ctx: Ctx) {
  const principal = authorize(ctx.principal, REPORTERS);
  const division = await signingDivision(ctx);
  const atDivision = division ? await store.waitingAt(ctx.db, [division]) : [];
  const toAccept = await store.awaitingAcceptance(ctx.db, principal.orgId);
  const all = [...atDivision, ...toAccept];
  const chains = await chainsOf(ctx.db, all);
  const forms = new Map<string, FormRow>();
  for (const formId of new Set(all.map((s) => s.form_id)))
    forms.set(formId, (await store.findFormById(ctx.db, formId))!);
  const view = (s: SubmissionRow) => submissionView(s, forms.get(s.form_id)!, chains.get(s.id)!);
  return { division, signoff: atDivision.map(view), accept: toAccept.map(view) };
}

// ---------------------------------------------------------------------------- to-do and roll-up

/**
 * The issued forms a unit reports on for a period (its level and period kind) and their
 * indicators, each listed once with the forms that use it.
 */
async function dueFor(ctx: Ctx, query: { unitCode: string; period: string }) {
  const level = unitLevel(query.unitCode);
  if (!level) throw new AppError('VALIDATION_FAILED', { field: 'unitCode', unitCode: query.unitCode });
  const kind = periodKind(query.period);
  if (!kind) throw new AppError('VALIDATION_FAILED', { field: 'period', period: query.period });
  await checkJurisdiction(ctx, query.unitCode);
  const year = Number(query.period.slice(0, 4));
  const forms = (await store.listForms(ctx.db, { year, state: 'issued' })).filter(
    (f) => f.level === level && f.period === kind,
  );
  const items = await store.itemsOf(
    ctx.db,
    forms.map((f) => f.id),
  );
  const merged = new Map<string, { item: ItemRow; forms: string[] }>();
  for (const item of items) {
    const formCode = forms.find((f) => f.id === item.form_id)!.code;
    const entry = merged.get(item.id) ?? { item, forms: [] };
    entry.forms.push(formCode);
    merged.set(item.id, entry);
  }
  return { level, forms, items, merged: [...merged.values()] };
}

/**
 * What shared data offers a unit for a period, by indicator: the latest figure read for it through
 * a contract, as long as that contract is still in force — a revoked or expired contract's figure
 * is not used again, the unit is asked.
 */
async function sharedOffers(
  db: Executor,
  indicatorIds: string[],
  period: string,
  unitCode: string,
  now = new Date(),
) {
  const rows = await store.prefillsOf(db, indicatorIds, period, unitCode);
  const inForce = new Set(
    (
      await contractsInForce(
        db,
        [...new Set(rows.map((r) => r.org_id))],
        [...new Set(rows.map((r) => r.resource_id))],
        now,
      )
    ).map((c) => c.id),
  );
  return new Map(rows.filter((r) => inForce.has(r.contract_id)).map((r) => [r.indicator_id, r]));
}

/**
 * What a grassroots unit has to report for a period, merged: every issued form of the unit's
 * level and period kind, their indicators each listed once, each pre-filled with the value
 * already held — reported on another form, or offered by shared data through a contract — and
 * where it came from. The measure says how much merging and pre-filling saved.
 */
export async function todo(ctx: Ctx, query: { unitCode: string; period: string }) {
  authorize(ctx.principal, REPORTERS);
  const { level, forms, items, merged } = await dueFor(ctx, query);
  const ids = [...new Set(items.map((i) => i.id))];
  const held = new Map(
    (await store.heldValues(ctx.db, ids, query.period, query.unitCode)).map((v) => [v.indicator_id, v]),
  );
  const shared = await sharedOffers(ctx.db, ids, query.period, query.unitCode);
  const submitted = new Set<string>();
  for (const f of forms) {
    const s = await store.findSubmissionFor(ctx.db, f.id, query.period, query.unitCode);
    if (s && s.state !== 'returned') submitted.add(f.id);
  }
  const list = merged.map(({ item, forms: usedBy }) => {
    const h = held.get(item.id);
    const offer = shared.get(item.id);
    return {
      code: item.code,
      nameZh: item.name_zh,
      nameEn: item.name_en,
      unit: item.unit,
      dataType: item.data_type,
      rule: item.rule,
      forms: usedBy,
      sharedSource: sharedSource(item),
      prefill: h
        ? {
            value: h.value,
            source: 'reported' as const,
            submissionId: h.submission_id,
            contractId: null,
            resourceId: null,
            reportedAt: h.reported_at.toISOString(),
          }
        : offer
          ? {
              value: offer.value,
              source: 'shared' as const,
              submissionId: null,
              contractId: offer.contract_id,
              resourceId: offer.resource_id,
              reportedAt: offer.read_at.toISOString(),
            }
          : null,
    };
  });
  const prefilled = list.filter((i) => i.prefill).length;
  return {
    unitCode: query.unitCode,
    level,
    period: query.period,
    forms: forms.map((f) => {
      const deadline = deadlineOf(f, query.period);
      return {
        code: f.code,
        nameZh: f.name_zh,
        nameEn: f.name_en,
        submitted: submitted.has(f.id),
        dueOn: deadline.dueOn,
        overdue: !submitted.has(f.id) && deadline.overdueToday,
        calendarCertain: deadline.calendarCertain,
      };
    }),
    items: list,
    measure: {
      ...burden(forms, items),
      prefilled,
      prefilledShare: list.length > 0 ? prefilled / list.length : 0,
      fromShared: list.filter((i) => i.prefill?.source === 'shared').length,
    },
  };
}

type ResourceSource = Extract<IndicatorSource, { kind: 'resource_field' }>;

/** The resource an item can be pre-filled from (null for a reported or computed figure). */
function sharedSource(item: ItemRow): { resourceId: string; field: string } | null {
  if (item.source_kind !== 'resource_field') return null;
  const source = item.source as ResourceSource;
  return { resourceId: source.resourceId, field: source.field };
}

/** Why shared data could not pre-fill an item; a gateway refusal is named by its error code. */
export type PrefillRefusal =
  | 'not_keyed' // the indicator names no unit and period fields of its resource
  | 'no_contract' // no contract of the unit's organization in force covers the field and its keys
  | 'no_row' // the resource has no row for this unit and period
  | 'several_rows' // more than one: the keys do not single out the unit's figure
  | 'not_a_number' // the value is empty, masked or not a number
  | 'fails_rule' // the indicator's own type or range refuses it
  | (string & {});

/**
 * Pre-fills a unit's to-do from shared data: every item whose indicator a department's catalog
 * resource already holds (one row per unit and period) and that the unit has not reported yet is
 * read through a contract of the caller's organization — one audited gateway read each, the
 * contract the value's proof — and offered in the to-do. An item no contract covers is named with
 * its reason, never read another way; the unit is asked for it as before.
 */
export async function pullShared(ctx: Ctx, query: { unitCode: string; period: string }, clientIp: string) {
  const principal = authorize(ctx.principal, REPORTERS);
  authorize(ctx.principal, { roles: 'any', scope: 'gateway' });
  const { merged } = await dueFor(ctx, query);
  const held = new Set(
    (
      await store.heldValues(
        ctx.db,
        merged.map((m) => m.item.id),
        query.period,
        query.unitCode,
      )
    ).map((v) => v.indicator_id),
  );
  const wanted = merged
    .map((m) => m.item)
    .filter((i) => i.source_kind === 'resource_field' && !held.has(i.id));
  const sources = (item: ItemRow) => item.source as ResourceSource;
  const contracts = await contractsInForce(
    ctx.db,
    [principal.orgId],
    [...new Set(wanted.map((i) => sources(i).resourceId))],
  );
  const filled: Array<{ code: string; value: number; contractId: string }> = [];
  const refused: Array<{ code: string; reason: PrefillRefusal }> = [];
  const offers: PrefillRow[] = [];
  for (const item of wanted) {
    const { resourceId, field, unitField, periodField } = sources(item);
    if (!unitField || !periodField) {
      refused.push({ code: item.code, reason: 'not_keyed' });
      continue;
    }
    const needs = [field, unitField, periodField];
    const contract = contracts.find(
      (c) =>
        c.resource_id === resourceId &&
        c.operations.includes('rows') &&
        needs.every((f) => c.fields.includes(f)),
    );
    if (!contract) {
      refused.push({ code: item.code, reason: 'no_contract' });
      continue;
    }
    const filter = {
      and: [
        { field: unitField, op: 'eq' as const, value: query.unitCode },
        { field: periodField, op: 'eq' as const, value: query.period },
      ],
    };
    const read = await gateway.readThrough(ctx, contract.id, { fields: [field], filter, limit: 2 }, clientIp);
    const reason = prefillRefusal(item, read, field);
    if (typeof reason === 'string') {
      refused.push({ code: item.code, reason });
      continue;
    }
    filled.push({ code: item.code, value: reason.value, contractId: contract.id });
    offers.push({
      indicator_id: item.id,
      period: query.period,
      unit_code: query.unitCode,
      value: reason.value,
      resource_id: resourceId,
      contract_id: contract.id,
      org_id: principal.orgId,
      read_by: principal.userId,
      read_at: new Date(),
    });
  }
  await withTx(ctx.db, async (tx) => {
    await store.savePrefills(tx, offers);
    await auditAs(ctx, tx, 'report.prefill', 'unit', query.unitCode, {
      period: query.period,
      filled: filled.map((f) => [f.code, f.contractId]),
      refused: refused.map((r) => [r.code, r.reason]),
    });
  });
  return { filled, refused, todo: await todo(ctx, query) };
}

/** The figure a gateway read gives an item, or why it gives none. */
function prefillRefusal(
  item: ItemRow,
  read: Awaited<ReturnType<typeof gateway.readThrough>>,
  field: string,
): PrefillRefusal | { value: number } {
  if ('refused' in read) return read.refused;
  if (read.items.length === 0) return 'no_row';
  if (read.items.length > 1) return 'several_rows';
  const raw = read.items[0]![field];
  const value =
    typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
  if (!Number.isFinite(value)) return 'not_a_number';
  if (valueFailures(item, value).length > 0) return 'fails_rule';
  return { value };
}

/** How far ahead a report still to be made is reminded of: its due date within this many days. */
export const REMIND_DAYS_AHEAD = 7;

/**
 * Reminders for a unit (the caller's organization's division by default): every report of an
 * issued form of the unit's level whose period has ended and which the unit has not submitted, or
 * which came back for correction, due within REMIND_DAYS_AHEAD days or already overdue — the
 * oldest deadline first. The console's bell and a grassroots user's to-do start from it.
 */
export async function reminders(ctx: Ctx, query: { unitCode?: string | undefined }) {
  const principal = authorize(ctx.principal, REPORTERS);
  const unitCode =
    query.unitCode ?? (await identity.getOrganization(platformCtx(ctx), principal.orgId)).regionCode;
  const level = unitCode ? unitLevel(unitCode) : undefined;
  if (!unitCode || !level) {
    throw new AppError('VALIDATION_FAILED', {
      field: 'unitCode',
      unitCode: unitCode ?? null,
      reason: query.unitCode ? 'not_a_unit' : 'organization_has_no_unit',
    });
  }
  await checkJurisdiction(ctx, unitCode);
  const today = chinaDate();
  const horizon = addCalendarDays(today, REMIND_DAYS_AHEAD);
  const forms = (await store.listForms(ctx.db, { state: 'issued' })).filter((f) => f.level === level);
  const submissions = await store.submissionsOfUnit(
    ctx.db,
    forms.map((f) => f.id),
    unitCode,
  );
  const stateOf = new Map(submissions.map((s) => [`${s.form_id}|${s.period}`, s.state]));
  const items = forms.flatMap((form) =>
    periodsOf(form).flatMap((period) => {
      const state = stateOf.get(`${form.id}|${period}`);
      // Reported once the period is over; a submission waiting or accepted needs nothing more.
      if (periodEnd(period) >= today || (state !== undefined && state !== 'returned')) return [];
      const deadline = deadlineOf(form, period, today);
      if (deadline.dueOn > horizon) return [];
      return [
        {
          formCode: form.code,
          nameZh: form.name_zh,
          nameEn: form.name_en,
          period,
          dueOn: deadline.dueOn,
          overdue: deadline.overdueToday,
          returned: state === 'returned',
          calendarCertain: deadline.calendarCertain,
        },
      ];
    }),
  );
  items.sort((a, b) => a.dueOn.localeCompare(b.dueOn) || a.formCode.localeCompare(b.formCode));
  return { unitCode, level, today, items };
}

/**
 * Roll-up of a form for a unit: the submissions of the units below it signed off at the unit's
 * level or above (see signedOffAt; at or above the form's department, the accepted ones), summed
 * per indicator (counts and amounts add up; a percent is averaged over the units reporting; a
 * yes/no counts the units answering yes).
 */
export async function rollup(ctx: Ctx, code: string, query: { unitCode: string; period: string }) {
  authorize(ctx.principal, { roles: 'any', scope: 'indicators' });
  const form = await findForm(ctx, code);
  checkPeriod(form, query.period);
  const level = unitLevel(query.unitCode);
  if (!level) throw new AppError('VALIDATION_FAILED', { field: 'unitCode', unitCode: query.unitCode });
  // A city's units share 3301, not 330100.
  const prefix = unitPrefix(query.unitCode);
  const items = await store.itemsOf(ctx.db, [form.id]);
  const below = (await store.listSubmissions(ctx.db, form.id)).filter(
    (s) => s.period === query.period && s.unit_code.startsWith(prefix) && s.unit_code !== query.unitCode,
  );
  const chains = await chainsOf(ctx.db, below);
  const counted = below.filter((s) => signedOffAt(s, chains.get(s.id)!, level));
  const values = await store.valuesOf(
    ctx.db,
    items.map((i) => i.id),
    [query.period],
    prefix,
  );
  const countedUnits = new Set(counted.map((s) => s.unit_code));
  return {
    formCode: form.code,
    unitCode: query.unitCode,
    period: query.period,
    units: countedUnits.size,
    items: items.map((item) => {
      const vs = values
        .filter((v) => v.indicator_id === item.id && countedUnits.has(v.unit_code))
        .map((v) => v.value);
      const sum = vs.reduce((a, b) => a + b, 0);
      const value = vs.length === 0 ? null : item.data_type === 'percent' ? sum / vs.length : sum;
      return { code: item.code, value, units: vs.length };
    }),
  };
}
