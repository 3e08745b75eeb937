import { appendAudit, auditAs } from '../audit/append.ts';
import { type AccessRule, authorize, hasRole, type Principal, SCOPES, type Scope } from '../core/auth.ts';
import type { Ctx } from '../core/context.ts';
import {
  decoyPasswordHash,
  hashPassword,
  hashSecret,
  newSecret,
  sm3Hex,
  verifyPassword,
} from '../core/crypto.ts';
import { type Executor, withTx } from '../core/db.ts';
import { AppError, invalidField } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { nextState, type TransitionTable } from '../core/lifecycle.ts';
import { type Page, pageOf } from '../core/paging.ts';
import {
  type AdminLevel,
  type ApiKeyStatus,
  type Organization,
  type OrgType,
  PUBLIC_ORG_ID,
  type Role,
  type UserStatus,
} from '../core/tables.ts';
import { credentialFreezeSql, refuseFrozenCredential, userFreeze } from '../monitor/service.ts';
import { divisionName, unitLevel } from '../standards/division-units.ts';
import { findRegion, isMunicipality } from '../standards/region.ts';
import { isValidResidentId } from '../standards/resident-id.ts';
import { isValidUscc } from '../standards/uscc.ts';
import { type ApiKeyView, identityStore as store, type UserView } from './store.ts';

export const USER_LIFECYCLE: TransitionTable<UserStatus, 'disable' | 'enable'> = [
  { from: ['active'], event: 'disable', to: 'disabled' },
  { from: ['disabled'], event: 'enable', to: 'active' },
];

export const API_KEY_LIFECYCLE: TransitionTable<ApiKeyStatus, 'revoke'> = [
  { from: ['active'], event: 'revoke', to: 'revoked' },
];

const MAX_FAILED_LOGINS = 10;
const LOCK_MINUTES = 15;
const MIN_PASSWORD_LENGTH = 10;

const ADMINS: Role[] = ['platform_admin', 'org_admin'];
/**
 * Roles that may read identity records of every organization: security officers too, since an
 * alert names a user or a key and the emergency stop freezes them (never secrets or passwords).
 */
const IDENTITY_READERS_ANY_ORG: Role[] = ['platform_admin', 'auditor', 'security_officer'];
/** Who lists users: administrators (their own organization) and the readers of every organization. */
export const USER_LISTERS: AccessRule = {
  roles: [...ADMINS, ...IDENTITY_READERS_ANY_ORG],
  scope: 'identity:read',
};

function must(ctx: Ctx, rule: AccessRule): Principal {
  return authorize(ctx.principal, rule);
}

function notFound(objectType: string, id: string): AppError {
  return new AppError('NOT_FOUND', { objectType, id });
}

// ---------------------------------------------------------------- authentication

export async function authenticateBearer(ctx: Ctx, header: string | undefined): Promise<Principal | null> {
  const match = header?.match(/^Bearer\s+(st[sk]_[A-Za-z0-9_-]{20,128})\s*$/);
  if (!match) return null;
  const secret = match[1]!;
  const secretHash = hashSecret(secret);
  if (secret.startsWith('sts_')) {
    const row = await store.findSessionPrincipal(ctx.db, secretHash, credentialFreezeSql);
    if (!row) return null;
    await refuseIfFrozen(ctx, row, 'session');
    return {
      kind: 'session',
      credentialId: row.credential_id,
      userId: row.user_id,
      username: row.username,
      orgId: row.org_id,
      roles: row.roles,
      scopes: row.roles.includes('citizen') ? CITIZEN_SCOPES : 'all',
    };
  }
  const row = await store.findApiKeyPrincipal(ctx.db, secretHash, credentialFreezeSql);
  if (!row) return null;
  await refuseIfFrozen(ctx, row, 'api_key');
  // Recorded at most once a minute: a busy key must not turn every read into a write.
  if (!row.last_used_at || Date.now() - row.last_used_at.getTime() > 60_000) {
    await store.touchApiKey(ctx.db, row.credential_id);
  }
  return {
    kind: 'api_key',
    credentialId: row.credential_id,
    userId: row.user_id,
    username: row.username,
    orgId: row.org_id,
    roles: row.roles,
    scopes: row.scopes.filter((scope): scope is Scope => scope in SCOPES),
  };
}

type FrozenHold = { id: string; scope: 'user' | 'api_key'; created_at: string } | null;

/**
 * The emergency stop on a user or an API key (monitor's freezes, read in the principal's query):
 * every request with a frozen credential is refused, and the attempt audited against it, so a
 * security officer sees whether a suspended key is still being tried.
 */
