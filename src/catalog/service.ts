import { auditAs } from '../audit/append.ts';
import { authorize, hasRole, type Principal } from '../core/auth.ts';
import type { Ctx } from '../core/context.ts';
import { RESERVED_COLUMN_NAMES } from '../core/datasets.ts';
import { type Executor, withTx } from '../core/db.ts';
import { AppError, invalidField } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { applyTransition, type Lifecycle, nextState } from '../core/lifecycle.ts';
import type {
  Category,
  DataType,
  Grade,
  OpenType,
  ResourceState,
  Role,
  SharingType,
} from '../core/tables.ts';
import { highestGrade } from '../rules/grades.ts';
import { gbt2260Part } from '../standards/division-units.ts';
import { fullRegionName } from '../standards/region.ts';
import type { DatasetAnnex, ProviderFacts } from './dcat.ts';
import { indexLexemes, parseQuery } from './search-text.ts';
import {
  type FieldRow,
  type GradingState,
  type ResourceRow,
  type SearchDocument,
  type SearchSort,
  catalogStore as store,
} from './store.ts';

export type { GradingState };

import { findTheme } from './themes.ts';

export interface FieldInput {
  name: string;
  label: string;
  dataType: DataType;
  description?: string | undefined;
  isKey?: boolean | undefined;
}

export interface ResourceInput {
  name: string;
  summary?: string | undefined;
  theme: string;
  keywords?: string[] | undefined;
  format?: string | undefined;
  updateCycle: string;
  sharingType: SharingType;
  sharingConditions?: string | undefined;
  openType: OpenType;
  openConditions?: string | undefined;
  publishedOn?: string | null | undefined;
  relatedCodes?: string[] | undefined;
  fields?: FieldInput[] | undefined;
}

const CATEGORY_LETTER: Record<Category, string> = { base: 'J', theme: 'Z', department: 'B' };

/**
 * Resource code: `<provider GB/T 2260 region code (a township's county)>-<category letter><theme code>-<provider organization
 * code>-<4-digit sequence per provider>`, e.g. `330100-Z11-MA2H7K3L9-0001`. The category letter is
 * J (基础 base), Z (主题 theme) or B (部门 department); the organization code is characters 9–17 of
 * the provider's unified social credit code. Unique because the organization code is.
 */
export function resourceCode(
  regionCode: string | null,
  category: Category,
  themeCode: string,
  uscc: string,
  seq: number,
) {
  return `${regionCode ? gbt2260Part(regionCode) : '100000'}-${CATEGORY_LETTER[category]}${themeCode}-${uscc.slice(8, 17)}-${String(seq).padStart(4, '0')}`;
}

/** What a resource is found by; exported for bulk loads (benchmarks) that must index alike. */
export function searchDocument(
  r: Pick<ResourceRow, 'name' | 'summary' | 'keywords' | 'theme' | 'code'>,
  fields: FieldRow[],
): SearchDocument {
  const theme = findTheme(r.theme);
  return {
    a: indexLexemes(r.name),
    b: indexLexemes([...r.keywords, theme?.zh ?? '', theme?.en ?? '', r.code].join(' ')),
    c: indexLexemes(
      fields.map((f) => `${f.label} ${f.name.replaceAll('_', ' ')} ${f.description}`).join(' '),
    ),
    d: indexLexemes(r.summary),
  };
}

function checkFields(fields: FieldInput[] | undefined): FieldRow[] {
  const seen = new Set<string>();
  return (fields ?? []).map((f, position) => {
    if (seen.has(f.name)) throw invalidField('VALIDATION_FAILED', `fields.${position}.name`, f.name);
    // The dataset table's ordinal and PostgreSQL's system columns cannot be a field's column.
    if (RESERVED_COLUMN_NAMES.has(f.name)) {
      throw invalidField('VALIDATION_FAILED', `fields.${position}.name`, f.name);
    }
    seen.add(f.name);
    return {
      position,
      name: f.name,
      label: f.label.trim(),
      data_type: f.dataType,
      description: f.description?.trim() ?? '',
      grade: 'unassessed' as Grade,
      is_key: f.isKey ?? false,
    };
  });
}

