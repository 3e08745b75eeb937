import { sql } from 'kysely';
import { appendAudit, auditAs } from '../audit/append.ts';
import * as catalog from '../catalog/service.ts';
import { type AccessRule, authorize, hasRole, type Principal, SYSTEM_PRINCIPAL } from '../core/auth.ts';
import type { Ctx } from '../core/context.ts';
import { type Executor, withTx } from '../core/db.ts';
import { AppError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { applyTransition, type Lifecycle, type TransitionTable } from '../core/lifecycle.ts';
import { type Page, pageOf } from '../core/paging.ts';
import * as gateway from '../gateway/service.ts';
import * as identity from '../identity/service.ts';
import { contractsInForce } from '../sharing/service.ts';
import { addWorkingDays, chinaDate, workingDaysBetween } from '../standards/working-days.ts';
import { checkEligibility, type EligibilityInput, toRules, unmet } from './eligibility.ts';
import {
  criticalPath,
  planSteps,
  type Savings,
  type StepPlan,
  savingsOf,
  topologicalOrder,
} from './savings.ts';
import { STEP_LIFECYCLE, type StepEvent } from './steps.ts';
import {
  type ApplicationRow,
  type ApplicationState,
  type BundleRow,
  type BundleState,
  type ConsentRelation,
  type ConsentRow,
  type ConsentState,
  type NotificationKind,
  type NotificationRow,
  type Prefilled,
  type StepDefinition,
  type StepRow,
  type StepState,
  servicesStore as store,
} from './store.ts';

/**
 * "Get one thing done" (一件事一次办): a bundle declares the department services of one life or
 * business event as a dependency graph of steps; each step names the fields it needs and where a
 * field's data can come from. A field a contract in force gives the step's department is exempted
 * (免提交): the merged form does not ask it, and the department pulls it through the gateway.
 * Applications move step by step through STEP_LIFECYCLE; a step reaches its department only when
 * its inputs are done. Deadlines count working days of the official calendar.
 */

export const BUNDLE_LIFECYCLE: TransitionTable<BundleState, 'publish' | 'retire'> = [
  { from: ['draft'], event: 'publish', to: 'published' },
  { from: ['published'], event: 'retire', to: 'retired' },
];

export { STEP_LIFECYCLE, type StepEvent };

export const APPLICATION_LIFECYCLE: TransitionTable<ApplicationState, 'complete' | 'refuse'> = [
  { from: ['open'], event: 'complete', to: 'done' },
  { from: ['open'], event: 'refuse', to: 'refused' },
];

const BUNDLES: Lifecycle<BundleState, 'publish' | 'retire'> = {
  objectType: 'service_bundle',
  table: 'service_bundles',
  transitions: BUNDLE_LIFECYCLE,
};
const STEPS: Lifecycle<StepState, StepEvent> = {
  objectType: 'service_step',
  table: 'service_application_steps',
  transitions: STEP_LIFECYCLE,
};
/** A consent is in force from its first to its last day unless revoked (by either person). */
export const CONSENT_LIFECYCLE: TransitionTable<ConsentState, 'revoke'> = [
  { from: ['active'], event: 'revoke', to: 'revoked' },
];
const CONSENTS: Lifecycle<ConsentState, 'revoke'> = {
  objectType: 'service_consent',
  table: 'service_consents',
  transitions: CONSENT_LIFECYCLE,
};

const APPLICATIONS: Lifecycle<ApplicationState, 'complete' | 'refuse'> = {
  objectType: 'service_application',
  table: 'service_applications',
  transitions: APPLICATION_LIFECYCLE,
};

/** Bundles are declared by the lead department's administrators (or the platform's). */
export const BUNDLE_AUTHORS: AccessRule = { roles: ['org_admin', 'platform_admin'], scope: 'services' };
/** Any signed-in person may read published bundles, apply, follow and rate their applications. */
export const SERVICES_USE: AccessRule = { roles: 'any', scope: 'services' };
/** A department's staff handle its steps (and its rectification cases). */
export const DEPARTMENT_STAFF: AccessRule = {
  roles: ['org_admin', 'data_steward', 'consumer'],
  scope: 'services',
};

export const DEPARTMENT_STAFF_OR_ADMIN: AccessRule = {
  roles: ['org_admin', 'data_steward', 'consumer', 'platform_admin'],
  scope: 'services',
};

/** Consents are given and received by citizens, never by a department's account. */
export const CITIZENS: AccessRule = { roles: ['citizen'], scope: 'services' };

/** The platform itself (the scheduler at the command line's principal). */
export const PLATFORM: AccessRule = { roles: ['platform_admin'], scope: 'services' };

function notFound(objectType: string, id: string) {
  return new AppError('NOT_FOUND', { objectType, id });
}

function invalid(field: string, zh: string, en: string, details: Record<string, unknown> = {}) {
  return new AppError('VALIDATION_FAILED', { field, ...details }, { zh, en });
}

/** Lookups made on the caller's behalf after the caller has been authorized. */
function platformCtx(ctx: Ctx): Ctx {
  return { ...ctx, principal: SYSTEM_PRINCIPAL };
}

// ---------------------------------------------------------------------------- bundles

export interface BundleInput {
  code: string;
  name: string;
  nameEn: string;
  eventKind: 'life' | 'business';
  leadOrgId: string;
  promisedWorkingDays: number;
  steps: StepDefinition[];
  /** What an applicant must meet, shown before the form: text, or rules checked on the subject. */
  eligibility?: EligibilityInput[] | undefined;
}

/** The declared graph must be a graph: unique keys, known inputs, no cycle, real departments and sources. */
async function checkSteps(ctx: Ctx, steps: StepDefinition[]): Promise<void> {
  const keys = new Set<string>();
  for (const [i, step] of steps.entries()) {
    if (keys.has(step.key))
      throw invalid(`steps[${i}].key`, `步骤 ${step.key} 重复`, `step ${step.key} is declared twice`);
    keys.add(step.key);
    const names = new Set<string>();
    for (const f of step.fields) {
      if (names.has(f.name))
        throw invalid(`steps[${i}].fields`, `字段 ${f.name} 重复`, `field ${f.name} is listed twice`);
      names.add(f.name);
    }
  }
  for (const [i, step] of steps.entries()) {
    const unknown = step.dependsOn.filter((d) => !keys.has(d) || d === step.key);
    if (unknown.length > 0)
      throw invalid(
        `steps[${i}].dependsOn`,
        `依赖的步骤不存在：${unknown.join('、')}`,
        `depends on unknown steps: ${unknown.join(', ')}`,
      );
  }
  if (!topologicalOrder(steps))
    throw invalid('steps', '步骤依赖成环', 'the steps depend on each other in a cycle');
  const system = platformCtx(ctx);
  for (const orgId of new Set(steps.map((s) => s.orgId))) {
    await identity.getOrganization(system, orgId).catch(() => {
      throw invalid('steps.orgId', `部门 ${orgId} 不存在`, `no organization ${orgId}`);
    });
  }
  const sources = steps.flatMap((s) => s.fields.flatMap((f) => (f.source ? [f.source] : [])));
  for (const resourceId of new Set(sources.map((s) => s.resourceId))) {
    const resource = await catalog.getResource(system, resourceId).catch(() => {
      throw invalid('source.resourceId', `资源 ${resourceId} 不存在`, `no resource ${resourceId}`);
    });
    const known = new Set(resource.fields.map((f) => f.name));
    for (const source of sources.filter((s) => s.resourceId === resourceId)) {
      const missing = [source.field, source.keyField].filter((name) => !known.has(name));
      if (missing.length > 0)
        throw invalid(
          'source.field',
          `资源 ${resource.code} 没有字段 ${missing.join('、')}`,
          `resource ${resource.code} has no field ${missing.join(', ')}`,
        );
    }
  }
}

/** Which contract in force gives each (step, field) pair: the step's department is the consumer. */
async function coverage(db: Executor, steps: readonly StepDefinition[], now = new Date()) {
  const sourced = steps.flatMap((s) => s.fields.flatMap((f) => (f.source ? [f.source] : [])));
  const contracts = await contractsInForce(
    db,
    [...new Set(steps.map((s) => s.orgId))],
    [...new Set(sourced.map((s) => s.resourceId))],
    now,
  );
  return (step: StepDefinition, fieldName: string): string | null => {
    const source = step.fields.find((f) => f.name === fieldName)?.source;
    if (!source) return null;
    const contract = contracts.find(
      (c) =>
        c.consumer_org_id === step.orgId &&
        c.resource_id === source.resourceId &&
        c.operations.includes('rows') &&
        c.fields.includes(source.field) &&
        c.fields.includes(source.keyField),
    );
    return contract?.id ?? null;
  };
}

/** Department names for the steps: a citizen reads no organization directory, yet must know whom a step goes to. */
const orgNames = (ctx: Ctx, ids: Iterable<string>) => identity.organizationNames(ctx, ids);

/** Whose data each sourced field is: the provider of the resource it comes from. */
async function providersOf(ctx: Ctx, steps: readonly StepDefinition[]): Promise<Map<string, string>> {
  const providers = new Map<string, string>();
  for (const step of steps)
    for (const f of step.fields)
      if (f.source && !providers.has(f.source.resourceId)) {
        const resource = await catalog.getResource(platformCtx(ctx), f.source.resourceId).catch(() => null);
        providers.set(f.source.resourceId, resource?.provider.name ?? '');
      }
  return providers;
}

function bundleView(
  b: BundleRow,
  plan: StepPlan[],
  names: Map<string, string>,
  providers: Map<string, string>,
) {
  const sourceOf = (stepKey: string, field: string) =>
    b.steps.find((s) => s.key === stepKey)?.fields.find((f) => f.name === field)?.source;
  return {
    id: b.id,
    code: b.code,
    name: b.name,
    nameEn: b.name_en,
    eventKind: b.event_kind,
    leadOrgId: b.lead_org_id,
    state: b.state,
    promisedWorkingDays: b.promised_working_days,
    eligibility: toRules(b.eligibility).map((rule) => rule.text),
    eligibilityRules: toRules(b.eligibility),
    steps: plan.map((step) => ({
      ...step,
      orgName: names.get(step.orgId) ?? step.orgId,
      fields: step.fields.map((f) => {
        const source = sourceOf(step.key, f.name);
        return { ...f, providerName: source ? providers.get(source.resourceId) || null : null };
      }),
    })),
    savings: savingsOf(plan),
    createdAt: b.created_at.toISOString(),
    updatedAt: b.updated_at.toISOString(),
  };
}
export type BundleView = ReturnType<typeof bundleView>;

async function viewBundle(ctx: Ctx, b: BundleRow, now = new Date()): Promise<BundleView> {
  const names = await orgNames(
    ctx,
    b.steps.map((step) => step.orgId),
  );
  const plan = planSteps(b.steps, await coverage(ctx.db, b.steps, now));
  return bundleView(b, plan, names, await providersOf(ctx, b.steps));
}

function seesDrafts(principal: Principal, b: Pick<BundleRow, 'lead_org_id'>): boolean {
  return principal.orgId === b.lead_org_id || hasRole(principal, 'platform_admin');
}

/** A draft or retired bundle is answered like a missing one outside its lead department. */
async function loadBundle(ctx: Ctx, idOrCode: string): Promise<BundleRow> {
  const principal = authorize(ctx.principal, SERVICES_USE);
  const b = await store.findBundle(ctx.db, idOrCode);
  if (!b || (b.state !== 'published' && !seesDrafts(principal, b)))
    throw notFound('service_bundle', idOrCode);
  return b;
}

export async function createBundle(ctx: Ctx, input: BundleInput): Promise<BundleView> {
  authorize(ctx.principal, { ...BUNDLE_AUTHORS, orgId: input.leadOrgId });
  await checkSteps(ctx, input.steps);
  for (const [i, rule] of toRules(input.eligibility).entries())
    if (rule.kind === 'age' && rule.min !== undefined && rule.max !== undefined && rule.min > rule.max)
      throw invalid(`eligibility[${i}]`, '年龄下限大于上限', 'the age minimum is above the maximum');
  const longest = criticalPath(input.steps);
  if (input.promisedWorkingDays < longest)
    throw invalid(
      'promisedWorkingDays',
      `承诺时限短于最长依赖链（${longest} 个工作日）`,
      `shorter than the longest chain of steps (${longest} working days)`,
      { longest },
    );
  const id = newId('bdl');
  await withTx(ctx.db, async (tx) => {
    if (await store.findBundleByCode(tx, input.code))
      throw new AppError('CONFLICT', { field: 'code', code: input.code });
    await store.insertBundle(tx, {
      id,
      code: input.code,
      name: input.name,
      name_en: input.nameEn,
      event_kind: input.eventKind,
      lead_org_id: input.leadOrgId,
      state: 'draft',
      promised_working_days: input.promisedWorkingDays,
      steps: JSON.stringify(input.steps),
      eligibility: JSON.stringify(input.eligibility ?? []),
      created_by: ctx.principal!.userId,
      updated_at: new Date(),
    });
    await auditAs(ctx, tx, 'service_bundle.create', 'service_bundle', id, {
      code: input.code,
      steps: input.steps.map((s) => s.key),
    });
  });
  return getBundle(ctx, id);
}

export async function changeBundle(
  ctx: Ctx,
  idOrCode: string,
  event: 'publish' | 'retire',
): Promise<BundleView> {
  const b = await loadBundle(ctx, idOrCode);
  authorize(ctx.principal, { ...BUNDLE_AUTHORS, orgId: b.lead_org_id });
  const row = await withTx(ctx.db, (tx) =>
    applyTransition<BundleState, 'publish' | 'retire', BundleRow>(tx, BUNDLES, b, event, {
      set: { updated_at: new Date() },
      audit: (atx, change) =>
        auditAs(ctx, atx, `service_bundle.${event}`, 'service_bundle', b.id, {
          from: change.from,
          to: change.to,
        }),
    }),
  );
  return viewBundle(ctx, row);
}

/**
 * The bundle's conditions checked for whoever would apply now (herself, or the family member of
 * `consentId`), before any form is filled. Only the signed-in applicant's own subject is checked,
 * and only what its key carries is read (services/eligibility.ts).
 */
export async function bundleEligibility(
  ctx: Ctx,
  idOrCode: string,
  query: { consentId?: string | undefined },
  now = new Date(),
) {
  const bundle = await loadBundle(ctx, idOrCode);
  const today = chinaDate(now);
  const subject = await subjectOf(ctx, bundle, { consentId: query.consentId, form: {} }, today);
  const results = checkEligibility(toRules(bundle.eligibility), subject.subjectKey, today);
  return { eligible: unmet(results).length === 0, results };
}

export async function getBundle(ctx: Ctx, idOrCode: string, now = new Date()): Promise<BundleView> {
  return viewBundle(ctx, await loadBundle(ctx, idOrCode), now);
}

export async function listBundles(
  ctx: Ctx,
  q: { limit?: number | undefined; cursor?: string | undefined },
): Promise<Page<BundleView>> {
  const principal = authorize(ctx.principal, SERVICES_USE);
  const limit = q.limit ?? 50;
  const rows = await store.listBundles(
    ctx.db,
    hasRole(principal, 'platform_admin') ? null : principal.orgId,
    limit,
    q.cursor,
  );
  const page = pageOf(rows, limit);
  return { items: await Promise.all(page.items.map((b) => viewBundle(ctx, b))), nextCursor: page.nextCursor };
}

export interface SavingsLine {
  code: string;
  name: string;
  state: BundleState;
  savings: Savings;
}

/** The savings of every bundle the caller sees (`shutong services savings`, GET /v1/services/savings). */
export async function allSavings(ctx: Ctx): Promise<SavingsLine[]> {
  const lines: SavingsLine[] = [];
  let cursor: string | undefined;
  do {
    const page = await listBundles(ctx, { limit: 200, cursor });
    for (const b of page.items)
      lines.push({ code: b.code, name: b.name, state: b.state, savings: b.savings });
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return lines;
}

// ---------------------------------------------------------------------------- applications

function applicationView(
  a: ApplicationRow,
  bundle: BundleRow,
  steps: StepRow[],
  today: string,
  orgs: Map<string, string>,
) {
  const names = new Map(bundle.steps.map((s) => [s.key, s.name]));
  // In the bundle's declared order (ids made in the same millisecond do not sort by creation).
  const position = new Map(bundle.steps.map((s, i) => [s.key, i]));
  const ordered = [...steps].sort(
    (a, b) => (position.get(a.step_key) ?? 0) - (position.get(b.step_key) ?? 0),
  );
  return {
    id: a.id,
    bundle: { id: bundle.id, code: bundle.code, name: bundle.name },
    applicantUserId: a.applicant_user_id,
    subjectKey: a.subject_key,
    consentId: a.consent_id,
    form: a.form,
    state: a.state,
    submittedOn: a.submitted_on,
    dueOn: a.due_on,
    overdue: a.state === 'open' && a.due_on < today,
    steps: ordered.map((s) => ({
      key: s.step_key,
      name: names.get(s.step_key) ?? s.step_key,
      orgId: s.org_id,
      orgName: orgs.get(s.org_id) ?? s.org_id,
      state: s.state,
      dependsOn: s.depends_on,
      workingDays: s.working_days,
      releasedOn: s.released_on,
      dueOn: s.due_on,
      doneOn: s.done_on,
      overdue: isOpenStep(s.state) && s.due_on !== null && s.due_on < today,
      workingDaysOverdue:
        isOpenStep(s.state) && s.due_on !== null && s.due_on < today
          ? workingDaysBetween(s.due_on, today)
          : 0,
      prefill: s.prefill,
      reason: s.reason,
    })),
    createdAt: a.created_at.toISOString(),
    updatedAt: a.updated_at.toISOString(),
  };
}
export type ApplicationView = ReturnType<typeof applicationView>;

function isOpenStep(state: StepState): boolean {
  return state !== 'waiting' && state !== 'done' && state !== 'refused';
}

/** The applicant, the departments with a step in it, and the platform see an application; others get 404. */
function canSeeApplication(principal: Principal, a: ApplicationRow, steps: StepRow[]): boolean {
  return (
    a.applicant_user_id === principal.userId ||
    hasRole(principal, 'platform_admin') ||
    steps.some((s) => s.org_id === principal.orgId)
  );
}

async function loadApplication(ctx: Ctx, id: string) {
  const principal = authorize(ctx.principal, SERVICES_USE);
  const application = await store.findApplication(ctx.db, id);
  const steps = application ? await store.stepsOf(ctx.db, id) : [];
  if (!application || !canSeeApplication(principal, application, steps))
    throw notFound('service_application', id);
  const bundle = (await store.findBundle(ctx.db, application.bundle_id))!;
  return { application, steps, bundle };
}

export interface ApplyInput {
  /** Whose data the departments pull: set from the applicant's identity; if given, it must agree. */
  subjectKey?: string | undefined;
  /** A consent the citizen received and is in force: apply with the grantor's data. */
  consentId?: string | undefined;
  form: Record<string, string>;
}

/**
 * Whom an application is about, decided by who applies and never by what they type — the
 * departments pull that subject's data and the applicant sees it pre-filled. A citizen applies for
 * a life event with her own resident ID number, or with a family member's under a consent in force
 * she received; an organization's user applies for a business event with its own credit code.
 */
async function subjectOf(
  ctx: Ctx,
  bundle: BundleRow,
  input: ApplyInput,
  today: string,
): Promise<{ subjectKey: string; consentId: string | null }> {
  const caller = await identity.servicesCaller(ctx);
  let subject: { subjectKey: string; consentId: string | null };
  if (caller.kind === 'citizen') {
    if (bundle.event_kind !== 'life')
      throw invalid(
        'bundle',
        '企业事项须以企业（法人）身份申请',
        'a business bundle is applied for by the enterprise’s account',
      );
    if (input.consentId) {
      const consent = await store.findConsent(ctx.db, input.consentId);
      if (!consent || consent.grantee_id_number !== caller.idNumber)
        throw notFound('service_consent', input.consentId);
      if (!consentInForce(consent, today))
        throw new AppError(
          'FORBIDDEN',
          { field: 'consentId', reason: 'consent_not_in_force' },
          { zh: '该授权已撤销或不在有效期内', en: 'the consent is revoked or outside its term' },
        );
      if (consent.bundle_ids.length > 0 && !consent.bundle_ids.includes(bundle.id))
        throw new AppError(
          'FORBIDDEN',
          { field: 'consentId', reason: 'consent_not_for_bundle' },
          { zh: '该授权不包括此事项', en: 'the consent does not cover this bundle' },
        );
      const grantor = await identity.citizenOf(ctx, consent.grantor_user_id);
      subject = { subjectKey: grantor!.idNumber, consentId: consent.id };
    } else subject = { subjectKey: caller.idNumber, consentId: null };
  } else {
    if (bundle.event_kind !== 'business')
      throw invalid(
        'bundle',
        '个人事项须由本人以公众身份申请',
        'a life-event bundle is applied for by the person, signed in as a citizen',
      );
    if (input.consentId)
      throw invalid('consentId', '只有个人可凭家庭授权申请', 'only a citizen applies under a family consent');
    subject = { subjectKey: caller.organization.uscc, consentId: null };
  }
  if (input.subjectKey !== undefined && input.subjectKey.trim().toUpperCase() !== subject.subjectKey)
    throw new AppError(
      'FORBIDDEN',
      { field: 'subjectKey', reason: 'subject' },
      {
        zh: '只能为本人、本单位或授权您的家庭成员申请',
        en: 'you may apply only for yourself, your organization, or a family member who consented',
      },
    );
  return subject;
}

/**
 * One application for the whole bundle. The form must hold exactly the fields the merged form
 * asks — those no contract in force gives every step needing them — so an exempted field is
 * refused as well as a missing one: the citizen is not asked twice, nor asked for what is shared.
 */
export async function apply(ctx: Ctx, bundleId: string, input: ApplyInput, now = new Date()) {
  const principal = authorize(ctx.principal, SERVICES_USE);
  const bundle = await loadBundle(ctx, bundleId);
  if (bundle.state !== 'published')
    throw new AppError(
      'INVALID_TRANSITION',
      { objectType: 'service_bundle', state: bundle.state, event: 'apply' },
      { zh: '事项未发布或已停止办理', en: 'the bundle is not published' },
    );
  const plan = planSteps(bundle.steps, await coverage(ctx.db, bundle.steps, now));
  const asked = new Set(
    plan.flatMap((s) => s.fields.filter((f) => f.provenance !== 'contract').map((f) => f.name)),
  );
  const missing = [...asked].filter((name) => !(input.form[name] ?? '').trim());
  if (missing.length > 0)
    throw invalid(
      `form.${missing[0]}`,
      `缺少表单字段：${missing.join('、')}`,
      `missing: ${missing.join(', ')}`,
      {
        missing,
      },
    );
  const extra = Object.keys(input.form).filter((name) => !asked.has(name));
  if (extra.length > 0)
    throw invalid(
      `form.${extra[0]}`,
      `这些字段无需填写（已由共享数据提供或不属于本事项）：${extra.join('、')}`,
      `not asked (shared data provides it, or not in this bundle): ${extra.join(', ')}`,
      { extra },
    );
  const today = chinaDate(now);
  const subject = await subjectOf(ctx, bundle, input, today);
  const failed = unmet(checkEligibility(toRules(bundle.eligibility), subject.subjectKey, today));
  if (failed.length > 0)
    throw new AppError(
      'SERVICE_NOT_ELIGIBLE',
      { rules: failed.map((r) => r.text) },
      {
        zh: failed.map((r) => `${r.text}（${r.reason!.zh}）`).join('；'),
        en: failed.map((r) => r.reason!.en).join('; '),
      },
    );
  const id = newId('sap');
  await withTx(ctx.db, async (tx) => {
    await store.insertApplication(
      tx,
      {
        id,
        bundle_id: bundle.id,
        applicant_user_id: principal.userId,
        form: JSON.stringify(input.form),
        subject_key: subject.subjectKey,
        consent_id: subject.consentId,
        state: 'open',
        submitted_on: today,
        due_on: addWorkingDays(today, bundle.promised_working_days),
        updated_at: now,
      },
      bundle.steps.map((s) => {
        const ready = s.dependsOn.length === 0;
        return {
          id: newId('stp'),
          application_id: id,
          step_key: s.key,
          org_id: s.orgId,
          depends_on: s.dependsOn,
          state: ready ? 'submitted' : 'waiting',
          working_days: s.workingDays,
          released_on: ready ? today : null,
          due_on: ready ? addWorkingDays(today, s.workingDays) : null,
          prefill: '{}',
          updated_at: now,
        };
      }),
    );
    await auditAs(ctx, tx, 'service_application.submit', 'service_application', id, {
      bundle: bundle.code,
      consent: subject.consentId,
      exempted: plan.flatMap((s) =>
        s.fields.filter((f) => f.contractId).map((f) => [s.key, f.name, f.contractId]),
      ),
    });
  });
  return getApplication(ctx, id, now);
}

export async function getApplication(ctx: Ctx, id: string, now = new Date()): Promise<ApplicationView> {
  const { application, steps, bundle } = await loadApplication(ctx, id);
  const names = await orgNames(
    ctx,
    steps.map((step) => step.org_id),
  );
  return applicationView(application, bundle, steps, chinaDate(now), names);
}

/**
 * "Get one thing done" applications completed per leading department over [`from`, `to`) — the
 * evaluation index's platform activity (`indicators/platform.ts`). Its caller authorizes.
 */
export async function bundlesDoneByLeadOrg(ctx: Ctx, from: Date, to: Date): Promise<Map<string, number>> {
  const rows = await ctx.db
    .selectFrom('service_applications as a')
    .innerJoin('service_bundles as b', 'b.id', 'a.bundle_id')
    .select(['b.lead_org_id as orgId', sql<string>`count(*)`.as('done')])
    .where('a.state', '=', 'done')
    .where('a.updated_at', '>=', from)
    .where('a.updated_at', '<', to)
    .groupBy('b.lead_org_id')
    .execute();
  return new Map(rows.map((r) => [r.orgId, Number(r.done)]));
}

export async function listApplications(
  ctx: Ctx,
  q: { limit?: number | undefined; cursor?: string | undefined },
): Promise<Page<ApplicationView>> {
  const principal = authorize(ctx.principal, SERVICES_USE);
  const limit = q.limit ?? 50;
  const all = hasRole(principal, 'platform_admin');
  const rows = await store.listApplications(
    ctx.db,
    { applicant: all ? null : principal.userId, org: all ? null : principal.orgId },
    limit,
    q.cursor,
  );
  const page = pageOf(rows, limit);
  const today = chinaDate();
  const items = await Promise.all(
    page.items.map(async (a) => {
      const steps = await store.stepsOf(ctx.db, a.id);
      const names = await orgNames(
        ctx,
        steps.map((step) => step.org_id),
      );
      return applicationView(a, (await store.findBundle(ctx.db, a.bundle_id))!, steps, today, names);
    }),
  );
  return { items, nextCursor: page.nextCursor };
}

function findStep(steps: StepRow[], applicationId: string, key: string): StepRow {
  const step = steps.find((s) => s.step_key === key);
  if (!step) throw notFound('service_step', `${applicationId}/${key}`);
  return step;
}

/**
 * A department moves its step; the applicant resubmits a returned one. Completing a step releases
 * the steps whose inputs are now all done (their deadlines start that day); the last step done
 * completes the application, a refused step refuses it.
 */
export async function actOnStep(
  ctx: Ctx,
  applicationId: string,
  stepKey: string,
  event: Exclude<StepEvent, 'release'>,
  body: { reason?: string | undefined } = {},
  now = new Date(),
): Promise<ApplicationView> {
  const { application, steps, bundle } = await loadApplication(ctx, applicationId);
  const step = findStep(steps, applicationId, stepKey);
  if (event === 'resubmit')
    authorize(ctx.principal, { ...SERVICES_USE, roles: [], selfUserId: application.applicant_user_id });
  else authorize(ctx.principal, { ...DEPARTMENT_STAFF, orgId: step.org_id, crossOrg: [] });
  if ((event === 'return' || event === 'refuse') && !body.reason?.trim())
    throw invalid('reason', '退回或不予办理须说明理由', 'a return or refusal needs a reason');
  const today = chinaDate(now);
  const audit = (name: string, details: Record<string, unknown>) => (tx: Executor) =>
    auditAs(ctx, tx, name, 'service_application', applicationId, details);
  const told = {
    bundle: bundle.name,
    step: bundle.steps.find((s) => s.key === stepKey)?.name ?? stepKey,
    department: (await orgNames(ctx, [step.org_id])).get(step.org_id) ?? step.org_id,
  };
  await withTx(ctx.db, async (tx) => {
    const set: Record<string, unknown> = { updated_at: now };
    if (event === 'complete') set.done_on = today;
    if (event === 'return' || event === 'refuse') set.reason = body.reason;
    if (event === 'resubmit') {
      set.reason = null;
      set.due_on = addWorkingDays(today, step.working_days);
    }
    await applyTransition(tx, STEPS, step, event, {
      set,
      audit: (atx, change) =>
        audit(`service_step.${event}`, { step: stepKey, from: change.from, to: change.to })(atx),
    });
    // The applicant hears of every department move on her application (not of her own resubmission).
    if (event !== 'resubmit')
      await notify(tx, application.applicant_user_id, applicationId, `step_${event}`, {
        ...told,
        ...(body.reason ? { reason: body.reason.trim() } : {}),
      });
    if (event === 'complete') {
      const done = new Set([...steps.filter((s) => s.state === 'done').map((s) => s.step_key), stepKey]);
      for (const next of steps.filter(
        (s) => s.state === 'waiting' && s.depends_on.every((d) => done.has(d)),
      )) {
        await applyTransition(tx, STEPS, next, 'release', {
          set: { released_on: today, due_on: addWorkingDays(today, next.working_days), updated_at: now },
          audit: audit('service_step.release', { step: next.step_key, after: stepKey }),
        });
      }
      if (done.size === steps.length)
        await applyTransition(tx, APPLICATIONS, application, 'complete', {
          set: { updated_at: now },
          audit: audit('service_application.complete', {}),
        });
      if (done.size === steps.length)
        await notify(tx, application.applicant_user_id, applicationId, 'application_complete', {
          bundle: bundle.name,
        });
    }
    if (event === 'refuse')
      await applyTransition(tx, APPLICATIONS, application, 'refuse', {
        set: { updated_at: now },
        audit: audit('service_application.refuse', { step: stepKey }),
      });
  });
  return getApplication(ctx, applicationId, now);
}

/**
 * The step's department pulls the exempted fields through its own contracts, one gateway read per
 * field keyed by the applicant's key; each read is the gateway's own audited call, so the
 * contract and its audit entry are the material's proof. A field no contract covers (any more) is
 * named in `missing`: the department must ask the applicant for it.
 */
export async function prefillStep(
  ctx: Ctx,
  applicationId: string,
  stepKey: string,
  clientIp: string,
  now = new Date(),
): Promise<{
  application: ApplicationView;
  filled: string[];
  missing: string[];
  reasons: Record<string, string>;
}> {
  const { application, steps, bundle } = await loadApplication(ctx, applicationId);
  const step = findStep(steps, applicationId, stepKey);
  authorize(ctx.principal, { ...DEPARTMENT_STAFF, orgId: step.org_id, crossOrg: [] });
  authorize(ctx.principal, { roles: 'any', scope: 'gateway' });
  const definition = bundle.steps.find((s) => s.key === stepKey)!;
  const covering = await coverage(ctx.db, [definition], now);
  const prefill: Record<string, Prefilled> = { ...step.prefill };
  const filled: string[] = [];
  const missing: string[] = [];
  const reasons: Record<string, string> = {};
  const miss = (name: string, reason: string) => {
    missing.push(name);
    reasons[name] = reason;
  };
  for (const field of definition.fields.filter((f) => f.source)) {
    const source = field.source!;
    const contractId = covering(definition, field.name);
    if (!contractId) {
      miss(field.name, 'no_contract');
      continue;
    }
    const filter = { field: source.keyField, op: 'eq' as const, value: application.subject_key };
    const read = await gateway.readThrough(
      ctx,
      contractId,
      { fields: [source.field], filter, limit: 1 },
      clientIp,
    );
    if ('refused' in read) {
      miss(field.name, read.refused);
      continue;
    }
    const row = read.items[0];
    if (!row) {
      miss(field.name, 'no_row');
      continue;
    }
    prefill[field.name] = { value: row[source.field] ?? null, contractId };
    filled.push(field.name);
  }
  await withTx(ctx.db, async (tx) => {
    await store.setPrefill(tx, step.id, prefill);
    await auditAs(ctx, tx, 'service_step.prefill', 'service_application', applicationId, {
      step: stepKey,
      filled: filled.map((name) => [name, prefill[name]!.contractId]),
      missing,
      reasons,
    });
  });
  return { application: await getApplication(ctx, applicationId, now), filled, missing, reasons };
}

/** Open steps past their working-day deadline: a department's own, or all for the platform. */
export async function overdueSteps(ctx: Ctx, now = new Date()) {
  const principal = authorize(ctx.principal, DEPARTMENT_STAFF_OR_ADMIN);
  const today = chinaDate(now);
  const rows = await store.overdueSteps(
    ctx.db,
    today,
    hasRole(principal, 'platform_admin') ? null : principal.orgId,
  );
  return rows.map((s) => ({
    applicationId: s.application_id,
    step: s.step_key,
    orgId: s.org_id,
    state: s.state,
    dueOn: s.due_on!,
    workingDaysOverdue: workingDaysBetween(s.due_on!, today),
  }));
}

/**
 * The scheduler's sweep (src/background.ts `deadlines.overdue`): each open step past its deadline
 * is reported once per due date as `service_step.overdue` in the audit log, which the monitor's
 * `service_overdue` rule turns into an alert for the department. Returns how many were reported.
 */
export async function reportOverdueSteps(ctx: Ctx, now = new Date()): Promise<number> {
  authorize(ctx.principal, PLATFORM);
  const today = chinaDate(now);
  let reported = 0;
  for (const s of await store.overdueSteps(ctx.db, today, null)) {
    if (s.overdue_reported_for === s.due_on) continue;
    const claimed = await withTx(ctx.db, async (tx) => {
      if (!(await store.claimOverdueReport(tx, s.id, s.due_on!))) return false;
      await appendAudit(tx, {
        actorId: null,
        orgId: s.org_id,
        action: 'service_step.overdue',
        objectType: 'service_application',
        objectId: s.application_id,
        requestId: ctx.requestId,
        details: {
          step: s.step_key,
          dueOn: s.due_on,
          workingDaysOverdue: workingDaysBetween(s.due_on!, today),
        },
      });
      return true;
    });
    if (claimed) reported += 1;
  }
  return reported;
}

// ---------------------------------------------------------------------------- family consent

const MAX_CONSENT_DAYS = 3 * 366;

function consentInForce(c: ConsentRow, today: string): boolean {
  return c.state === 'active' && c.valid_from <= today && today <= c.valid_until;
}

type BundleNames = Map<string, { id: string; code: string; name: string }>;

/** The bundles consents name, for their views (one read for a list). */
async function bundlesNamed(ctx: Ctx, consents: readonly ConsentRow[]): Promise<BundleNames> {
  const ids = [...new Set(consents.flatMap((c) => c.bundle_ids))];
  const rows = await store.bundlesByIds(ctx.db, ids);
  return new Map(rows.map((b) => [b.id, { id: b.id, code: b.code, name: b.name }]));
}

function consentView(
  c: ConsentRow,
  grantor: { name: string; idNumber: string },
  today: string,
  bundles: BundleNames,
) {
  return {
    id: c.id,
    grantorName: grantor.name,
    grantorIdNumberMasked: identity.maskIdNumber(grantor.idNumber),
    granteeName: c.grantee_name,
    granteeIdNumberMasked: identity.maskIdNumber(c.grantee_id_number),
    relation: c.relation,
    validFrom: c.valid_from,
    validUntil: c.valid_until,
    bundles: c.bundle_ids.map((id) => bundles.get(id) ?? { id, code: id, name: id }),
    state: c.state,
    inForce: consentInForce(c, today),
    revokedOn: c.revoked_on,
    createdAt: c.created_at.toISOString(),
  };
}
export type ConsentView = ReturnType<typeof consentView>;

async function citizenCaller(ctx: Ctx) {
  authorize(ctx.principal, CITIZENS);
  const caller = await identity.servicesCaller(ctx);
  if (caller.kind !== 'citizen') throw new AppError('FORBIDDEN', { reason: 'role' });
  return caller;
}

export interface ConsentInput {
  granteeIdNumber: string;
  granteeName: string;
  relation: ConsentRelation;
  validUntil: string;
  /** Bundle ids or codes; none: every life-event bundle. */
  bundleIds?: string[] | undefined;
}

/**
 * A citizen lets a family member apply with her data until a day she chooses (at most three years
 * ahead). The grantee is named by ID number: the consent waits for that person's own sign-in.
 */
export async function grantConsent(ctx: Ctx, input: ConsentInput, now = new Date()): Promise<ConsentView> {
  const caller = await citizenCaller(ctx);
  const granteeIdNumber = identity.normalizeIdNumber(input.granteeIdNumber, 'granteeIdNumber');
  if (granteeIdNumber === caller.idNumber)
    throw invalid('granteeIdNumber', '不能授权给本人', 'a consent is given to someone else');
  const today = chinaDate(now);
  const longest = new Date(now.getTime() + MAX_CONSENT_DAYS * 86_400_000);
  if (input.validUntil < today || input.validUntil > chinaDate(longest))
    throw invalid(
      'validUntil',
      `有效期须在今天（${today}）至三年之内`,
      `the term must end between today (${today}) and three years from now`,
    );
  const bundleIds: string[] = [];
  for (const [i, key] of (input.bundleIds ?? []).entries()) {
    const bundle = await store.findBundle(ctx.db, key);
    if (!bundle || bundle.state !== 'published' || bundle.event_kind !== 'life')
      throw invalid(`bundleIds.${i}`, `没有可授权的个人事项 ${key}`, `no published life-event bundle ${key}`);
    if (!bundleIds.includes(bundle.id)) bundleIds.push(bundle.id);
  }
  const id = newId('csn');
  // Read before the transaction: the embedded database has one connection, which the transaction holds.
  const grantee = await identity.citizenByIdNumber(ctx, granteeIdNumber);
  await withTx(ctx.db, async (tx) => {
    await store.insertConsent(tx, {
      id,
      grantor_user_id: caller.userId,
      grantee_id_number: granteeIdNumber,
      grantee_name: input.granteeName.trim(),
      relation: input.relation,
      valid_from: today,
      valid_until: input.validUntil,
      bundle_ids: bundleIds,
      state: 'active',
      updated_at: now,
    });
    // Neither ID number goes into the audit log: the account, the consent and its term do.
    await auditAs(ctx, tx, 'service_consent.grant', 'service_consent', id, {
      relation: input.relation,
      validUntil: input.validUntil,
      bundles: bundleIds,
    });
    if (grantee)
      await notify(tx, grantee.userId, null, 'consent_granted', {
        grantor: caller.name,
        validUntil: input.validUntil,
      });
  });
  const row = (await store.findConsent(ctx.db, id))!;
  return consentView(row, caller, today, await bundlesNamed(ctx, [row]));
}

/** The consents a citizen gave and those given to her. */
export async function listConsents(ctx: Ctx, now = new Date()) {
  const caller = await citizenCaller(ctx);
  const today = chinaDate(now);
  const given = await store.consentsOf(ctx.db, { grantor: caller.userId });
  const received = await store.consentsOf(ctx.db, { grantee: caller.idNumber });
  const grantors = new Map<string, { name: string; idNumber: string }>();
  for (const c of received)
    if (!grantors.has(c.grantor_user_id))
      grantors.set(c.grantor_user_id, (await identity.citizenOf(ctx, c.grantor_user_id))!);
  const bundles = await bundlesNamed(ctx, [...given, ...received]);
  return {
    given: given.map((c) => consentView(c, caller, today, bundles)),
    received: received.map((c) => consentView(c, grantors.get(c.grantor_user_id)!, today, bundles)),
  };
}

/** Either person ends a consent; applications already made under it keep it as their record. */
export async function revokeConsent(ctx: Ctx, id: string, now = new Date()): Promise<ConsentView> {
  const caller = await citizenCaller(ctx);
  const consent = await store.findConsent(ctx.db, id);
  if (
    !consent ||
    (consent.grantor_user_id !== caller.userId && consent.grantee_id_number !== caller.idNumber)
  )
    throw notFound('service_consent', id);
  const today = chinaDate(now);
  // The other person is told: the grantee loses the consent, or the grantor learns it was given up.
  const byGrantor = consent.grantor_user_id === caller.userId;
  const other = byGrantor
    ? await identity.citizenByIdNumber(ctx, consent.grantee_id_number)
    : { userId: consent.grantor_user_id };
  const row = await withTx(ctx.db, (tx) =>
    applyTransition<ConsentState, 'revoke', ConsentRow>(tx, CONSENTS, consent, 'revoke', {
      set: { revoked_on: today, updated_at: now },
      audit: async (atx, change) => {
        await auditAs(ctx, atx, 'service_consent.revoke', 'service_consent', id, {
          from: change.from,
          to: change.to,
        });
        if (other)
          await notify(atx, other.userId, null, 'consent_revoked', {
            by: caller.name,
            role: byGrantor ? 'grantor' : 'grantee',
          });
      },
    }),
  );
  return consentView(
    row,
    (await identity.citizenOf(ctx, row.grantor_user_id))!,
    today,
    await bundlesNamed(ctx, [row]),
  );
}

// ---------------------------------------------------------------------------- notifications

/** What a notification says, in both languages, from its kind and details. */
export function notificationMessage(
  kind: NotificationKind,
  d: Record<string, string>,
): { zh: string; en: string } {
  const step = `${d.department ?? ''}「${d.step ?? ''}」`;
  switch (kind) {
    case 'step_accept':
      return { zh: `${step}已受理`, en: `${d.department}: “${d.step}” accepted` };
    case 'step_start':
      return { zh: `${step}正在办理`, en: `${d.department}: “${d.step}” in progress` };
    case 'step_complete':
      return { zh: `${step}已办结`, en: `${d.department}: “${d.step}” done` };
    case 'step_return':
      return {
        zh: `${step}退回补正：${d.reason ?? ''}`,
        en: `${d.department}: “${d.step}” returned for correction: ${d.reason ?? ''}`,
      };
    case 'step_refuse':
      return {
        zh: `${step}不予办理：${d.reason ?? ''}`,
        en: `${d.department}: “${d.step}” refused: ${d.reason ?? ''}`,
      };
    case 'application_complete':
      return { zh: `「${d.bundle}」全部办结`, en: `“${d.bundle}” is done` };
    case 'consent_granted':
      return {
        zh: `${d.grantor} 授权您使用其信息代为申请，至 ${d.validUntil}`,
        en: `${d.grantor} lets you apply with their data until ${d.validUntil}`,
      };
    case 'consent_revoked':
      return d.role === 'grantor'
        ? { zh: `${d.by} 撤销了给您的授权`, en: `${d.by} revoked the consent given to you` }
        : { zh: `${d.by} 不再使用您给出的授权`, en: `${d.by} gave up the consent you gave` };
  }
}

async function notify(
  tx: Executor,
  userId: string,
  applicationId: string | null,
  kind: NotificationKind,
  details: Record<string, string>,
): Promise<void> {
  await store.insertNotification(tx, {
    id: newId('ntf'),
    user_id: userId,
    application_id: applicationId,
    kind,
    details: JSON.stringify(details),
  });
}

function notificationView(n: NotificationRow) {
  return {
    id: n.id,
    kind: n.kind,
    applicationId: n.application_id,
    details: n.details,
    message: notificationMessage(n.kind, n.details),
    createdAt: n.created_at.toISOString(),
    read: n.read_at !== null,
  };
}

/** The caller's own notifications, newest first, with the number still unread. */
export async function listNotifications(
  ctx: Ctx,
  q: { unread?: boolean | undefined; limit?: number | undefined; cursor?: string | undefined },
) {
  const principal = authorize(ctx.principal, SERVICES_USE);
  const limit = q.limit ?? 50;
  const rows = await store.notificationsOf(ctx.db, principal.userId, {
    unread: q.unread ?? false,
    limit,
    cursor: q.cursor,
  });
  const page = pageOf(rows, limit);
  return {
    items: page.items.map(notificationView),
    nextCursor: page.nextCursor,
    unread: await store.countUnread(ctx.db, principal.userId),
  };
}

/** Marks the caller's own notifications read (those named, or all); others' ids change nothing. */
export async function markNotificationsRead(ctx: Ctx, ids: string[] | undefined) {
  const principal = authorize(ctx.principal, SERVICES_USE);
  const marked = await withTx(ctx.db, (tx) => store.markRead(tx, principal.userId, ids ?? null));
  return { marked, unread: await store.countUnread(ctx.db, principal.userId) };
}

// ---------------------------------------------------------------------------- for ratings

/**
 * What the ratings capability needs to accept a rating: the applicant rates a step once it is
 * done (or refused). Others get 404, as for the application itself.
 */
export async function ratableStep(ctx: Ctx, applicationId: string, stepKey: string) {
  const { application, steps } = await loadApplication(ctx, applicationId);
  authorize(ctx.principal, { ...SERVICES_USE, roles: [], selfUserId: application.applicant_user_id });
  const step = findStep(steps, applicationId, stepKey);
  if (step.state !== 'done' && step.state !== 'refused')
    throw new AppError(
      'INVALID_TRANSITION',
      { objectType: 'service_step', state: step.state, event: 'rate' },
      { zh: '办结后才能评价', en: 'a step is rated once it is finished' },
    );
  return { orgId: step.org_id, bundleId: application.bundle_id };
}

/** Whether the caller may see an application (ratings answer others' cases like missing ones). */
export async function visibleApplication(ctx: Ctx, applicationId: string): Promise<boolean> {
  return loadApplication(ctx, applicationId).then(
    () => true,
    () => false,
  );
}