async function refuseIfFrozen(
  ctx: Ctx,
  row: { hold: unknown; credential_id: string; user_id: string; org_id: string },
  kind: 'session' | 'api_key',
): Promise<void> {
  const hold = row.hold as FrozenHold;
  if (!hold) return;
  await withTx(ctx.db, (tx) =>
    appendAudit(tx, {
      actorId: row.user_id,
      orgId: row.org_id,
      action: 'credential.refused',
      objectType: kind,
      objectId: row.credential_id,
      requestId: ctx.requestId,
      details: { outcome: 'FROZEN', freezeId: hold.id, scope: hold.scope },
    }),
  );
  throw refuseFrozenCredential(hold);
}

export async function login(ctx: Ctx, username: string, password: string) {
  const user = await store.findUserForLogin(ctx.db, username.trim().toLowerCase());
  // Failed attempts are audited (never the password; the typed name only when it is a real user,
  // since people sometimes type their password into the name field).
  const failed = (actor: { id: string; org_id: string } | null, details: Record<string, unknown>) =>
    withTx(ctx.db, (tx) =>
      appendAudit(tx, {
        actorId: actor?.id ?? null,
        orgId: actor?.org_id ?? null,
        action: 'session.login_failed',
        objectType: 'user',
        objectId: actor?.id ?? null,
        requestId: ctx.requestId,
        details,
      }),
    );
  if (!user) {
    await verifyPassword(await decoyPasswordHash(), password);
    await failed(null, { reason: 'unknown_user' });
    throw new AppError('LOGIN_FAILED');
  }
  if (user.locked_until && user.locked_until > new Date()) {
    await failed(user, { reason: 'locked', username: user.username });
    throw new AppError('ACCOUNT_LOCKED', { lockedUntil: user.locked_until.toISOString() });
  }
  const ok = await verifyPassword(user.password_hash, password);
  if (!ok || user.status !== 'active') {
    if (!ok) {
      await withTx(ctx.db, async (tx) => {
        const after = await store.recordFailedLogin(tx, user.id, MAX_FAILED_LOGINS, LOCK_MINUTES);
        const event = {
          actorId: user.id,
          orgId: user.org_id,
          objectType: 'user',
          objectId: user.id,
          requestId: ctx.requestId,
        };
        await appendAudit(tx, {
          ...event,
          action: 'session.login_failed',
          details: {
            reason: 'bad_password',
            username: user.username,
            failures: after?.failed_logins ?? null,
          },
        });
        const lockedNow = after?.locked_until && after.locked_until > new Date();
        const wasLocked = user.locked_until && user.locked_until > new Date();
        if (lockedNow && !wasLocked) {
          await appendAudit(tx, {
            ...event,
            action: 'session.lockout',
            details: { username: user.username, lockedUntil: after.locked_until!.toISOString() },
          });
        }
      });
    } else {
      await failed(user, { reason: 'inactive', username: user.username });
    }
    throw new AppError('LOGIN_FAILED');
  }
  // Told only after the password is proven, so the freeze is no hint to someone guessing.
  const frozen = await userFreeze(ctx, user.id);
  if (frozen) {
    await failed(user, { reason: 'frozen', username: user.username, freezeId: frozen.id });
    throw refuseFrozenCredential(frozen);
  }
  const token = newSecret('sts');
  const expiresAt = new Date(Date.now() + ctx.config.sessionTtlHours * 3_600_000);
  const sessionId = newId('ses');
  await withTx(ctx.db, async (tx) => {
    await store.insertSession(tx, {
      id: sessionId,
      user_id: user.id,
      token_hash: hashSecret(token),
      expires_at: expiresAt,
    });
    await store.updateUser(tx, user.id, { failed_logins: 0, locked_until: null });
    await appendAudit(tx, {
      actorId: user.id,
      orgId: user.org_id,
      action: 'session.login',
      objectType: 'session',
      objectId: sessionId,
      requestId: ctx.requestId,
    });
  });
  return { token, expiresAt: expiresAt.toISOString() };
}

/** A citizen's session signs out with the scope it has (`POST /v1/citizen/logout`). */
export async function logout(ctx: Ctx, scope: Scope = 'identity:read'): Promise<void> {
  const principal = must(ctx, { roles: 'any', scope, sessionOnly: true });
  await withTx(ctx.db, async (tx) => {
    await store.revokeSession(tx, principal.credentialId);
    await auditAs(ctx, tx, 'session.logout', 'session', principal.credentialId);
  });
}

