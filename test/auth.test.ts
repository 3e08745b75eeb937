import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { integrateAudit } from '../src/audit/service.ts';
import { DEMO_PASSWORD, startTestApp, type TestApp } from './helpers.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('login and sessions', () => {
  it('logs in a demo user and returns a token with its expiry', async () => {
    const res = await t.request({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { username: 'admin', password: DEMO_PASSWORD },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.token).toMatch(/^sts_/);
    expect(new Date(body.expiresAt).getTime()).toBeGreaterThan(Date.now());
    const me = await t.request({ method: 'GET', url: '/v1/me', token: body.token });
    expect(me.statusCode).toBe(200);
    expect(me.json().user).toMatchObject({ username: 'admin', roles: ['platform_admin'] });
    expect(me.json().organization.name).toBe('云岚市数据资源管理局');
  });

  it('refuses a wrong password and an unknown user alike', async () => {
    for (const payload of [
      { username: 'admin', password: 'wrong-password' },
      { username: 'nobody', password: DEMO_PASSWORD },
    ]) {
      const res = await t.request({ method: 'POST', url: '/v1/auth/login', payload });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('LOGIN_FAILED');
    }
  });

  it('locks an account after ten failed logins, even for the right password', async () => {
    for (let i = 0; i < 10; i++) {
      await t.request({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { username: 'steward.market', password: `bad-${i}` },
      });
    }
    const res = await t.request({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { username: 'steward.market', password: DEMO_PASSWORD },
    });
    expect(res.statusCode).toBe(429);
    expect(res.json().error.code).toBe('ACCOUNT_LOCKED');
  });

  it('audits failed logins and the lockout, never the password', async () => {
    for (let i = 0; i < 10; i++) {
      await t.request({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { username: 'consumer.enterprise', password: `secret-guess-${i}` },
      });
    }
    await t.request({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { username: 'consumer.enterprise', password: DEMO_PASSWORD },
    });
    await t.request({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { username: 'no.such.person', password: 'typed-password-here' },
    });
    await integrateAudit(t.database.db);
    const token = await t.login('auditor');
    const list = async (action: string) =>
      (await t.request({ method: 'GET', url: `/v1/audit/entries?action=${action}&limit=200`, token })).json()
        .items as { actorId: string | null; details: Record<string, unknown> }[];
    const failed = await list('session.login_failed');
    const mine = failed.filter((e) => e.details.username === 'consumer.enterprise');
    expect(mine.filter((e) => e.details.reason === 'bad_password')).toHaveLength(10);
    expect(mine.filter((e) => e.details.reason === 'locked')).toHaveLength(1);
    expect(failed.some((e) => e.actorId === null && e.details.reason === 'unknown_user')).toBe(true);
    const lockouts = (await list('session.lockout')).filter(
      (e) => e.details.username === 'consumer.enterprise',
    );
    expect(lockouts).toHaveLength(1);
    const text = JSON.stringify(failed);
    expect(text).not.toContain('secret-guess');
    expect(text).not.toContain(DEMO_PASSWORD);
    expect(text).not.toContain('typed-password');
    expect(text).not.toContain('no.such.person');
  });

  it('ends a session at logout', async () => {
    const token = await t.login('auditor');
    expect((await t.request({ method: 'POST', url: '/v1/auth/logout', token })).statusCode).toBe(204);
    const res = await t.request({ method: 'GET', url: '/v1/me', token });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('UNAUTHENTICATED');
  });

  it('refuses missing, malformed and made-up credentials with 401', async () => {
    for (const authorization of [
      undefined,
      'Bearer',
      'Basic YWRtaW46eA==',
      'Bearer sts_madeupmadeupmadeupmadeup',
      'Bearer stk_madeupmadeupmadeupmadeup',
    ]) {
      const res = await t.request({
        method: 'GET',
        url: '/v1/me',
        headers: authorization ? { authorization } : {},
      });
      expect(res.statusCode).toBe(401);
    }
  });

  it('lets a user change their own password only with the current one, ending their sessions', async () => {
    const token = await t.login('consumer.civil');
    const me = (await t.request({ method: 'GET', url: '/v1/me', token })).json();
    const wrong = await t.request({
      method: 'PUT',
      url: `/v1/users/${me.user.id}/password`,
      token,
      payload: { password: 'a-new-long-password', currentPassword: 'not-it' },
    });
    expect(wrong.statusCode).toBe(403);
    const weak = await t.request({
      method: 'PUT',
      url: `/v1/users/${me.user.id}/password`,
      token,
      payload: { password: 'short', currentPassword: DEMO_PASSWORD },
    });
    expect(weak.statusCode).toBe(400);
    expect(weak.json().error.code).toBe('WEAK_PASSWORD');
    const ok = await t.request({
      method: 'PUT',
      url: `/v1/users/${me.user.id}/password`,
      token,
      payload: { password: 'a-new-long-password', currentPassword: DEMO_PASSWORD },
    });
    expect(ok.statusCode).toBe(204);
    expect((await t.request({ method: 'GET', url: '/v1/me', token })).statusCode).toBe(401);
    await t.login('consumer.civil', 'a-new-long-password');
  });
});

