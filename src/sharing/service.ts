import { sql } from 'kysely';
import type { Static } from 'typebox';
import { appendAudit, auditAs } from '../audit/append.ts';
import type { ResourceView } from '../catalog/service.ts';
import * as catalog from '../catalog/service.ts';
import { authorize, hasRole, type Principal } from '../core/auth.ts';
import type { Ctx } from '../core/context.ts';
import { DATASET_SCHEMA } from '../core/datasets.ts';
import { type Executor, withTx } from '../core/db.ts';
import { AppError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { applyTransition, type Lifecycle, nextState, type TransitionTable } from '../core/lifecycle.ts';
import type { ApplicationState, ContractState, Operation, ReviewFlag } from '../core/tables.ts';
import * as ingest from '../ingest/service.ts';
import { compileFilter, type Filter } from '../rules/filters.ts';
import { type Grade, isGrade } from '../rules/grades.ts';
import { maskSql } from '../rules/masking.ts';
import { addWorkingDays, chinaDate, endOfChinaDay } from '../standards/working-days.ts';
import {
  autoApproves,
  checkRequestedFields,
  needsSecurityReview,
  type PolicyField,
  requestedTerms,
  reviseTerms,
  type TermChanges,
  type Terms,
} from './policy.ts';
import type { DecisionRecord } from './schema.ts';
import { LETTER_TYPES, type LetterMeta, type LetterType, letterStore } from './store.ts';

/** Whether a caller's address is inside a contract's allowlist (the gateway asks on every request). */
export { defaultMask, effectiveMask, ipAllowed } from './policy.ts';

/** DESIGN.md's application lifecycle. Approval goes to security review when the granted fields need it. */
export const APPLICATION_LIFECYCLE: TransitionTable<
  ApplicationState,
  | 'submit'
  | 'auto_approve'
  | 'provider_approve'
  | 'security_approve'
  | 'reject'
  | 'withdraw'
  | 'attach_letter'
> = [
  { from: ['draft'], event: 'submit', to: 'submitted' },
  // The request letter (申请函) is part of what is applied with: it can be attached or replaced
  // only while the application is still the applicant's to edit, never once reviewers have it.
  { from: ['draft'], event: 'attach_letter', to: 'draft' },
  { from: ['submitted'], event: 'auto_approve', to: 'approved' },
  { from: ['submitted'], event: 'provider_approve', to: 'security_review', when: 'needs_security' },
  { from: ['submitted'], event: 'provider_approve', to: 'approved' },
  { from: ['security_review'], event: 'security_approve', to: 'approved' },
  { from: ['submitted', 'security_review'], event: 'reject', to: 'rejected' },
  { from: ['draft', 'submitted'], event: 'withdraw', to: 'withdrawn' },
];

export const CONTRACT_LIFECYCLE: TransitionTable<ContractState, 'suspend' | 'resume' | 'revoke' | 'expire'> =
  [
    { from: ['active'], event: 'suspend', to: 'suspended' },
    { from: ['suspended'], event: 'resume', to: 'active' },
    { from: ['active', 'suspended'], event: 'revoke', to: 'revoked' },
    { from: ['active', 'suspended'], event: 'expire', to: 'expired' },
  ];

type ContractEvent = (typeof CONTRACT_LIFECYCLE)[number]['event'];
const CONTRACTS: Lifecycle<ContractState, ContractEvent> = {
  objectType: 'contract',
  table: 'contracts',
  transitions: CONTRACT_LIFECYCLE,
};

export const ANSWER_WORKING_DAYS = 10;
const MAX_PERIOD_DAYS = 3 * 366;

function policyFields(resource: ResourceView): PolicyField[] {
  return resource.fields.map((f) => ({
    name: f.name,
    label: f.label,
    dataType: f.dataType,
    grade: isGrade(f.grade) ? f.grade : ('unassessed' as Grade),
    detector: f.detector,
  }));
}

// ---------------------------------------------------------------- applications

export interface ApplicationInput {
  resource: string;
  fields: string[];
  purpose: string;
  purposeCategory: string;
  legalBasis: string;
  scenario: string;
  operations: Operation[];
  requestedFrom?: string | undefined;
  requestedTo: string;
  /** Submit at once (default) or keep as a draft. */
  submit?: boolean | undefined;
}

type ApplicationRow = NonNullable<Awaited<ReturnType<typeof findApplication>>>;

function findApplication(db: Executor, id: string) {
  return db.selectFrom('applications').selectAll().where('id', '=', id).executeTakeFirst();
}

/** A decision as stored in the application's JSON column (schema.ts DecisionRecord). */
type DecisionRecordView = Static<typeof DecisionRecord>;

function letterView(letter: LetterMeta) {
  return {
    fileName: letter.file_name,
    contentType: letter.content_type,
    size: letter.size_bytes,
    sm3: letter.sm3,
    uploadedAt: letter.uploaded_at.toISOString(),
    uploadedBy: letter.uploaded_by,
  };
}

function applicationView(a: ApplicationRow, letter: LetterMeta | null) {
  const open = a.state === 'submitted' || a.state === 'security_review';
  return {
    id: a.id,
    resourceId: a.resource_id,
    consumerOrgId: a.consumer_org_id,
    applicantId: a.applicant_id,
    state: a.state,
    fields: a.fields,
    purpose: a.purpose,
    purposeCategory: a.purpose_category,
    legalBasis: a.legal_basis,
    scenario: a.scenario,
    operations: a.operations,
    requestedFrom: a.requested_from.toISOString(),
    requestedTo: a.requested_to.toISOString(),
    needsSecurityReview: a.needs_security,
    granted: a.granted as Terms | null,
    reidentification: (a.reid_risk ?? null) as ReidRisk | null,
    decisions: a.decisions as DecisionRecordView[],
    submittedAt: a.submitted_at?.toISOString() ?? null,
    dueAt: a.due_at?.toISOString() ?? null,
    overdue: open && a.due_at !== null && a.due_at.getTime() < Date.now(),
    contractId: a.contract_id,
    letter: letter && letterView(letter),
    createdAt: a.created_at.toISOString(),
    updatedAt: a.updated_at.toISOString(),
  };
}
export type ApplicationView = ReturnType<typeof applicationView>;

/** The views of applications with their letters, read in one query whatever the number. */
async function viewsOf(db: Executor, rows: readonly ApplicationRow[]): Promise<ApplicationView[]> {
  const letters = await letterStore.metaOf(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((r) => applicationView(r, letters.get(r.id) ?? null));
}

async function viewOf(db: Executor, row: ApplicationRow): Promise<ApplicationView> {
  const [view] = await viewsOf(db, [row]);
  return view!;
}

async function transitionApplication(
  tx: Executor,
  app: ApplicationRow,
  to: ApplicationState,
  patch: Partial<{
    granted: string;
    decisions: string;
    due_at: Date;
    submitted_at: Date;
    contract_id: string;
    needs_security: boolean;
    reid_risk: string | null;
  }>,
): Promise<ApplicationRow> {
  const row = await tx
    .updateTable('applications')
    .set({ ...patch, state: to, updated_at: new Date() })
    .where('id', '=', app.id)
    .where('state', '=', app.state)
    .returningAll()
    .executeTakeFirst();
  if (!row) {
    throw new AppError('INVALID_TRANSITION', {
      objectType: 'application',
      state: app.state,
      reason: 'changed_concurrently',
    });
  }
  return row;
}

/** Only a published resource takes applications and approvals (catalog governance, issue 18). */
/** New applications and approvals need a published resource whose grades the bureau has reviewed. */
function requirePublished(resource: ResourceView) {
  if (resource.state !== 'published') {
    throw new AppError('RESOURCE_NOT_PUBLISHED', { field: 'resource', state: resource.state });
  }
  if (resource.reviewDue) {
    throw new AppError(
      'RESOURCE_NOT_PUBLISHED',
      { field: 'resource', state: resource.state, reason: 'review_due', since: resource.reviewDue.since },
      {
        zh: '资源分级已变更，待数据局重新审核后才能申请或审批',
        en: 'the resource’s grades changed; it takes applications and approvals again once the bureau has reviewed it',
      },
    );
  }
}

export async function createApplication(ctx: Ctx, input: ApplicationInput): Promise<ApplicationView> {
  const principal = authorize(ctx.principal, { roles: ['consumer'], scope: 'sharing' });
  const resource = await catalog.getResource(ctx, input.resource);
  requirePublished(resource);
  if (resource.sharingType === 'not_shared') {
    throw new AppError('RESOURCE_NOT_SHARED', { field: 'resource', basis: resource.sharingConditions });
  }
  const all = policyFields(resource);
  if (input.fields.length === 0)
    throw new AppError(
      'VALIDATION_FAILED',
      { field: 'fields' },
      { zh: '至少申请一个字段', en: 'apply for at least one field' },
    );
  const requested = checkRequestedFields(all, [...new Set(input.fields)]);
  const from = input.requestedFrom ? new Date(input.requestedFrom) : new Date();
  const to = new Date(input.requestedTo);
  if (
    !(to.getTime() > from.getTime()) ||
    to.getTime() - from.getTime() > MAX_PERIOD_DAYS * 86_400_000 ||
    to.getTime() < Date.now()
  ) {
    throw new AppError(
      'VALIDATION_FAILED',
      { field: 'requestedTo' },
      {
        zh: '申请期限无效（须晚于开始、未过期、不超过三年）',
        en: 'invalid period (after the start, not past, at most three years)',
      },
    );
  }
  const needsSecurity = needsSecurityReview(requested);
  // Created and submitted in one transaction: a failure in between (the database gone) must not
  // leave a draft behind that the caller was told nothing about.
  return withTx(ctx.db, async (tx) => {
    const row = await tx
      .insertInto('applications')
      .values({
        id: newId('app'),
        resource_id: resource.id,
        consumer_org_id: principal.orgId,
        applicant_id: principal.userId,
        state: 'draft',
        fields: requested.map((f) => f.name),
        purpose: input.purpose.trim(),
        purpose_category: input.purposeCategory,
        legal_basis: input.legalBasis.trim(),
        scenario: input.scenario.trim(),
        operations: [...new Set(input.operations)],
        requested_from: from,
        requested_to: to,
        needs_security: needsSecurity,
        decisions: JSON.stringify([]),
        updated_at: new Date(),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await auditAs(ctx, tx, 'application.create', 'application', row.id, {
      resource: resource.code,
      fields: row.fields,
    });
    if (input.submit === false) return viewOf(tx, row);
    return submitApplication({ ...ctx, db: tx }, row.id);
  });
}

export async function submitApplication(ctx: Ctx, id: string): Promise<ApplicationView> {
  const app = await loadApplication(ctx, id);
  authorize(ctx.principal, {
    roles: ['consumer'],
    scope: 'sharing',
    orgId: app.consumer_org_id,
    crossOrg: [],
  });
  const resource = await catalog.getResource(ctx, app.resource_id);
  const all = policyFields(resource);
  const requested = checkRequestedFields(all, app.fields);
  return withTx(ctx.db, async (tx) => {
    const now = new Date();
    let row = await transitionApplication(
      tx,
      app,
      nextState(APPLICATION_LIFECYCLE, 'application', app.state, 'submit'),
      {
        submitted_at: now,
        due_at: endOfChinaDay(addWorkingDays(chinaDate(now), ANSWER_WORKING_DAYS)),
      },
    );
    await auditAs(ctx, tx, 'application.submit', 'application', id);
    if (autoApproves(resource.sharingType, requested)) {
      const terms = requestedTerms(
        {
          fields: row.fields,
          operations: row.operations,
          requestedFrom: row.requested_from,
          requestedTo: row.requested_to,
        },
        all,
      );
      const decisions = [
        {
          by: 'system',
          role: 'auto',
          decision: 'approve',
          at: now.toISOString(),
          reason: '无条件共享且字段均为一般数据1–2级 / unconditional sharing of g1–g2 fields',
        },
      ];
      row = await transitionApplication(
        tx,
        row,
        nextState(APPLICATION_LIFECYCLE, 'application', row.state, 'auto_approve'),
        {
          granted: JSON.stringify(terms),
          decisions: JSON.stringify(decisions),
        },
      );
      row = await issueContract(ctx, tx, row, resource, terms);
    }
    return viewOf(tx, row);
  });
}

async function loadApplication(ctx: Ctx, id: string): Promise<ApplicationRow> {
  authorize(ctx.principal, { roles: 'any', scope: 'sharing' });
  const app = await findApplication(ctx.db, id);
  if (!app) throw new AppError('NOT_FOUND', { objectType: 'application', id });
  return app;
}

/** Who may see an application: the applying organization, the provider, security officers, auditors, platform admins. */
function canSee(principal: Principal, app: { consumer_org_id: string }, providerOrgId: string): boolean {
  return (
    principal.orgId === app.consumer_org_id ||
    principal.orgId === providerOrgId ||
    hasRole(principal, 'security_officer', 'auditor', 'platform_admin')
  );
}

/** The application if the caller may read it (the rule of GET /v1/applications/:id and its letter). */
async function loadVisibleApplication(ctx: Ctx, id: string): Promise<ApplicationRow> {
  const app = await loadApplication(ctx, id);
  const resource = await catalog.getResource(ctx, app.resource_id);
  if (!canSee(ctx.principal!, app, resource.provider.id))
    throw new AppError('FORBIDDEN', { reason: 'organization' });
  return app;
}

export async function getApplication(ctx: Ctx, id: string): Promise<ApplicationView> {
  return viewOf(ctx.db, await loadVisibleApplication(ctx, id));
}

// ---------------------------------------------------------------- request letters (申请函)

export const LETTER_LIMIT_BYTES = 10 * 1024 * 1024;
export { LETTER_TYPES } from './store.ts';

/** What the bytes are, from their magic numbers; null for anything but a PDF, PNG or JPEG. */
export function sniffLetterType(bytes: Uint8Array): LetterType | null {
  const startsWith = (...magic: number[]) => magic.every((b, i) => bytes[i] === b);
  if (startsWith(0x25, 0x50, 0x44, 0x46, 0x2d)) return 'application/pdf'; // %PDF-
  if (startsWith(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  if (startsWith(0xff, 0xd8, 0xff)) return 'image/jpeg';
  return null;
}

const LETTER_EXTENSIONS: Record<LetterType, string> = {
  'application/pdf': 'pdf',
  'image/png': 'png',
  'image/jpeg': 'jpg',
};

/** The name the letter is kept under: the client's base name without control characters, or a default. */
function letterFileName(given: string | undefined, type: LetterType): string {
  const base = (given ?? '')
    .split(/[\\/]/)
    .pop()!
    .replace(/\p{Cc}/gu, '')
    .trim();
  return base || `申请函.${LETTER_EXTENSIONS[type]}`;
}

export interface LetterUpload {
  fileName?: string | undefined;
  /** The Content-Type the client declared; the bytes decide, and a declared type they contradict is refused. */
  declaredType?: string | undefined;
  /** Reads the body, refusing it past `limit` bytes; called only once the caller may upload. */
  read: (limit: number) => Promise<{ bytes: Buffer; size: number; sm3: string }>;
}

/**
 * Attaches the request letter to an application, replacing the one before: only the applying
 * organization's consumers, only while the lifecycle allows `attach_letter` (a draft). The body is
 * read after those checks, so nobody else gets 10 MiB buffered. Audited with name, type, size and
 * SM3 — never the bytes.
 */
export async function attachLetter(ctx: Ctx, id: string, upload: LetterUpload): Promise<ApplicationView> {
  const app = await loadVisibleApplication(ctx, id);
  const principal = authorize(ctx.principal, {
    roles: ['consumer'],
    scope: 'sharing',
    orgId: app.consumer_org_id,
    crossOrg: [],
  });
  nextState(APPLICATION_LIFECYCLE, 'application', app.state, 'attach_letter');
  const { bytes, size, sm3 } = await upload.read(LETTER_LIMIT_BYTES);
  const contentType = sniffLetterType(bytes);
  const declared = upload.declaredType?.split(';')[0]?.trim().toLowerCase();
  const declaredOk = !declared || declared === 'application/octet-stream' || declared === contentType;
  if (contentType === null || !declaredOk) {
    throw new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      { field: 'body', accepted: [...LETTER_TYPES], declared: declared ?? null, detected: contentType },
      contentType === null
        ? {
            zh: '申请函须为 PDF、PNG 或 JPEG 文件（按文件内容判断，不看扩展名）',
            en: 'the request letter must be a PDF, PNG or JPEG file (judged by its content, not its name)',
          }
        : {
            zh: `文件内容是 ${contentType}，与声明的类型 ${declared} 不符`,
            en: `the file is ${contentType}, not the declared ${declared}`,
          },
    );
  }
  const fileName = letterFileName(upload.fileName, contentType);
  return withTx(ctx.db, async (tx) => {
    // The conditional update fences a submit racing the upload: the letter joins a draft or nothing.
    const row = await transitionApplication(tx, app, 'draft', {});
    const before = await letterStore.metaOf(tx, [id]);
    await letterStore.put(tx, {
      application_id: id,
      file_name: fileName,
      content_type: contentType,
      size_bytes: size,
      sm3,
      content: bytes,
      uploaded_by: principal.userId,
      uploaded_at: new Date(),
    });
    await auditAs(ctx, tx, 'application.letter', 'application', id, {
      fileName,
      contentType,
      size,
      sm3,
      replaced: before.get(id)?.sm3 ?? null,
    });
    return viewOf(tx, row);
  });
}

/** The request letter with its bytes, for whoever may read the application. */
export async function getLetter(ctx: Ctx, id: string) {
  await loadVisibleApplication(ctx, id);
  const letter = await letterStore.find(ctx.db, id);
  if (!letter) throw new AppError('NOT_FOUND', { objectType: 'application_letter', id });
  return {
    ...letterView(letter),
    bytes: Buffer.from(letter.content.buffer, letter.content.byteOffset, letter.content.byteLength),
  };
}

export async function listApplications(
  ctx: Ctx,
  filters: {
    state?: ApplicationState | undefined;
    resource?: string | undefined;
    limit?: number | undefined;
    cursor?: string | undefined;
    decidedBy?: 'me' | undefined;
    /** Only the caller's organization's own applications (as the consumer). */
    consumer?: 'mine' | undefined;
    /** Only those changed since then (a decision changes its application). */
    updatedSince?: Date | undefined;
  },
) {
  const principal = authorize(ctx.principal, { roles: 'any', scope: 'sharing' });
  const limit = filters.limit ?? 50;
  let query = ctx.db
    .selectFrom('applications')
    .innerJoin('resources', 'resources.id', 'applications.resource_id')
    .selectAll('applications')
    .orderBy('applications.id', 'desc')
    .limit(limit + 1);
  if (!hasRole(principal, 'security_officer', 'auditor', 'platform_admin')) {
    query = query.where((eb) =>
      eb.or([
        eb('applications.consumer_org_id', '=', principal.orgId),
        eb('resources.provider_org_id', '=', principal.orgId),
      ]),
    );
  }
  if (filters.state) query = query.where('applications.state', '=', filters.state);
  if (filters.resource)
    query = query.where((eb) =>
      eb.or([eb('resources.id', '=', filters.resource!), eb('resources.code', '=', filters.resource!)]),
    );
  // Only the caller's own decisions: `me` is the one value, so nobody lists another's.
  if (filters.decidedBy === 'me')
    query = query.where(
      sql<boolean>`applications.decisions @> ${JSON.stringify([{ by: principal.userId }])}::jsonb`,
    );
  if (filters.consumer === 'mine') query = query.where('applications.consumer_org_id', '=', principal.orgId);
  if (filters.updatedSince) query = query.where('applications.updated_at', '>=', filters.updatedSince);
  if (filters.cursor) query = query.where('applications.id', '<', filters.cursor);
  const rows = await query.execute();
  const items = await viewsOf(ctx.db, rows.slice(0, limit));
  return { items, nextCursor: rows.length > limit ? (items.at(-1)?.id ?? null) : null };
}

export async function withdrawApplication(ctx: Ctx, id: string): Promise<ApplicationView> {
  const app = await loadApplication(ctx, id);
  authorize(ctx.principal, {
    roles: ['consumer'],
    scope: 'sharing',
    orgId: app.consumer_org_id,
    crossOrg: [],
  });
  return withTx(ctx.db, async (tx) => {
    const row = await transitionApplication(
      tx,
      app,
      nextState(APPLICATION_LIFECYCLE, 'application', app.state, 'withdraw'),
      {},
    );
    await auditAs(ctx, tx, 'application.withdraw', 'application', id);
    return viewOf(tx, row);
  });
}

export interface Decision extends Omit<TermChanges, 'pinnedVersionId'> {
  reason?: string | undefined;
  /** Keep the contract on this version number instead of following the current version. */
  pinVersion?: number | undefined;
}

/**
 * A reviewer decides. The provider's data steward answers submitted applications; a security
 * officer answers those in security review. Approval narrows the terms (approve with changes);
 * the last approval issues the contract.
 */
export async function approveApplication(ctx: Ctx, id: string, decision: Decision): Promise<ApplicationView> {
  const app = await loadApplication(ctx, id);
  const resource = await catalog.getResource(ctx, app.resource_id);
  const all = policyFields(resource);
  const asSecurity = app.state === 'security_review';
  const principal = asSecurity
    ? authorize(ctx.principal, { roles: ['security_officer'], scope: 'sharing' })
    : authorize(ctx.principal, {
        roles: ['data_steward'],
        scope: 'sharing',
        orgId: resource.provider.id,
        crossOrg: [],
      });
  // After the reviewer is known: another organization learns nothing of the resource's state.
  requirePublished(resource);
  const base =
    (app.granted as Terms | null) ??
    requestedTerms(
      {
        fields: app.fields,
        operations: app.operations,
        requestedFrom: app.requested_from,
        requestedTo: app.requested_to,
      },
      all,
    );
  const { pinVersion, ...changes } = decision;
  let pinnedVersionId: string | undefined;
  if (pinVersion !== undefined) {
    const version = await ingest.getVersion(ctx, resource.id, pinVersion).catch((error: unknown) => {
      if (error instanceof AppError && error.code === 'NOT_FOUND') return undefined;
      throw error;
    });
    if (version?.state !== 'ready')
      throw new AppError(
        'VALIDATION_FAILED',
        { field: 'pinVersion', value: pinVersion },
        { zh: '没有该可用版本', en: 'no such ready version' },
      );
    pinnedVersionId = version.id;
  }
  const terms = reviseTerms(base, { ...changes, pinnedVersionId }, all, { isSecurityOfficer: asSecurity });
  const grantedFields = all.filter((f) => terms.fields.includes(f.name));
  const event = asSecurity ? 'security_approve' : 'provider_approve';
  const risk = await reidentificationRisk(ctx, resource, terms);
  const riskTooHigh = risk !== null && risk.risk * 100 > risk.thresholdPercent;
  const needsSecurity = needsSecurityReview(grantedFields) || riskTooHigh;
  const to = nextState(
    APPLICATION_LIFECYCLE,
    'application',
    app.state,
    event,
    needsSecurity ? ['needs_security'] : [],
  );
  const decisions = [
    ...(app.decisions ?? []),
    {
      by: principal.userId,
      role: asSecurity ? 'security_officer' : 'data_steward',
      decision: 'approve',
      at: new Date().toISOString(),
      reason: decision.reason ?? '',
      changes: decision,
    },
  ];
  return withTx(ctx.db, async (tx) => {
    let row = await transitionApplication(tx, app, to, {
      granted: JSON.stringify(terms),
      decisions: JSON.stringify(decisions),
      ...(needsSecurity && !asSecurity ? { needs_security: true } : {}),
      reid_risk: risk === null ? null : JSON.stringify(risk),
    });
    await auditAs(ctx, tx, `application.${event}`, 'application', id, {
      to,
      changes: decision,
      ...(risk ? { reidentification: risk } : {}),
    });
    if (to === 'approved') row = await issueContract(ctx, tx, row, resource, terms);
    return viewOf(tx, row);
  });
}

export interface ReidRisk {
  /** Served fields an attacker may know about a person: content-bearing masks, record keys excluded. */
  quasiIdentifiers: string[];
  k: number;
  records: number;
  /** Records in equivalence classes (same served values of all quasi-identifiers) smaller than k. */
  recordsAtRisk: number;
  /** recordsAtRisk / records: the prosecutor model's share of records re-identifiable (ARX). */
  risk: number;
  thresholdPercent: number;
  versionId: string;
  computedAt: string;
}

/**
 * The prosecutor re-identification risk of row access as granted, on the actual data: the share
 * of records (within the contract's row filter) whose combination of served quasi-identifier
 * values — after masking, computed in SQL with the gateway's mask expressions — is shared by
 * fewer than k records. Computed when rows are granted with at least one masked field; null
 * otherwise, or when there is no ready data version yet.
 */
async function reidentificationRisk(
  ctx: Ctx,
  resource: ResourceView,
  terms: Terms,
): Promise<ReidRisk | null> {
  if (!terms.operations.includes('rows')) return null;
  if (!terms.fields.some((f) => (terms.masking[f] ?? 'none') !== 'none')) return null;
  const version = await ctx.db
    .selectFrom('resources')
    .innerJoin('dataset_versions', (join) =>
      join.on(
        sql<boolean>`dataset_versions.id = coalesce(${terms.pinnedVersionId}, resources.current_version_id)`,
      ),
    )
    .select([
      'dataset_versions.id',
      'dataset_versions.table_name',
      'dataset_versions.columns',
      'dataset_versions.state',
    ])
    .where('resources.id', '=', resource.id)
    .executeTakeFirst();
  if (!version?.table_name || version.state !== 'ready' || !version.columns) return null;
  const present = new Set(version.columns.map((c) => c.name));
  const quasi = terms.fields.filter((name) => {
    const field = resource.fields.find((f) => f.name === name);
    const mask = terms.masking[name] ?? 'none';
    return present.has(name) && field && !field.isKey && mask !== 'null' && mask !== 'pseudonym';
  });
  const k = ctx.config.reidK;
  const table = sql.table(`${DATASET_SCHEMA}.${version.table_name}`);
  const where = terms.rowFilter ? sql`WHERE ${compileFilter(terms.rowFilter)}` : sql``;
  const keys = quasi.map((name) => {
    const mask = terms.masking[name] ?? 'none';
    return mask === 'none' ? sql`${sql.ref(name)}::text` : maskSql(mask, name);
  });
  const groupBy = keys.length > 0 ? sql`GROUP BY ${sql.join(keys)}` : sql``;
  const { rows } = await sql<{ records: string | number; at_risk: string | number }>`
    SELECT coalesce(sum(c), 0) AS records, coalesce(sum(c) FILTER (WHERE c < ${k}), 0) AS at_risk
    FROM (SELECT count(*) AS c FROM ${table} ${where} ${groupBy}) classes`.execute(ctx.db);
  const records = Number(rows[0]?.records ?? 0);
  const recordsAtRisk = Number(rows[0]?.at_risk ?? 0);
  return {
    quasiIdentifiers: quasi,
    k,
    records,
    recordsAtRisk,
    risk: records === 0 ? 0 : Math.round((recordsAtRisk / records) * 10_000) / 10_000,
    thresholdPercent: ctx.config.reidRiskPercent,
    versionId: version.id,
    computedAt: new Date().toISOString(),
  };
}

export async function rejectApplication(ctx: Ctx, id: string, reason: string): Promise<ApplicationView> {
  const app = await loadApplication(ctx, id);
  const resource = await catalog.getResource(ctx, app.resource_id);
  const principal =
    app.state === 'security_review'
      ? authorize(ctx.principal, { roles: ['security_officer'], scope: 'sharing' })
      : authorize(ctx.principal, {
          roles: ['data_steward', 'security_officer'],
          scope: 'sharing',
          orgId: resource.provider.id,
          crossOrg: ['security_officer'],
        });
  if (reason.trim().length < 2)
    throw new AppError(
      'VALIDATION_FAILED',
      { field: 'reason' },
      { zh: '请说明拒绝理由', en: 'give the reason' },
    );
  const decisions = [
    ...(app.decisions ?? []),
    { by: principal.userId, decision: 'reject', at: new Date().toISOString(), reason },
  ];
  return withTx(ctx.db, async (tx) => {
    const row = await transitionApplication(
      tx,
      app,
      nextState(APPLICATION_LIFECYCLE, 'application', app.state, 'reject'),
      {
        decisions: JSON.stringify(decisions),
      },
    );
    await auditAs(ctx, tx, 'application.reject', 'application', id, { reason });
    return viewOf(tx, row);
  });
}

// ---------------------------------------------------------------- contracts

async function issueContract(
  ctx: Ctx,
  tx: Executor,
  app: ApplicationRow,
  resource: ResourceView,
  terms: Terms,
): Promise<ApplicationRow> {
  const id = newId('ctr');
  await tx
    .insertInto('contracts')
    .values({
      id,
      application_id: app.id,
      resource_id: resource.id,
      provider_org_id: resource.provider.id,
      consumer_org_id: app.consumer_org_id,
      state: 'active',
      fields: terms.fields,
      masking: JSON.stringify(terms.masking),
      row_filter: terms.rowFilter ? JSON.stringify(terms.rowFilter) : null,
      operations: terms.operations,
      purpose: app.purpose,
      valid_from: terms.validFrom,
      valid_to: terms.validTo,
      rate_limit_per_minute: terms.rateLimitPerMinute,
      quota_rows_per_day: terms.quotaRowsPerDay,
      ip_allowlist: terms.ipAllowlist,
      onward_transfer: terms.onwardTransfer,
      min_group_size: terms.minGroupSize,
      security_signoff: terms.securitySignoff,
      working_hours_only: terms.workingHoursOnly ?? false,
      pinned_version_id: terms.pinnedVersionId ?? null,
      granted_grades: JSON.stringify(
        Object.fromEntries(
          resource.fields
            .filter((f) => terms.fields.includes(f.name))
            .map((f) => [f.name, { grade: f.grade, detector: f.detector }]),
        ),
      ),
      updated_at: new Date(),
    })
    .execute();
  await auditAs(ctx, tx, 'contract.create', 'contract', id, {
    application: app.id,
    resource: resource.code,
    fields: terms.fields,
  });
  const row = await tx
    .updateTable('applications')
    .set({ contract_id: id, updated_at: new Date() })
    .where('id', '=', app.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  return row;
}

export type ContractRow = NonNullable<Awaited<ReturnType<typeof findContract>>>;

export function findContract(db: Executor, id: string) {
  return db.selectFrom('contracts').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The state a contract is really in: an active one past its end is expired, whatever the row says yet. */
export function effectiveState(c: Pick<ContractRow, 'state' | 'valid_to'>, now = new Date()): ContractState {
  return c.state === 'active' && c.valid_to.getTime() <= now.getTime() ? 'expired' : c.state;
}

function contractView(c: ContractRow) {
  return {
    id: c.id,
    applicationId: c.application_id,
    resourceId: c.resource_id,
    providerOrgId: c.provider_org_id,
    consumerOrgId: c.consumer_org_id,
    state: effectiveState(c),
    fields: c.fields,
    masking: c.masking,
    rowFilter: (c.row_filter ?? null) as Filter | null,
    operations: c.operations,
    purpose: c.purpose,
    validFrom: c.valid_from.toISOString(),
    validTo: c.valid_to.toISOString(),
    rateLimitPerMinute: c.rate_limit_per_minute,
    quotaRowsPerDay: Number(c.quota_rows_per_day),
    ipAllowlist: c.ip_allowlist,
    onwardTransfer: c.onward_transfer,
    minGroupSize: c.min_group_size,
    pinnedVersionId: c.pinned_version_id,
    securitySignoff: c.security_signoff,
    workingHoursOnly: c.working_hours_only,
    reviewFlag: c.review_flag ?? null,
    stateReason: c.state_reason,
    createdAt: c.created_at.toISOString(),
    updatedAt: c.updated_at.toISOString(),
  };
}
export type ContractView = ReturnType<typeof contractView>;

/**
 * Resources shared per providing organization over [`from`, `to`): distinct resources under a
 * contract in force at some time in the span (its validity overlapping it, not revoked) — the
 * evaluation index's platform activity (`indicators/platform.ts`). Its caller authorizes.
 */
export async function sharedResourcesByProvider(
  ctx: Ctx,
  from: Date,
  to: Date,
): Promise<Map<string, number>> {
  const rows = await ctx.db
    .selectFrom('contracts')
    .select(['provider_org_id as orgId', sql<string>`count(DISTINCT resource_id)`.as('resources')])
    .where('valid_from', '<', to)
    .where('valid_to', '>', from)
    .where('state', '<>', 'revoked')
    .groupBy('provider_org_id')
    .execute();
  return new Map(rows.map((r) => [r.orgId, Number(r.resources)]));
}

export async function loadContract(ctx: Ctx, id: string): Promise<ContractRow> {
  const principal = authorize(ctx.principal, { roles: 'any', scope: 'sharing' });
  const contract = await findContract(ctx.db, id);
  // A contract the caller may not see is answered exactly like one that does not exist: ids
  // cannot be probed.
  if (!contract || !canSee(principal, contract, contract.provider_org_id))
    throw new AppError('NOT_FOUND', { objectType: 'contract', id });
  return contract;
}

/**
 * The gateway found granted fields whose grade rose after approval (served under a stricter mask,
 * or core and refused): the contract is flagged for the provider's review, audited once per change
 * of the set of fields.
 */
export async function flagContractForReview(
  ctx: Ctx,
  contract: ContractRow,
  fields: ReviewFlag['fields'],
): Promise<void> {
  const key = (f: ReviewFlag['fields']) =>
    JSON.stringify(f.map((x) => [x.name, x.grade, x.detector, x.mask]));
  if (contract.review_flag && key(contract.review_flag.fields) === key(fields)) return;
  const flag: ReviewFlag = { since: new Date().toISOString(), fields };
  await withTx(ctx.db, async (tx) => {
    const updated = await tx
      .updateTable('contracts')
      .set({ review_flag: JSON.stringify(flag) })
      .where('id', '=', contract.id)
      .where(
        sql<boolean>`review_flag IS NOT DISTINCT FROM ${contract.review_flag ? JSON.stringify(contract.review_flag) : null}::jsonb`,
      )
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) return;
    await appendAudit(tx, {
      actorId: null,
      orgId: null,
      action: 'contract.review_flag',
      objectType: 'contract',
      objectId: contract.id,
      requestId: ctx.requestId,
      details: { fields },
    });
  });
}

const flagConflict = (details: Record<string, unknown>, zh: string, en: string) =>
  new AppError('CONFLICT', { objectType: 'contract', ...details }, { zh, en });
const flagChanged = (details: Record<string, unknown>) =>
  flagConflict(
    details,
    '复核标记在查看后已更新，请重新查看',
    'The review flag changed since it was read: read it again',
  );

/**
 * The provider's data steward or a security officer reviews a contract the gateway flagged
 * (grades rose after approval) and clears the flag by accepting what the gateway already serves:
 * each flagged field's contract mask becomes the stricter mask served and its grade at grant the
 * current one, so the gateway finds nothing changed and does not flag it again; a field now core
 * leaves the contract. Not a state of the contract lifecycle (the contract stays active, suspended
 * …): one conditional update on the flag the reviewer saw (409 if it changed or is gone — `since`
 * pins the one read), audited `contract.review`.
 */
export async function reviewContract(
  ctx: Ctx,
  id: string,
  input: { reason: string; since?: string | undefined },
): Promise<ContractView> {
  const contract = await loadContract(ctx, id);
  authorize(ctx.principal, {
    roles: ['data_steward', 'security_officer'],
    scope: 'sharing',
    orgId: contract.provider_org_id,
    crossOrg: ['security_officer'],
  });
  const flag = contract.review_flag;
  if (!flag) throw flagConflict({ id }, '该协议没有待复核的标记', 'The contract has no review flag to clear');
  if (input.since !== undefined && input.since !== flag.since) throw flagChanged({ id, since: flag.since });
  const masking = { ...contract.masking };
  const grades = { ...(contract.granted_grades ?? {}) };
  const dropped: string[] = [];
  for (const f of flag.fields) {
    if (f.mask === null) {
      dropped.push(f.name);
      delete masking[f.name];
      delete grades[f.name];
    } else {
      masking[f.name] = f.mask;
      grades[f.name] = { grade: f.grade, detector: f.detector };
    }
  }
  const fields = contract.fields.filter((f) => !dropped.includes(f));
  if (fields.length === 0)
    throw flagConflict(
      { id, dropped },
      '复核后协议不再有可提供的字段，请撤销协议',
      'No field of the contract could still be served: revoke it instead',
    );
  return withTx(ctx.db, async (tx) => {
    const row = await tx
      .updateTable('contracts')
      .set({
        fields,
        masking: JSON.stringify(masking),
        granted_grades: JSON.stringify(grades),
        review_flag: null,
        updated_at: new Date(),
      })
      .where('id', '=', id)
      .where(sql<boolean>`review_flag IS NOT DISTINCT FROM ${JSON.stringify(flag)}::jsonb`)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw flagChanged({ id });
    await auditAs(ctx, tx, 'contract.review', 'contract', id, {
      reason: input.reason,
      flaggedSince: flag.since,
      fields: flag.fields,
      dropped,
    });
    return contractView(row);
  });
}

/**
 * The contracts in force today of the given consumers (`null`: of any consumer) on the given
 * resources: what another capability asks to know which data a department may pull instead of
 * asking the citizen, or which customers an operator may bill for a product. A read for a caller
 * the capability has already authorized; not a route.
 */
export async function contractsInForce(
  db: Executor,
  consumerOrgIds: readonly string[] | null,
  resourceIds: readonly string[],
  now = new Date(),
): Promise<
  Array<Pick<ContractRow, 'id' | 'consumer_org_id' | 'resource_id' | 'fields' | 'operations' | 'valid_to'>>
> {
  if (consumerOrgIds?.length === 0 || resourceIds.length === 0) return [];
  let query = db
    .selectFrom('contracts')
    .select([
      'id',
      'consumer_org_id',
      'resource_id',
      'fields',
      'operations',
      'state',
      'valid_from',
      'valid_to',
    ])
    .where('resource_id', 'in', [...resourceIds])
    .where('state', '=', 'active')
    .orderBy('id');
  if (consumerOrgIds) query = query.where('consumer_org_id', 'in', [...consumerOrgIds]);
  const rows = await query.execute();
  return rows
    .filter((c) => effectiveState(c, now) === 'active' && c.valid_from.getTime() <= now.getTime())
    .map(({ id, consumer_org_id, resource_id, fields, operations, valid_to }) => ({
      id,
      consumer_org_id,
      resource_id,
      fields,
      operations,
      valid_to,
    }));
}

export async function getContract(ctx: Ctx, id: string): Promise<ContractView> {
  return contractView(await loadContract(ctx, id));
}

export async function listContracts(
  ctx: Ctx,
  filters: {
    state?: ContractState | undefined;
    /** A resource's id or code. */
    resource?: string | undefined;
    limit?: number | undefined;
    cursor?: string | undefined;
  },
) {
  const principal = authorize(ctx.principal, { roles: 'any', scope: 'sharing' });
  const limit = filters.limit ?? 50;
  let query = ctx.db
    .selectFrom('contracts')
    .selectAll()
    .orderBy('id', 'desc')
    .limit(limit + 1);
  if (!hasRole(principal, 'security_officer', 'auditor', 'platform_admin')) {
    query = query.where((eb) =>
      eb.or([eb('consumer_org_id', '=', principal.orgId), eb('provider_org_id', '=', principal.orgId)]),
    );
  }
  if (filters.state) query = query.where('state', '=', filters.state);
  // By id or code; an unknown resource is a 404 naming it, never every contract.
  if (filters.resource)
    query = query.where('resource_id', '=', (await catalog.getResource(ctx, filters.resource)).id);
  if (filters.cursor) query = query.where('id', '<', filters.cursor);
  const rows = await query.execute();
  const items = rows.slice(0, limit).map(contractView);
  return { items, nextCursor: rows.length > limit ? (items.at(-1)?.id ?? null) : null };
}

/** Suspend, resume or revoke: the provider's data stewards and security officers; effective on the next request. */
export async function changeContract(
  ctx: Ctx,
  id: string,
  event: 'suspend' | 'resume' | 'revoke',
  reason: string,
): Promise<ContractView> {
  const contract = await loadContract(ctx, id);
  authorize(ctx.principal, {
    roles: ['data_steward', 'security_officer'],
    scope: 'sharing',
    orgId: contract.provider_org_id,
    crossOrg: ['security_officer'],
  });
  return withTx(ctx.db, async (tx) => {
    const row = await applyTransition<ContractState, ContractEvent, ContractRow>(
      tx,
      CONTRACTS,
      contract,
      event,
      {
        effective: effectiveState(contract),
        set: { state_reason: reason, updated_at: new Date() },
        audit: (tx) => auditAs(ctx, tx, `contract.${event}`, 'contract', id, { reason }),
      },
    );
    return contractView(row);
  });
}

/**
 * Time's transition: every active or suspended contract past its end becomes expired, through the
 * lifecycle and audited (`contract.expire`). The scheduler runs it (src/background.ts); until it
 * does, `effectiveState` already treats such a contract as expired, so nothing is served late.
 */
export async function expireDueContracts(ctx: Ctx, now = new Date(), limit = 500): Promise<number> {
  const due = await ctx.db
    .selectFrom('contracts')
    .select(['id', 'state', 'valid_to'])
    .where('state', 'in', ['active', 'suspended'])
    .where('valid_to', '<=', now)
    .orderBy('valid_to')
    .limit(limit)
    .execute();
  let expired = 0;
  for (const contract of due) {
    try {
      await withTx(ctx.db, (tx) =>
        applyTransition(tx, CONTRACTS, contract, 'expire', {
          set: { state_reason: 'valid_to passed', updated_at: now },
          audit: (tx) =>
            auditAs(ctx, tx, 'contract.expire', 'contract', contract.id, {
              validTo: contract.valid_to.toISOString(),
            }),
        }),
      );
      expired++;
    } catch (err) {
      // Another node expired (or revoked) it first: nothing left to do for this one.
      if (!(err instanceof AppError && err.code === 'INVALID_TRANSITION')) throw err;
    }
  }
  return expired;
}