export async function me(ctx: Ctx) {
  const principal = must(ctx, { roles: 'any', scope: 'identity:read' });
  const [user, org] = await Promise.all([
    store.findUser(ctx.db, principal.userId),
    store.findOrganization(ctx.db, principal.orgId),
  ]);
  if (!user || !org) throw new AppError('UNAUTHENTICATED');
  return {
    user: userView(user),
    organization: orgView(org),
    credential: principal.kind,
    scopes: principal.scopes === 'all' ? ('all' as const) : [...principal.scopes],
  };
}

// ---------------------------------------------------------------- organizations

export interface OrganizationInput {
  name: string;
  type: OrgType;
  level: AdminLevel;
  regionCode?: string | null | undefined;
  uscc: string;
}

/**
 * GB/T 2260 code must exist and sit at the organization's administrative level. A township office
 * sits at a town, which GB/T 2260 does not list: its nine-digit statistical code (统计用区划代码) must
 * name a town of a listed county (the county is checked, the town's three digits for form).
 */
function checkRegion(level: AdminLevel, regionCode: string | null | undefined): string | null {
  if (regionCode === undefined || regionCode === null || regionCode === '') {
    if (level === 'national') return null;
    throw invalidField('INVALID_REGION_CODE', 'regionCode');
  }
  if (level === 'township' || regionCode.length === 9) {
    const town = unitLevel(regionCode) === 'town';
    if (town && level === 'township') return regionCode;
    const region = town ? undefined : findRegion(regionCode);
    if (!town && !region) throw invalidField('INVALID_REGION_CODE', 'regionCode', regionCode);
    throw levelMismatch(regionCode, level, region?.level ?? 'town');
  }
  const region = findRegion(regionCode);
  if (!region) throw invalidField('INVALID_REGION_CODE', 'regionCode', regionCode);
  const fits =
    level === 'national' ||
    (level === 'provincial' && region.level === 'province') ||
    (level === 'municipal' && (region.level === 'prefecture' || isMunicipality(region.code))) ||
    (level === 'county' && region.level === 'county');
  if (!fits) throw levelMismatch(regionCode, level, region.level);
  return region.code;
}

function levelMismatch(regionCode: string, level: AdminLevel, regionLevel: string | undefined) {
  const name = divisionName(regionCode, false) ?? regionCode;
  return new AppError(
    'REGION_LEVEL_MISMATCH',
    { field: 'regionCode', value: regionCode, level, regionLevel: regionLevel ?? null },
    {
      zh: `${regionCode}（${name}）不是${level}级代码`,
      en: `${regionCode} (${name}) is not a ${level} code`,
    },
  );
}

function checkUscc(uscc: string): string {
  const normalized = uscc.trim().toUpperCase();
  if (!isValidUscc(normalized)) throw invalidField('INVALID_USCC', 'uscc', uscc);
  return normalized;
}

function orgView(org: Organization) {
  return {
    id: org.id,
    name: org.name,
    type: org.type,
    level: org.level,
    regionCode: org.region_code,
    regionName: org.region_code ? (divisionName(org.region_code, false) ?? null) : null,
    uscc: org.uscc,
    createdAt: org.created_at.toISOString(),
    updatedAt: org.updated_at.toISOString(),
  };
}
export type OrganizationView = ReturnType<typeof orgView>;

async function uniqueViolation<T>(work: Promise<T>, field: string): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if ((error as { code?: string }).code === '23505') {
      throw new AppError('CONFLICT', { field }, { zh: `${field} 已存在`, en: `${field} already exists` });
    }
    throw error;
  }
}

export async function createOrganization(ctx: Ctx, input: OrganizationInput): Promise<OrganizationView> {
  must(ctx, { roles: ['platform_admin'], scope: 'identity:write' });
  const regionCode = checkRegion(input.level, input.regionCode);
  const uscc = checkUscc(input.uscc);
  const org = await withTx(ctx.db, async (tx) => {
    if (await store.findOrganizationByUscc(tx, uscc)) {
      throw new AppError(
        'CONFLICT',
        { field: 'uscc' },
        { zh: '统一社会信用代码已登记', en: 'credit code already registered' },
      );
    }
    const created = await uniqueViolation(
      store.insertOrganization(tx, {
        id: newId('org'),
        name: input.name.trim(),
        type: input.type,
        level: input.level,
        region_code: regionCode,
        uscc,
        updated_at: new Date(),
      }),
      'name',
    );
    await auditAs(ctx, tx, 'organization.create', 'organization', created.id, { name: created.name, uscc });
    return created;
  });
  return orgView(org);
}

