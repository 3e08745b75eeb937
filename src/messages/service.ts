import * as catalog from '../catalog/service.ts';
import { type AccessRule, authorize, hasRole, type Principal } from '../core/auth.ts';
import type { Ctx } from '../core/context.ts';
import { withTx } from '../core/db.ts';
import { AppError } from '../core/errors.ts';
import { type ApplicationState, STAFF_ROLES } from '../core/tables.ts';
import * as identity from '../identity/service.ts';
import * as indicators from '../indicators/service.ts';
import * as monitor from '../monitor/service.ts';
import * as sharing from '../sharing/service.ts';
import type { MessageKind } from './schema.ts';
import { messagesStore as store } from './store.ts';

export { PUSHED_KINDS, type PushResult, pushMessages } from './push.ts';

/**
 * The message centre (issue 18): what waits for the signed-in user and what happened to their
 * organization's own business, computed on each request from the other capabilities' services —
 * each called as the user, so its own authorization decides what the user sees here, never more
 * than its pages show. Only the read marks are stored (message_reads), per user and message key.
 * A key names the message's occasion (an application's state, a resource's submission, a report's
 * period, the newest open alert), so a new occasion is a new, unread message.
 */

/** Staff at the console or their API keys; each source further needs its own scope and roles. */
export const MESSAGES_READ: AccessRule = { roles: STAFF_ROLES, scope: 'identity:read' };

/** How long a decision on the organization's own application stays in its messages. */
export const UPDATE_DAYS = 30;
/** A contract of the organization's ending within this many days is announced. */
export const EXPIRY_DAYS = 30;
/** The most items read from one paged source (applications, alerts, contracts). */
const SOURCE_MAX = 1000;
const DAY_MS = 86_400_000;

const SHARING_READ: AccessRule = { roles: 'any', scope: 'sharing' };
const CATALOG_READ: AccessRule = { roles: 'any', scope: 'catalog:read' };

export interface Message {
  key: string;
  kind: MessageKind;
  todo: boolean;
  params: Record<string, string | number>;
  to: string;
  at: string | null;
}
export type MessageView = Message & { read: boolean };

/** Whether the principal passes `rule` — the one authorization decision, asked instead of enforced. */
function may(principal: Principal, rule: AccessRule): boolean {
  try {
    authorize(principal, rule);
    return true;
  } catch (error) {
    if (error instanceof AppError && error.code === 'FORBIDDEN') return false;
    throw error;
  }
}

async function collect<T extends { id: string }>(
  page: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor: string | null }>,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const next = await page(cursor);
    items.push(...next.items);
    cursor = next.nextCursor ?? undefined;
  } while (cursor && items.length < SOURCE_MAX);
  return items;
}

const enc = encodeURIComponent;

async function applicationMessages(ctx: Ctx, principal: Principal, now: Date): Promise<Message[]> {
  if (!may(principal, SHARING_READ)) return [];
  const since = now.getTime() - UPDATE_DAYS * DAY_MS;
  const list = (state: ApplicationState, own?: boolean) =>
    collect((cursor) =>
      sharing.listApplications(ctx, {
        state,
        limit: 200,
        cursor,
        // The organization's own decided applications of the window, asked of the database
        // rather than filtered from everything an administrator or officer may see.
        ...(own ? { consumer: 'mine' as const, updatedSince: new Date(since) } : {}),
      }),
    );
  const security = hasRole(principal, 'security_officer');
  const steward = hasRole(principal, 'data_steward');
  const foreign = (a: sharing.ApplicationView) => a.consumerOrgId !== principal.orgId;
  // The same to-dos the applications page offers: a steward decides on applications to the
  // organization's resources (listApplications shows a steward only their organization's), a
  // security officer reviews those the steward sent on and may decide too.
  const [submitted, securityReview, approved, rejected] = await Promise.all([
    security || steward ? list('submitted') : [],
    security ? list('security_review') : [],
    list('approved', true),
    list('rejected', true),
  ]);
  const decidedAt = (a: sharing.ApplicationView) => a.decisions.at(-1)?.at ?? a.updatedAt;
  const mine = [...approved, ...rejected].filter(
    (a) => a.consumerOrgId === principal.orgId && Date.parse(decidedAt(a)) >= since,
  );
  const todos = [...submitted.filter(foreign), ...securityReview];
  const resourceIds = [...todos, ...mine].map((a) => a.resourceId);
  const names = may(principal, CATALOG_READ) ? await catalog.resourceNames(ctx, resourceIds) : new Map();
  const orgs = await identity.organizationNames(
    ctx,
    todos.map((a) => a.consumerOrgId),
  );
  const resource = (a: sharing.ApplicationView) => names.get(a.resourceId) ?? a.resourceId;
  const toApplication = (a: sharing.ApplicationView) => `/applications?id=${enc(a.id)}`;
  return [
    ...todos.map(
      (a): Message => ({
        key: `${a.state === 'security_review' ? 'security' : 'decide'}:${a.id}`,
        kind: a.state === 'security_review' ? 'application_security_review' : 'application_decide',
        todo: true,
        params: { resource: resource(a), org: orgs.get(a.consumerOrgId) ?? a.consumerOrgId },
        to: toApplication(a),
        at: a.submittedAt,
      }),
    ),
    ...mine.map(
      (a): Message => ({
        key: `${a.state}:${a.id}`,
        kind: a.state === 'approved' ? 'application_approved' : 'application_rejected',
        todo: false,
        params: { resource: resource(a) },
        to: a.state === 'approved' && a.contractId ? `/contracts/${enc(a.contractId)}` : toApplication(a),
        at: decidedAt(a),
      }),
    ),
  ];
}

