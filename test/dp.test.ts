import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/core/db.ts';
import * as dp from '../src/gateway/dp.ts';
import { dropPairsOf, refreshPairs } from '../src/gateway/dp-pairs.ts';
import * as dpStore from '../src/gateway/store.ts';
import { ci95HalfWidth, rational, sigma2For } from '../src/rules/dp/index.ts';
import { startTestApp, type TestApp } from './helpers.ts';
import { ROWS, sharingFixture } from './sharing-fixture.ts';

/**
 * Differential privacy in the gateway (issue 14): declared settings, the DP-only policy for
 * personal data, preview, noisy releases with intervals, the budget under concurrent spends
 * (also from two connection pools, as two nodes), refunds, and the averaging attack.
 */
const DISTRICTS = ['西湖区', '滨江区', '上城区', '拱墅区'];

describe('differential privacy', () => {
  let t: TestApp;
  let f: ReturnType<typeof sharingFixture>;
  let code: string;
  let contract: string;

  const post = (url: string, payload: unknown, token = f.tokens.key) =>
    t.request({ method: 'POST', url, token, payload: payload as object });
  const dpAggregate = (id: string, payload: unknown) =>
    post(`/v1/gateway/contracts/${id}/dp/aggregate`, payload);
  const budget = async (id: string) =>
    (
      await t.request({ method: 'GET', url: `/v1/gateway/contracts/${id}/dp/budget`, token: f.tokens.key })
    ).json();
  const setBudget = (id: string, rho: number, period = 'none') =>
    t.request({
      method: 'PUT',
      url: `/v1/gateway/contracts/${id}/dp/budget`,
      token: f.tokens.steward,
      payload: { rho, period },
    });
  const unlimited = (id: string) =>
    t.database.db
      .updateTable('contracts')
      .set({ rate_limit_per_minute: 1_000_000 })
      .where('id', '=', id)
      .execute();
  const aggOnly = async () => {
    const id = await f.contractFor(code, { operations: ['aggregate'] }, { operations: ['aggregate'] });
    await unlimited(id);
    return id;
  };

  beforeAll(async () => {
    t = await startTestApp();
    f = sharingFixture(t);
    await f.login();
    code = await f.resource('门诊就诊记录（差分隐私）', 'conditional');
    const settings = await t.request({
      method: 'PUT',
      url: `/v1/gateway/resources/${code}/dp`,
      token: f.tokens.steward,
      payload: {
        unit: 'person_id',
        maxGroups: 1,
        maxRowsPerGroup: 2,
        bounds: { visits: { lower: 0, upper: 10 } },
        domains: { district: { values: DISTRICTS } },
      },
    });
    expect(settings.statusCode, settings.body).toBe(200);
    contract = await aggOnly();
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it("only the provider's data steward declares the settings; a bad bound or a non-numeric bound field is a 400", async () => {
    const byConsumer = await t.request({
      method: 'PUT',
      url: `/v1/gateway/resources/${code}/dp`,
      token: f.tokens.consumer,
      payload: { unit: 'person_id' },
    });
    expect(byConsumer.statusCode).toBe(403);
    const put = (payload: object) =>
      t.request({ method: 'PUT', url: `/v1/gateway/resources/${code}/dp`, token: f.tokens.steward, payload });
    expect((await put({ unit: 'nope' })).statusCode).toBe(400);
    expect((await put({ unit: 'person_id', bounds: { name: { lower: 0, upper: 1 } } })).statusCode).toBe(400);
    expect((await put({ unit: 'person_id', bounds: { visits: { lower: 5, upper: 1 } } })).statusCode).toBe(
      400,
    );
    const read = await t.request({
      method: 'GET',
      url: `/v1/gateway/resources/${code}/dp`,
      token: f.tokens.consumer,
    });
    expect(read.json()).toMatchObject({
      unit: 'person_id',
      maxRowsPerGroup: 2,
      domains: { district: DISTRICTS },
    });
  });

  it('refuses the exact aggregate of personal data under an aggregate-only contract, pointing to /dp/', async () => {
    const res = await post(`/v1/gateway/contracts/${contract}/aggregate`, {
      groupBy: ['district'],
      metrics: [{ fn: 'count' }],
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('DP_REQUIRED');
    expect(res.json().error.details.dpAggregate).toBe(`/v1/gateway/contracts/${contract}/dp/aggregate`);
  });

  it('keeps the exact k-suppressed aggregate for a resource without personal information', async () => {
    const plain = await f.resource('门诊统计（无个人信息）', 'conditional', 'g1');
    const id = await f.contractFor(plain, { operations: ['aggregate'] }, { operations: ['aggregate'] });
    const res = await post(`/v1/gateway/contracts/${id}/aggregate`, {
      groupBy: ['district'],
      metrics: [{ fn: 'count' }],
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().groups).toContainEqual({ district: '西湖区', count: 20 });
  });

  it('previews cost and intervals without spending', async () => {
    const before = await budget(contract);
    const res = await post(`/v1/gateway/contracts/${contract}/dp/preview`, {
      metrics: [{ fn: 'count' }, { fn: 'sum', field: 'visits' }, { fn: 'mean', field: 'visits' }],
      groupBy: ['district'],
      rho: 0.125,
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.cost.rho).toBe(0.125);
    expect(body.cost.epsilon).toBeGreaterThan(0);
    // Three measurements (count, sum, non-null count) at ρ/3 each; count: Δ² = L0·L∞² = 4.
    expect(body.ci95.count).toBe(ci95HalfWidth(sigma2For(rational(4n), rational(1n, 24n))));
    expect(body.ci95.sum_visits).toBe(ci95HalfWidth(sigma2For(rational(400n), rational(1n, 24n))));
    expect(body.ci95.mean_visits).toBeNull();
    expect(body.bounding).toEqual({
      maxGroups: 1,
      maxRowsPerGroup: 2,
      partitionThreshold: null,
      publicDomain: true,
    });
    expect((await budget(contract)).spent.rho).toBe(before.spent.rho);
  });

  it('releases noisy counts, sums and means for every key of the public domain, each with its interval, and spends ρ', async () => {
    const res = await dpAggregate(contract, {
      metrics: [{ fn: 'count' }, { fn: 'sum', field: 'visits' }, { fn: 'mean', field: 'visits' }],
      groupBy: ['district'],
      rho: 0.5,
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.rows.map((r: { district: string }) => r.district).sort()).toEqual([...DISTRICTS].sort());
    for (const [i, row] of body.rows.entries()) {
      expect(Number.isInteger(row.count)).toBe(true);
      const [lo, hi] = body.ci95[i].count;
      expect(hi - lo).toBe(2 * ci95HalfWidth(sigma2For(rational(4n), rational(1n, 6n))));
      expect(row.count).toBe((lo + hi) / 2);
    }
    expect(body.spent.rho).toBe(0.5);
    expect(body.spent.delta).toBe(dp.DISPLAY_DELTA);
    expect(body.remaining.rho).toBe(0.5);
    const b = await budget(contract);
    expect(b).toMatchObject({ total: { rho: 1 }, spent: { rho: 0.5 }, remaining: { rho: 0.5 }, releases: 1 });
    const audit = await t.database.db
      .selectFrom('audit_events')
      .select('action')
      .where('object_id', '=', contract)
      .where('action', 'like', 'gateway.dp.%')
      .execute();
    expect(audit.map((a) => a.action).sort()).toEqual(['gateway.dp.aggregate', 'gateway.dp.spend']);
  });

  it('answers 403 DP_BUDGET_EXHAUSTED when the release does not fit the budget', async () => {
    const id = await aggOnly();
    expect((await setBudget(id, 0.1)).statusCode).toBe(200);
    const q = { metrics: [{ fn: 'count' }], groupBy: ['district'], rho: 0.06 };
    expect((await dpAggregate(id, q)).statusCode).toBe(200);
    const second = await dpAggregate(id, q);
    expect(second.statusCode).toBe(403);
    expect(second.json().error.code).toBe('DP_BUDGET_EXHAUSTED');
    expect(second.json().error.details.remaining).toBeCloseTo(0.04, 12);
    // Only the consumer's and the provider's side see the budget; the steward of another org does not set it.
    const other = await t.request({
      method: 'GET',
      url: `/v1/gateway/contracts/${id}/dp/budget`,
      token: f.tokens.otherKey,
    });
    expect(other.statusCode).toBe(404);
    const byConsumer = await t.request({
      method: 'PUT',
      url: `/v1/gateway/contracts/${id}/dp/budget`,
      token: f.tokens.consumer,
      payload: { rho: 10 },
    });
    expect(byConsumer.statusCode).toBe(403);
  });

  it('refuses masked and ungranted fields, fields without bounds, and keeps the gateway admission', async () => {
    const cases: Array<[unknown, number]> = [
      [{ metrics: [{ fn: 'count' }], groupBy: ['person_id'], rho: 0.01 }, 403],
      [{ metrics: [{ fn: 'count' }], filter: { field: 'name', op: 'eq', value: '张小0' }, rho: 0.01 }, 403],
      [{ metrics: [{ fn: 'sum', field: 'note' }], rho: 0.01 }, 400],
      [{ metrics: [{ fn: 'count' }], rho: 0 }, 400],
      [{ metrics: [{ fn: 'count' }], rho: 0.01, extra: 1 }, 400],
    ];
    for (const [payload, status] of cases) {
      const res = await dpAggregate(contract, payload);
      expect(res.statusCode, JSON.stringify(payload) + res.body).toBe(status);
    }
    const narrow = await f.contractFor(
      code,
      { operations: ['aggregate'], fields: ['district'] },
      { operations: ['aggregate'] },
    );
    const ungranted = await dpAggregate(narrow, { metrics: [{ fn: 'sum', field: 'visits' }], rho: 0.01 });
    expect(ungranted.statusCode).toBe(403);
    expect(ungranted.json().error.code).toBe('FIELD_NOT_GRANTED');
    // Another organization's key; a suspended contract.
    const foreign = await t.request({
      method: 'POST',
      url: `/v1/gateway/contracts/${contract}/dp/aggregate`,
      token: f.tokens.otherKey,
      payload: { metrics: [{ fn: 'count' }], rho: 0.01 },
    });
    expect([403, 404]).toContain(foreign.statusCode);
    const suspended = await aggOnly();
    await f.call('POST', `/v1/contracts/${suspended}/suspend`, f.tokens.steward, { reason: '核查' });
    const res = await dpAggregate(suspended, { metrics: [{ fn: 'count' }], rho: 0.01 });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('CONTRACT_NOT_ACTIVE');
    expect((await budget(suspended)).spent.rho).toBe(0);
  });

  it('bounds contributions: a unit with many rows adds at most L∞ to a group', async () => {
    // Twenty copies of one person in 拱墅区 (empty in the data) would make its count 20 without bounding.
    const version = await t.database.db
      .selectFrom('resources')
      .innerJoin('dataset_versions', 'dataset_versions.id', 'resources.current_version_id')
      .select('dataset_versions.table_name')
      .where('resources.code', '=', code)
      .executeTakeFirstOrThrow();
    const ctx = await t.actAs('consumer.civil');
    const id = await aggOnly();
    await setBudget(id, 1000);
    const { sql } = await import('kysely');
    await sql`INSERT INTO ${sql.table(`datasets.${version.table_name}`)} (_row, person_id, district, visits)
      SELECT 100000 + g, '330106199001019999', '拱墅区', 10 FROM generate_series(1, 20) g`.execute(
      t.database.db,
    );
    // The version's rows were changed in place (only tests do): its materialised pairs are rebuilt.
    const { resource_id: resourceId } = await t.database.db
      .selectFrom('resources')
      .select('id as resource_id')
      .where('code', '=', code)
      .executeTakeFirstOrThrow();
    const rebuild = async () => {
      await dropPairsOf(t.database.db, resourceId);
      await refreshPairs(t.database.db, resourceId);
    };
    await rebuild();
    const fromPairs = dp.exactSourceStats().pairs;
    try {
      const answers: number[] = [];
      for (let i = 0; i < 5; i++) {
        const out = await dp.aggregate(
          ctx,
          id,
          { metrics: [{ fn: 'count' }], groupBy: ['district'], rho: 10 },
          '127.0.0.1',
        );
        answers.push(Number(out.rows.find((r) => r.district === '拱墅区')!.count));
      }
      // σ² = 4/(2·10) = 0.2: |noise| ≥ 3 has probability below e⁻²², so the bounded count 2
      // shows through — never the 20 rows the unit holds.
      for (const a of answers) expect(Math.abs(a - 2)).toBeLessThanOrEqual(2);
      // Bounded by the materialised pairs (no filter, a public-domain group-by).
      expect(dp.exactSourceStats().pairs).toBeGreaterThan(fromPairs);
    } finally {
      await sql`DELETE FROM ${sql.table(`datasets.${version.table_name}`)} WHERE person_id = '330106199001019999'`.execute(
        t.database.db,
      );
      await rebuild();
    }
  });

  it('refunds the spend when the release fails before anything is released', async () => {
    const id = await aggOnly();
    const ctx = await t.actAs('consumer.civil');
    const failing = {
      below(): bigint {
        throw new Error('randomness failed');
      },
    };
    await expect(
      dp.aggregate(
        ctx,
        id,
        { metrics: [{ fn: 'count' }], groupBy: ['district'], rho: 0.25 },
        '127.0.0.1',
        failing,
      ),
    ).rejects.toThrow('randomness failed');
    const b = await budget(id);
    expect(b.spent.rho).toBe(0);
    expect(b.releases).toBe(0);
    const actions = await t.database.db
      .selectFrom('audit_events')
      .select('action')
      .where('object_id', '=', id)
      .where('action', 'like', 'gateway.dp.%')
      .execute();
    expect(actions.map((a) => a.action).sort()).toEqual(['gateway.dp.refund', 'gateway.dp.spend']);
  });

  it('property: concurrent releases never spend more than the budget', async () => {
    const ctx = await t.actAs('consumer.civil');
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 2, maxLength: 8 }),
        async (totalTenths, costs) => {
          const id = await aggOnly();
          await setBudget(id, totalTenths / 10);
          const results = await Promise.allSettled(
            costs.map((c) => dp.aggregate(ctx, id, { metrics: [{ fn: 'count' }], rho: c / 10 }, '127.0.0.1')),
          );
          const granted = results.flatMap((r, i) => (r.status === 'fulfilled' ? [costs[i]!] : []));
          for (const r of results)
            if (r.status === 'rejected')
              expect((r.reason as { code?: string }).code).toBe('DP_BUDGET_EXHAUSTED');
          const spentTenths = granted.reduce((a, b) => a + b, 0);
          expect(spentTenths).toBeLessThanOrEqual(totalTenths);
          const b = await budget(id);
          expect(Math.round(b.spent.rho * 10)).toBe(spentTenths);
          expect(b.releases).toBe(granted.length);
          // Every refusal really did not fit at the moment it lost: nothing was refused while room was left for it.
          const smallestRefused = Math.min(...costs.filter((_, i) => results[i]!.status === 'rejected'));
          if (Number.isFinite(smallestRefused))
            expect(spentTenths + smallestRefused).toBeGreaterThan(totalTenths - 8);
        },
      ),
      { numRuns: 8 },
    );
  }, 120_000);

  it('two nodes (two connection pools on the server) racing spends never overspend', async () => {
    const id = await aggOnly();
    await setBudget(id, 1);
    // On the embedded database there is one connection: both "nodes" share it.
    const other = process.env.TEST_DATABASE_URL
      ? await openDatabase({ url: await serverUrlOf(t), poolSize: 5 })
      : null;
    try {
      const spends = Array.from({ length: 40 }, (_, i) =>
        dpStore.spend(i % 2 === 0 || !other ? t.database.db : other.db, id, 'all', '0.03'),
      );
      const results = await Promise.all(spends);
      const ok = results.filter((r) => r !== null).length;
      expect(ok).toBe(33); // ⌊1 / 0.03⌋
      expect(Number(await dpStore.spentIn(t.database.db, id, 'all'))).toBeCloseTo(0.99, 12);
    } finally {
      await other?.close();
    }
  }, 60_000);

  it('averaging repeated answers cannot beat the noise the whole budget allows: the budget runs out first', async () => {
    const id = await aggOnly();
    const total = 0.05;
    const each = 0.01;
    await setBudget(id, total);
    const q = (filter?: unknown) => ({
      metrics: [{ fn: 'count' }],
      groupBy: ['district'],
      rho: each,
      ...(filter ? { filter } : {}),
    });
    // The attacker varies the query (equivalent filters) to dodge any caching, and keeps asking.
    const variants = [
      undefined,
      { field: 'visits', op: 'gte', value: 0 },
      { field: 'district', op: 'in', value: DISTRICTS },
    ];
    const answers: number[] = [];
    const halfWidths: number[] = [];
    let refused = 0;
    for (let i = 0; i < 12; i++) {
      const res = await dpAggregate(id, q(variants[i % 3]));
      if (res.statusCode === 403) {
        expect(res.json().error.code).toBe('DP_BUDGET_EXHAUSTED');
        refused++;
        continue;
      }
      const body = res.json();
      const row = body.rows.findIndex((r: { district: string }) => r.district === '西湖区');
      answers.push(body.rows[row].count);
      halfWidths.push((body.ci95[row].count[1] - body.ci95[row].count[0]) / 2);
    }
    expect(answers).toHaveLength(5);
    expect(refused).toBe(7);
    // The best the attacker can do is the precision-weighted average; its variance is at least
    // Δ²/(2·total), the noise of one query that spends the whole budget.
    const sensitivity2 = 4; // L0·L∞² with L∞ = 2
    const sigma2Each = sensitivity2 / (2 * each);
    const varianceOfAverage = sigma2Each / answers.length;
    expect(varianceOfAverage).toBeGreaterThanOrEqual(sensitivity2 / (2 * total) - 1e-9);
    for (const h of halfWidths) expect(h).toBe(ci95HalfWidth(sigma2For(rational(4n), rational(1n, 100n))));
    const trueCount = ROWS.filter((r) => r.district === '西湖区').length;
    expect(Math.abs(answers.reduce((a, b) => a + b, 0) / answers.length - trueCount)).toBeLessThan(60);
  });

  it('a repeated query is answered from the memo of exact aggregates, yet spends ρ every time and draws fresh noise', async () => {
    const id = await aggOnly();
    await setBudget(id, 0.05);
    const body = {
      metrics: [{ fn: 'count' }, { fn: 'sum', field: 'visits' }],
      groupBy: ['district'],
      rho: 0.01,
    };
    const before = dp.exactMemoStats();
    const answers: Array<Array<Record<string, unknown>>> = [];
    for (let i = 0; i < 5; i++) {
      const res = await dpAggregate(id, body);
      expect(res.statusCode, res.body).toBe(200);
      answers.push(res.json().rows);
      expect((await budget(id)).spent.rho).toBeCloseTo(0.01 * (i + 1), 12);
    }
    const after = dp.exactMemoStats();
    // One execution of the bounding SQL, four answers from the memo.
    expect(after.misses - before.misses).toBe(1);
    expect(after.hits - before.hits).toBe(4);
    expect((await budget(id)).releases).toBe(5);
    // σ ≈ 14 on each count and ≈ 141 on each sum: equal answers would mean a cached noisy release.
    for (let i = 1; i < answers.length; i++) expect(answers[i]).not.toEqual(answers[0]);
    // The memo does not extend the budget: the sixth identical query is refused like any other.
    const refused = await dpAggregate(id, body);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe('DP_BUDGET_EXHAUSTED');
    expect((await budget(id)).releases).toBe(5);
  });

  // Last: it publishes a new version of the shared resource and changes its settings.
  it('the memo follows the data: a new version or new settings are computed afresh', async () => {
    const id = await aggOnly();
    await setBudget(id, 1000);
    const body = { metrics: [{ fn: 'count' }], groupBy: ['district'], rho: 10 };
    const countIn = async (district: string) => {
      const res = await dpAggregate(id, body);
      expect(res.statusCode, res.body).toBe(200);
      return Number(res.json().rows.find((r: { district: string }) => r.district === district).count);
    };
    const misses = () => dp.exactMemoStats().misses;
    const start = misses();
    // 拱墅区 is empty in the first version; σ² = 0.2, so |noise| ≥ 3 has probability below e⁻²².
    expect(Math.abs(await countIn('拱墅区'))).toBeLessThanOrEqual(2);
    expect(Math.abs(await countIn('拱墅区'))).toBeLessThanOrEqual(2);
    expect(misses() - start).toBe(1);
    const header = 'record_no,person_id,name,district,visits,note';
    const added = Array.from(
      { length: 30 },
      (_, i) => `N${i},3301061990020${String(10000 + i).slice(-5)},新${i},拱墅区,1,新增`,
    );
    const old = ROWS.map((r) => [r.record_no, r.person_id, r.name, r.district, r.visits, `备注`].join(','));
    const up = await t.request({
      method: 'POST',
      url: `/v1/resources/${code}/versions?filename=v2.csv&wait=true`,
      token: f.tokens.steward,
      headers: { 'content-type': 'text/csv' },
      payload: `${header}\n${[...old, ...added].join('\n')}\n`,
    });
    expect(up.statusCode, up.body).toBe(201);
    // Thirty new persons, one row each (L0 = 1, so each counts once).
    expect(Math.abs((await countIn('拱墅区')) - 30)).toBeLessThanOrEqual(2);
    expect(misses() - start).toBe(2);
    const settings = await t.request({
      method: 'PUT',
      url: `/v1/gateway/resources/${code}/dp`,
      token: f.tokens.steward,
      payload: {
        unit: 'person_id',
        maxGroups: 1,
        maxRowsPerGroup: 3,
        bounds: { visits: { lower: 0, upper: 10 } },
        domains: { district: { values: DISTRICTS } },
      },
    });
    expect(settings.statusCode, settings.body).toBe(200);
    await countIn('拱墅区');
    expect(misses() - start).toBe(3);
  });
});

async function serverUrlOf(t: TestApp): Promise<string> {
  const { sql } = await import('kysely');
  const row = await sql<{ db: string }>`SELECT current_database() AS db`.execute(t.database.db);
  const url = new URL(process.env.TEST_DATABASE_URL!);
  url.pathname = `/${row.rows[0]!.db}`;
  return url.toString();
}
