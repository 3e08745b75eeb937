import type { RawBuilder } from 'kysely';
import { auditAs } from '../audit/append.ts';
import { authorize, hasRole } from '../core/auth.ts';
import type { Ctx } from '../core/context.ts';
import { withTx } from '../core/db.ts';
import { AppError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { nextState, type TransitionTable } from '../core/lifecycle.ts';
import type { FreezeScope } from '../core/tables.ts';
import { ACTORS, MONITOR_ACT, MONITOR_READ } from './access.ts';
import { workingWeekOf } from './evaluate.ts';
import { isWorkingTime } from './rules.ts';
import { type FreezeRow, monitorStore as store } from './store.ts';

/**
 * Emergency stop: freezes of a contract, a consumer organization, a resource or the whole gateway,
 * read by the gateway on every request (guardGatewayCall), and of a user or one API key, read with
 * the credential at authentication (credentialFreezeSql) — so they hold on every node from the
 * next request.
 */
export const FREEZE_LIFECYCLE: TransitionTable<'active' | 'lifted', 'lift'> = [
  { from: ['active'], event: 'lift', to: 'lifted' },
];
function freezeView(f: FreezeRow) {
  return {
    id: f.id,
    scope: f.scope,
    target: f.target,
    reason: f.reason,
    active: f.lifted_at === null,
    createdBy: f.created_by,
    createdAt: new Date(f.created_at).toISOString(),
    lifted: f.lifted_at
      ? { by: f.lifted_by, at: new Date(f.lifted_at).toISOString(), reason: f.lift_reason }
      : null,
  };
}
export type FreezeView = ReturnType<typeof freezeView>;
// ---------------------------------------------------------------------------- freezes

export interface FreezeInput {
  scope: FreezeScope;
  target?: string | undefined;
  reason: string;
}

/** Resolves a freeze target to the id the gateway compares with; 404 naming `target` when absent. */
async function freezeTarget(
  ctx: Ctx,
  scope: FreezeScope,
  target: string | undefined,
): Promise<string | null> {
  if (scope === 'gateway') {
    if (target !== undefined) {
      throw new AppError(
        'VALIDATION_FAILED',
        { field: 'target' },
        { zh: '冻结整个网关时不指定对象', en: 'a gateway-wide freeze takes no target' },
      );
    }
    return null;
  }
  if (!target) {
    throw new AppError(
      'VALIDATION_FAILED',
      { field: 'target' },
      { zh: `冻结 ${scope} 须指定对象`, en: `a ${scope} freeze needs a target` },
    );
  }
  const row = await store.findFreezeTarget(ctx.db, scope, target);
  if (!row) throw new AppError('NOT_FOUND', { field: 'target', objectType: scope, id: target });
  return row.id;
}

/** An emergency stop: one action, effective on every node from the next request. */
export async function freeze(ctx: Ctx, input: FreezeInput): Promise<FreezeView> {
  const principal = authorize(ctx.principal, MONITOR_ACT);
  const target = await freezeTarget(ctx, input.scope, input.target);
  // An officer who froze their own account or the key they act with could not lift it again.
  if (target === principal.userId || target === principal.credentialId) {
    throw new AppError(
      'VALIDATION_FAILED',
      { field: 'target', reason: 'own_credential' },
      {
        zh: '不能冻结自己的账号或正在使用的密钥',
        en: 'you cannot freeze your own account or the key you act with',
      },
    );
  }
  const conflict = (existing: FreezeRow | undefined) =>
    new AppError(
      'CONFLICT',
      { field: 'target', scope: input.scope, target, freezeId: existing?.id ?? null },
      { zh: '该对象已被冻结', en: 'already frozen' },
    );
  const existing = await store.activeFreezeOn(ctx.db, input.scope, target);
  if (existing) throw conflict(existing);
  try {
    return await withTx(ctx.db, async (tx) => {
      const row = await tx
        .insertInto('freezes')
        .values({
          id: newId('frz'),
          scope: input.scope,
          target,
          reason: input.reason.trim(),
          created_by: principal.userId,
          lifted_by: null,
          lifted_at: null,
          lift_reason: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      // Recorded against the frozen object, so its own audit trail shows the stop.
      await auditAs(ctx, tx, 'monitor.freeze', input.scope, target, {
        freezeId: row.id,
        scope: input.scope,
        reason: row.reason,
      });
      return freezeView(row);
    });
  } catch (error) {
    // Two officers freezing the same target at once: the unique index lets one win.
    if ((error as { code?: string }).code === '23505') {
      throw conflict(await store.activeFreezeOn(ctx.db, input.scope, target));
    }
    throw error;
  }
}

export async function liftFreeze(ctx: Ctx, id: string, reason: string): Promise<FreezeView> {
  const principal = authorize(ctx.principal, MONITOR_ACT);
  const current = await store.findFreeze(ctx.db, id);
  if (!current) throw new AppError('NOT_FOUND', { objectType: 'freeze', id });
  nextState(FREEZE_LIFECYCLE, 'freeze', current.lifted_at ? 'lifted' : 'active', 'lift');
  return withTx(ctx.db, async (tx) => {
    const row = await tx
      .updateTable('freezes')
      .set({ lifted_by: principal.userId, lifted_at: new Date(), lift_reason: reason.trim() })
      .where('id', '=', id)
      .where('lifted_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (!row) {
      throw new AppError('INVALID_TRANSITION', {
        objectType: 'freeze',
        state: 'lifted',
        reason: 'changed_concurrently',
      });
    }
    await auditAs(ctx, tx, 'monitor.freeze.lift', row.scope, row.target, {
      freezeId: row.id,
      scope: row.scope,
      reason: row.lift_reason,
      frozenSince: freezeView(row).createdAt,
    });
    return freezeView(row);
  });
}

export async function listFreezes(
  ctx: Ctx,
  q: {
    state?: 'active' | 'lifted' | 'all' | undefined;
    limit?: number | undefined;
    cursor?: string | undefined;
  },
) {
  authorize(ctx.principal, MONITOR_READ);
  const limit = q.limit ?? 50;
  const rows = await store.listFreezes(ctx.db, { state: q.state ?? 'active', cursor: q.cursor, limit });
  const items = rows.slice(0, limit).map(freezeView);
  return { items, nextCursor: rows.length > limit ? (items.at(-1)?.id ?? null) : null };
}

export async function getFreeze(ctx: Ctx, id: string): Promise<FreezeView> {
  authorize(ctx.principal, MONITOR_READ);
  const row = await store.findFreeze(ctx.db, id);
  if (!row) throw new AppError('NOT_FOUND', { objectType: 'freeze', id });
  return freezeView(row);
}

// ---------------------------------------------------------------------------- the credential check

/** The active freeze of a user or of the credential they act with, as for `gatewayFreezeSql`. */
export function credentialFreezeSql(ids: {
  userId: RawBuilder<unknown>;
  credentialId: RawBuilder<unknown>;
}): RawBuilder<FreezeRow | null> {
  return store.credentialFreezeJson(ids);
}

/** The active freeze of a user, for a login that has just proven the password. */
export async function userFreeze(ctx: Ctx, userId: string): Promise<FreezeRow | null> {
  return (await store.activeFreezeOn(ctx.db, 'user', userId)) ?? null;
}

/**
 * A request (or a login) by a frozen user or with a frozen API key: 423 on every route. The
 * person is told that their account or key is suspended and since when — the reason is the
 * security officer's note, read only on the platform side (GET /v1/monitor/freezes).
 */
export function refuseFrozenCredential(frozen: {
  scope: FreezeScope;
  /** A Date, or its JSON text when read through `credentialFreezeSql`. */
  created_at: Date | string;
}): AppError {
  const key = frozen.scope === 'api_key';
  return new AppError(
    'FROZEN',
    { scope: frozen.scope, since: new Date(frozen.created_at).toISOString() },
    key
      ? { zh: '该 API 密钥已被安全管理员暂停使用', en: 'this API key is suspended by a security officer' }
      : { zh: '您的账号已被安全管理员暂停使用', en: 'your account is suspended by a security officer' },
  );
}

// ---------------------------------------------------------------------------- the gateway's check

/**
 * The active freeze stopping a gateway call on the contract whose id, consumer organization and
 * resource are the given columns: a scalar subquery for the gateway's admission query, so the
 * emergency stop is still read from the database on every request, without a round trip of its own.
 */
export function gatewayFreezeSql(ids: {
  contractId: RawBuilder<unknown>;
  orgId: RawBuilder<unknown>;
  resourceId: RawBuilder<unknown>;
}): RawBuilder<FreezeRow | null> {
  return store.activeFreezeJson(ids);
}

/**
 * Called by the gateway for every request once the contract is loaded and the caller is its
 * consumer: the emergency stop (read from the database each time, so a freeze made on any node
 * holds on all of them from the next request), then the contract's working-hours term.
 */
export async function guardGatewayCall(
  ctx: Ctx,
  contract: { id: string; consumer_org_id: string; resource_id: string; working_hours_only?: boolean },
  /** The freeze already read in the caller's query (`gatewayFreezeSql`); read here when not given. */
  found?: FreezeRow | null,
): Promise<void> {
  const frozen = found === undefined ? await store.activeFreezeFor(ctx.db, contract) : found;
  if (frozen) {
    // The reason is the security officer's internal note: only the platform side reads it (here
    // and in GET /v1/monitor/freezes); a consumer is told that, and since when, not why.
    const platform =
      ctx.principal !== null && ctx.principal !== undefined && hasRole(ctx.principal, ...ACTORS);
    throw new AppError(
      'FROZEN',
      platform
        ? {
            scope: frozen.scope,
            target: frozen.target,
            reason: frozen.reason,
            freezeId: frozen.id,
            since: new Date(frozen.created_at).toISOString(),
          }
        : { scope: frozen.scope, since: new Date(frozen.created_at).toISOString() },
      platform
        ? {
            zh: `冻结范围 ${frozen.scope}，原因：${frozen.reason}`,
            en: `${frozen.scope} frozen: ${frozen.reason}`,
          }
        : { zh: '访问已暂停，请联系数据提供方', en: 'access is suspended; contact the data provider' },
    );
  }
  if (contract.working_hours_only) {
    const week = workingWeekOf(ctx.config.monitor);
    if (!isWorkingTime(week, new Date())) {
      throw new AppError('OUTSIDE_WORKING_HOURS', {
        workingHours: ctx.config.monitor.workingHours,
        workingDays: ctx.config.monitor.workingDays,
        timeZone: 'Asia/Shanghai',
      });
    }
  }
}