function checkConditions(sharingType: SharingType, sharingConditions: string) {
  // Not-shared needs its legal or policy basis stated; conditional sharing needs its conditions.
  if (sharingType !== 'unconditional' && sharingConditions.trim() === '') {
    throw new AppError(
      'VALIDATION_FAILED',
      { field: 'sharingConditions' },
      {
        zh: '有条件共享或不予共享必须说明条件或依据',
        en: 'conditional or not-shared resources must state their conditions or basis',
      },
    );
  }
}

async function checkRelated(ctx: Ctx, codes: string[]) {
  for (const code of codes) {
    if (!(await store.findResource(ctx.db, code)))
      throw invalidField('VALIDATION_FAILED', 'relatedCodes', code);
  }
}

function stewardOf(ctx: Ctx, providerOrgId: string) {
  // Only the provider's own stewards edit its resources; no organization may edit another's.
  return authorize(ctx.principal, {
    roles: ['data_steward'],
    scope: 'catalog:write',
    orgId: providerOrgId,
    crossOrg: [],
  });
}

function resourceView(
  r: ResourceRow,
  fields: FieldRow[],
  provider: { id: string; name: string } | undefined,
) {
  const theme = findTheme(r.theme);
  return {
    id: r.id,
    code: r.code,
    state: r.state,
    stateReason: r.state_reason,
    reviewDue: r.review_due,
    name: r.name,
    summary: r.summary,
    provider: { id: r.provider_org_id, name: provider?.name ?? '' },
    category: r.category,
    theme: r.theme,
    themeLabel: { 'zh-CN': theme?.zh ?? r.theme, en: theme?.en ?? r.theme },
    keywords: r.keywords,
    format: r.format,
    updateCycle: r.update_cycle,
    sharingType: r.sharing_type,
    sharingConditions: r.sharing_conditions,
    openType: r.open_type,
    openConditions: r.open_conditions,
    publishedOn: r.published_on,
    relatedCodes: r.related_codes,
    grade: r.grade,
    revision: r.revision,
    currentVersionId: r.current_version_id,
    fields: fields.map((f) => ({
      name: f.name,
      label: f.label,
      dataType: f.data_type,
      description: f.description,
      grade: f.grade,
      isKey: f.is_key,
      detector: f.detector ?? null,
    })),
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}
export type ResourceView = ReturnType<typeof resourceView>;

async function viewOf(ctx: Ctx, row: ResourceRow): Promise<ResourceView> {
  const [fields, providers] = await Promise.all([
    store.fieldsOf(ctx.db, [row.id]),
    store.providers(ctx.db, [row.provider_org_id]),
  ]);
  return resourceView(row, fields, providers[0]);
}

export async function createResource(ctx: Ctx, input: ResourceInput): Promise<ResourceView> {
  const principal = authorize(ctx.principal, { roles: ['data_steward'], scope: 'catalog:write' });
  stewardOf(ctx, principal.orgId);
  const theme = findTheme(input.theme);
  if (!theme) throw invalidField('VALIDATION_FAILED', 'theme', input.theme);
  checkConditions(input.sharingType, input.sharingConditions ?? '');
  const fields = checkFields(input.fields);
  await checkRelated(ctx, input.relatedCodes ?? []);
  const provider = (await store.providers(ctx.db, [principal.orgId]))[0];
  if (!provider) throw new AppError('FORBIDDEN', { reason: 'organization' });
  const row = await withTx(ctx.db, async (tx) => {
    const seq = await store.nextCodeNumber(tx, provider.id);
    const base = {
      id: newId('res'),
      code: resourceCode(provider.region_code, theme.category, theme.code, provider.uscc, seq),
      name: input.name.trim(),
      summary: input.summary?.trim() ?? '',
      provider_org_id: provider.id,
      category: theme.category,
      theme: theme.id,
      keywords: [...new Set((input.keywords ?? []).map((k) => k.trim()).filter(Boolean))],
      format: input.format ?? 'table',
      update_cycle: input.updateCycle,
      sharing_type: input.sharingType,
      sharing_conditions: input.sharingConditions?.trim() ?? '',
      open_type: input.openType,
      open_conditions: input.openConditions?.trim() ?? '',
      published_on: input.publishedOn ?? null,
      related_codes: input.relatedCodes ?? [],
      grade: highestGrade(...fields.map((f) => f.grade)),
      revision: 1,
      current_version_id: null,
      created_by: principal.userId,
      state: 'draft' as const,
      state_reason: null,
      state_changed_by: null,
    };
    const created = await store.insertResource(tx, base, searchDocument(base, fields));
    await store.replaceFields(tx, created.id, fields);
    await store.insertHistory(tx, {
      resource_id: created.id,
      revision: 1,
      actor_id: principal.userId,
      changes: JSON.stringify({ created: { to: base.code } }),
    });
    await auditAs(ctx, tx, 'resource.create', 'resource', created.id, {
      code: created.code,
      name: created.name,
    });
    return created;
  });
  return resourceView(row, fields, provider);
}

const PATCHABLE: Array<[keyof ResourceInput, keyof ResourceRow]> = [
  ['name', 'name'],
  ['summary', 'summary'],
  ['keywords', 'keywords'],
  ['format', 'format'],
  ['updateCycle', 'update_cycle'],
  ['sharingType', 'sharing_type'],
  ['sharingConditions', 'sharing_conditions'],
  ['openType', 'open_type'],
  ['openConditions', 'open_conditions'],
  ['publishedOn', 'published_on'],
  ['relatedCodes', 'related_codes'],
];

/**
 * Changes a resource. `revision` must be the one the caller read: a change made meanwhile by
 * someone else is a 409, never silently overwritten. Every change is kept as history.
 */
export async function updateResource(
  ctx: Ctx,
  idOrCode: string,
  revision: number,
  patch: Partial<ResourceInput>,
): Promise<ResourceView> {
  const current = await store.findResource(ctx.db, idOrCode);
  if (!current) throw new AppError('NOT_FOUND', { objectType: 'resource', id: idOrCode });
  const principal = stewardOf(ctx, current.provider_org_id);
  const currentFields = await store.fieldsOf(ctx.db, [current.id]);
  const next: ResourceRow = { ...current };
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const [input, column] of PATCHABLE) {
    if (patch[input] === undefined) continue;
    const value = typeof patch[input] === 'string' ? (patch[input] as string).trim() : patch[input];
    if (JSON.stringify(value) === JSON.stringify(current[column])) continue;
    changes[input] = { from: current[column], to: value };
    (next as unknown as Record<string, unknown>)[column] = value;
  }
  if (patch.theme !== undefined && patch.theme !== current.theme) {
    const theme = findTheme(patch.theme);
    if (!theme) throw invalidField('VALIDATION_FAILED', 'theme', patch.theme);
    changes.theme = { from: current.theme, to: theme.id };
    next.theme = theme.id;
    next.category = theme.category;
  }
  checkConditions(next.sharing_type, next.sharing_conditions);
  if (patch.relatedCodes) await checkRelated(ctx, patch.relatedCodes);
  let fields: FieldRow[] = currentFields;
  if (patch.fields) {
    const proposed = checkFields(patch.fields);
    // Grades and detections belong to classification: a field that keeps its name keeps them.
    const before = new Map(currentFields.map((f) => [f.name, f]));
    fields = proposed.map((f) => ({
      ...f,
      grade: before.get(f.name)?.grade ?? 'unassessed',
      detector: before.get(f.name)?.detector ?? null,
    }));
    const simplify = (list: FieldRow[]) =>
      list.map(({ name, label, data_type, description, is_key }) => ({
        name,
        label,
        data_type,
        description,
        is_key,
      }));
    if (JSON.stringify(simplify(fields)) !== JSON.stringify(simplify(currentFields))) {
      changes.fields = { from: simplify(currentFields), to: simplify(fields) };
    }
    next.grade = highestGrade(...fields.map((f) => f.grade));
  }
  if (Object.keys(changes).length === 0) return viewOf(ctx, current);
  const updated = await withTx(ctx.db, async (tx) => {
    // The current version belongs to imports and rollbacks, never to a metadata edit.
    // The catalog state belongs to the publication lifecycle, never to a metadata edit.
    const {
      id,
      revision: _r,
      created_at: _c,
      updated_at: _u,
      current_version_id: _v,
      state: _s,
      state_reason: _sr,
      state_changed_by: _sb,
      review_due: _rd,
      ...columns
    } = next;
    const row = await store.updateResource(tx, id, revision, columns, searchDocument(next, fields));
    if (!row) {
      throw new AppError(
        'CONFLICT',
        { field: 'revision', expected: revision, current: current.revision },
        {
          zh: '资源已被他人修改，请刷新后重试',
          en: 'the resource was changed by someone else; reload and try again',
        },
      );
    }
    if (patch.fields) await store.replaceFields(tx, id, fields);
    await store.insertHistory(tx, {
      resource_id: id,
      revision: row.revision,
      actor_id: principal.userId,
      changes: JSON.stringify(changes),
    });
    await auditAs(ctx, tx, 'resource.update', 'resource', id, {
      revision: row.revision,
      changed: Object.keys(changes),
    });
    return row;
  });
  return viewOf(ctx, updated);
}

