import { appendAudit, auditAs } from '../audit/append.ts';
import { platformKey } from '../audit/service.ts';
import * as catalog from '../catalog/service.ts';
import { type AccessRule, authorize, hasRole, type Principal, SYSTEM_PRINCIPAL } from '../core/auth.ts';
import type { Ctx } from '../core/context.ts';
import { type Executor, withTx } from '../core/db.ts';
import { AppError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { nextState, type TransitionTable } from '../core/lifecycle.ts';
import { type Page, pageOf } from '../core/paging.ts';
import { keyFingerprint } from '../core/signed-document.ts';
import * as identity from '../identity/service.ts';
import { addWorkingDays, calendarCovers, chinaDate, workingDaysBetween } from '../standards/working-days.ts';
import {
  CERTIFICATE_TYPE,
  isRegistrationCode,
  registrationCode,
  type SignedCertificate,
  signCertificate,
  verifyCertificate,
} from './certificate.ts';
import {
  type CertificateRow,
  type ObjectionRow,
  type RegistrationKind,
  type RegistrationRow,
  type RegistrationState,
  type SubjectType,
  registryStore as store,
} from './store.ts';

/**
 * The registry of public data resources and data products (公共数据资源登记, 发改数据规〔2025〕26号):
 * applications of four kinds go submitted → accepted (3 working days) → reviewed (20; a
 * cancellation 10) → public notice (configurable, 10 by default; real-name objections, each
 * answered) → registered, or rejected with a reason. Deadlines count working days of the
 * official holiday calendar (src/standards/working-days.ts). Registering issues a signed
 * certificate under a registration code; a change or correction issues the code's next version,
 * a cancellation retires it; every version stays.
 */

export type RegistrationEvent =
  | 'accept'
  | 'return'
  | 'resubmit'
  | 'withdraw'
  | 'review'
  | 'publish'
  | 'register'
  | 'reject'
  | 'supersede'
  | 'cancel';

export const REGISTRATION_LIFECYCLE: TransitionTable<RegistrationState, RegistrationEvent> = [
  { from: ['submitted'], event: 'accept', to: 'accepted' },
  { from: ['submitted'], event: 'return', to: 'returned' },
  { from: ['returned'], event: 'resubmit', to: 'submitted' },
  { from: ['submitted', 'returned'], event: 'withdraw', to: 'withdrawn' },
  { from: ['accepted'], event: 'review', to: 'reviewed' },
  { from: ['reviewed'], event: 'publish', to: 'notice', when: 'needs_notice' },
  // A cancellation is not put on notice: it is registered once reviewed.
  { from: ['reviewed'], event: 'register', to: 'registered', when: 'cancellation' },
  { from: ['notice'], event: 'register', to: 'registered' },
  { from: ['accepted', 'reviewed', 'notice'], event: 'reject', to: 'rejected' },
  // What a later registration of the same code does to the one before it.
  { from: ['registered'], event: 'supersede', to: 'superseded' },
  { from: ['registered'], event: 'cancel', to: 'cancelled' },
];

export const ACCEPT_WORKING_DAYS = 3;
export const REVIEW_WORKING_DAYS = 20;
export const CANCELLATION_REVIEW_WORKING_DAYS = 10;
export const VALIDITY_YEARS = 3;

/** Registry staff: the data bureau running the platform. */
export const REGISTRY_STAFF: AccessRule = { roles: ['platform_admin'], scope: 'registry' };
/** Registrants: a holder's (or an operator's) data stewards and administrators. */
export const REGISTRANTS: AccessRule = {
  roles: ['data_steward', 'org_admin', 'platform_admin'],
  scope: 'registry',
};
/** Anyone signed in may read registrations and lodge an objection during a notice. */
export const REGISTRY_READ: AccessRule = { roles: 'any', scope: 'registry' };

// ---------------------------------------------------------------------------- subjects

export interface SubjectInfo {
  name: string;
  ownerOrgId: string;
}

/**
 * Products live in src/operation, which depends on the registry; to know a product's name and
 * operator, the registry asks the resolver operation registers here (no import cycle).
 */
const resolvers = new Map<SubjectType, (ctx: Ctx, id: string) => Promise<SubjectInfo>>();

export function registerSubjectResolver(
  type: SubjectType,
  resolve: (ctx: Ctx, id: string) => Promise<SubjectInfo>,
) {
  resolvers.set(type, resolve);
}

registerSubjectResolver('resource', async (ctx, id) => {
  const resource = await catalog.getResource(ctx, id);
  return { name: resource.name, ownerOrgId: resource.provider.id };
});

/** Lookups made on the caller's behalf after the caller has been authorized. */
function platformCtx(ctx: Ctx): Ctx {
  return { ...ctx, principal: SYSTEM_PRINCIPAL };
}

async function subjectInfo(ctx: Ctx, type: SubjectType, id: string): Promise<SubjectInfo> {
  const resolve = resolvers.get(type);
  if (!resolve) throw new AppError('BAD_REQUEST', { field: 'subjectType', subjectType: type });
  return resolve(platformCtx(ctx), id);
}

// ---------------------------------------------------------------------------- views

export interface RegistrationContent {
  name: string;
  summary: string;
  fields: Array<{ name: string; label: string; dataType?: string | undefined }>;
  volume: string;
  source: string;
  updateCycle: string;
  grade: string;
  storageLocation: string;
  storageMethod: string;
  intendedUse: string;
  qualityDescription: string;
  operationScope: string;
}

export interface Commitment {
  signatory: string;
  signedOn: string;
  text: string;
}

type Step = 'accept' | 'review' | 'notice' | null;

function currentStep(r: RegistrationRow): { step: Step; due: string | null } {
  switch (r.state) {
    case 'submitted':
      return { step: 'accept', due: r.accept_due };
    case 'accepted':
      return { step: 'review', due: r.review_due };
    case 'notice':
      return { step: 'notice', due: r.notice_until };
    default:
      return { step: null, due: null };
  }
}

export function registrationView(r: RegistrationRow, objections: ObjectionRow[] = []) {
  const { step, due } = currentStep(r);
  return {
    id: r.id,
    kind: r.kind,
    subject: { type: r.subject_type, id: r.subject_id, name: r.subject_name },
    registrantOrgId: r.registrant_org_id,
    submittedBy: r.submitted_by,
    code: r.code,
    state: r.state,
    content: r.content as unknown as RegistrationContent,
    commitment: r.commitment as unknown as Commitment,
    noticeWorkingDays: r.notice_working_days,
    dates: {
      submittedOn: r.submitted_on,
      acceptDue: r.accept_due,
      acceptedOn: r.accepted_on,
      reviewDue: r.review_due,
      reviewedOn: r.reviewed_on,
      noticeFrom: r.notice_from,
      noticeUntil: r.notice_until,
      registeredOn: r.registered_on,
      validUntil: r.valid_until,
    },
    step: step ? { name: step, due: due! } : null,
    reason: r.reason,
    objections: objections.map(objectionView),
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}
export type RegistrationView = ReturnType<typeof registrationView>;

function objectionView(o: ObjectionRow) {
  return {
    id: o.id,
    orgId: o.org_id,
    userId: o.user_id,
    realName: o.real_name,
    text: o.text,
    answer: o.answer,
    upheld: o.upheld,
    answeredBy: o.answered_by,
    lodgedAt: o.lodged_at.toISOString(),
    answeredAt: o.answered_at ? o.answered_at.toISOString() : null,
  };
}

async function viewOf(db: Executor, r: RegistrationRow): Promise<RegistrationView> {
  return registrationView(r, await store.objections(db, r.id));
}

function notFound(id: string) {
  return new AppError('NOT_FOUND', { objectType: 'registration', id });
}

async function load(ctx: Ctx, id: string): Promise<RegistrationRow> {
  const row = await store.find(ctx.db, id);
  if (!row) throw notFound(id);
  return row;
}

function reasonRequired(field: string) {
  return new AppError(
    'VALIDATION_FAILED',
    { field },
    { zh: `${field}：须说明理由`, en: `${field}: a reason is required` },
  );
}

// ---------------------------------------------------------------------------- submit

export interface SubmitInput {
  kind: RegistrationKind;
  subjectType: SubjectType;
  subjectId: string;
  /** For change, correction and cancellation: the code registered. */
  code?: string | undefined;
  content: RegistrationContent;
  commitment: Commitment;
}

export async function submitRegistration(
  ctx: Ctx,
  input: SubmitInput,
  now = new Date(),
): Promise<RegistrationView> {
  const principal = authorize(ctx.principal, REGISTRANTS);
  const subject = await subjectInfo(ctx, input.subjectType, input.subjectId);
  // Holders register their resources, operators their products.
  authorize(principal, { ...REGISTRANTS, orgId: subject.ownerOrgId });
  if (input.kind === 'first') {
    if (input.code !== undefined)
      throw new AppError('VALIDATION_FAILED', { field: 'code', reason: 'first_has_no_code' });
  } else if (input.code === undefined || !isRegistrationCode(input.code)) {
    throw new AppError(
      'VALIDATION_FAILED',
      { field: 'code' },
      {
        zh: 'code：变更、更正、注销须给出登记编码',
        en: 'code: a change, correction or cancellation names the registration code',
      },
    );
  }
  const today = chinaDate(now);
  const id = newId('rgn');
  return withTx(ctx.db, async (tx) => {
    const open = await store.openFor(tx, input.subjectType, input.subjectId);
    if (open.length > 0) {
      throw new AppError(
        'CONFLICT',
        { field: 'subjectId', openRegistration: open[0]!.id },
        { zh: '该对象已有办理中的登记申请', en: 'This subject already has a registration in progress' },
      );
    }
    const registered = await store.registeredFor(tx, input.subjectType, input.subjectId);
    if (input.kind === 'first' && registered) {
      throw new AppError(
        'CONFLICT',
        { field: 'kind', code: registered.code },
        { zh: '已登记，请申请变更或更正', en: 'Already registered: apply for a change or correction' },
      );
    }
    if (input.kind !== 'first' && (!registered || registered.code !== input.code)) {
      throw new AppError(
        'CONFLICT',
        { field: 'code', code: input.code },
        { zh: '该编码不是此对象的有效登记', en: 'The code is not a current registration of this subject' },
      );
    }
    await store.insert(tx, {
      id,
      kind: input.kind,
      subject_type: input.subjectType,
      subject_id: input.subjectId,
      subject_name: subject.name,
      registrant_org_id: subject.ownerOrgId,
      submitted_by: principal.userId,
      code: input.code ?? null,
      state: 'submitted',
      content: JSON.stringify(input.content),
      commitment: JSON.stringify(input.commitment),
      notice_working_days: ctx.config.registryNoticeWorkingDays,
      submitted_on: today,
      accept_due: addWorkingDays(today, ACCEPT_WORKING_DAYS),
      updated_at: now,
    });
    await auditAs(ctx, tx, 'registry.submit', 'registration', id, {
      kind: input.kind,
      subject: { type: input.subjectType, id: input.subjectId },
      code: input.code ?? null,
    });
    return viewOf(tx, (await store.find(tx, id))!);
  });
}

// ---------------------------------------------------------------------------- transitions

export interface ActInput {
  reason?: string | undefined;
  content?: RegistrationContent | undefined;
  commitment?: Commitment | undefined;
}

/**
 * One workflow step by the registry (accept, return, review, publish, register, reject) or by
 * the registrant (resubmit, withdraw). `now` fixes "today" for tests of the deadlines.
 */
export async function actOnRegistration(
  ctx: Ctx,
  id: string,
  event: Exclude<RegistrationEvent, 'supersede' | 'cancel'>,
  input: ActInput = {},
  now = new Date(),
): Promise<RegistrationView> {
  const byRegistrant = event === 'resubmit' || event === 'withdraw';
  const principal = authorize(ctx.principal, byRegistrant ? REGISTRANTS : REGISTRY_STAFF);
  const today = chinaDate(now);
  // Read before the transaction: on embedded PGlite the transaction holds the one connection.
  const before = await load(ctx, id);
  const holder =
    event === 'register' ? await identity.getOrganization(platformCtx(ctx), before.registrant_org_id) : null;
  return withTx(ctx.db, async (tx) => {
    const r = await store.findForUpdate(tx, id);
    if (!r) throw notFound(id);
    if (byRegistrant) authorize(principal, { ...REGISTRANTS, orgId: r.registrant_org_id });
    const facts = r.kind === 'cancellation' ? ['cancellation'] : ['needs_notice'];
    const to = nextState(REGISTRATION_LIFECYCLE, 'registration', r.state, event, facts);
    const changes: Parameters<typeof store.transition>[4] = {};
    let certificate: SignedCertificate | null = null;
    switch (event) {
      case 'return':
      case 'reject':
        if (!input.reason?.trim()) throw reasonRequired('reason');
        changes.reason = input.reason.trim();
        break;
      case 'resubmit':
        changes.submitted_on = today;
        changes.accept_due = addWorkingDays(today, ACCEPT_WORKING_DAYS);
        changes.reason = null;
        if (input.content) changes.content = JSON.stringify(input.content);
        if (input.commitment) changes.commitment = JSON.stringify(input.commitment);
        break;
      case 'accept':
        changes.accepted_on = today;
        changes.review_due = addWorkingDays(
          today,
          r.kind === 'cancellation' ? CANCELLATION_REVIEW_WORKING_DAYS : REVIEW_WORKING_DAYS,
        );
        break;
      case 'review':
        changes.reviewed_on = today;
        break;
      case 'publish':
        changes.notice_from = today;
        changes.notice_until = addWorkingDays(today, r.notice_working_days);
        break;
      case 'register': {
        if (r.state === 'notice') {
          if (today <= r.notice_until!) {
            throw new AppError('NOTICE_NOT_OVER', { noticeUntil: r.notice_until, today });
          }
          const objections = await store.objections(tx, r.id);
          const open = objections.filter((o) => o.answer === null || o.upheld === true);
          if (open.length > 0) throw new AppError('OBJECTIONS_OPEN', { objections: open.map((o) => o.id) });
        }
        certificate = await register(ctx, tx, r, holder!, today, now, changes);
        break;
      }
    }
    const updated = await store.transition(tx, id, r.state, to, changes);
    if (!updated) throw nextStateRace(r);
    await auditAs(ctx, tx, `registry.${event}`, 'registration', id, {
      from: r.state,
      to,
      ...(changes.reason ? { reason: changes.reason } : {}),
      ...(certificate
        ? { code: certificate.certificate.code, version: certificate.certificate.version }
        : {}),
    });
    return viewOf(tx, updated);
  });
}

function nextStateRace(r: RegistrationRow) {
  return new AppError('INVALID_TRANSITION', { objectType: 'registration', id: r.id, state: r.state });
}

function addYears(day: string, years: number): string {
  const shifted = `${Number(day.slice(0, 4)) + years}${day.slice(4)}`;
  // 29 February of a year that has none: the 28th.
  return Number.isNaN(Date.parse(`${shifted}T00:00:00Z`)) ||
    new Date(`${shifted}T00:00:00Z`).getUTCDate() !== Number(shifted.slice(8))
    ? `${shifted.slice(0, 8)}28`
    : shifted;
}

/** Gives the code (first registration) or its next version, retires the previous one, signs. */
async function register(
  ctx: Ctx,
  tx: Executor,
  r: RegistrationRow,
  holder: { id: string; name: string; uscc: string },
  today: string,
  now: Date,
  changes: Parameters<typeof store.transition>[4] & object,
): Promise<SignedCertificate> {
  let code = r.code;
  let validUntil = addYears(today, VALIDITY_YEARS);
  if (r.kind === 'first') {
    const year = Number(today.slice(0, 4));
    code = registrationCode(year, await store.nextCodeNumber(tx, year));
  } else {
    const previous = await store.registeredWithCode(tx, code!);
    if (!previous) throw new AppError('CONFLICT', { field: 'code', code });
    const event = r.kind === 'cancellation' ? 'cancel' : 'supersede';
    const to = nextState(REGISTRATION_LIFECYCLE, 'registration', previous.state, event);
    // A change or correction keeps the term of validity of what it changes.
    validUntil = previous.valid_until ?? validUntil;
    await store.transition(tx, previous.id, previous.state, to);
    await store.retireCertificates(tx, code!, 'superseded');
    await auditAs(ctx, tx, `registry.${event}`, 'registration', previous.id, { code, by: r.id });
  }
  changes.code = code;
  changes.registered_on = today;
  changes.valid_until = r.kind === 'cancellation' ? today : validUntil;
  const version = (await store.lastVersion(tx, code!)) + 1;
  const key = await platformKey(ctx.config);
  const certificate = {
    type: CERTIFICATE_TYPE,
    code: code!,
    version,
    status: r.kind === 'cancellation' ? 'cancelled' : 'registered',
    kind: r.kind,
    registrationId: r.id,
    subject: { type: r.subject_type, id: r.subject_id, name: r.subject_name },
    holder: { id: holder.id, name: holder.name, uscc: holder.uscc },
    content: r.content,
    commitment: r.commitment,
    registeredOn: today,
    validUntil: changes.valid_until,
    notice: r.notice_from && r.notice_until ? { from: r.notice_from, until: r.notice_until } : null,
    issuedAt: now.toISOString(),
    verifyUrl: `${ctx.config.publicUrl ?? ''}/registry/${code}`,
  };
  const signed = signCertificate(certificate, key.privateKey, key.fingerprint);
  await store.addCertificate(tx, {
    code: code!,
    version,
    registration_id: r.id,
    status: r.kind === 'cancellation' ? 'cancelled' : 'current',
    document: JSON.stringify(signed),
    issued_at: now,
  });
  return signed;
}

// ---------------------------------------------------------------------------- objections

export async function lodgeObjection(
  ctx: Ctx,
  id: string,
  input: { realName: string; text: string },
  now = new Date(),
): Promise<RegistrationView> {
  const principal = authorize(ctx.principal, REGISTRY_READ);
  const today = chinaDate(now);
  return withTx(ctx.db, async (tx) => {
    const r = await store.findForUpdate(tx, id);
    if (!r) throw notFound(id);
    if (r.state !== 'notice' || today > r.notice_until!) {
      throw new AppError(
        'INVALID_TRANSITION',
        { objectType: 'registration', state: r.state, event: 'object', noticeUntil: r.notice_until },
        { zh: '只能在公示期内提出异议', en: 'Objections are lodged during the public notice only' },
      );
    }
    const objection = await store.addObjection(tx, {
      id: newId('obj'),
      registration_id: id,
      org_id: principal.orgId,
      user_id: principal.userId,
      real_name: input.realName,
      text: input.text,
    });
    await auditAs(ctx, tx, 'registry.object', 'registration', id, { objection: objection.id });
    return viewOf(tx, r);
  });
}

export async function answerObjection(
  ctx: Ctx,
  id: string,
  objectionId: string,
  input: { answer: string; upheld: boolean },
): Promise<RegistrationView> {
  const principal = authorize(ctx.principal, REGISTRY_STAFF);
  return withTx(ctx.db, async (tx) => {
    const r = await store.findForUpdate(tx, id);
    if (!r) throw notFound(id);
    if (r.state !== 'notice') {
      throw new AppError('INVALID_TRANSITION', {
        objectType: 'registration',
        state: r.state,
        event: 'answer',
      });
    }
    const answered = await store.answerObjection(tx, objectionId, id, { ...input, by: principal.userId });
    if (!answered) {
      const exists = (await store.objections(tx, id)).some((o) => o.id === objectionId);
      if (!exists) throw new AppError('NOT_FOUND', { objectType: 'objection', id: objectionId });
      throw new AppError('CONFLICT', { field: 'objection', reason: 'already_answered' });
    }
    await auditAs(ctx, tx, 'registry.answer', 'registration', id, {
      objection: objectionId,
      upheld: input.upheld,
    });
    return viewOf(tx, r);
  });
}

// ---------------------------------------------------------------------------- reading

export async function getRegistration(ctx: Ctx, id: string): Promise<RegistrationView> {
  authorize(ctx.principal, REGISTRY_READ);
  return viewOf(ctx.db, await load(ctx, id));
}

export async function listRegistrations(
  ctx: Ctx,
  query: {
    state?: RegistrationState | undefined;
    orgId?: string | undefined;
    code?: string | undefined;
    limit?: number | undefined;
    cursor?: string | undefined;
  },
): Promise<Page<RegistrationView>> {
  authorize(ctx.principal, REGISTRY_READ);
  const limit = query.limit ?? 50;
  const rows = await store.list(ctx.db, query, limit, query.cursor);
  const page = pageOf(rows, limit);
  return { items: page.items.map((r) => registrationView(r)), nextCursor: page.nextCursor };
}

export interface OverdueItem {
  registration: RegistrationView;
  step: 'accept' | 'review' | 'notice';
  due: string;
  /** Working days past the due date (0 for a notice that has ended and awaits the decision). */
  workingDaysOverdue: number;
  /** False when the official calendar of a year involved is not published yet (weekends only). */
  calendarCertain: boolean;
}

/**
 * The registry's inbox of late steps: acceptance or review past its deadline, and notices that
 * have ended and wait for the decision. `asOf` (a date) for looking at another day.
 */
export async function overdueRegistrations(ctx: Ctx, now = new Date()): Promise<OverdueItem[]> {
  authorize(ctx.principal, REGISTRY_STAFF);
  return overdueAt(ctx.db, chinaDate(now));
}

export async function overdueAt(db: Executor, today: string): Promise<OverdueItem[]> {
  const rows = await store.pending(db);
  const items: OverdueItem[] = [];
  for (const r of rows) {
    const { step, due } = currentStep(r);
    if (!step || !due || today <= due) continue;
    const certain = calendarCovers(Number(due.slice(0, 4))) && calendarCovers(Number(today.slice(0, 4)));
    items.push({
      registration: registrationView(r),
      step,
      due,
      workingDaysOverdue: step === 'notice' ? 0 : workingDaysBetween(due, today),
      calendarCertain: certain,
    });
  }
  return items;
}

/**
 * The scheduler's sweep (src/background.ts `deadlines.overdue`): each late step of a registration is
 * reported once per step and due date as `registration.overdue` in the audit log, which the
 * monitor's `registry_overdue` rule turns into an alert. A claim on the row makes two nodes sweeping
 * at once report it once. Returns how many were reported.
 */
export async function reportOverdueRegistrations(ctx: Ctx, now = new Date()): Promise<number> {
  authorize(ctx.principal, REGISTRY_STAFF);
  let reported = 0;
  for (const item of await overdueAt(ctx.db, chinaDate(now))) {
    const { registration } = item;
    const key = `${item.step}:${item.due}`;
    const claimed = await withTx(ctx.db, async (tx) => {
      if (!(await store.claimOverdueReport(tx, registration.id, key))) return false;
      await appendAudit(tx, {
        actorId: null,
        orgId: registration.registrantOrgId,
        action: 'registration.overdue',
        objectType: 'registration',
        objectId: registration.id,
        requestId: ctx.requestId,
        details: {
          step: item.step,
          dueOn: item.due,
          workingDaysOverdue: item.workingDaysOverdue,
          calendarCertain: item.calendarCertain,
        },
      });
      return true;
    });
    if (claimed) reported += 1;
  }
  return reported;
}

// ---------------------------------------------------------------------------- certificates

export function certificateDocument(row: CertificateRow): SignedCertificate {
  return row.document as unknown as SignedCertificate;
}

export interface CertificateHistory {
  code: string;
  status: 'registered' | 'cancelled';
  current: SignedCertificate;
  versions: Array<{
    version: number;
    status: string;
    issuedAt: string;
    registrationId: string;
    kind: string;
  }>;
}

/** Public: a registration code's current certificate and its history (the public page shows it). */
export async function certificateHistory(ctx: Ctx, code: string): Promise<CertificateHistory> {
  const rows = isRegistrationCode(code) ? await store.certificates(ctx.db, code) : [];
  if (rows.length === 0) throw new AppError('NOT_FOUND', { objectType: 'registration_certificate', code });
  const current = rows[0]!;
  return {
    code,
    status: current.status === 'cancelled' ? 'cancelled' : 'registered',
    current: certificateDocument(current),
    versions: rows.map((r) => {
      const c = certificateDocument(r).certificate;
      return {
        version: r.version,
        status: r.status,
        issuedAt: r.issued_at.toISOString(),
        registrationId: r.registration_id,
        kind: String(c.kind),
      };
    }),
  };
}

export async function certificateVersion(
  ctx: Ctx,
  code: string,
  version?: number,
): Promise<SignedCertificate> {
  const history = await certificateHistory(ctx, code);
  if (version === undefined) return history.current;
  const row = (await store.certificates(ctx.db, code)).find((r) => r.version === version);
  if (!row) throw new AppError('NOT_FOUND', { objectType: 'registration_certificate', code, version });
  return certificateDocument(row);
}

/** Checks a certificate someone presents against this platform's key. */
export async function checkCertificate(ctx: Ctx, document: unknown) {
  const key = await platformKey(ctx.config);
  const check = verifyCertificate(document, key.publicKeyPem);
  let current: boolean | null = null;
  if (check.valid && check.code) {
    const rows = await store.certificates(ctx.db, check.code);
    current = rows.some((r) => r.version === check.version && r.status === 'current');
  }
  return { ...check, current, publicKeyFingerprint: key.fingerprint };
}

export async function registryPublicKey(ctx: Ctx) {
  const key = await platformKey(ctx.config);
  return {
    algorithm: 'SM2 (GB/T 32918.2) over SM3, signer ID empty',
    publicKeyPem: key.publicKeyPem,
    fingerprint: keyFingerprint(key.publicKeyPem),
  };
}

/** The current registrations (public list for the disclosure and the operation capability). */
export async function currentCertificates(ctx: Ctx) {
  const rows = await store.registeredCodes(ctx.db);
  return rows.map((r) => certificateDocument(r).certificate);
}

export function isRegistrant(principal: Principal, orgId: string): boolean {
  return principal.orgId === orgId || hasRole(principal, 'platform_admin');
}

/** The registration code currently held by a subject, if it is registered (and not cancelled). */
export async function currentCode(db: Executor, type: SubjectType, id: string): Promise<string | null> {
  const row = await store.registeredFor(db, type, id);
  if (!row?.code || row.kind === 'cancellation') return null;
  return row.code;
}
