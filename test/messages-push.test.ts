import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboxTuning } from '../src/core/outbox.ts';
import { pushMessages } from '../src/messages/service.ts';
import { makeUscc } from '../src/standards/uscc.ts';
import { DEMO_PASSWORD, secondNode, startTestApp, type TestApp } from './helpers.ts';

/**
 * Issue #23's reminders pushed outside the platform: the push job queues each reporter's due and
 * overdue reports once per user and message in its outbox and posts them to a messaging gateway —
 * here a real HTTP server on 127.0.0.1 that can fail, hang or answer. The job is called directly
 * (no timers), twice, and on two nodes at once (two connection pools on a PostgreSQL server).
 */

const PUBLIC_URL = 'https://shutong.example.gov.cn';
const DISTRICT = '330106';

// ---------------------------------------------------------------- a messaging gateway on 127.0.0.1

interface Post {
  id: string;
  body: {
    type: string;
    recipient: { userId: string; displayName: string; organization: { id: string; name: string } };
    message: { kind: string; key: string; zh: string; en: string; link: string };
    attempt: number;
  };
  answered: 'ok' | 'fail' | 'hang';
}
const posts: Post[] = [];
/** How the gateway answers a post of a message key, the how-manieth time it sees it for that user. */
let answer: (key: string, nth: number) => Post['answered'] = () => 'ok';
const hanging: ServerResponse[] = [];
let gateway: Server;

