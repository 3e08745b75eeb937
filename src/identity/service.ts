import { appendAudit, auditAs } from '../audit/append.ts';
import { type AccessRule, authorize, hasRole, type Principal, SCOPES, type Scope } from '../core/auth.ts';
import type { Ctx } from '../core/context.ts';
import { decoyPasswordHash, hashPassword, hashSecret, newSecret, verifyPassword } from '../core/crypto.ts';
import { type Executor, withTx } from '../core/db.ts';
import { AppError, invalidField } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { nextState, type TransitionTable } from '../core/lifecycle.ts';
import { type Page, pageOf } from '../core/paging.ts';
import type { AdminLevel, ApiKeyStatus, Organization, OrgType, Role, UserStatus } from '../core/tables.ts';
import { credentialFreezeSql, refuseFrozenCredential, userFreeze } from '../monitor/service.ts';
import { findRegion, isMunicipality } from '../standards/region.ts';
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
      scopes: 'all',
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

export async function logout(ctx: Ctx): Promise<void> {
  const principal = must(ctx, { roles: 'any', scope: 'identity:read', sessionOnly: true });
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

/** GB/T 2260 code must exist and sit at the organization's administrative level. */
function checkRegion(level: AdminLevel, regionCode: string | null | undefined): string | null {
  if (regionCode === undefined || regionCode === null || regionCode === '') {
    if (level === 'national') return null;
    throw invalidField('INVALID_REGION_CODE', 'regionCode');
  }
  const region = findRegion(regionCode);
  if (!region) throw invalidField('INVALID_REGION_CODE', 'regionCode', regionCode);
  const fits =
    level === 'national' ||
    (level === 'provincial' && region.level === 'province') ||
    (level === 'municipal' && (region.level === 'prefecture' || isMunicipality(region.code))) ||
    (level === 'county' && region.level === 'county');
  if (!fits) {
    throw new AppError(
      'REGION_LEVEL_MISMATCH',
      { field: 'regionCode', value: regionCode, level, regionLevel: region.level },
      {
        zh: `${regionCode}（${region.name}）不是${level}级代码`,
        en: `${regionCode} (${region.name}) is not a ${level} code`,
      },
    );
  }
  return region.code;
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
    regionName: org.region_code ? (findRegion(org.region_code)?.name ?? null) : null,
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
  return {
    kind: 'cli',
    credentialId: 'cli',
    userId: user.id,
    username: user.username,
    orgId: user.org_id,
    roles: user.roles,
    scopes: 'all',
  };
}
