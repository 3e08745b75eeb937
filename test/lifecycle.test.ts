import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { integrateAudit } from '../src/audit/service.ts';
import { backgroundWork } from '../src/background.ts';
import { cliCtx } from '../src/core/context.ts';
import { expireDueContracts } from '../src/sharing/service.ts';
import { startTestApp, type TestApp } from './helpers.ts';
import { sharingFixture } from './sharing-fixture.ts';

/**
 * State changes through their declared lifecycles (core/lifecycle.ts applyTransition): the
 * conditional update and the audit entry together; time's transitions from the scheduler, never
 * from a read.
 */
let t: TestApp;
let fixture: ReturnType<typeof sharingFixture>;
let code: string;

beforeAll(async () => {
  t = await startTestApp();
  fixture = sharingFixture(t);
  await fixture.login();
  code = await fixture.resource('门诊就诊明细', 'conditional');
});
afterAll(() => t.close());

const stored = async (id: string) =>
  (await t.database.db.selectFrom('contracts').select('state').where('id', '=', id).executeTakeFirstOrThrow())
    .state;
const auditOf = async (id: string, action: string) => {
  await integrateAudit(t.database.db);
  return t.database.db
    .selectFrom('audit_events')
    .select(['action', 'details'])
    .where('object_id', '=', id)
    .where('action', '=', action)
    .execute();
};
const endNow = (id: string) =>
  t.database.db
    .updateTable('contracts')
    .set({ valid_to: new Date(Date.now() - 1000) })
    .where('id', '=', id)
    .execute();

describe('contract lifecycle', () => {
  it('a read of an expired contract refuses it but writes nothing; the scheduled expiry records it once', async () => {
    const id = await fixture.contractFor(code, { fields: ['record_no'] });
    await endNow(id);
    const res = await fixture.rows(id);
    expect(res.json().error.code).toBe('CONTRACT_EXPIRED');
    expect(await stored(id)).toBe('active');
    expect(await auditOf(id, 'contract.expire')).toEqual([]);

    const ctx = cliCtx(t.database.db, t.config);
    // Two nodes' schedulers racing: the transition happens once.
    const [a, b] = await Promise.all([expireDueContracts(ctx), expireDueContracts(ctx)]);
    expect(a + b).toBeGreaterThanOrEqual(1);
    expect(await stored(id)).toBe('expired');
    expect(await auditOf(id, 'contract.expire')).toHaveLength(1);
    expect(await expireDueContracts(ctx)).toBe(0);
  });

  it('expires suspended contracts too, and refuses an undeclared transition with 409', async () => {
    const id = await fixture.contractFor(code, { fields: ['record_no'] });
    const suspend = await fixture.call('POST', `/v1/contracts/${id}/suspend`, fixture.tokens.steward, {
      reason: '核查',
    });
    expect(suspend.statusCode, suspend.body).toBe(200);
    await endNow(id);
    await expireDueContracts(cliCtx(t.database.db, t.config));
    expect(await stored(id)).toBe('expired');
    const resume = await fixture.call('POST', `/v1/contracts/${id}/resume`, fixture.tokens.steward, {
      reason: '恢复',
    });
    expect(resume.statusCode).toBe(409);
    expect(resume.json().error).toMatchObject({
      code: 'INVALID_TRANSITION',
      details: { state: 'expired', event: 'resume' },
    });
  });

  it('a suspension and its audit entry commit together', async () => {
    const id = await fixture.contractFor(code, { fields: ['record_no'] });
    const res = await fixture.call('POST', `/v1/contracts/${id}/suspend`, fixture.tokens.steward, {
      reason: '例行检查',
    });
    expect(res.json().state).toBe('suspended');
    expect(await auditOf(id, 'contract.suspend')).toEqual([
      { action: 'contract.suspend', details: { reason: '例行检查' } },
    ]);
  });
});

describe('background work', () => {
  it('one scheduler holds every background task of a server', () => {
    const schedule = backgroundWork(t.database.db, { ...t.config, auditIntegrateMs: 250 }, t.app.log);
    expect(schedule.names()).toEqual([
      'audit.integrate',
      'audit.cache',
      'audit.sign',
      'monitor.evaluate',
      'ingest.sweep',
      'sharing.expire',
      'deadlines.overdue',
      'audit.partitions',
      'idempotency.purge',
      'commit-markers.purge',
    ]);
  });
});
