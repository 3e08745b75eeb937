import { AppError } from './errors.ts';
import type { Role } from './tables.ts';

/**
 * Scopes an API key can carry. A login session carries all of them; an API key only those it
 * was created with, and never more than its creator's roles allow.
 */
export const SCOPES = {
  'identity:read': 'Read organizations, users and API keys',
  'identity:write': 'Create and change organizations and users',
  'catalog:read': 'Search and read the resource catalog',
  'catalog:write': 'Register and change resources of your organization',
  sharing: 'Apply for data, review applications, manage contracts',
  gateway: 'Query data through your contracts (rows and aggregates)',
  'audit:read': 'Read the audit log, its signed tree heads and proofs',
  monitor: 'Read alerts and freezes; acknowledge, resolve, freeze and lift (security officers)',
  registry: 'Submit and handle registrations of public data resources and data products; lodge objections',
  operation: 'Authorized operation: plans, agreements, data products, prices, subscriptions and bills',
  services: 'One-thing service bundles: apply, follow, handle steps; rate services and rectify bad ratings',
  indicators:
    'The indicator dictionary, one-form reporting (forms, submissions, to-dos) and evaluation indices',
} as const;
export type Scope = keyof typeof SCOPES;

export interface Principal {
  /** `cli`: someone at the server's own command line (seeding, `shutong users create`). */
  kind: 'session' | 'api_key' | 'cli';
  credentialId: string;
  userId: string;
  username: string;
  orgId: string;
  roles: readonly Role[];
  scopes: readonly Scope[] | 'all';
}

/**
 * What a route or an object requires. `roles: 'any'` admits every signed-in user.
 * `orgId` makes it an object-level check: the object belongs to that organization, and only its
 * members (or holders of `crossOrg` roles, platform_admin by default) may act on it.
 * `selfUserId` admits the user the object is about, whatever their roles.
 */
export interface AccessRule {
  roles: readonly Role[] | 'any';
  scope: Scope;
  /** Managing credentials needs a person at a login session, not an API key. */
  sessionOnly?: boolean;
  orgId?: string;
  crossOrg?: readonly Role[];
  selfUserId?: string;
}

/**
 * `public`: no credentials looked at. `optional`: anonymous callers are served (open-data views)
 * but a presented credential must be valid and decides what the caller sees.
 */
export type RouteAccess = 'public' | 'optional' | AccessRule;

/** The one authorization decision of the platform: every route and every object check comes here. */
export function authorize(principal: Principal | null | undefined, rule: AccessRule): Principal {
  if (!principal) throw new AppError('UNAUTHENTICATED');
  const deny = (reason: string) => new AppError('FORBIDDEN', { reason });
  if (rule.sessionOnly && principal.kind === 'api_key') throw deny('session_required');
  if (principal.scopes !== 'all' && !principal.scopes.includes(rule.scope)) throw deny(`scope:${rule.scope}`);
  const isSelf = rule.selfUserId !== undefined && rule.selfUserId === principal.userId;
  if (isSelf) return principal;
  if (rule.roles !== 'any' && !rule.roles.some((role) => principal.roles.includes(role))) throw deny('role');
  if (rule.orgId !== undefined && rule.orgId !== principal.orgId) {
    const crossOrg = rule.crossOrg ?? ['platform_admin'];
    if (!crossOrg.some((role) => principal.roles.includes(role))) throw deny('organization');
  }
  return principal;
}

/** The platform acting on its own behalf at the command line: a platform admin named `system`. */
export const SYSTEM_PRINCIPAL: Principal = {
  kind: 'cli',
  credentialId: 'cli',
  userId: 'system',
  username: 'system',
  orgId: 'system',
  roles: ['platform_admin'],
  scopes: 'all',
};

export function hasRole(principal: Principal, ...roles: Role[]): boolean {
  return roles.some((role) => principal.roles.includes(role));
}