/** Roles that see every resource in any state: the bureau reviews the catalog, security and audit oversee it. */
const CATALOG_OVERSIGHT: Role[] = ['platform_admin', 'security_officer', 'auditor'];

/**
 * Whose unpublished resources a reader sees: `null` all of them (oversight), an organization id
 * its own, `undefined` none (anonymous harvesters).
 */
function unpublishedVisibleTo(principal: Principal | null | undefined): string | null | undefined {
  if (!principal) return undefined;
  return hasRole(principal, ...CATALOG_OVERSIGHT) ? null : principal.orgId;
}

/**
 * A resource as the reader may see it. Drafts and resources in review are the provider's and the
 * bureau's business: to anyone else they do not exist (404, never a 403 that would confirm them).
 * A withdrawn one stays readable by id or code, since contracts in force still name it.
 */
async function visibleResource(ctx: Ctx, idOrCode: string): Promise<ResourceRow> {
  const principal = authorize(ctx.principal, { roles: 'any', scope: 'catalog:read' });
  const row = await store.findResource(ctx.db, idOrCode);
  const seer = unpublishedVisibleTo(principal);
  const visible =
    row !== undefined &&
    (row.state === 'published' || row.state === 'withdrawn' || seer === null || seer === row.provider_org_id);
  if (!visible) throw new AppError('NOT_FOUND', { objectType: 'resource', id: idOrCode });
  return row;
}