async function contractMessages(ctx: Ctx, principal: Principal, now: Date): Promise<Message[]> {
  if (!may(principal, SHARING_READ)) return [];
  const horizon = now.getTime() + EXPIRY_DAYS * DAY_MS;
  const contracts = (
    await collect((cursor) => sharing.listContracts(ctx, { state: 'active', limit: 200, cursor }))
  ).filter((c) => {
    const end = Date.parse(c.validTo);
    return (
      c.consumerOrgId === principal.orgId && c.state === 'active' && end > now.getTime() && end <= horizon
    );
  });
  const names = may(principal, CATALOG_READ)
    ? await catalog.resourceNames(
        ctx,
        contracts.map((c) => c.resourceId),
      )
    : new Map();
  return contracts.map((c) => ({
    key: `expiring:${c.id}:${c.validTo}`,
    kind: 'contract_expiring',
    todo: false,
    params: { resource: names.get(c.resourceId) ?? c.resourceId, date: c.validTo },
    to: `/contracts/${enc(c.id)}`,
    // Announced from the day it came within EXPIRY_DAYS of its end (or its start, if later).
    at: new Date(
      Math.max(Date.parse(c.createdAt), Date.parse(c.validTo) - EXPIRY_DAYS * DAY_MS),
    ).toISOString(),
  }));
}

async function reportMessages(ctx: Ctx, principal: Principal): Promise<Message[]> {
  if (!may(principal, indicators.REPORTERS)) return [];
  let due: Awaited<ReturnType<typeof indicators.reminders>>;
  try {
    due = await indicators.reminders(ctx, {});
  } catch (error) {
    // An organization that is no reporting unit (no division code of a level) has no reports.
    if (error instanceof AppError && error.code === 'VALIDATION_FAILED') return [];
    throw error;
  }
  return due.items.map((r) => ({
    key: `${r.overdue ? 'overdue' : 'report'}:${r.formCode}:${r.period}`,
    kind: r.overdue ? 'report_overdue' : 'report_due',
    todo: true,
    params: { form: r.nameZh, formEn: r.nameEn, period: r.period, date: r.dueOn },
    to: `/indicators?unit=${enc(due.unitCode)}&period=${enc(r.period)}`,
    at: null,
  }));
}

async function catalogMessages(ctx: Ctx, principal: Principal): Promise<Message[]> {
  // The data bureau reviews what departments submit to the catalog, and looks again at published
  // resources whose grades changed.
  if (!hasRole(principal, 'platform_admin') || !may(principal, CATALOG_READ)) return [];
  const [inReview, regraded] = await Promise.all([
    catalog.searchCatalog(ctx, { state: 'in_review', limit: 100, sort: 'updated' }),
    catalog.searchCatalog(ctx, { reviewDue: true, limit: 100, sort: 'updated' }),
  ]);
  return [
    ...inReview.items.map(
      (r): Message => ({
        key: `review:${r.id}:${r.updatedAt}`,
        kind: 'catalog_review',
        todo: true,
        params: { resource: r.name, provider: r.provider.name },
        to: `/catalog/${enc(r.id)}`,
        at: r.updatedAt,
      }),
    ),
    ...regraded.items.map(
      (r): Message => ({
        key: `regraded:${r.id}:${r.reviewDue?.since ?? r.updatedAt}`,
        kind: 'catalog_regraded',
        todo: true,
        params: { resource: r.name, provider: r.provider.name },
        to: `/catalog/${enc(r.id)}`,
        at: r.reviewDue?.since ?? r.updatedAt,
      }),
    ),
  ];
}