export async function updateOrganization(
  ctx: Ctx,
  id: string,
  patch: Partial<OrganizationInput>,
): Promise<OrganizationView> {
  const existing = await store.findOrganization(ctx.db, id);
  if (!existing) throw notFound('organization', id);
  must(ctx, { roles: ADMINS, scope: 'identity:write', orgId: existing.id });
  const level = patch.level ?? existing.level;
  const regionCode = checkRegion(
    level,
    patch.regionCode === undefined ? existing.region_code : patch.regionCode,
  );
  const uscc = patch.uscc === undefined ? existing.uscc : checkUscc(patch.uscc);
  const updated = await withTx(ctx.db, async (tx) => {
    const row = await uniqueViolation(
      store.updateOrganization(tx, id, {
        name: patch.name?.trim() ?? existing.name,
        type: patch.type ?? existing.type,
        level,
        region_code: regionCode,
        uscc,
      }),
      patch.uscc !== undefined ? 'uscc' : 'name',
    );
    if (!row) throw notFound('organization', id);
    await auditAs(ctx, tx, 'organization.update', 'organization', id, { changed: Object.keys(patch) });
    return row;
  });
  return orgView(updated);
}

/**
 * Organizations are public bodies and companies with public credit codes: the open-data views
 * (`publicDirectory`) show them to anonymous harvesters too.
 */
export async function getOrganization(
  ctx: Ctx,
  id: string,
  options: { publicDirectory?: boolean } = {},
): Promise<OrganizationView> {
  if (!options.publicDirectory) must(ctx, { roles: 'any', scope: 'identity:read' });
  const org = await store.findOrganization(ctx.db, id);
  if (!org) throw notFound('organization', id);
  return orgView(org);
}

/**
 * The divisions, of those given, where a government department sits (a report's sign-off chain
 * skips a level with none). Organizations are a public directory, so no role is asked.
 */
export async function governmentRegions(ctx: Ctx, regionCodes: string[]): Promise<Set<string>> {
  return new Set(await store.governmentRegions(ctx.db, regionCodes));
}

/**
 * Names by id for views read by citizens and anonymous readers (a step's department, a statistics
 * row): organizations are public bodies, as the open-data directory shows. Unknown ids keep the id.
 */
export async function organizationNames(ctx: Ctx, ids: Iterable<string>): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  for (const [id, org] of await organizationsById(ctx, ids)) names.set(id, org?.name ?? id);
  return names;
}

/** Each distinct id's organization (undefined when unknown). */
async function organizationsById(ctx: Ctx, ids: Iterable<string>) {
  const found = new Map<string, Organization | undefined>();
  for (const id of new Set(ids)) found.set(id, await store.findOrganization(ctx.db, id));
  return found;
}

/** GB/T 2260 (or a township's nine-digit) region codes by organization id; none for unknown ids. */
export async function organizationRegions(ctx: Ctx, ids: Iterable<string>): Promise<Map<string, string>> {
  const regions = new Map<string, string>();
  for (const [id, org] of await organizationsById(ctx, ids))
    if (org?.region_code) regions.set(id, org.region_code);
  return regions;
}

/** The directory of organizations is visible to every signed-in user: catalogs name providers. */
export async function listOrganizations(
  ctx: Ctx,
  limit = 50,
  cursor?: string,
  options: { publicDirectory?: boolean; q?: string | undefined } = {},
): Promise<Page<OrganizationView>> {
  if (!options.publicDirectory) must(ctx, { roles: 'any', scope: 'identity:read' });
  const rows = await store.listOrganizations(ctx.db, { after: cursor, limit, q: options.q });
  const page = pageOf(rows, limit);
  return { items: page.items.map(orgView), nextCursor: page.nextCursor };
}

// ---------------------------------------------------------------- users

function userView(user: UserView) {
  return {
    id: user.id,
    orgId: user.org_id,
    username: user.username,
    displayName: user.display_name,
    roles: user.roles,
    status: user.status,
    createdAt: user.created_at.toISOString(),
    updatedAt: user.updated_at.toISOString(),
  };
}
export type UserPublic = ReturnType<typeof userView>;

function checkPassword(password: string): void {
  if ([...password].length < MIN_PASSWORD_LENGTH) {
    throw new AppError('WEAK_PASSWORD', { field: 'password', minLength: MIN_PASSWORD_LENGTH });
  }
}

/** Only a platform admin hands out platform_admin; an org admin manages the rest in their own org. */
function checkGrantableRoles(principal: Principal, roles: readonly Role[]): void {
  if (roles.includes('platform_admin') && !hasRole(principal, 'platform_admin')) {
    throw new AppError('FORBIDDEN', { field: 'roles', reason: 'platform_admin_only' });
  }
}

export interface UserInput {
  orgId: string;
  username: string;
  displayName: string;
  password: string;
  roles: Role[];
}