async function startGateway(): Promise<string> {
  gateway = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Post['body'];
      const nth = posts.filter(
        (p) => p.body.message.key === body.message.key && p.body.recipient.userId === body.recipient.userId,
      ).length;
      const answered = answer(body.message.key, nth);
      posts.push({ id: String(req.headers['x-shutong-message']), body, answered });
      if (answered === 'hang') hanging.push(res);
      else res.writeHead(answered === 'ok' ? 200 : 500).end();
    });
  });
  await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/messages`;
}

// ---------------------------------------------------------------- the platform

let t: TestApp;
let other: Awaited<ReturnType<typeof secondNode>>;
let admin: string;
let grid: string;
let gridUser: { id: string; displayName: string; orgId: string; orgName: string };
const logs: Array<{ level: string; obj: object; msg: string }> = [];
const log = {
  info: (obj: object, msg: string) => logs.push({ level: 'info', obj, msg }),
  warn: (obj: object, msg: string) => logs.push({ level: 'warn', obj, msg }),
};
// Short timeouts and pauses, and a failed row claimable again at once, so a test takes seconds.
const TUNING: OutboxTuning = { timeoutMs: 400, pausesMs: [50, 50], batch: 20, retryAfterSeconds: [0] };
const push = (db = t.database.db) => pushMessages(db, t.config, log, TUNING);

const post = async (url: string, token: string, payload?: object) => {
  const res = await t.request({ method: 'POST', url, token, ...(payload ? { payload } : {}) });
  expect(res.statusCode, res.body).toBeLessThan(300);
  return res.json();
};

beforeAll(async () => {
  const url = await startGateway();
  t = await startTestApp({ MESSAGES_WEBHOOK_URL: url, PUBLIC_URL });
  other = await secondNode(t);
  admin = await t.login('admin');
  const orgName = '云岚市西湖区数据局（推送）';
  const org = await post('/v1/organizations', admin, {
    name: orgName,
    type: 'government_department',
    level: 'county',
    regionCode: DISTRICT,
    uscc: makeUscc('1', '1', DISTRICT, '20261207'),
  });
  const user = await post('/v1/users', admin, {
    orgId: org.id,
    username: 'grid.push',
    displayName: '推送 网格员',
    password: DEMO_PASSWORD,
    roles: ['data_steward'],
  });
  gridUser = { id: user.id, displayName: '推送 网格员', orgId: org.id, orgName };
  grid = await t.login('grid.push');
  const civil = await t.login('steward.civil');
  await post('/v1/indicators', civil, {
    code: 'PUSHED',
    nameZh: '区级月度走访户数（推送）',
    nameEn: 'PUSHED',
    definition: '区级网格员季度入户走访户数（推送测试）',
    unit: '户',
    dataType: 'integer',
    period: 'quarter',
    level: 'district',
    source: { kind: 'reported' },
    rule: { min: 0 },
  });
}, 120_000);

afterAll(async () => {
  for (const res of hanging) res.destroy();
  await other?.close();
  await t?.close();
  await new Promise((resolve) => gateway.close(resolve));
});

/** Issues a quarterly district form for 2025: its four reports are overdue for the district. */
async function issueForm(code: string) {
  await post('/v1/forms', admin, {
    code,
    nameZh: `区级走访季报 ${code}`,
    nameEn: `District visits ${code}`,
    year: 2025,
    period: 'quarter',
    level: 'district',
    basis: 'catalogue',
    indicators: ['PUSHED'],
    dueWorkingDays: 5,
  });
  await post(`/v1/forms/${code}/issue`, admin);
  return ['Q1', 'Q2', 'Q3', 'Q4'].map((q) => `overdue:${code}:2025-${q}`);
}

const postsOf = (key: string) =>
  posts.filter((p) => p.body.recipient.userId === gridUser.id && p.body.message.key === key);
const rowOf = (key: string) =>
  t.database.db
    .selectFrom('message_pushes')
    .selectAll()
    .where('user_id', '=', gridUser.id)
    .where('key', '=', key)
    .executeTakeFirst();

describe('reminders pushed to the messaging gateway', () => {
  it('posts each reminder once per user, however often and on however many nodes the job runs', async () => {
    const keys = await issueForm('F-PUSH-A');
    answer = () => 'ok';
    await Promise.all([push(), push(other.database.db)]);
    await push();
    for (const key of keys) {
      const sent = postsOf(key);
      expect(sent, key).toHaveLength(1);
      const row = await rowOf(key);
      expect(row?.notified_at).not.toBeNull();
      expect(sent[0]!.id).toBe(row!.id);
      expect(sent[0]!.body).toEqual({
        type: 'shutong.message',
        recipient: {
          userId: gridUser.id,
          displayName: gridUser.displayName,
          organization: { id: gridUser.orgId, name: gridUser.orgName },
        },
        message: {
          kind: 'report_overdue',
          key,
          zh: expect.stringContaining('区级走访季报 F-PUSH-A'),
          en: expect.stringContaining('District visits F-PUSH-A'),
          link: `${PUBLIC_URL}/indicators?unit=${DISTRICT}&period=${key.split(':')[2]}`,
        },
        attempt: 1,
      });
      // The gateway finds the phone or mailbox itself: none is ever sent.
      expect(JSON.stringify(sent[0]!.body)).not.toMatch(/phone|mobile|mail/i);
    }
    // Nobody, of any organization, got one message twice.
    const pairs = posts
      .filter((p) => p.answered === 'ok')
      .map((p) => `${p.body.recipient.userId}|${p.body.message.key}`);
    expect(new Set(pairs).size).toBe(pairs.length);
    // Logs name rows and kinds, never the recipient or the text.
    const logged = JSON.stringify(logs);
    expect(logged).not.toContain(gridUser.displayName);
    expect(logged).not.toContain('区级走访季报');
  });

  it('tries again after a 500 and marks the reminder delivered on the 2xx', async () => {
    const keys = await issueForm('F-PUSH-B');
    answer = (key, nth) => (key.includes('F-PUSH-B') && nth === 0 ? 'fail' : 'ok');
    await push();
    for (const key of keys) {
      expect(postsOf(key).map((p) => p.answered)).toEqual(['fail', 'ok']);
      // Both tries were the same claim, under the same id.
      expect(new Set(postsOf(key).map((p) => p.id)).size).toBe(1);
      const row = await rowOf(key);
      expect(row).toMatchObject({ notify_attempts: 1, notify_error: null });
      expect(row?.notified_at).not.toBeNull();
    }
    await push();
    for (const key of keys) expect(postsOf(key)).toHaveLength(2);
  });

  it('gives up on a gateway that does not answer in time, and delivers on a later run', async () => {
    const keys = await issueForm('F-PUSH-C');
    answer = (key) => (key.includes('F-PUSH-C') ? 'hang' : 'ok');
    await push();
    for (const key of keys) {
      // Every try of the claim timed out.
      expect(postsOf(key).map((p) => p.answered)).toEqual(['hang', 'hang', 'hang']);
      const row = await rowOf(key);
      expect(row?.notified_at).toBeNull();
      expect(row?.notify_error).toMatch(/timeout|abort/i);
    }
    expect(logs.some((l) => l.level === 'warn' && l.msg === 'message delivery failed')).toBe(true);
    answer = () => 'ok';
    await push();
    for (const key of keys) {
      const ok = postsOf(key).filter((p) => p.answered === 'ok');
      expect(ok).toHaveLength(1);
      expect(ok[0]!.body.attempt).toBe(2);
      expect((await rowOf(key))?.notified_at).not.toBeNull();
    }
  });

  it('sends nothing for a report once submitted, and forgets its reminder', async () => {
    const keys = await issueForm('F-PUSH-D');
    answer = () => 'ok';
    const submitted = await post('/v1/forms/F-PUSH-D/submissions', grid, {
      period: '2025-Q1',
      unitCode: DISTRICT,
      values: { PUSHED: 42 },
    });
    expect(submitted.state).toBe('submitted');
    await push();
    expect(postsOf(keys[0]!)).toHaveLength(0);
    expect(await rowOf(keys[0]!)).toBeUndefined();
    for (const key of keys.slice(1)) expect(postsOf(key)).toHaveLength(1);
    // A reminder already sent is dropped from the outbox once its report is in.
    await post('/v1/forms/F-PUSH-D/submissions', grid, {
      period: '2025-Q2',
      unitCode: DISTRICT,
      values: { PUSHED: 43 },
    });
    await push();
    expect(await rowOf(keys[1]!)).toBeUndefined();
    expect(postsOf(keys[1]!)).toHaveLength(1);
  });

  it('queues and posts nothing without a gateway', async () => {
    const keys = await issueForm('F-PUSH-E');
    const before = posts.length;
    const result = await pushMessages(
      t.database.db,
      { ...t.config, messagesWebhookUrl: undefined },
      log,
      TUNING,
    );
    expect(result).toEqual({ users: 0, current: 0, claimed: 0 });
    expect(posts.length).toBe(before);
    for (const key of keys) expect(await rowOf(key)).toBeUndefined();
  });
});