/**
 * The names of the resources among `ids` the caller may see (the same rule as getResource), in one
 * query: what lists naming many resources (the message centre) show instead of ids.
 */
export async function resourceNames(ctx: Ctx, ids: Iterable<string>): Promise<Map<string, string>> {
  const principal = authorize(ctx.principal, { roles: 'any', scope: 'catalog:read' });
  const wanted = [...new Set(ids)];
  if (wanted.length === 0) return new Map();
  const seer = unpublishedVisibleTo(principal);
  const rows = await store.namesOf(ctx.db, wanted);
  return new Map(
    rows
      .filter(
        (r) =>
          r.state === 'published' || r.state === 'withdrawn' || seer === null || seer === r.provider_org_id,
      )
      .map((r) => [r.id, r.name]),
  );
}

/** Every signed-in user may read the published catalog: it is how departments find data to apply for. */
export async function getResource(ctx: Ctx, idOrCode: string): Promise<ResourceView> {
  return viewOf(ctx, await visibleResource(ctx, idOrCode));
}

export async function resourceHistory(ctx: Ctx, idOrCode: string) {
  const row = await visibleResource(ctx, idOrCode);
  const history = await store.history(ctx.db, row.id);
  return history.map((h) => ({
    revision: h.revision,
    actorId: h.actor_id,
    at: h.at.toISOString(),
    changes: h.changes,
  }));
}

