import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AccessRule, authorize, type Principal, SCOPES, type Scope } from './auth.ts';
import { AppError } from './errors.ts';
import { ROLES, type Role } from './tables.ts';

const scopes = Object.keys(SCOPES) as Scope[];
const role = fc.constantFrom(...ROLES);
const org = fc.constantFrom('org_a', 'org_b', 'org_c');
const user = fc.constantFrom('usr_1', 'usr_2', 'usr_3');

const principal: fc.Arbitrary<Principal> = fc.record({
  kind: fc.constantFrom('session', 'api_key', 'cli') as fc.Arbitrary<Principal['kind']>,
  credentialId: fc.constant('cred'),
  userId: user,
  username: fc.constant('someone'),
  orgId: org,
  roles: fc.uniqueArray(role, { minLength: 1, maxLength: 3 }),
  scopes: fc.oneof(fc.constant('all' as const), fc.uniqueArray(fc.constantFrom(...scopes), { maxLength: 2 })),
});

const rule: fc.Arbitrary<AccessRule> = fc.record(
  {
    roles: fc.oneof(fc.constant('any' as const), fc.uniqueArray(role, { minLength: 1, maxLength: 3 })),
    scope: fc.constantFrom(...scopes),
    sessionOnly: fc.boolean(),
    orgId: org,
    crossOrg: fc.uniqueArray(role, { maxLength: 2 }),
    selfUserId: user,
  },
  { requiredKeys: ['roles', 'scope'] },
);

function allowed(p: Principal, r: AccessRule): boolean {
  try {
    authorize(p, r);
    return true;
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).status).toBe(403);
    return false;
  }
}

describe('authorize', () => {
  it('answers 401 without a principal', () => {
    expect(() => authorize(null, { roles: 'any', scope: 'identity:read' })).toThrowError(
      expect.objectContaining({ code: 'UNAUTHENTICATED', status: 401 }),
    );
  });

  it('never admits an API key beyond its scopes or to session-only actions (property)', () => {
    fc.assert(
      fc.property(principal, rule, (p, r) => {
        if (!allowed(p, r)) return;
        if (p.scopes !== 'all') expect(p.scopes).toContain(r.scope);
        if (r.sessionOnly) expect(p.kind).not.toBe('api_key');
      }),
      { numRuns: 2000 },
    );
  });

  it('admits only the right roles, or the user the object is about (property)', () => {
    fc.assert(
      fc.property(principal, rule, (p, r) => {
        if (!allowed(p, r)) return;
        const self = r.selfUserId === p.userId;
        const hasRole = r.roles === 'any' || r.roles.some((x: Role) => p.roles.includes(x));
        expect(self || hasRole).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("never admits another organization's object without a cross-organization role (property)", () => {
    fc.assert(
      fc.property(principal, rule, (p, r) => {
        if (!allowed(p, r) || r.orgId === undefined || r.orgId === p.orgId) return;
        const self = r.selfUserId === p.userId;
        const cross = (r.crossOrg ?? ['platform_admin']).some((x) => p.roles.includes(x));
        expect(self || cross).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('admits a member of the organization with the right role and scope', () => {
    const p: Principal = {
      kind: 'api_key',
      credentialId: 'k',
      userId: 'usr_1',
      username: 'u',
      orgId: 'org_a',
      roles: ['data_steward'],
      scopes: ['identity:read'],
    };
    expect(authorize(p, { roles: ['data_steward'], scope: 'identity:read', orgId: 'org_a' })).toBe(p);
    expect(() => authorize(p, { roles: ['data_steward'], scope: 'identity:read', orgId: 'org_b' })).toThrow(
      AppError,
    );
  });
});
