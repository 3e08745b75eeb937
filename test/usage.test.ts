import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shanghaiDays } from '../src/gateway/usage.ts';
import { startTestApp, type TestApp } from './helpers.ts';
import { type Actors, sharingFixture } from './sharing-fixture.ts';

/**
 * The gateway's daily use as the console charts it: per contract against its quota, and summed
 * over the contracts a user may see, with the top consumers.
 */
let t: TestApp;
let tokens: Actors;
let call: ReturnType<typeof sharingFixture>['call'];
let contractId: string;

beforeAll(async () => {
  t = await startTestApp();
  const fixture = sharingFixture(t);
  ({ tokens, call } = fixture);
  await fixture.login();
  const code = await fixture.resource('门诊就诊明细', 'conditional');
  contractId = await fixture.contractFor(code, { quotaRowsPerDay: 500 });
  for (const limit of [5, 7]) {
    const res = await fixture.rows(contractId, `limit=${limit}`);
    expect(res.statusCode, res.body).toBe(200);
  }
  const aggregate = await call('POST', `/v1/gateway/contracts/${contractId}/aggregate`, tokens.key, {
    groupBy: ['district'],
    metrics: [{ fn: 'count' }],
  });
  expect(aggregate.statusCode, aggregate.body).toBe(200);
});
afterAll(() => t.close());

const today = () => shanghaiDays(1)[0]!;

describe('contract usage', () => {
  it("counts today's calls and rows against the contract's quota, one entry per Shanghai day", async () => {
    const res = await call('GET', `/v1/contracts/${contractId}/usage?days=7`, tokens.consumer);
    expect(res.statusCode, res.body).toBe(200);
    const usage = res.json();
    expect(usage).toMatchObject({ contractId, quotaRowsPerDay: 500 });
    expect(usage.days.map((d: { date: string }) => d.date)).toEqual(shanghaiDays(7));
    // 5 + 7 rows, and the aggregate's three groups (aggregates spend the row quota too).
    expect(usage.days.at(-1)).toMatchObject({ date: today(), requests: 3, rows: 15 });
    expect(usage.days.slice(0, -1).every((d: { requests: number }) => d.requests === 0)).toBe(true);
  });

  it('is visible to the provider and security officers, not to another consumer', async () => {
    expect((await call('GET', `/v1/contracts/${contractId}/usage`, tokens.steward)).statusCode).toBe(200);
    expect((await call('GET', `/v1/contracts/${contractId}/usage`, tokens.security)).statusCode).toBe(200);
    const other = await call('GET', `/v1/contracts/${contractId}/usage`, tokens.enterprise);
    expect(other.statusCode).toBe(404);
    expect((await call('GET', '/v1/contracts/ctr_nope/usage', tokens.consumer)).statusCode).toBe(404);
  });

  it('refuses an out-of-range period with the field named', async () => {
    const res = await call('GET', `/v1/contracts/${contractId}/usage?days=0`, tokens.consumer);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('VALIDATION_FAILED');
  });
});

describe('usage summary', () => {
  it('sums the visible contracts per day and names the top consumers', async () => {
    const res = await call('GET', '/v1/gateway/usage?days=3', tokens.security);
    expect(res.statusCode, res.body).toBe(200);
    const summary = res.json();
    expect(summary.days).toHaveLength(3);
    expect(summary.days.at(-1)).toMatchObject({ date: today(), requests: 3, rows: 15 });
    expect(summary.topConsumers).toEqual([
      expect.objectContaining({ name: '云岚市民政局', requests: 3, rows: 15 }),
    ]);
  });

  it('shows an organization without contracts nothing of the others', async () => {
    const res = await call('GET', '/v1/gateway/usage', tokens.enterprise);
    expect(res.statusCode).toBe(200);
    expect(res.json().topConsumers).toEqual([]);
    expect(res.json().days.every((d: { requests: number }) => d.requests === 0)).toBe(true);
  });
});