export interface SearchInput {
  q?: string | undefined;
  theme?: string | undefined;
  provider?: string | undefined;
  sharingType?: SharingType | undefined;
  openType?: OpenType | undefined;
  grade?: Grade | undefined;
  keyword?: string | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
  /** Skip to this many results (CKAN's `start`); otherwise the cursor decides. */
  offset?: number | undefined;
  withTotal?: boolean | undefined;
  /** Relevance (the default), or latest update / latest publication first. */
  sort?: SearchSort | undefined;
  /** Count the results by theme, sharing type, open type and grade. */
  facets?: boolean | undefined;
  /** Only resources whose grades changed since the bureau's last review. */
  reviewDue?: boolean | undefined;
  /** Only resources in this catalog state (unpublished ones only as far as the caller may see them). */
  state?: ResourceState | undefined;
}

function decodeCursor(cursor: string | undefined): number {
  if (!cursor) return 0;
  const match = /^o:(\d{1,6})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw invalidField('VALIDATION_FAILED', 'cursor', cursor);
  return Number(match[1]);
}

const encodeCursor = (offset: number) => Buffer.from(`o:${offset}`).toString('base64url');

/**
 * Catalog search. `publicOnly` (the open-data views for anonymous harvesters) restricts to
 * resources open to the public; signed-in users see the whole catalog.
 */
export async function searchCatalog(
  ctx: Ctx,
  input: SearchInput,
  options: { publicOnly?: boolean; code?: string } = {},
) {
  if (!options.publicOnly) authorize(ctx.principal, { roles: 'any', scope: 'catalog:read' });
  const limit = input.limit ?? 20;
  const offset = input.offset ?? decodeCursor(input.cursor);
  const query = input.q ? parseQuery(input.q) : undefined;
  const filters = {
    ...input,
    openOnly: options.publicOnly ?? false,
    code: options.code,
    visibleTo: options.publicOnly ? undefined : unpublishedVisibleTo(ctx.principal),
  };
  const [rows, total, facets] = await Promise.all([
    store.search(ctx.db, query, filters, { offset, limit }, input.sort),
    input.withTotal ? store.count(ctx.db, query, filters) : Promise.resolve(undefined),
    input.facets ? store.facets(ctx.db, query, filters) : Promise.resolve(undefined),
  ]);
  const pageRows = rows.slice(0, limit);
  const fields = await store.fieldsOf(
    ctx.db,
    pageRows.map((r) => r.id),
  );
  const byResource = new Map<string, FieldRow[]>();
  for (const f of fields) byResource.set(f.resource_id, [...(byResource.get(f.resource_id) ?? []), f]);
  return {
    items: pageRows.map((r) => ({
      ...resourceView(r, byResource.get(r.id) ?? [], { id: r.provider_org_id, name: r.provider_name }),
      score: Number(r.score),
      matchedAllTerms: r.strict_match,
    })),
    nextCursor: rows.length > limit ? encodeCursor(offset + limit) : null,
    terms: query?.terms ?? [],
    total,
    ...(facets ? { facets } : {}),
  };
}

// ------------------------------------------------------------------------------ publication

export type PublicationEvent = 'submit' | 'return' | 'publish' | 'withdraw' | 'reconfirm';

/**
 * Catalog governance (issue 18 item 6), as the national catalog rules run it: a department's
 * steward drafts a resource and submits it; the data bureau (platform admin) reviews it and
 * publishes it or returns it with a reason; a published resource can be withdrawn (by its provider
 * or the bureau) and, corrected, submitted again. Only published resources are searched by other
 * organizations and take applications.
 */
export const RESOURCES: Lifecycle<ResourceState, PublicationEvent> = {
  objectType: 'resource',
  table: 'resources',
  transitions: [
    { from: ['draft', 'withdrawn'], event: 'submit', to: 'in_review' },
    { from: ['in_review'], event: 'return', to: 'draft' },
    { from: ['in_review'], event: 'publish', to: 'published' },
    { from: ['published'], event: 'withdraw', to: 'withdrawn' },
    // After a regrade (review_due): the bureau looks again and confirms; it stays published.
    { from: ['published'], event: 'reconfirm', to: 'published' },
  ],
};

export interface PublicationInput {
  reason?: string | undefined;
  acceptUnassessed?: boolean | undefined;
}

/**
 * What stands between a resource and publication: no fields at all, an open classification flag
 * (an import contradicted the declared grades: a steward decides first), and — unless the bureau
 * accepts them, knowing they are served under the strictest default — fields still unassessed.
 */
