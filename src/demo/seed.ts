import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import * as catalog from '../catalog/service.ts';
import { type Ctx, cliCtx } from '../core/context.ts';
import { type Executor, withTx } from '../core/db.ts';
import { NODE_ID } from '../core/jobs.ts';
import * as identity from '../identity/service.ts';
import * as ingest from '../ingest/service.ts';
import { DEMO_ORGANIZATIONS, DEMO_USERS, demoCreditCodes, stewardUsername } from './city.ts';
import type { DemoDataOptions } from './data.ts';
import { seedIndicators } from './indicators.ts';
import { seedOperation } from './operation.ts';
import { DEMO_RESOURCES, type DemoResource } from './resources.ts';
import { seedServices } from './services.ts';

const SEEDED_KEY = 'demo.seeded';
/**
 * Marker version: 2 added the resources and their data to the organizations and users of 1; 3 the
 * one-thing services (contracts, bundles, demo citizens and enterprise: src/demo/services.ts); 4 the
 * authorized operation (the operator's steward and the mobility company's consumer; two registered
 * resources, plan, agreement, product with its cap fee and price, two customers, their metered
 * gateway calls and bills: src/demo/operation.ts); 5 one-form reporting (the indicator dictionary,
 * last year's departmental forms and this year's merged catalogue, communities' reports through
 * the sign-off chain, the district evaluation index: src/demo/indicators.ts).
 */
const SEEDED_VERSION = 5;
// Serialises seeding across processes that start together against one database.
const SEED_LOCK_KEY = 7_346_110_022;
/** Who is loading the demo data, until when: the claim lapses if that process dies. */
const LOADING_KEY = 'demo.loading';
const LOADING_CLAIM_SECONDS = 120;

export interface SeedOptions {
  /** `shutong demo`: add what is missing even when the city was seeded before. */
  force?: boolean;
  /** Register the resources and load their first versions (default); tests that need only accounts say false. */
  data?: boolean;
  /** Then load a new version of every demo resource with this many rows. */
  rows?: number;
}

export interface SeedResult {
  seeded: boolean;
  organizations: number;
  users: number;
  resources: number;
  versions: number;
  /** Another process was loading the demo data: this one left it to that one. */
  dataBusy: boolean;
}

/**
 * Seeds the demo city once per database, through the same services as the API (authorization,
 * validation, audit). Organizations and users come first, in one transaction under an advisory
 * lock, as the platform itself at the command line. The resources and their data follow as the
 * provider's data steward, each resource found by its provider and name before it is created, and
 * each first version loaded through the importer from a generated CSV file — so a start that dies
 * halfway resumes where it stopped. One process at a time loads data (a lapsing claim in
 * `settings`); the city counts as seeded only when everything is there. With `force`
 * (`shutong demo`) what is missing is added again and what exists is left as it is.
 */
export async function seedDemo(ctx: Ctx, options: SeedOptions = {}): Promise<SeedResult> {
  const accounts = await seedAccounts(ctx, options.force ?? false);
  const result: SeedResult = {
    seeded: accounts !== null,
    organizations: accounts?.organizations ?? 0,
    users: accounts?.users ?? 0,
    resources: 0,
    versions: 0,
    dataBusy: false,
  };
  if (!accounts || options.data === false) return result;
  if (!(await claimLoading(ctx.db))) {
    return { ...result, seeded: result.organizations + result.users > 0, dataBusy: true };
  }
  try {
    Object.assign(result, await seedData(ctx, options.rows));
    await seedServices(ctx);
    await seedOperation(ctx);
    await seedIndicators(ctx);
    const value = JSON.stringify({ at: new Date().toISOString(), version: SEEDED_VERSION });
    await ctx.db
      .insertInto('settings')
      .values({ key: SEEDED_KEY, value, updated_at: new Date() })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: new Date() }))
      .execute();
  } finally {
    await releaseLoading(ctx.db);
  }
  return result;
}

/** Organizations and users, all or none; null when the city was seeded already (and not forced). */
async function seedAccounts(ctx: Ctx, force: boolean) {
  return withTx(ctx.db, async (tx) => {
    await sql`select pg_advisory_xact_lock(${SEED_LOCK_KEY})`.execute(tx);
    const marker = await tx
      .selectFrom('settings')
      .select('value')
      .where('key', '=', SEEDED_KEY)
      .executeTakeFirst();
    const version = (marker?.value as { version?: number } | undefined)?.version ?? (marker ? 1 : 0);
    if (version >= SEEDED_VERSION && !force) return null;
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
    return { organizations, users };
  });
}