describe('API keys', () => {
  it('shows the secret once, lists keys without it, authenticates with it, and refuses it once revoked', async () => {
    const token = await t.login('steward.health');
    const created = await t.request({
      method: 'POST',
      url: '/v1/api-keys',
      token,
      payload: { name: 'nightly sync', scopes: ['identity:read'] },
    });
    expect(created.statusCode).toBe(201);
    const key = created.json();
    expect(key.secret).toMatch(/^stk_/);

    const list = await t.request({ method: 'GET', url: '/v1/api-keys', token });
    expect(list.body).not.toContain(key.secret);
    expect(list.json().items.map((k: { id: string }) => k.id)).toContain(key.id);

    const stored = await t.database.db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', key.id)
      .executeTakeFirstOrThrow();
    expect(stored.secret_hash).not.toContain(key.secret);
    expect(stored.secret_hash).toMatch(/^[0-9a-f]{64}$/);

    const me = await t.request({ method: 'GET', url: '/v1/me', token: key.secret });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ credential: 'api_key', scopes: ['identity:read'] });

    const revoked = await t.request({ method: 'POST', url: `/v1/api-keys/${key.id}/revoke`, token });
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json().status).toBe('revoked');
    const after = await t.request({ method: 'GET', url: '/v1/me', token: key.secret });
    expect(after.statusCode).toBe(401);

    const again = await t.request({ method: 'POST', url: `/v1/api-keys/${key.id}/revoke`, token });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('INVALID_TRANSITION');
  });

  it('limits a key to its scopes and never lets a key manage keys', async () => {
    const token = await t.login('admin');
    const key = (
      await t.request({
        method: 'POST',
        url: '/v1/api-keys',
        token,
        payload: { name: 'read only', scopes: ['identity:read'] },
      })
    ).json();
    const write = await t.request({
      method: 'POST',
      url: '/v1/organizations',
      token: key.secret,
      payload: {
        name: '某机构',
        type: 'enterprise',
        level: 'county',
        regionCode: '330106',
        uscc: '91350100M000100Y43',
      },
    });
    expect(write.statusCode).toBe(403);
    expect(write.json().error.details.reason).toBe('scope:identity:write');
    const mint = await t.request({
      method: 'POST',
      url: '/v1/api-keys',
      token: key.secret,
      payload: { name: 'child', scopes: ['identity:read'] },
    });
    expect(mint.statusCode).toBe(403);
    expect(mint.json().error.details.reason).toBe('session_required');
  });

  it('refuses unknown scopes and past expiry times', async () => {
    const token = await t.login('admin');
    const bad = await t.request({
      method: 'POST',
      url: '/v1/api-keys',
      token,
      payload: { name: 'x', scopes: ['root'] },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({
      code: 'INVALID_SCOPE',
      details: { field: 'scopes', unknown: ['root'] },
    });
    const past = await t.request({
      method: 'POST',
      url: '/v1/api-keys',
      token,
      payload: { name: 'x', scopes: ['identity:read'], expiresAt: '2020-01-01T00:00:00Z' },
    });
    expect(past.statusCode).toBe(400);
    expect(past.json().error.details.field).toBe('expiresAt');
  });

  it("stops a disabled user's sessions and keys at once", async () => {
    const admin = await t.login('admin');
    const psb = await t.login('steward.psb');
    const key = (
      await t.request({
        method: 'POST',
        url: '/v1/api-keys',
        token: psb,
        payload: { name: 'k', scopes: ['identity:read'] },
      })
    ).json();
    const me = (await t.request({ method: 'GET', url: '/v1/me', token: psb })).json();
    const disabled = await t.request({
      method: 'PATCH',
      url: `/v1/users/${me.user.id}`,
      token: admin,
      payload: { status: 'disabled' },
    });
    expect(disabled.statusCode).toBe(200);
    expect((await t.request({ method: 'GET', url: '/v1/me', token: psb })).statusCode).toBe(401);
    expect((await t.request({ method: 'GET', url: '/v1/me', token: key.secret })).statusCode).toBe(401);
    const login = await t.request({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { username: 'steward.psb', password: DEMO_PASSWORD },
    });
    expect(login.statusCode).toBe(401);
    const enabled = await t.request({
      method: 'PATCH',
      url: `/v1/users/${me.user.id}`,
      token: admin,
      payload: { status: 'active' },
    });
    expect(enabled.json().status).toBe('active');
    expect((await t.request({ method: 'GET', url: '/v1/me', token: key.secret })).statusCode).toBe(200);
  });
});

describe('logs', () => {
  it('never contain passwords, session tokens or API key secrets', async () => {
    const token = await t.login('security');
    const key = (
      await t.request({
        method: 'POST',
        url: '/v1/api-keys',
        token,
        payload: { name: 'log check', scopes: ['identity:read'] },
      })
    ).json();
    await t.request({ method: 'GET', url: '/v1/me', token: key.secret });
    await t.request({ method: 'GET', url: '/v1/me?token=x', token });
    const all = t.logs.join('\n');
    expect(all.length).toBeGreaterThan(0);
    expect(all).toContain('req_');
    expect(all).not.toContain(DEMO_PASSWORD);
    expect(all).not.toContain(token);
    expect(all).not.toContain(key.secret);
  });
});