/** What stands between a resource and review; read under its row lock (see changePublication). */
async function readiness(db: Executor, resourceId: string) {
  const [fields, flag] = await Promise.all([
    store.fieldsOf(db, [resourceId]),
    store.gradeFlag(db, resourceId),
  ]);
  return {
    noFields: fields.length === 0,
    flagged: flag !== null,
    unassessed: fields.filter((f) => f.grade === 'unassessed').map((f) => f.name),
  };
}

function notReady(reason: string, details: Record<string, unknown> = {}) {
  const zh: Record<string, string> = {
    no_fields: '资源尚无字段，不能提交审核',
    grade_flag: '分级存在待处理的冲突（导入发现与登记分级不符），请先在分类分级中处理',
    unassessed_fields: '存在未定级字段；请先定级，或确认按未定级发布（按最严格的默认规则脱敏或不提供）',
  };
  const en: Record<string, string> = {
    no_fields: 'the resource has no fields yet; it cannot be submitted',
    grade_flag: 'an import contradicted the declared grades; resolve it under classification first',
    unassessed_fields:
      'some fields are unassessed; grade them, or confirm publishing them unassessed (served under the strictest default: masked or withheld)',
  };
  return new AppError('RESOURCE_NOT_READY', { reason, ...details }, { zh: zh[reason]!, en: en[reason]! });
}

function needReason(input: PublicationInput): string {
  const reason = input.reason?.trim() ?? '';
  if (reason.length < 2) {
    throw new AppError(
      'VALIDATION_FAILED',
      { field: 'reason' },
      { zh: '请说明理由', en: 'state the reason' },
    );
  }
  return reason;
}

/** Moves a resource through its publication lifecycle (see RESOURCES); returns it as it is now. */
export async function changePublication(
  ctx: Ctx,
  idOrCode: string,
  event: PublicationEvent,
  input: PublicationInput = {},
): Promise<ResourceView> {
  const row = await visibleResource(ctx, idOrCode);
  let principal: Principal;
  if (event === 'submit') principal = stewardOf(ctx, row.provider_org_id);
  else if (event === 'withdraw') {
    principal = authorize(ctx.principal, {
      roles: ['data_steward', 'platform_admin'],
      scope: 'catalog:write',
      orgId: row.provider_org_id,
      crossOrg: ['platform_admin'],
    });
  } else {
    principal = authorize(ctx.principal, { roles: ['platform_admin'], scope: 'catalog:write' });
    // Four eyes: whoever submitted it (someone holding both roles) does not also decide it, and
    // whoever changed its grades does not also confirm the change.
    if (row.state === 'in_review' && row.state_changed_by === principal.userId) {
      throw new AppError(
        'FORBIDDEN',
        { reason: 'own_submission' },
        { zh: '不能审核自己提交的资源', en: 'you cannot review your own submission' },
      );
    }
    if (event === 'reconfirm' && row.review_due?.by === principal.userId) {
      throw new AppError(
        'FORBIDDEN',
        { reason: 'own_regrade' },
        { zh: '不能确认自己所做的分级变更', en: 'you cannot confirm a grade change you made' },
      );
    }
  }
  if (event === 'reconfirm' && !row.review_due) {
    throw new AppError(
      'INVALID_TRANSITION',
      { objectType: 'resource', state: row.state, event, reason: 'no_review_due' },
      { zh: '该资源的分级没有变更，无需重新确认', en: 'its grades have not changed since the last review' },
    );
  }
  // An event the lifecycle does not allow from here is named as such before any other refusal.
  nextState(RESOURCES.transitions, RESOURCES.objectType, row.state, event);
  const reason = event === 'return' || event === 'withdraw' ? needReason(input) : null;
  const detail: Record<string, unknown> = { code: row.code, ...(reason ? { reason } : {}) };
  const updated = await withTx(ctx.db, async (tx) => {
    if (event === 'submit' || event === 'publish' || event === 'reconfirm') {
      // Readiness is read under the row lock every grade decision takes (classification's scans
      // and confirmations), so an import that raises a grade flag either commits first and is
      // seen here, or waits for this transition — it cannot slip between the check and the COMMIT.
      await store.lockResource(tx, row.id);
      const ready = await readiness(tx, row.id);
      if (ready.noFields) throw notReady('no_fields');
      if (ready.flagged) throw notReady('grade_flag');
      if (event !== 'submit' && ready.unassessed.length > 0) {
        if (!input.acceptUnassessed) throw notReady('unassessed_fields', { fields: ready.unassessed });
        detail.acceptedUnassessed = ready.unassessed;
      }
    }
    // A review (publishing, or confirming again) settles any grade change before it; a withdrawn
    // resource is reviewed in full before it is published again.
    const reviewed =
      event === 'publish' || event === 'reconfirm' || event === 'withdraw' ? { review_due: null } : {};
    return applyTransition<ResourceState, PublicationEvent, ResourceRow>(tx, RESOURCES, row, event, {
      set: { state_reason: reason, state_changed_by: principal.userId, updated_at: new Date(), ...reviewed },
      audit: (tx) => auditAs(ctx, tx, `resource.${event}`, 'resource', row.id, detail),
    });
  });
  return viewOf(ctx, updated);
}