async function alertMessages(ctx: Ctx, principal: Principal): Promise<Message[]> {
  if (!may(principal, monitor.MONITOR_READ)) return [];
  const open = await collect((cursor) => monitor.listAlerts(ctx, { state: 'open', limit: 200, cursor }));
  if (open.length === 0) return [];
  // One message for them all; a newly opened alert makes it a new message (one resolved does not).
  const newest = open.reduce((a, b) => (b.createdAt > a.createdAt ? b : a));
  return [
    {
      key: `alerts:${newest.id}`,
      kind: 'alerts_open',
      todo: true,
      params: { count: open.length },
      to: '/alerts',
      at: newest.createdAt,
    },
  ];
}

/** Where each kind of message comes from. */
const SOURCES: ReadonlyArray<{
  kinds: readonly MessageKind[];
  messages: (ctx: Ctx, principal: Principal, now: Date) => Promise<Message[]>;
}> = [
  {
    kinds: [
      'application_decide',
      'application_security_review',
      'application_approved',
      'application_rejected',
    ],
    messages: applicationMessages,
  },
  { kinds: ['report_due', 'report_overdue'], messages: reportMessages },
  { kinds: ['catalog_review', 'catalog_regraded'], messages: catalogMessages },
  { kinds: ['alerts_open'], messages: alertMessages },
  { kinds: ['contract_expiring'], messages: contractMessages },
];

/**
 * Every current message of the user (of the given kinds only, asking only their sources), newest
 * first (deadlines without a time first). `principal` is the user's: each source is called as them.
 */
export async function currentMessages(
  ctx: Ctx,
  principal: Principal,
  now: Date,
  kinds?: ReadonlySet<MessageKind>,
): Promise<Message[]> {
  const sources = kinds ? SOURCES.filter((s) => s.kinds.some((k) => kinds.has(k))) : SOURCES;
  const groups = await Promise.all(sources.map((s) => s.messages(ctx, principal, now)));
  const all = groups.flat().filter((m) => !kinds || kinds.has(m.kind));
  // A key once: an application both to decide and to review is listed by its state only.
  const unique = [...new Map(all.map((m) => [m.key, m])).values()];
  return unique.sort(
    (a, b) =>
      (a.at === null ? 0 : 1) - (b.at === null ? 0 : 1) ||
      (b.at ?? '').localeCompare(a.at ?? '') ||
      a.key.localeCompare(b.key),
  );
}

function decodeCursor(cursor: string | undefined): number {
  if (!cursor) return 0;
  const match = /^o:(\d{1,6})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match)
    throw new AppError(
      'VALIDATION_FAILED',
      { field: 'cursor' },
      { zh: '分页游标无效', en: 'the cursor is not one this list gave' },
    );
  return Number(match[1]);
}
const encodeCursor = (offset: number) => Buffer.from(`o:${offset}`).toString('base64url');

export interface MessageQuery {
  kind?: MessageKind | undefined;
  unread?: boolean | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

export async function listMessages(ctx: Ctx, query: MessageQuery, now = new Date()) {
  const principal = authorize(ctx.principal, MESSAGES_READ);
  const all = await currentMessages(ctx, principal, now);
  const read = await store.readKeys(
    ctx.db,
    principal.userId,
    all.map((m) => m.key),
  );
  const views: MessageView[] = all.map((m) => ({ ...m, read: read.has(m.key) }));
  const matching = views.filter(
    (m) => (query.kind === undefined || m.kind === query.kind) && (query.unread !== true || !m.read),
  );
  const limit = query.limit ?? 50;
  const offset = decodeCursor(query.cursor);
  const items = matching.slice(offset, offset + limit);
  return {
    items,
    nextCursor: offset + limit < matching.length ? encodeCursor(offset + limit) : null,
    total: matching.length,
    unreadCount: views.filter((m) => !m.read).length,
  };
}

/**
 * Marks the given messages read (all current ones without `keys`); keys that are no current
 * message of the user are passed over. Marks of messages that are gone are dropped here, so the
 * table holds at most the user's current messages. Marking again changes nothing.
 */
export async function markRead(ctx: Ctx, keys: readonly string[] | undefined, now = new Date()) {
  const principal = authorize(ctx.principal, MESSAGES_READ);
  const current = (await currentMessages(ctx, principal, now)).map((m) => m.key);
  const currentSet = new Set(current);
  const target = keys === undefined ? current : [...new Set(keys)].filter((k) => currentSet.has(k));
  const already = await store.readKeys(ctx.db, principal.userId, current);
  const fresh = target.filter((k) => !already.has(k));
  await withTx(ctx.db, async (tx) => {
    await store.markRead(tx, principal.userId, fresh);
    await store.pruneExcept(tx, principal.userId, current);
  });
  const readNow = new Set([...already, ...fresh]);
  return { marked: fresh.length, unreadCount: current.filter((k) => !readNow.has(k)).length };
}
