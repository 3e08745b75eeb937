import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers.ts';

/**
 * Every identity route against every kind of caller: anonymous, each role, an organization
 * admin of the object's organization and one of another organization. 401 without credentials,
 * 403 for the wrong role or another organization's object, success otherwise.
 */
type Actor =
  | 'anonymous'
  | 'admin'
  | 'orgAdminHealth'
  | 'orgAdminCivil'
  | 'stewardHealth'
  | 'consumerCivil'
  | 'auditor'
  | 'security'
  | 'target';

let t: TestApp;
const tokens = {} as Record<Actor, string | undefined>;
const ids = {} as { health: string; civil: string; target: string };

async function orgId(name: string) {
  return (
    await t.database.db
      .selectFrom('organizations')
      .select('id')
      .where('name', '=', name)
      .executeTakeFirstOrThrow()
  ).id;
}

beforeAll(async () => {
  t = await startTestApp();
  ids.health = await orgId('云岚市卫生健康委员会');
  ids.civil = await orgId('云岚市民政局');
  const admin = await t.login('admin');
  for (const [username, org, roles] of [
    ['orgadmin.health', ids.health, ['org_admin']],
    ['orgadmin.civil', ids.civil, ['org_admin']],
    ['target.health', ids.health, ['data_steward']],
  ] as const) {
    const res = await t.request({
      method: 'POST',
      url: '/v1/users',
      token: admin,
      payload: { orgId: org, username, displayName: username, password: 'matrix-password-1', roles },
    });
    expect(res.statusCode).toBe(201);
    if (username === 'target.health') ids.target = res.json().id;
  }
  tokens.anonymous = undefined;
  tokens.admin = admin;
  tokens.orgAdminHealth = await t.login('orgadmin.health', 'matrix-password-1');
  tokens.orgAdminCivil = await t.login('orgadmin.civil', 'matrix-password-1');
  tokens.stewardHealth = await t.login('steward.health');
  tokens.consumerCivil = await t.login('consumer.civil');
  tokens.auditor = await t.login('auditor');
  tokens.security = await t.login('security');
  tokens.target = await t.login('target.health', 'matrix-password-1');
});
afterAll(() => t.close());

let counter = 0;
const unique = () => `${Date.now().toString(36)}${(counter++).toString(36)}`;

interface Case {
  route: string;
  call: (token: string | undefined) => Promise<LightMyRequestResponse>;
  expect: Partial<Record<Actor, number>> & { otherwise: number };
}

const cases: Case[] = [
  {
    route: 'GET /v1/me',
    call: (token) => t.request({ method: 'GET', url: '/v1/me', token }),
    expect: { otherwise: 200 },
  },
  {
    route: 'GET /v1/organizations',
    call: (token) => t.request({ method: 'GET', url: '/v1/organizations', token }),
    expect: { otherwise: 200 },
  },
  {
    route: 'GET /v1/organizations/:id',
    call: (token) => t.request({ method: 'GET', url: `/v1/organizations/${ids.health}`, token }),
    expect: { otherwise: 200 },
  },
  {
    route: 'POST /v1/organizations',
    call: (token) =>
      t.request({
        method: 'POST',
        url: '/v1/organizations',
        token,
        payload: {
          name: `测试机构${unique()}`,
          type: 'enterprise',
          level: 'county',
          regionCode: '330106',
          uscc: randomUscc(),
        },
      }),
    expect: { admin: 201, otherwise: 403 },
  },
  {
    route: 'PATCH /v1/organizations/:id',
    call: (token) =>
      t.request({
        method: 'PATCH',
        url: `/v1/organizations/${ids.health}`,
        token,
        payload: { level: 'municipal' },
      }),
    expect: { admin: 200, orgAdminHealth: 200, otherwise: 403 },
  },
  {
    route: 'GET /v1/users',
    call: (token) => t.request({ method: 'GET', url: '/v1/users', token }),
    expect: {
      admin: 200,
      orgAdminHealth: 200,
      orgAdminCivil: 200,
      auditor: 200,
      security: 200,
      otherwise: 403,
    },
  },
  {
    route: 'GET /v1/users?orgId=health',
    call: (token) => t.request({ method: 'GET', url: `/v1/users?orgId=${ids.health}`, token }),
    expect: { admin: 200, orgAdminHealth: 200, auditor: 200, security: 200, otherwise: 403 },
  },
  {
    route: 'POST /v1/users (health)',
    call: (token) =>
      t.request({
        method: 'POST',
        url: '/v1/users',
        token,
        payload: {
          orgId: ids.health,
          username: `u${unique()}`,
          displayName: 'x',
          password: 'matrix-password-2',
          roles: ['consumer'],
        },
      }),
    expect: { admin: 201, orgAdminHealth: 201, otherwise: 403 },
  },
  {
    route: 'GET /v1/users/:id',
    call: (token) => t.request({ method: 'GET', url: `/v1/users/${ids.target}`, token }),
    expect: { admin: 200, orgAdminHealth: 200, auditor: 200, security: 200, target: 200, otherwise: 403 },
  },
  {
    route: 'PATCH /v1/users/:id',
    call: (token) =>
      t.request({
        method: 'PATCH',
        url: `/v1/users/${ids.target}`,
        token,
        payload: { displayName: '目标用户' },
      }),
    expect: { admin: 200, orgAdminHealth: 200, otherwise: 403 },
  },
  {
    route: 'PUT /v1/users/:id/password',
    call: (token) =>
      t.request({
        method: 'PUT',
        url: `/v1/users/${ids.target}/password`,
        token,
        payload: { password: 'matrix-password-1' },
      }),
    // The target itself must give the current password: 403 without it.
    expect: { admin: 204, orgAdminHealth: 204, otherwise: 403 },
  },
  {
    route: 'GET /v1/api-keys',
    call: (token) => t.request({ method: 'GET', url: '/v1/api-keys', token }),
    expect: { otherwise: 200 },
  },
  {
    route: 'GET /v1/api-keys?orgId=health',
    call: (token) => t.request({ method: 'GET', url: `/v1/api-keys?orgId=${ids.health}`, token }),
    expect: { orgAdminCivil: 403, consumerCivil: 403, otherwise: 200 },
  },
  {
    route: 'POST /v1/api-keys',
    call: (token) =>
      t.request({
        method: 'POST',
        url: '/v1/api-keys',
        token,
        payload: { name: 'k', scopes: ['identity:read'] },
      }),
    expect: { otherwise: 201 },
  },
  {
    route: 'POST /v1/api-keys/:id/revoke',
    call: async (token) => {
      const key = await t.request({
        method: 'POST',
        url: '/v1/api-keys',
        token: await t.login('target.health', 'matrix-password-1'),
        payload: { name: 'to revoke', scopes: ['identity:read'] },
      });
      return t.request({ method: 'POST', url: `/v1/api-keys/${key.json().id}/revoke`, token });
    },
    expect: { admin: 200, orgAdminHealth: 200, target: 200, otherwise: 403 },
  },
];

