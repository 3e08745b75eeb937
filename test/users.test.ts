import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers.ts';

let t: TestApp;
let admin: string;
let healthOrg: string;
let orgAdmin: string;

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.login('admin');
  healthOrg = (
    await t.database.db
      .selectFrom('organizations')
      .select('id')
      .where('name', '=', '云岚市卫生健康委员会')
      .executeTakeFirstOrThrow()
  ).id;
  const res = await t.request({
    method: 'POST',
    url: '/v1/users',
    token: admin,
    payload: {
      orgId: healthOrg,
      username: 'OrgAdmin.Health',
      displayName: '卫健委管理员',
      password: 'users-password-1',
      roles: ['org_admin'],
    },
  });
  expect(res.statusCode).toBe(201);
  expect(res.json().username).toBe('orgadmin.health');
  orgAdmin = await t.login('orgadmin.health', 'users-password-1');
});
afterAll(() => t.close());

describe('users', () => {
  it('never returns password hashes', async () => {
    const list = await t.request({ method: 'GET', url: '/v1/users', token: admin });
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toMatch(/argon2|password/i);
  });

  it('lets only a platform admin grant or take away platform_admin', async () => {
    const grant = await t.request({
      method: 'POST',
      url: '/v1/users',
      token: orgAdmin,
      payload: {
        orgId: healthOrg,
        username: 'sneaky',
        displayName: 'x',
        password: 'users-password-1',
        roles: ['platform_admin'],
      },
    });
    expect(grant.statusCode).toBe(403);
    expect(grant.json().error.details).toMatchObject({ field: 'roles', reason: 'platform_admin_only' });

    const me = (await t.request({ method: 'GET', url: '/v1/me', token: orgAdmin })).json();
    const escalate = await t.request({
      method: 'PATCH',
      url: `/v1/users/${me.user.id}`,
      token: orgAdmin,
      payload: { roles: ['platform_admin'] },
    });
    expect(escalate.statusCode).toBe(403);
  });

  it('refuses a username that exists, whatever its case', async () => {
    const res = await t.request({
      method: 'POST',
      url: '/v1/users',
      token: admin,
      payload: {
        orgId: healthOrg,
        username: 'Steward.Health',
        displayName: 'x',
        password: 'users-password-1',
        roles: ['consumer'],
      },
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.details.field).toBe('username');
  });

  it('refuses an unknown organization with 404 naming orgId', async () => {
    const res = await t.request({
      method: 'POST',
      url: '/v1/users',
      token: admin,
      payload: {
        orgId: 'org_00000000000000000000000000',
        username: 'ghost',
        displayName: 'x',
        password: 'users-password-1',
        roles: ['consumer'],
      },
    });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.details.field).toBe('orgId');
  });

  it('keeps an admin from disabling themselves and refuses repeating a transition', async () => {
    const me = (await t.request({ method: 'GET', url: '/v1/me', token: admin })).json();
    const self = await t.request({
      method: 'PATCH',
      url: `/v1/users/${me.user.id}`,
      token: admin,
      payload: { status: 'disabled' },
    });
    expect(self.statusCode).toBe(403);
    const created = (
      await t.request({
        method: 'POST',
        url: '/v1/users',
        token: orgAdmin,
        payload: {
          orgId: healthOrg,
          username: 'temp.user',
          displayName: 'x',
          password: 'users-password-1',
          roles: ['consumer'],
        },
      })
    ).json();
    const off = await t.request({
      method: 'PATCH',
      url: `/v1/users/${created.id}`,
      token: orgAdmin,
      payload: { status: 'disabled' },
    });
    expect(off.json().status).toBe('disabled');
    const events = await t.database.db
      .selectFrom('audit_events')
      .select('action')
      .where('object_id', '=', created.id)
      .orderBy('queued')
      .execute();
    expect(events.map((e) => e.action)).toEqual(['user.create', 'user.disable']);
  });

  it('pages users with a cursor', async () => {
    const first = (await t.request({ method: 'GET', url: '/v1/users?limit=3', token: admin })).json();
    expect(first.items).toHaveLength(3);
    expect(first.nextCursor).toBe(first.items[2].id);
    const second = (
      await t.request({ method: 'GET', url: `/v1/users?limit=3&cursor=${first.nextCursor}`, token: admin })
    ).json();
    expect(second.items[0].id > first.items[2].id).toBe(true);
  });
});

describe('user search (q)', () => {
  const search = (q: string, token = admin) =>
    t.request({ method: 'GET', url: `/v1/users?q=${encodeURIComponent(q)}`, token });
  const create = async (username: string, displayName: string) => {
    const res = await t.request({
      method: 'POST',
      url: '/v1/users',
      token: admin,
      payload: {
        orgId: healthOrg,
        username,
        displayName,
        password: 'users-password-1',
        roles: ['data_steward'],
      },
    });
    expect(res.statusCode).toBe(201);
    return res.json().id as string;
  };

  it('finds users by a case-insensitive substring of login or name, Chinese included', async () => {
    const id = await create('Search.Alpha', '检索测试员甲');
    const byLogin = (await search('ARCH.al')).json();
    expect(byLogin.items.map((u: { id: string }) => u.id)).toEqual([id]);
    const byName = (await search('测试员甲')).json();
    expect(byName.items.map((u: { id: string }) => u.id)).toEqual([id]);
  });

  it('takes %, _ and \\ literally', async () => {
    const pct = await create('pct.user', '百分之百%甲');
    const under = await create('under_user', '下划线');
    await create('underxuser', '无下划线');
    expect((await search('%')).json().items.map((u: { id: string }) => u.id)).toEqual([pct]);
    expect((await search('under_')).json().items.map((u: { id: string }) => u.id)).toEqual([under]);
    expect((await search('\\')).json().items).toEqual([]);
  });

  it('refuses a consumer with 403', async () => {
    const consumer = await t.login('consumer.civil');
    expect((await search('admin', consumer)).statusCode).toBe(403);
  });

  it('filters by status, with q, and names an unknown status in a 400', async () => {
    const kept = await create('status.kept', '状态筛选甲');
    const gone = await create('status.gone', '状态筛选乙');
    const disable = await t.request({
      method: 'PATCH',
      url: `/v1/users/${gone}`,
      token: admin,
      payload: { status: 'disabled' },
    });
    expect(disable.statusCode).toBe(200);
    const list = async (query: string) => {
      const res = await t.request({ method: 'GET', url: `/v1/users?limit=200&${query}`, token: admin });
      expect(res.statusCode).toBe(200);
      return res.json().items as Array<{ id: string; status: string }>;
    };
    const disabled = await list('status=disabled');
    expect(disabled.map((u) => u.id)).toContain(gone);
    expect(disabled.every((u) => u.status === 'disabled')).toBe(true);
    const active = await list('status=active');
    expect(active.map((u) => u.id)).toContain(kept);
    expect(active.map((u) => u.id)).not.toContain(gone);
    expect((await list(`status=disabled&q=${encodeURIComponent('状态筛选')}`)).map((u) => u.id)).toEqual([
      gone,
    ]);
    const bad = await t.request({ method: 'GET', url: '/v1/users?status=locked', token: admin });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('status');
  });
});

describe('password storage', () => {
  it('stores argon2id hashes, never the password', async () => {
    const row = await t.database.db
      .selectFrom('users')
      .select('password_hash')
      .where('username', '=', 'admin')
      .executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(row.password_hash).not.toContain('shutong-demo');
  });
});
