import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers.ts';
import { sharingFixture } from './sharing-fixture.ts';

/**
 * The message centre through its HTTP interface: a steward's to-do for an application to their
 * organization's resource (and not another organization's steward's), the applicant's department
 * told of the approval and of its contract ending soon, read marks that are each user's own and
 * outlive the session, and bodies the API refuses with a clear message.
 */
let t: TestApp;
let fx: ReturnType<typeof sharingFixture>;
let code: string;
let resourceName: string;
const tokens = {} as { otherSteward: string; civilSteward: string };

interface Message {
  key: string;
  kind: string;
  todo: boolean;
  params: Record<string, string | number>;
  to: string;
  at: string | null;
  read: boolean;
}
interface MessagePage {
  items: Message[];
  nextCursor: string | null;
  total: number;
  unreadCount: number;
}

beforeAll(async () => {
  t = await startTestApp();
  fx = sharingFixture(t);
  await fx.login();
  tokens.otherSteward = await t.login('steward.psb');
  tokens.civilSteward = await t.login('steward.civil');
  resourceName = '门诊就诊明细（消息中心）';
  code = await fx.resource(resourceName, 'conditional');
}, 120_000);
afterAll(() => t?.close());

async function messages(token: string, query = ''): Promise<MessagePage> {
  const res = await fx.call('GET', `/v1/messages${query}`, token);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}
const find = (page: MessagePage, key: string) => page.items.find((m) => m.key === key);
const read = (token: string, payload: unknown) => fx.call('POST', '/v1/messages/read', token, payload);