export async function createUser(ctx: Ctx, input: UserInput): Promise<UserPublic> {
  const principal = must(ctx, { roles: ADMINS, scope: 'identity:write', orgId: input.orgId });
  checkGrantableRoles(principal, input.roles);
  checkPassword(input.password);
  if (!(await store.findOrganization(ctx.db, input.orgId))) {
    throw new AppError('NOT_FOUND', { field: 'orgId', objectType: 'organization', id: input.orgId });
  }
  const passwordHash = await hashPassword(input.password);
  const user = await withTx(ctx.db, async (tx) => {
    const created = await uniqueViolation(
      store.insertUser(tx, {
        id: newId('usr'),
        org_id: input.orgId,
        username: input.username.toLowerCase(),
        display_name: input.displayName.trim(),
        password_hash: passwordHash,
        roles: [...new Set(input.roles)],
      }),
      'username',
    );
    await auditAs(ctx, tx, 'user.create', 'user', created.id, {
      username: created.username,
      roles: created.roles,
    });
    return created;
  });
  return userView(user);
}

async function loadUserFor(
  ctx: Ctx,
  id: string,
  rule: Omit<AccessRule, 'orgId' | 'selfUserId'>,
  allowSelf: boolean,
) {
  const user = await store.findUser(ctx.db, id);
  if (!user) throw notFound('user', id);
  const principal = must(ctx, { ...rule, orgId: user.org_id, ...(allowSelf ? { selfUserId: user.id } : {}) });
  return { user, principal };
}

export async function getUser(ctx: Ctx, id: string): Promise<UserPublic> {
  const { user } = await loadUserFor(
    ctx,
    id,
    {
      roles: [...ADMINS, ...IDENTITY_READERS_ANY_ORG],
      scope: 'identity:read',
      crossOrg: IDENTITY_READERS_ANY_ORG,
    },
    true,
  );
  return userView(user);
}

export async function listUsers(
  ctx: Ctx,
  opts: {
    orgId?: string | undefined;
    limit?: number;
    cursor?: string | undefined;
    q?: string | undefined;
    status?: UserStatus | undefined;
  },
): Promise<Page<UserPublic>> {
  const principal = must(ctx, USER_LISTERS);
  const anyOrg = hasRole(principal, ...IDENTITY_READERS_ANY_ORG);
  const orgId = anyOrg ? opts.orgId : principal.orgId;
  if (opts.orgId && opts.orgId !== orgId) {
    throw new AppError('FORBIDDEN', { reason: 'organization', field: 'orgId' });
  }
  const limit = opts.limit ?? 50;
  const rows = await store.listUsers(ctx.db, {
    orgId,
    after: opts.cursor,
    limit,
    q: opts.q,
    status: opts.status,
  });
  const page = pageOf(rows, limit);
  return { items: page.items.map(userView), nextCursor: page.nextCursor };
}

export interface UserPatch {
  displayName?: string | undefined;
  roles?: Role[] | undefined;
  status?: UserStatus | undefined;
}

export async function updateUser(ctx: Ctx, id: string, patch: UserPatch): Promise<UserPublic> {
  const { user, principal } = await loadUserFor(ctx, id, { roles: ADMINS, scope: 'identity:write' }, false);
  if (patch.roles && user.org_id === PUBLIC_ORG_ID)
    throw new AppError(
      'VALIDATION_FAILED',
      { field: 'roles' },
      { zh: '公众用户没有可分配的角色', en: 'a citizen account has no roles to grant' },
    );
  if (patch.roles) {
    checkGrantableRoles(principal, patch.roles);
    // Taking platform_admin away is also a platform_admin decision.
    checkGrantableRoles(principal, user.roles);
  }
  const event =
    patch.status && patch.status !== user.status
      ? patch.status === 'disabled'
        ? 'disable'
        : 'enable'
      : null;
  const status = event ? nextState(USER_LIFECYCLE, 'user', user.status, event) : user.status;
  if (event && user.id === principal.userId) {
    throw new AppError('FORBIDDEN', { field: 'status', reason: 'cannot_disable_self' });
  }
  const updated = await withTx(ctx.db, async (tx) => {
    const row = await store.updateUser(
      tx,
      id,
      {
        display_name: patch.displayName?.trim() ?? user.display_name,
        roles: patch.roles ? [...new Set(patch.roles)] : user.roles,
        status,
      },
      user.status,
    );
    if (!row) throw nextStateConflict('user', user.status);
    if (status === 'disabled') await store.revokeSessionsOfUser(tx, id);
    await auditAs(ctx, tx, event ? `user.${event}` : 'user.update', 'user', id, {
      roles: patch.roles,
      displayName: patch.displayName,
    });
    return row;
  });
  return userView(updated);
}

function nextStateConflict(objectType: string, from: string): AppError {
  return new AppError('INVALID_TRANSITION', { objectType, state: from, reason: 'changed_concurrently' });
}