async function claimLoading(db: Executor): Promise<boolean> {
  const { rows } = await sql<{ key: string }>`
    insert into settings (key, value, updated_at)
    values (${LOADING_KEY},
            jsonb_build_object('node', ${NODE_ID}::text,
                               'until', now() + make_interval(secs => ${LOADING_CLAIM_SECONDS})),
            now())
    on conflict (key) do update set value = excluded.value, updated_at = excluded.updated_at
      where (settings.value->>'until')::timestamptz < now() or settings.value->>'node' = ${NODE_ID}
    returning key`.execute(db);
  return rows.length === 1;
}

async function releaseLoading(db: Executor): Promise<void> {
  await sql`delete from settings where key = ${LOADING_KEY} and value->>'node' = ${NODE_ID}`.execute(db);
}

/** The context of an organization's demo data steward, at the command line. */
async function stewardCtx(ctx: Ctx, orgKey: string): Promise<Ctx> {
  const username = stewardUsername(orgKey);
  return cliCtx(ctx.db, ctx.config, await identity.actingAs(ctx.db, { username }));
}

async function seedData(ctx: Ctx, rows: number | undefined) {
  const stewards = new Map<string, Ctx>();
  for (const r of DEMO_RESOURCES) {
    if (!stewards.has(r.provider)) stewards.set(r.provider, await stewardCtx(ctx, r.provider));
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'shutong-demo-'));
  let resources = 0;
  let versions = 0;
  try {
    const codes = new Map<string, string>();
    for (const r of DEMO_RESOURCES) {
      const steward = stewards.get(r.provider)!;
      const ensured = await ensureResource(steward, r);
      codes.set(r.key, ensured.code);
      if (ensured.created) resources++;
      if (ensured.needsData) {
        await loadVersion(steward, r, ensured.code, r.rows, {}, dir);
        versions++;
      }
      await publish(ctx, steward, ensured.code);
      await claimLoading(ctx.db);
    }
    if (rows !== undefined) {
      // People and employers of the other tables come from the residents and enterprises of this load.
      const sizes = { residents: rows, enterprises: rows };
      for (const r of DEMO_RESOURCES) {
        await loadVersion(stewards.get(r.provider)!, r, codes.get(r.key)!, rows, sizes, dir);
        versions++;
        await claimLoading(ctx.db);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { resources, versions };
}

/**
 * The demo city's catalog has been through the bureau's review: its steward submits each resource
 * and the platform publishes it, fields the demo leaves unassessed accepted as such (they are
 * served under the strictest default, and the console shows them as 未定级).
 */
async function publish(platform: Ctx, steward: Ctx, code: string) {
  const { state } = await catalog.getResource(steward, code);
  if (state === 'draft' || state === 'withdrawn') await catalog.changePublication(steward, code, 'submit');
  if (state !== 'published') {
    await catalog.changePublication(platform, code, 'publish', { acceptUnassessed: true });
  }
}

/**
 * The demo resource of this name and provider, registered if missing; it needs data when it has
 * no current version and no import of it is running (a running import renews its job's lease).
 */
async function ensureResource(steward: Ctx, resource: DemoResource) {
  return withTx(steward.db, async (tx) => {
    await sql`select pg_advisory_xact_lock(${SEED_LOCK_KEY})`.execute(tx);
    const existing = await tx
      .selectFrom('resources')
      .select(['id', 'code', 'current_version_id'])
      .where('provider_org_id', '=', steward.principal!.orgId)
      .where('name', '=', resource.name)
      .executeTakeFirst();
    if (existing) {
      const loading = await tx
        .selectFrom('dataset_versions')
        .innerJoin('jobs', 'jobs.id', 'dataset_versions.job_id')
        .select('dataset_versions.id')
        .where('dataset_versions.resource_id', '=', existing.id)
        .where('dataset_versions.state', '=', 'loading')
        .where('jobs.state', '=', 'running')
        .where('jobs.lease_until', '>', sql<Date>`now()`)
        .executeTakeFirst();
      return { code: existing.code, created: false, needsData: !existing.current_version_id && !loading };
    }
    const { key: _key, provider: _provider, rows: _rows, encoding: _encoding, ...input } = resource;
    const created = await catalog.createResource({ ...steward, db: tx }, input);
    return { code: created.code, created: true, needsData: true };
  });
}

/** Generates the rows as a CSV file and loads them as a new version, the way a steward's upload is. */
async function loadVersion(
  steward: Ctx,
  resource: DemoResource,
  code: string,
  rows: number,
  sizes: DemoDataOptions,
  dir: string,
): Promise<void> {
  const file = path.join(dir, `${resource.key}.csv`);
  // Loaded when data is seeded, not at every start of the command line: faker is large.
  const { writeDemoCsv } = await import('./data.ts');
  await writeDemoCsv(file, resource, rows, sizes);
  try {
    const prepared = await ingest.prepareImport(steward, code, file, { sourceName: `${resource.key}.csv` });
    await prepared.run();
  } finally {
    await rm(file, { force: true });
  }
}
