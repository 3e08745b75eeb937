import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessRule } from '../src/core/auth.ts';
import { makeResidentId } from '../src/standards/resident-id.ts';
import { startTestApp, type TestApp } from './helpers.ts';

/**
 * The role matrix over every route the server registers (issue 13): for each route that names
 * its roles, a caller holding none of them is refused 403 `role` before anything runs — whatever
 * the path parameters and body — and a caller holding one of them is not refused for its role.
 * An API key without the route's scope is refused 403 `scope:…`, and a session-only route refuses
 * every API key. The routes come from the server itself, so a new route is covered the day it is
 * added.
 */
type RoleName =
  | 'platform_admin'
  | 'org_admin'
  | 'data_steward'
  | 'consumer'
  | 'security_officer'
  | 'auditor'
  | 'citizen';

let t: TestApp;
const session = {} as Record<RoleName, string>;
const narrowKey = {} as Record<RoleName, string>;
const NARROW_SCOPE = 'catalog:read';

beforeAll(async () => {
  t = await startTestApp();
  const admin = await t.login('admin');
  const { id: health } = await t.database.db
    .selectFrom('organizations')
    .select('id')
    .where('name', '=', '云岚市卫生健康委员会')
    .executeTakeFirstOrThrow();
  const made = await t.request({
    method: 'POST',
    url: '/v1/users',
    token: admin,
    payload: {
      orgId: health,
      username: 'roles.orgadmin',
      displayName: '机构管理员',
      password: 'roles-password-1',
      roles: ['org_admin'],
    },
  });
  expect(made.statusCode, made.body).toBe(201);
  session.platform_admin = admin;
  session.org_admin = await t.login('roles.orgadmin', 'roles-password-1');
  session.data_steward = await t.login('steward.health');
  session.consumer = await t.login('consumer.civil');
  session.security_officer = await t.login('security');
  session.auditor = await t.login('auditor');
  // Citizens hold no API keys: their routes are tried with another role's narrow key (the scope is
  // checked before the role).
  for (const role of (Object.keys(session) as RoleName[]).filter((r) => r !== 'citizen')) {
    const key = await t.request({
      method: 'POST',
      url: '/v1/api-keys',
      token: session[role],
      payload: { name: `narrow ${role}`, scopes: [NARROW_SCOPE] },
    });
    expect(key.statusCode, key.body).toBe(201);
    narrowKey[role] = key.json().secret;
  }
  session.citizen = (await t.citizen(makeResidentId('330106', '1990-05-06', 31), '周公众')).token;
  narrowKey.citizen = narrowKey.consumer;
});

/** A citizen's session carries the services scope only: elsewhere it is refused for its scope. */
const expectedRefusal = (role: RoleName, rule: AccessRule) =>
  role === 'citizen' && rule.scope !== 'services' ? `scope:${rule.scope}` : 'role';
afterAll(() => t.close());

/** The registered routes that name their roles (not public, optional or open to any role). */
function guarded() {
  return t.app.routeAccess.filter(
    (r): r is { method: string; url: string; access: AccessRule } =>
      typeof r.access === 'object' && r.method !== 'HEAD' && r.method !== 'OPTIONS',
  );
}

/** A concrete URL for a route pattern: every parameter a placeholder no object has. */
const concrete = (url: string) => url.replace(/:[A-Za-z]+/g, 'zz-placeholder').replace('*', 'zz');

const call = (route: { method: string; url: string }, token: string) =>
  t.request({
    method: route.method as 'GET',
    url: concrete(route.url),
    token,
    ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { payload: {} }),
  });

const refusal = (res: { statusCode: number; json: () => { error?: { details?: { reason?: string } } } }) =>
  res.statusCode === 403 ? (res.json().error?.details?.reason ?? '') : null;

describe('every guarded route against every role', () => {
  it('covers the whole API', () => {
    // Sanity: the table is the server's own, not a hand list that could go stale.
    expect(guarded().length).toBeGreaterThan(150);
    expect(guarded().some((r) => r.url === '/v1/forms/todo/prefill')).toBe(true);
  });

  it('refuses a caller holding none of the route’s roles, before anything runs', async () => {
    const leaks: string[] = [];
    for (const route of guarded()) {
      if (route.access.roles === 'any') continue;
      for (const role of Object.keys(session) as RoleName[]) {
        if (route.access.roles.includes(role as never)) continue;
        const res = await call(route, session[role]);
        if (refusal(res) !== expectedRefusal(role, route.access))
          leaks.push(`${route.method} ${route.url} as ${role}: ${res.statusCode}`);
      }
    }
    expect(leaks).toEqual([]);
  });

  it('does not refuse a caller for a role the route names (reads, with placeholder objects)', async () => {
    const wrong: string[] = [];
    for (const route of guarded().filter((r) => r.method === 'GET')) {
      const roles = route.access.roles === 'any' ? (Object.keys(session) as RoleName[]) : route.access.roles;
      for (const role of (roles as RoleName[]).filter(
        (r) => r !== 'citizen' || route.access.scope === 'services',
      )) {
        const res = await call(route, session[role]);
        const reason = refusal(res);
        if (reason === 'role' || reason?.startsWith('scope:') || res.statusCode >= 500)
          wrong.push(`${route.method} ${route.url} as ${role}: ${res.statusCode} ${reason ?? ''}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('refuses a citizen’s session on every route outside the services, those open to any role included', async () => {
    const leaks: string[] = [];
    for (const route of guarded().filter((r) => r.access.scope !== 'services')) {
      const res = await call(route, session.citizen);
      if (refusal(res) !== `scope:${route.access.scope}`)
        leaks.push(`${route.method} ${route.url}: ${res.statusCode} ${refusal(res)}`);
    }
    expect(leaks).toEqual([]);
  });

  it('refuses an API key without the route’s scope, and every API key on a session-only route', async () => {
    const leaks: string[] = [];
    for (const route of guarded()) {
      const rule = route.access;
      if (rule.scope === NARROW_SCOPE && !rule.sessionOnly) continue;
      const roles = rule.roles === 'any' ? (Object.keys(session) as RoleName[]) : (rule.roles as RoleName[]);
      const role = roles[0]!;
      const res = await call(route, narrowKey[role]);
      const expected = rule.sessionOnly ? 'session_required' : `scope:${rule.scope}`;
      if (refusal(res) !== expected)
        leaks.push(`${route.method} ${route.url} as ${role} key: ${res.statusCode} ${refusal(res)}`);
    }
    expect(leaks).toEqual([]);
  });
});
