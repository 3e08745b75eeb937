import { type Ctx, cliCtx } from '../core/context.ts';
import * as identity from '../identity/service.ts';
import * as sharing from '../sharing/service.ts';
import { stewardUsername } from './city.ts';
import { findDemoResource } from './resources.ts';

/** What the demo's seeding steps share: acting as an account, finding a resource, making a contract. */

/** The context of a demo account, at the command line. */
export async function actAs(ctx: Ctx, username: string): Promise<Ctx> {
  return cliCtx(ctx.db, ctx.config, await identity.actingAs(ctx.db, { username }));
}

export interface DemoResourceRef {
  key: string;
  id: string;
  code: string;
}

/** A seeded demo resource, found by its provider and name as seeding registered it. */
export async function demoResource(ctx: Ctx, key: string): Promise<DemoResourceRef> {
  const spec = findDemoResource(key)!;
  const provider = (await identity.actingAs(ctx.db, { username: stewardUsername(spec.provider) })).orgId;
  const row = await ctx.db
    .selectFrom('resources')
    .select(['id', 'code'])
    .where('provider_org_id', '=', provider)
    .where('name', '=', spec.name)
    .executeTakeFirstOrThrow();
  return { key, id: row.id, code: row.code };
}

export interface DemoContract {
  /** The consumer account that applies. */
  consumer: string;
  resource: DemoResourceRef;
  fields: string[];
  purpose: string;
  purposeCategory: string;
  legalBasis: string;
  scenario: string;
  /** The provider's reason for approving. */
  approval: string;
  /** The security officer's review, when the fields call for one; `unmasked` signs off serving them raw. */
  security: { reason: string; unmasked: boolean };
}

/**
 * The consumer's contract in force on the resource with these fields, or one applied for as the
 * consumer, approved by the provider's steward and, where the grades call for it, by the security
 * officer — as every contract is made. Returns its id.
 */
export async function ensureDemoContract(ctx: Ctx, c: DemoContract): Promise<string> {
  const consumer = await actAs(ctx, c.consumer);
  const inForce = await sharing.contractsInForce(ctx.db, [consumer.principal!.orgId], [c.resource.id]);
  const found = inForce.find((k) => c.fields.every((f) => k.fields.includes(f)));
  if (found) return found.id;
  let application = await sharing.createApplication(consumer, {
    resource: c.resource.code,
    fields: c.fields,
    purpose: c.purpose,
    purposeCategory: c.purposeCategory,
    legalBasis: c.legalBasis,
    scenario: c.scenario,
    operations: ['rows'],
    requestedTo: new Date(Date.now() + 2 * 365 * 86_400_000).toISOString(),
  });
  if (application.state === 'submitted') {
    const provider = await actAs(ctx, stewardUsername(findDemoResource(c.resource.key)!.provider));
    application = await sharing.approveApplication(provider, application.id, { reason: c.approval });
  }
  if (application.state === 'security_review')
    application = await sharing.approveApplication(await actAs(ctx, 'security'), application.id, {
      reason: c.security.reason,
      ...(c.security.unmasked
        ? { masking: Object.fromEntries(c.fields.map((f) => [f, 'none'])), allowWeakerMasking: true }
        : {}),
    });
  if (!application.contractId)
    throw new Error(`demo contract for ${c.consumer} not approved: ${application.state}`);
  return application.contractId;
}
