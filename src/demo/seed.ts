import { sql } from 'kysely';
import type { Ctx } from '../core/context.ts';
import { withTx } from '../core/db.ts';
import * as identity from '../identity/service.ts';
import { DEMO_ORGANIZATIONS, DEMO_USERS, demoCreditCodes } from './city.ts';

const SEEDED_KEY = 'demo.seeded';
// Serialises seeding across processes that start together against one database.
const SEED_LOCK_KEY = 7_346_110_022;

export interface SeedResult {
  seeded: boolean;
  organizations: number;
  users: number;
}

/**
 * Seeds the demo city once per database, in one transaction: all of it or none. Seeding runs
 * through the same services as the API (authorization, validation, audit), as the platform
 * itself at the command line. With `force` (`shutong demo`), what is missing is added again and
 * what exists is left as it is.
 */
export async function seedDemo(ctx: Ctx, options: { force?: boolean } = {}): Promise<SeedResult> {
  return withTx(ctx.db, async (tx) => {
    await sql`select pg_advisory_xact_lock(${SEED_LOCK_KEY})`.execute(tx);
    const marker = await tx
      .selectFrom('settings')
      .select('value')
      .where('key', '=', SEEDED_KEY)
      .executeTakeFirst();
    if (marker && !options.force) return { seeded: false, organizations: 0, users: 0 };
    const scoped: Ctx = { ...ctx, db: tx };
    const codes = demoCreditCodes();
    const orgIds = new Map<string, string>();
    let organizations = 0;
    for (const org of DEMO_ORGANIZATIONS) {
      const uscc = codes.get(org.key)!;
      const existing = await tx
        .selectFrom('organizations')
        .select('id')
        .where('uscc', '=', uscc)
        .executeTakeFirst();
      if (existing) {
        orgIds.set(org.key, existing.id);
        continue;
      }
      const created = await identity.createOrganization(scoped, { ...org, uscc });
      orgIds.set(org.key, created.id);
      organizations++;
    }
    let users = 0;
    for (const user of DEMO_USERS) {
      const existing = await tx
        .selectFrom('users')
        .select('id')
        .where('username', '=', user.username)
        .executeTakeFirst();
      if (existing) continue;
      await identity.createUser(scoped, {
        orgId: orgIds.get(user.org)!,
        username: user.username,
        displayName: user.displayName,
        password: ctx.config.demoPassword,
        roles: user.roles,
      });
      users++;
    }
    const value = JSON.stringify({ at: new Date().toISOString() });
    await tx
      .insertInto('settings')
      .values({ key: SEEDED_KEY, value, updated_at: new Date() })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: new Date() }))
      .execute();
    return { seeded: true, organizations, users };
  });
}
