import { type RawBuilder, sql } from 'kysely';
import { containsPattern, type Executor, PREPARED } from '../core/db.ts';
import {
  type ApiKeyStatus,
  type NewOrganization,
  type Organization,
  PUBLIC_ORG_ID,
  type Role,
  type UserStatus,
  type UserUpdate,
} from '../core/tables.ts';

/**
 * A column another capability adds to the principal's own query (the emergency stop's freezes),
 * so authentication reads it without a round trip of its own.
 */
export type CredentialHold = (ids: {
  userId: RawBuilder<unknown>;
  credentialId: RawBuilder<unknown>;
}) => RawBuilder<unknown>;

const USER_PUBLIC = [
  'users.id',
  'users.org_id',
  'users.username',
  'users.display_name',
  'users.roles',
  'users.status',
  'users.created_at',
  'users.updated_at',
] as const;

const KEY_PUBLIC = [
  'api_keys.id',
  'api_keys.org_id',
  'api_keys.user_id',
  'api_keys.name',
  'api_keys.scopes',
  'api_keys.status',
  'api_keys.expires_at',
  'api_keys.last_used_at',
  'api_keys.created_at',
  'api_keys.revoked_at',
] as const;

export const identityStore = {
  insertOrganization(db: Executor, org: NewOrganization) {
    return db.insertInto('organizations').values(org).returningAll().executeTakeFirstOrThrow();
  },

  updateOrganization(db: Executor, id: string, patch: Partial<Omit<Organization, 'id' | 'created_at'>>) {
    return db
      .updateTable('organizations')
      .set({ ...patch, updated_at: new Date() })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
  },

  /** Organizations as the API knows them: the built-in public of citizens is none of them. */
  findOrganization(db: Executor, id: string) {
    return db
      .selectFrom('organizations')
      .selectAll()
      .where('id', '=', id)
      .where('id', '<>', PUBLIC_ORG_ID)
      .executeTakeFirst();
  },

  /** Which of these region codes a government department sits at. */
  async governmentRegions(db: Executor, regionCodes: string[]) {
    if (regionCodes.length === 0) return [] as string[];
    const rows = await db
      .selectFrom('organizations')
      .select('region_code')
      .distinct()
      .where('region_code', 'in', regionCodes)
      .where('type', '=', 'government_department')
      .execute();
    return rows.map((r) => r.region_code!);
  },

  findOrganizationByUscc(db: Executor, uscc: string) {
    return db
      .selectFrom('organizations')
      .selectAll()
      .where('uscc', '=', uscc)
      .where('id', '<>', PUBLIC_ORG_ID)
      .executeTakeFirst();
  },

  /** Active users holding any of `roles`, oldest first, with their organization's name. */
  activeUsersWithRoles(db: Executor, roles: readonly Role[]) {
    return db
      .selectFrom('users')
      .innerJoin('organizations', 'organizations.id', 'users.org_id')
      .select([
        'users.id',
        'users.username',
        'users.display_name',
        'users.org_id',
        'users.roles',
        'organizations.name as org_name',
      ])
      .where('users.status', '=', 'active')
      .where((eb) => eb.or(roles.map((role) => eb(eb.val(role), '=', eb.fn.any('users.roles')))))
      .orderBy('users.id')
      .execute();
  },

  findCitizen(db: Executor, userId: string) {
    return db.selectFrom('citizen_identities').selectAll().where('user_id', '=', userId).executeTakeFirst();
  },

  findCitizenByIdNumber(db: Executor, idNumber: string) {
    return db
      .selectFrom('citizen_identities')
      .selectAll()
      .where('id_number', '=', idNumber)
      .executeTakeFirst();
  },

  insertCitizenIdentity(
    db: Executor,
    row: { user_id: string; provider: string; id_number: string; name: string },
  ) {
    return db.insertInto('citizen_identities').values(row).execute();
  },

  listOrganizations(
    db: Executor,
    opts: { after?: string | undefined; limit: number; q?: string | undefined },
  ) {
    let query = db
      .selectFrom('organizations')
      .selectAll()
      .where('id', '<>', PUBLIC_ORG_ID)
      .orderBy('id')
      .limit(opts.limit + 1);
    if (opts.after) query = query.where('id', '>', opts.after);
    if (opts.q) {
      const like = containsPattern(opts.q);
      query = query.where((eb) => eb.or([eb('name', 'ilike', like), eb('uscc', 'ilike', like)]));
    }
    return query.execute();
  },

  insertUser(
    db: Executor,
    user: {
      id: string;
      org_id: string;
      username: string;
      display_name: string;
      password_hash: string;
      roles: Role[];
    },
  ) {
    return db
      .insertInto('users')
      .values({ ...user, status: 'active', updated_at: new Date() })
      .returning(USER_PUBLIC)
      .executeTakeFirstOrThrow();
  },

  findUser(db: Executor, id: string) {
    return db.selectFrom('users').select(USER_PUBLIC).where('id', '=', id).executeTakeFirst();
  },

  /** With the password hash and lockout counters: for login only. */
  findUserForLogin(db: Executor, username: string) {
    return db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
  },

  listUsers(
    db: Executor,
    opts: {
      orgId?: string | undefined;
      after?: string | undefined;
      limit: number;
      q?: string | undefined;
      status?: UserStatus | undefined;
    },
  ) {
    let query = db
      .selectFrom('users')
      .select(USER_PUBLIC)
      .orderBy('id')
      .limit(opts.limit + 1);
    // Citizens are listed only when their public is asked for by name.
    query = query.where('org_id', opts.orgId ? '=' : '<>', opts.orgId ?? PUBLIC_ORG_ID);
    if (opts.status) query = query.where('status', '=', opts.status);
    if (opts.q) {
      const like = containsPattern(opts.q);
      query = query.where((eb) => eb.or([eb('username', 'ilike', like), eb('display_name', 'ilike', like)]));
    }
    if (opts.after) query = query.where('id', '>', opts.after);
    return query.execute();
  },

  updateUser(db: Executor, id: string, patch: UserUpdate, expectStatus?: UserStatus) {
    let query = db
      .updateTable('users')
      .set({ ...patch, updated_at: new Date() })
      .where('id', '=', id);
    if (expectStatus) query = query.where('status', '=', expectStatus);
    return query.returning(USER_PUBLIC).executeTakeFirst();
  },

  recordFailedLogin(db: Executor, id: string, maxFailures: number, lockMinutes: number) {
    return db
      .updateTable('users')
      .set({
        failed_logins: sql`failed_logins + 1`,
        locked_until: sql`case when failed_logins + 1 >= ${maxFailures}
          then now() + make_interval(mins => ${lockMinutes}) else locked_until end`,
      })
      .where('id', '=', id)
      .returning(['failed_logins', 'locked_until'])
      .executeTakeFirst();
  },

  insertSession(
    db: Executor,
    session: { id: string; user_id: string; token_hash: string; expires_at: Date },
  ) {
    return db.insertInto('sessions').values(session).execute();
  },

  revokeSession(db: Executor, id: string) {
    return db
      .updateTable('sessions')
      .set({ revoked_at: new Date() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
  },

  revokeSessionsOfUser(db: Executor, userId: string) {
    return db
      .updateTable('sessions')
      .set({ revoked_at: new Date() })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .execute();
  },

  /** A live session and its active user, by the hash of the presented token. */
  findSessionPrincipal(db: Executor, tokenHash: string, hold: CredentialHold) {
    return (
      db
        .selectFrom('sessions')
        .innerJoin('users', 'users.id', 'sessions.user_id')
        .select([
          'sessions.id as credential_id',
          'users.id as user_id',
          'users.username',
          'users.org_id',
          'users.roles',
        ])
        .select(hold({ userId: sql.ref('users.id'), credentialId: sql.ref('sessions.id') }).as('hold'))
        .where('sessions.token_hash', '=', tokenHash)
        .where('sessions.revoked_at', 'is', null)
        .where('sessions.expires_at', '>', sql<Date>`now()`)
        .where('users.status', '=', 'active')
        // Run on every request, and planned in more time than it runs.
        .modifyEnd(PREPARED)
        .executeTakeFirst()
    );
  },

  /** An active, unexpired key whose creator is still active; the key acts with the creator's roles. */
  findApiKeyPrincipal(db: Executor, secretHash: string, hold: CredentialHold) {
    return (
      db
        .selectFrom('api_keys')
        .innerJoin('users', 'users.id', 'api_keys.user_id')
        .select([
          'api_keys.id as credential_id',
          'api_keys.scopes',
          'api_keys.org_id',
          'api_keys.last_used_at',
          'users.id as user_id',
          'users.username',
          'users.roles',
        ])
        .select(hold({ userId: sql.ref('users.id'), credentialId: sql.ref('api_keys.id') }).as('hold'))
        .where('api_keys.secret_hash', '=', secretHash)
        .where('api_keys.status', '=', 'active')
        .where((eb) =>
          eb.or([eb('api_keys.expires_at', 'is', null), eb('api_keys.expires_at', '>', sql<Date>`now()`)]),
        )
        .where('users.status', '=', 'active')
        // Run on every request, and planned in more time than it runs.
        .modifyEnd(PREPARED)
        .executeTakeFirst()
    );
  },

  /** At most one write a minute per key, so a busy key does not turn every read into a write. */
  touchApiKey(db: Executor, id: string) {
    return db
      .updateTable('api_keys')
      .set({ last_used_at: sql`now()` })
      .where('id', '=', id)
      .where((eb) =>
        eb.or([
          eb('last_used_at', 'is', null),
          eb('last_used_at', '<', sql<Date>`now() - interval '1 minute'`),
        ]),
      )
      .execute();
  },

  insertApiKey(
    db: Executor,
    key: {
      id: string;
      org_id: string;
      user_id: string;
      name: string;
      scopes: string[];
      secret_hash: string;
      expires_at: Date | null;
    },
  ) {
    return db
      .insertInto('api_keys')
      .values({ ...key, status: 'active' })
      .returning(KEY_PUBLIC)
      .executeTakeFirstOrThrow();
  },

  findApiKey(db: Executor, id: string) {
    return db.selectFrom('api_keys').select(KEY_PUBLIC).where('id', '=', id).executeTakeFirst();
  },

  listApiKeys(
    db: Executor,
    opts: {
      orgId?: string | undefined;
      userId?: string | undefined;
      after?: string | undefined;
      limit: number;
    },
  ) {
    let query = db
      .selectFrom('api_keys')
      .select(KEY_PUBLIC)
      .orderBy('id')
      .limit(opts.limit + 1);
    if (opts.orgId) query = query.where('org_id', '=', opts.orgId);
    if (opts.userId) query = query.where('user_id', '=', opts.userId);
    if (opts.after) query = query.where('id', '>', opts.after);
    return query.execute();
  },

  setApiKeyStatus(db: Executor, id: string, from: ApiKeyStatus, to: ApiKeyStatus) {
    return db
      .updateTable('api_keys')
      .set({ status: to, revoked_at: to === 'revoked' ? new Date() : null })
      .where('id', '=', id)
      .where('status', '=', from)
      .returning(KEY_PUBLIC)
      .executeTakeFirst();
  },
};

export type UserView = NonNullable<Awaited<ReturnType<typeof identityStore.findUser>>>;
export type ApiKeyView = NonNullable<Awaited<ReturnType<typeof identityStore.findApiKey>>>;