function randomUscc(): string {
  const alphabet = '0123456789ABCDEFGHJKLMNPQRTUWXY';
  const weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
  let body = '91330106';
  for (let i = 0; i < 9; i++) body += alphabet[Math.floor(Math.random() * 31)];
  const sum = [...body].reduce((acc, ch, i) => acc + alphabet.indexOf(ch) * weights[i]!, 0);
  return body + alphabet[(31 - (sum % 31)) % 31];
}

const actors: Actor[] = [
  'anonymous',
  'admin',
  'orgAdminHealth',
  'orgAdminCivil',
  'stewardHealth',
  'consumerCivil',
  'auditor',
  'security',
  'target',
];

describe('authorization matrix of the identity routes', () => {
  for (const c of cases) {
    it(c.route, async () => {
      const outcome: Record<string, number> = {};
      const wanted: Record<string, number> = {};
      for (const actor of actors) {
        // Password resets end the target's sessions; log in again before each call.
        const token =
          actor === 'target' ? await t.login('target.health', 'matrix-password-1') : tokens[actor];
        const res = await c.call(token);
        outcome[actor] = res.statusCode;
        wanted[actor] = actor === 'anonymous' ? 401 : (c.expect[actor] ?? c.expect.otherwise);
        if (res.statusCode >= 400) expect(res.json().error.code).toMatch(/^(UNAUTHENTICATED|FORBIDDEN)$/);
      }
      expect(outcome).toEqual(wanted);
    });
  }

  it('covers every identity route the server exposes', async () => {
    const doc = (await t.request({ method: 'GET', url: '/openapi.json' })).json();
    const exposed = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .filter(([path]) => path.startsWith('/v1/') && !path.startsWith('/v1/auth/'))
      .flatMap(([path, ops]) =>
        Object.entries(ops as Record<string, { tags?: string[] }>)
          .filter(([, op]) => op.tags?.includes('identity'))
          .map(([method]) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
      );
    const covered = new Set(cases.map((c) => c.route.split(/[ ?]/).slice(0, 2).join(' ')));
    expect(exposed.length).toBeGreaterThan(10);
    expect(exposed.filter((route) => !covered.has(route))).toEqual([]);
  });
});

describe('the anonymous column for every route the server exposes', () => {
  it('answers 401 UNAUTHENTICATED to a call without a credential, and to a bad one, on every secured route', async () => {
    const doc = (await t.request({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, { security?: Record<string, string[]>[] }>>;
    };
    const wrong: string[] = [];
    let checked = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        // Public routes have no security; optional ones ({} among the alternatives) serve anyone.
        if (!op.security || op.security.some((s) => Object.keys(s).length === 0)) continue;
        const url = path.replace(/\{\w+\}/g, '1');
        for (const token of [undefined, 'not-a-credential']) {
          const res = await t.request({ method: method.toUpperCase() as 'GET', url, token });
          checked++;
          // A HEAD answer has no body to name the code.
          const code = method === 'head' ? 'UNAUTHENTICATED' : res.json().error?.code;
          if (res.statusCode !== 401 || code !== 'UNAUTHENTICATED') {
            wrong.push(
              `${method.toUpperCase()} ${path} (${token ? 'bad' : 'no'} credential): ${res.statusCode}`,
            );
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(200);
    expect(wrong).toEqual([]);
  });
});