/** Users change their own password with the current one; admins of the organization may reset it. */
export async function setPassword(
  ctx: Ctx,
  id: string,
  input: { password: string; currentPassword?: string | undefined },
): Promise<void> {
  const { user, principal } = await loadUserFor(
    ctx,
    id,
    { roles: ADMINS, scope: 'identity:write', sessionOnly: true },
    true,
  );
  checkPassword(input.password);
  if (principal.userId === user.id) {
    const full = await store.findUserForLogin(ctx.db, user.username);
    if (
      !full ||
      !input.currentPassword ||
      !(await verifyPassword(full.password_hash, input.currentPassword))
    ) {
      throw new AppError('FORBIDDEN', { field: 'currentPassword', reason: 'current_password_wrong' });
    }
  }
  const hash = await hashPassword(input.password);
  await withTx(ctx.db, async (tx) => {
    await store.updateUser(tx, id, { password_hash: hash, failed_logins: 0, locked_until: null });
    await store.revokeSessionsOfUser(tx, id);
    await auditAs(ctx, tx, 'user.password', 'user', id);
  });
}

// ---------------------------------------------------------------- API keys

function keyView(key: ApiKeyView) {
  return {
    id: key.id,
    orgId: key.org_id,
    userId: key.user_id,
    name: key.name,
    scopes: key.scopes,
    status: key.status,
    expiresAt: key.expires_at?.toISOString() ?? null,
    lastUsedAt: key.last_used_at?.toISOString() ?? null,
    createdAt: key.created_at.toISOString(),
    revokedAt: key.revoked_at?.toISOString() ?? null,
  };
}
export type ApiKeyPublic = ReturnType<typeof keyView>;

export async function createApiKey(
  ctx: Ctx,
  input: { name: string; scopes: string[]; expiresAt?: string | undefined },
): Promise<ApiKeyPublic & { secret: string }> {
  const principal = must(ctx, { roles: 'any', scope: 'identity:read', sessionOnly: true });
  const unknown = input.scopes.filter((scope) => !(scope in SCOPES));
  if (unknown.length > 0 || input.scopes.length === 0) {
    throw new AppError('INVALID_SCOPE', { field: 'scopes', unknown, allowed: Object.keys(SCOPES) });
  }
  const expiresAt = input.expiresAt ? new Date(input.expiresAt) : null;
  if (expiresAt && !(expiresAt.getTime() > Date.now())) {
    throw invalidField('VALIDATION_FAILED', 'expiresAt', input.expiresAt);
  }
  const secret = newSecret('stk');
  const key = await withTx(ctx.db, async (tx) => {
    const created = await store.insertApiKey(tx, {
      id: newId('key'),
      org_id: principal.orgId,
      user_id: principal.userId,
      name: input.name.trim(),
      scopes: [...new Set(input.scopes)],
      secret_hash: hashSecret(secret),
      expires_at: expiresAt,
    });
    await auditAs(ctx, tx, 'api_key.create', 'api_key', created.id, {
      name: created.name,
      scopes: created.scopes,
    });
    return created;
  });
  return { ...keyView(key), secret };
}

/** Admins of an organization see all its keys (platform admins and auditors every key); others their own. */
export async function listApiKeys(
  ctx: Ctx,
  opts: { orgId?: string | undefined; limit?: number; cursor?: string | undefined },
): Promise<Page<ApiKeyPublic>> {
  const principal = must(ctx, { roles: 'any', scope: 'identity:read' });
  const anyOrg = hasRole(principal, ...IDENTITY_READERS_ANY_ORG);
  const orgAdmin = hasRole(principal, 'org_admin');
  if (opts.orgId && !anyOrg && opts.orgId !== principal.orgId) {
    throw new AppError('FORBIDDEN', { reason: 'organization', field: 'orgId' });
  }
  const orgId = anyOrg ? opts.orgId : principal.orgId;
  const userId = anyOrg || orgAdmin ? undefined : principal.userId;
  const limit = opts.limit ?? 50;
  const rows = await store.listApiKeys(ctx.db, { orgId, userId, after: opts.cursor, limit });
  const page = pageOf(rows, limit);
  return { items: page.items.map(keyView), nextCursor: page.nextCursor };
}