/**
 * What classification writes into the catalog: effective field grades, the resource grade (a new
 * revision with its history row) and the flag. Called inside the classification's own transaction,
 * after it authorized the caller; the catalog owns these columns and writes them only here.
 */
export const grading = {
  /** Locks the resource row for the rest of the transaction (grade decisions must not interleave). */
  lockResource: store.lockResource,
  flag: store.gradeFlag,
  fields: store.gradingFields,
  setFieldGrades: store.setFieldGrades,
  setResourceGrade: store.setResourceGrade,
  setFlag: store.setGradeFlag,
};

/** Makes a loaded version the resource's current one (ingest calls it in the transaction that completes or activates the version). */
export function setCurrentVersion(tx: Executor, resourceId: string, versionId: string): Promise<unknown> {
  return store.setCurrentVersion(tx, resourceId, versionId);
}

// ------------------------------------------------- what other capabilities add to the open-data views

/** A capability's statements about datasets for the DCAT view (JSON-LD properties) and CKAN's extras. */
export interface CatalogAnnex {
  dcat?: DatasetAnnex;
  ckanExtras?: Array<{ key: string; value: string }>;
}
export type CatalogAnnexProvider = (
  ctx: Ctx,
  base: string,
  resources: ResourceView[],
) => Promise<Map<string, CatalogAnnex>>;
const annexProviders = new Set<CatalogAnnexProvider>();

/**
 * Lets a capability that depends on the catalog add to its DCAT and CKAN views (quality adds its
 * DQV measurements) without the catalog importing it. Registering the same function again is a no-op.
 */
export function addCatalogAnnex(provider: CatalogAnnexProvider): void {
  annexProviders.add(provider);
}

/** The annexes of every registered provider, merged per resource id. */
export async function catalogAnnexes(ctx: Ctx, base: string, resources: ResourceView[]) {
  const merged = new Map<string, Required<CatalogAnnex>>();
  for (const provider of annexProviders) {
    const annexes = await provider(ctx, base, resources);
    for (const [id, annex] of annexes) {
      const into = merged.get(id) ?? { dcat: {}, ckanExtras: [] };
      Object.assign(into.dcat, annex.dcat ?? {});
      into.ckanExtras.push(...(annex.ckanExtras ?? []));
      merged.set(id, into);
    }
  }
  return merged;
}

/**
 * The providers' type, administrative level and GB/T 2260 region, for DCAT-AP publisher and spatial
 * (a township office's is its county: towns are not on GB/T 2260).
 */
export async function providerFacts(ctx: Ctx, ids: string[]): Promise<Map<string, ProviderFacts>> {
  const rows = await store.providers(ctx.db, [...new Set(ids)]);
  return new Map(
    rows.map((o) => [
      o.id,
      {
        type: o.type,
        level: o.level,
        regionCode: o.region_code && gbt2260Part(o.region_code),
        regionName: o.region_code ? (fullRegionName(gbt2260Part(o.region_code)) ?? null) : null,
      },
    ]),
  );
}