describe('messages', () => {
  it('gives the provider’s steward a to-do for an application to its resource, not another organization’s steward', async () => {
    const app = await fx.apply(code);
    const steward = await messages(fx.tokens.steward);
    const todo = find(steward, `decide:${app.id}`);
    expect(todo).toMatchObject({
      kind: 'application_decide',
      todo: true,
      read: false,
      to: `/applications?id=${app.id}`,
      params: { resource: resourceName, org: '云岚市民政局' },
    });
    expect(todo!.at).toBe(app.submittedAt);
    expect(steward.unreadCount).toBeGreaterThanOrEqual(1);

    const other = await messages(tokens.otherSteward);
    expect(other.items.map((m) => m.key)).not.toContain(`decide:${app.id}`);
    // The applicant's department has nothing to decide on its own application.
    expect((await messages(fx.tokens.consumer)).items.map((m) => m.key)).not.toContain(`decide:${app.id}`);
  });

  it('tells the applicant’s department of the approval and of the contract ending within 30 days', async () => {
    const app = await fx.apply(code, { requestedTo: new Date(Date.now() + 20 * 86_400_000).toISOString() });
    let res = await fx.call('POST', `/v1/applications/${app.id}/approve`, fx.tokens.steward, {});
    expect(res.statusCode, res.body).toBe(200);
    if (res.json().state === 'security_review') {
      // The security officer has it to review now.
      expect(find(await messages(fx.tokens.security), `security:${app.id}`)).toMatchObject({
        kind: 'application_security_review',
        params: { resource: resourceName },
      });
      res = await fx.call('POST', `/v1/applications/${app.id}/approve`, fx.tokens.security, {});
      expect(res.statusCode, res.body).toBe(200);
    }
    const contractId = res.json().contractId as string;
    expect(res.json().state).toBe('approved');

    const consumer = await messages(fx.tokens.consumer);
    expect(find(consumer, `approved:${app.id}`)).toMatchObject({
      kind: 'application_approved',
      todo: false,
      read: false,
      to: `/contracts/${contractId}`,
      params: { resource: resourceName },
    });
    const expiring = consumer.items.find((m) => m.kind === 'contract_expiring');
    expect(expiring).toMatchObject({ to: `/contracts/${contractId}`, params: { resource: resourceName } });
    // No longer the steward's to-do; nor is the approval news to the provider.
    const steward = await messages(fx.tokens.steward);
    expect(steward.items.map((m) => m.key)).not.toContain(`decide:${app.id}`);
    expect(steward.items.map((m) => m.key)).not.toContain(`approved:${app.id}`);
    // Filtered by kind.
    const approvals = await messages(fx.tokens.consumer, '?kind=application_approved');
    expect(approvals.items.length).toBeGreaterThan(0);
    expect(approvals.items.every((m) => m.kind === 'application_approved')).toBe(true);
    expect(approvals.total).toBe(approvals.items.length);
  });

  it('keeps read marks per user, across sessions, and counts unread ones', async () => {
    const before = await messages(fx.tokens.consumer);
    const approved = before.items.find((m) => m.kind === 'application_approved' && !m.read)!;
    expect(approved).toBeDefined();

    const res = await read(fx.tokens.consumer, { keys: [approved.key, 'approved:app_unknown'] });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ marked: 1, unreadCount: before.unreadCount - 1 });
    // Idempotent: marking again changes nothing.
    expect((await read(fx.tokens.consumer, { keys: [approved.key] })).json()).toEqual({
      marked: 0,
      unreadCount: before.unreadCount - 1,
    });

    // A new session of the same user sees it read; the unread filter leaves it out.
    const again = await t.login('consumer.civil');
    const after = await messages(again);
    expect(after.unreadCount).toBe(before.unreadCount - 1);
    expect(find(after, approved.key)!.read).toBe(true);
    expect((await messages(again, '?unread=true')).items.map((m) => m.key)).not.toContain(approved.key);

    // Another user of the same department still has it unread.
    expect(find(await messages(tokens.civilSteward), approved.key)).toMatchObject({ read: false });

    // All current ones: nothing unread is left, for this user only.
    const all = await read(again, {});
    expect(all.statusCode, all.body).toBe(200);
    expect(all.json().unreadCount).toBe(0);
    const none = await messages(fx.tokens.consumer);
    expect(none.unreadCount).toBe(0);
    // Bounded: the marks are those of the user's current messages, no more.
    const me = (await fx.call('GET', '/v1/me', again)).json().user.id as string;
    const marks = await t.database.db
      .selectFrom('message_reads')
      .select('key')
      .where('user_id', '=', me)
      .execute();
    expect(marks.map((m) => m.key).sort()).toEqual(none.items.map((m) => m.key).sort());
    expect((await messages(tokens.civilSteward)).unreadCount).toBeGreaterThan(0);
  });

  it('gives the data bureau a catalog review of a submitted resource, not the provider’s steward', async () => {
    const name = '门诊预约明细（消息中心目录审核）';
    const created = await fx.call('POST', '/v1/resources', fx.tokens.steward, {
      name,
      theme: 'health',
      updateCycle: 'monthly',
      sharingType: 'conditional',
      sharingConditions: '依法履职需要',
      openType: 'not_open',
      fields: [{ name: 'record_no', label: '记录编号', dataType: 'text', isKey: true }],
    });
    expect(created.statusCode, created.body).toBe(201);
    const { id } = created.json() as { id: string };
    const submitted = await fx.call('POST', `/v1/resources/${id}/submit`, fx.tokens.steward, {});
    expect(submitted.statusCode, submitted.body).toBe(200);

    const admin = await t.login('admin');
    const review = (await messages(admin, '?kind=catalog_review')).items.find(
      (m) => m.to === `/catalog/${id}`,
    );
    expect(review).toMatchObject({
      kind: 'catalog_review',
      todo: true,
      read: false,
      params: { resource: name, provider: '云岚市卫生健康委员会' },
    });
    const steward = await messages(fx.tokens.steward);
    expect(steward.items.filter((m) => m.kind === 'catalog_review')).toEqual([]);
  });

  it('refuses bad bodies and queries with a clear message, and anonymous callers', async () => {
    for (const payload of [{ keys: [{}] }, { keys: [] }, { keys: ['x'.repeat(201)] }, { all: true }]) {
      const res = await read(fx.tokens.consumer, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      const body = res.json();
      expect(body.error.code).toBe('VALIDATION_FAILED');
      expect(body.error.message).toMatch(/keys|all/);
    }
    const kind = await fx.call('GET', '/v1/messages?kind=gossip', fx.tokens.consumer);
    expect(kind.statusCode).toBe(400);
    expect(kind.json().error.message).toMatch(/kind/);
    const cursor = await fx.call('GET', '/v1/messages?cursor=nonsense', fx.tokens.consumer);
    expect(cursor.statusCode).toBe(400);
    expect(cursor.json().error.message).toMatch(/cursor/);
    expect((await t.request({ method: 'GET', url: '/v1/messages' })).statusCode).toBe(401);
  });

  it('pages newest first with a cursor', async () => {
    const first = await messages(fx.tokens.security, '?limit=1');
    expect(first.items).toHaveLength(1);
    if (first.total > 1) {
      expect(first.nextCursor).not.toBeNull();
      const second = await messages(fx.tokens.security, `?limit=1&cursor=${first.nextCursor}`);
      expect(second.items[0]!.key).not.toBe(first.items[0]!.key);
      const [a, b] = [first.items[0]!.at, second.items[0]!.at];
      if (a !== null && b !== null) expect(a >= b).toBe(true);
    }
  });
});