export async function revokeApiKey(ctx: Ctx, id: string): Promise<ApiKeyPublic> {
  const key = await store.findApiKey(ctx.db, id);
  if (!key) throw notFound('api_key', id);
  must(ctx, {
    roles: ADMINS,
    scope: 'identity:write',
    orgId: key.org_id,
    selfUserId: key.user_id,
    sessionOnly: true,
  });
  const to = nextState(API_KEY_LIFECYCLE, 'api_key', key.status, 'revoke');
  const revoked = await withTx(ctx.db, async (tx) => {
    const row = await store.setApiKeyStatus(tx, id, key.status, to);
    if (!row) throw nextStateConflict('api_key', key.status);
    await auditAs(ctx, tx, 'api_key.revoke', 'api_key', id);
    return row;
  });
  return keyView(revoked);
}

/** Usernames and display names of the given user ids (for showing who confirmed or decided something). */
export function usernames(
  db: Executor,
  ids: string[],
): Promise<Array<{ id: string; username: string; displayName: string }>> {
  if (ids.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('users')
    .select(['id', 'username', 'display_name as displayName'])
    .where('id', 'in', ids)
    .execute();
}

/**
 * A principal for acting at the command line (or in tests and the demo seeding) as one user: the
 * user named, or the first active user of an organization who has a role. The user's current
 * roles apply, with every scope: the command line is the server's console, the roles still decide.
 */
export async function actingAs(
  db: Executor,
  who: { username: string } | { orgId: string; role: Role },
): Promise<Principal> {
  let query = db
    .selectFrom('users')
    .select(['id', 'username', 'org_id', 'roles', 'status'])
    .orderBy('id')
    .limit(1);
  query =
    'username' in who
      ? query.where('username', '=', who.username.toLowerCase())
      : query
          .where('org_id', '=', who.orgId)
          .where('status', '=', 'active')
          .where((eb) => eb(eb.val(who.role), '=', eb.fn.any('roles')));
  const user = await query.executeTakeFirst();
  if (!user) {
    throw new AppError(
      'NOT_FOUND',
      'username' in who
        ? { field: 'user', value: who.username }
        : { field: 'user', reason: `the organization has no active ${who.role}` },
    );
  }
  if (user.status !== 'active') throw new AppError('FORBIDDEN', { field: 'user', reason: 'user_disabled' });
  return cliPrincipal(user);
}

/** Acting as a user from the server itself: the user's current roles, with every scope they may hold. */
function cliPrincipal(user: { id: string; username: string; org_id: string; roles: Role[] }): Principal {
  return {
    kind: 'cli',
    credentialId: 'cli',
    userId: user.id,
    username: user.username,
    orgId: user.org_id,
    roles: user.roles,
    scopes: user.roles.includes('citizen') ? CITIZEN_SCOPES : 'all',
  };
}

/**
 * Active users holding one of `roles`, each with the principal to act as them (built as actingAs
 * builds it: current roles, every scope) and the names a message to them carries — for work the
 * platform does on its users' behalf, such as pushing their reminders to the messaging gateway.
 */
export async function activeUsersWithRoles(
  db: Executor,
  roles: readonly Role[],
): Promise<Array<{ principal: Principal; displayName: string; orgName: string }>> {
  if (roles.length === 0) return [];
  const rows = await store.activeUsersWithRoles(db, roles);
  return rows.map((user) => ({
    principal: cliPrincipal(user),
    displayName: user.display_name,
    orgName: user.org_name,
  }));
}

// ---------------------------------------------------------------- citizens

/**
 * Citizens' sessions reach the service bundles, ratings and their own consents only: a person is
 * not a department's member, so nothing of the catalog, sharing, gateway or audit answers them.
 */
export const CITIZEN_SCOPES: readonly Scope[] = ['services'];
/** Who a citizen or a department's user is, for the one-thing services (scope services). */
const SERVICES_CALLER: AccessRule = { roles: 'any', scope: 'services' };

/** The provider that vouched for the demo city's and the command line's citizens. */
export const LOCAL_CITIZEN_PROVIDER = 'local';

/**
 * The plug-in point for a provincial unified identity service (统一身份认证): a provider proves who
 * a person is and answers with the resident ID number and name; Shutong keeps the account. The
 * `local` provider is the platform's own password store (demo and small deployments); a federated
 * one exchanges the provider's ticket for the person (not built: no provincial service here).
 */
export interface CitizenIdentity {
  provider: string;
  idNumber: string;
  name: string;
}

/** Resident ID numbers in upper case, check digit verified (GB 11643). */
export function normalizeIdNumber(value: string, field = 'idNumber'): string {
  const id = value.trim().toUpperCase();
  if (!isValidResidentId(id))
    throw new AppError(
      'VALIDATION_FAILED',
      { field },
      { zh: '公民身份号码格式或校验码不正确', en: 'not a valid resident ID number (format or check digit)' },
    );
  return id;
}

/** A citizen's login name, derived from the ID number without showing it in logs or the audit log. */
function citizenUsername(idNumber: string): string {
  return `cz-${sm3Hex(`citizen:${idNumber}`).slice(0, 24)}`;
}

/**
 * Registers a citizen the provider vouched for (the platform at the command line: the demo, or a
 * federated provider's first sign-in). Idempotent by ID number: an existing citizen is returned.
 */
export async function registerCitizen(
  ctx: Ctx,
  identity: CitizenIdentity & { password: string },
): Promise<{ userId: string; created: boolean }> {
  must(ctx, { roles: ['platform_admin'], scope: 'identity:write' });
  const idNumber = normalizeIdNumber(identity.idNumber);
  const name = identity.name.trim();
  if (!name) throw invalidField('VALIDATION_FAILED', 'name');
  checkPassword(identity.password);
  const existing = await store.findCitizenByIdNumber(ctx.db, idNumber);
  if (existing) return { userId: existing.user_id, created: false };
  const passwordHash = await hashPassword(identity.password);
  return withTx(ctx.db, async (tx) => {
    const user = await store.insertUser(tx, {
      id: newId('usr'),
      org_id: PUBLIC_ORG_ID,
      username: citizenUsername(idNumber),
      display_name: name,
      password_hash: passwordHash,
      roles: ['citizen'],
    });
    await store.insertCitizenIdentity(tx, {
      user_id: user.id,
      provider: identity.provider,
      id_number: idNumber,
      name,
    });
    // The ID number stays out of the audit log: the account and the provider identify the act.
    await auditAs(ctx, tx, 'citizen.register', 'user', user.id, { provider: identity.provider });
    return { userId: user.id, created: true };
  });
}

/**
 * A citizen signs in with the resident ID number and the local provider's password: the staff
 * login underneath (lockout after failures, freezes, the audit trail), under a name derived from
 * the ID number. A staff account can never be reached this way (their names have no `cz-`).
 */
export async function citizenLogin(ctx: Ctx, idNumber: string, password: string) {
  return login(ctx, citizenUsername(normalizeIdNumber(idNumber)), password);
}

export function maskIdNumber(idNumber: string): string {
  return `${idNumber.slice(0, 3)}${'*'.repeat(11)}${idNumber.slice(-4)}`;
}

export type ServicesCaller =
  | { kind: 'citizen'; userId: string; name: string; idNumber: string }
  | {
      kind: 'organization';
      userId: string;
      name: string;
      organization: { id: string; name: string; uscc: string };
    };

/**
 * Who is applying: a citizen with the resident ID number the provider vouched for, or a
 * department's or an enterprise's user with its organization's credit code. Service applications
 * are keyed by these, never by what the caller types.
 */
export async function servicesCaller(ctx: Ctx): Promise<ServicesCaller> {
  const principal = must(ctx, SERVICES_CALLER);
  const user = await store.findUser(ctx.db, principal.userId);
  if (!user) throw new AppError('UNAUTHENTICATED');
  if (hasRole(principal, 'citizen')) {
    const citizen = await store.findCitizen(ctx.db, principal.userId);
    if (!citizen) throw new AppError('UNAUTHENTICATED');
    return { kind: 'citizen', userId: user.id, name: citizen.name, idNumber: citizen.id_number };
  }
  const org = await store.findOrganization(ctx.db, principal.orgId);
  if (!org) throw new AppError('UNAUTHENTICATED');
  return {
    kind: 'organization',
    userId: user.id,
    name: user.display_name,
    organization: { id: org.id, name: org.name, uscc: org.uscc },
  };
}

/** `GET /v1/citizen/me`: the signed-in applicant, the ID number masked. */
export async function citizenMe(ctx: Ctx) {
  const caller = await servicesCaller(ctx);
  return caller.kind === 'citizen'
    ? {
        kind: caller.kind,
        name: caller.name,
        idNumberMasked: maskIdNumber(caller.idNumber),
        organization: null,
      }
    : { kind: caller.kind, name: caller.name, idNumberMasked: null, organization: caller.organization };
}

/** Citizens by ID number (a consent's grantee may sign in later): name and user, or none. */
export async function citizenByIdNumber(ctx: Ctx, idNumber: string) {
  must(ctx, SERVICES_CALLER);
  const row = await store.findCitizenByIdNumber(ctx.db, idNumber);
  return row ? { userId: row.user_id, name: row.name, idNumber: row.id_number } : null;
}

/** A citizen's identity by account (a consent's grantor), for the services capability. */
export async function citizenOf(ctx: Ctx, userId: string) {
  must(ctx, SERVICES_CALLER);
  const row = await store.findCitizen(ctx.db, userId);
  return row ? { userId: row.user_id, name: row.name, idNumber: row.id_number } : null;
}
