import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as dp from '../src/gateway/dp.ts';
import {
  buildPairs,
  dropPairsOf,
  pairGroupBys,
  refreshPairs,
  settingsDigest,
} from '../src/gateway/dp-pairs.ts';
import { type DpMetric, type DpSettings, planRelease, rational } from '../src/rules/dp/index.ts';
import { startTestApp, type TestApp } from './helpers.ts';
import { ROWS, sharingFixture } from './sharing-fixture.ts';

/**
 * Materialised bounded pairs (issue 14, first-query speed): an unfiltered DP aggregate sums
 * pairs built once per (version, settings, group-by) instead of sorting every row by unit.
 * The pairs must give exactly the exact bounded aggregates the row-level statement gives — the
 * numbers the noise is added to — for any data and any settings; and a new version or new
 * settings under a live contract must never be answered from pairs of the old ones.
 */
const DISTRICTS = ['西湖区', '滨江区', '上城区', '拱墅区'];
const METRICS: DpMetric[] = [
  { fn: 'count' },
  { fn: 'sum', field: 'visits' },
  { fn: 'mean', field: 'visits' },
];

describe('DP bounded pairs', () => {
  let t: TestApp;
  let f: ReturnType<typeof sharingFixture>;

  beforeAll(async () => {
    t = await startTestApp();
    f = sharingFixture(t);
    await f.login();
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  const currentVersion = (code: string) =>
    t.database.db
      .selectFrom('resources')
      .innerJoin('dataset_versions', 'dataset_versions.id', 'resources.current_version_id')
      .select([
        'resources.id as resourceId',
        'dataset_versions.id as versionId',
        'dataset_versions.table_name',
      ])
      .where('resources.code', '=', code)
      .executeTakeFirstOrThrow();
  const registry = (resourceId: string) =>
    sql<{ table_name: string; version_id: string; settings_digest: string; group_by: string }>`
      SELECT table_name, version_id, settings_digest, group_by FROM dp_pairs
      WHERE resource_id = ${resourceId} ORDER BY group_by`
      .execute(t.database.db)
      .then((r) => r.rows);
  const exists = async (table: string) =>
    (
      await sql<{ r: string | null }>`SELECT to_regclass(${`datasets.${table}`})::text AS r`.execute(
        t.database.db,
      )
    ).rows[0]!.r !== null;
  const sorted = (rows: ReadonlyArray<Readonly<Record<string, unknown>>>) =>
    [...rows].map((r) => ({ ...r })).sort((a, b) => String(a.g0 ?? '').localeCompare(String(b.g0 ?? '')));

  it('property: pairs give exactly the exact bounded aggregates of the row-level statement, for any data and settings', async () => {
    const code = await f.resource('门诊记录（成对物化性质）', 'conditional');
    const { resourceId, versionId, table_name: table } = await currentVersion(code);
    const row = fc.record({
      unit: fc.option(fc.constantFrom('p0', 'p1', 'p2', 'p3', 'p4', 'p5'), { freq: 8 }),
      district: fc.option(fc.constantFrom('A', 'B', 'C', 'D', 'E'), { freq: 8 }),
      note: fc.option(fc.constantFrom('x', 'y', 'z'), { freq: 6 }),
      visits: fc.option(fc.integer({ min: -20, max: 60 }), { freq: 5 }),
    });
    const settings = fc
      .record({
        maxGroups: fc.integer({ min: 1, max: 4 }),
        maxRowsPerGroup: fc.integer({ min: 1, max: 4 }),
        lower: fc.integer({ min: -10, max: 10 }),
        width: fc.integer({ min: 0, max: 40 }),
        precision: fc.integer({ min: 0, max: 2 }),
        // A public domain may miss values of the data and hold values the data lacks.
        districts: fc.subarray(['A', 'B', 'C', 'D', 'E', 'Z'], { minLength: 1 }),
        notes: fc.option(fc.subarray(['x', 'y', 'w'], { minLength: 1 })),
      })
      .map(
        (s): DpSettings => ({
          unit: 'person_id',
          maxGroups: s.maxGroups,
          maxRowsPerGroup: s.maxRowsPerGroup,
          bounds: { visits: { lower: s.lower, upper: s.lower + s.width, precision: s.precision } },
          domains: { district: s.districts, ...(s.notes ? { note: s.notes } : {}) },
        }),
      );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(row, { maxLength: 40 }), settings, async (rows, s) => {
        run++;
        // The version's rows rewritten in place (never done outside tests): its pairs go first.
        await dropPairsOf(t.database.db, resourceId);
        await sql`TRUNCATE ${sql.table(`datasets.${table}`)}`.execute(t.database.db);
        if (rows.length > 0)
          await sql`INSERT INTO ${sql.table(`datasets.${table}`)} (_row, record_no, person_id, district, note, visits)
            VALUES ${sql.join(rows.map((r, i) => sql`(${i + 1}, ${`R${i}`}, ${r.unit}, ${r.district}, ${r.note}, ${r.visits})`))}`.execute(
            t.database.db,
          );
        for (const groupBy of pairGroupBys(s)) {
          const built = await buildPairs(t.database.db, {
            resourceId,
            versionId,
            versionTable: table,
            settings: s,
            groupBy,
          });
          expect(built.built).toBe(true);
          const plan = planRelease(s, METRICS, groupBy, rational(1n), 1);
          const input = { versionId, table, plan, settings: s, filters: [] };
          // A contract id of its own per run: the memo never answers across runs.
          const oracle = await dp.exactBoundedAggregate(t.database.db, {
            ...input,
            contractId: `prop-${run}`,
            source: 'rows',
          });
          const before = dp.exactSourceStats();
          const fromPairs = await dp.exactBoundedAggregate(t.database.db, {
            ...input,
            contractId: `prop-${run}`,
          });
          const after = dp.exactSourceStats();
          expect(after.pairs - before.pairs).toBe(1);
          expect(after.lastPairs).toBe(built.table);
          expect(sorted(fromPairs)).toEqual(sorted(oracle));
        }
      }),
      { numRuns: 40 },
    );
  }, 300_000);

  it('a live contract is answered from the pairs of the current version and settings only: new data, new settings, stale settings, dropped pairs', async () => {
    const code = await f.resource('门诊记录（成对物化攻击）', 'conditional');
    const put = (maxRowsPerGroup: number) =>
      t.request({
        method: 'PUT',
        url: `/v1/gateway/resources/${code}/dp`,
        token: f.tokens.steward,
        payload: {
          unit: 'person_id',
          maxGroups: 1,
          maxRowsPerGroup,
          bounds: { visits: { lower: 0, upper: 10 } },
          domains: { district: { values: DISTRICTS } },
        },
      });
    expect((await put(2)).statusCode).toBe(200);
    const contract = await f.contractFor(code, { operations: ['aggregate'] }, { operations: ['aggregate'] });
    await t.database.db
      .updateTable('contracts')
      .set({ rate_limit_per_minute: 1_000_000 })
      .where('id', '=', contract)
      .execute();
    expect(
      (
        await t.request({
          method: 'PUT',
          url: `/v1/gateway/contracts/${contract}/dp/budget`,
          token: f.tokens.steward,
          payload: { rho: 1000 },
        })
      ).statusCode,
    ).toBe(200);
    const settingsNow = async (): Promise<DpSettings> => {
      const s = (
        await t.request({ method: 'GET', url: `/v1/gateway/resources/${code}/dp`, token: f.tokens.steward })
      ).json();
      return {
        unit: s.unit,
        maxGroups: s.maxGroups,
        maxRowsPerGroup: s.maxRowsPerGroup,
        bounds: s.bounds,
        domains: s.domains,
      };
    };
    /** One release, memo emptied: where its exact aggregate came from, and its count in 拱墅区. */
    const ask = async (filter?: unknown) => {
      dp.clearExactMemo();
      const before = dp.exactSourceStats();
      const res = await t.request({
        method: 'POST',
        url: `/v1/gateway/contracts/${contract}/dp/aggregate`,
        token: f.tokens.key,
        payload: {
          metrics: [{ fn: 'count' }],
          groupBy: ['district'],
          rho: 10,
          ...(filter ? { filter } : {}),
        },
      });
      expect(res.statusCode, res.body).toBe(200);
      const after = dp.exactSourceStats();
      return {
        pairs: after.pairs - before.pairs,
        kept: after.kept - before.kept,
        rows: after.rows - before.rows,
        fallbacks: after.fallbacks - before.fallbacks,
        table: after.lastPairs,
        // σ² = 0.2: |noise| ≥ 3 has probability below e⁻²².
        count: Number(res.json().rows.find((r: { district: string }) => r.district === '拱墅区').count),
      };
    };
    const pairsFor = async (groupBy: string) => {
      const v = await currentVersion(code);
      const rows = await registry(v.resourceId);
      const digest = settingsDigest(await settingsNow());
      // Only the current version's pairs under the current settings remain.
      for (const r of rows) {
        expect(r.version_id).toBe(v.versionId);
        expect(r.settings_digest).toBe(digest);
        expect(await exists(r.table_name)).toBe(true);
      }
      expect(rows.map((r) => r.group_by)).toEqual(['', 'district', 'dropped:', 'dropped:district']);
      return rows.find((r) => r.group_by === groupBy)!.table_name;
    };

    // Declared settings built the pairs of the current version; the first query reads them.
    const v1 = await pairsFor('district');
    let answer = await ask();
    expect(answer).toMatchObject({ pairs: 1, rows: 0, table: v1 });
    expect(Math.abs(answer.count)).toBeLessThanOrEqual(2);
    // A filter (here on a group key) reads the rows of its filter less the dropped rows.
    const inGongshu = { field: 'district', op: 'eq', value: '拱墅区' };
    expect(await ask(inGongshu)).toMatchObject({
      pairs: 0,
      kept: 1,
      rows: 0,
      table: await pairsFor('dropped:district'),
    });

    // New data: a version with thirty persons in 拱墅区 is published under the live contract.
    const header = 'record_no,person_id,name,district,visits,note';
    const added = Array.from(
      { length: 30 },
      (_, i) => `N${i},3301061990020${String(10000 + i).slice(-5)},新${i},拱墅区,1,新增`,
    );
    const old = ROWS.map((r) => [r.record_no, r.person_id, r.name, r.district, r.visits, '备注'].join(','));
    const up = await t.request({
      method: 'POST',
      url: `/v1/resources/${code}/versions?filename=v2.csv&wait=true`,
      token: f.tokens.steward,
      headers: { 'content-type': 'text/csv' },
      payload: `${header}\n${[...old, ...added].join('\n')}\n`,
    });
    expect(up.statusCode, up.body).toBe(201);
    const v2 = await pairsFor('district');
    expect(v2).not.toBe(v1);
    expect(await exists(v1)).toBe(false);
    answer = await ask();
    expect(answer).toMatchObject({ pairs: 1, table: v2 });
    expect(Math.abs(answer.count - 30)).toBeLessThanOrEqual(2);
    // A filtered query sees the new rows too: the new version's dropped rows, not the old ones.
    answer = await ask(inGongshu);
    expect(answer).toMatchObject({ kept: 1, rows: 0, table: await pairsFor('dropped:district') });
    expect(Math.abs(answer.count - 30)).toBeLessThanOrEqual(2);

    // New settings: the pairs are rebuilt under their digest, the old ones dropped.
    expect((await put(3)).statusCode).toBe(200);
    const s3 = await pairsFor('district');
    expect(s3).not.toBe(v2);
    expect(await exists(v2)).toBe(false);
    expect(await ask()).toMatchObject({ pairs: 1, table: s3 });

    // Settings changed behind the gateway's back (no rebuild): the pairs of the old settings are
    // still there, but under another digest, so the query takes the row-level statement.
    const { resourceId } = await currentVersion(code);
    await t.database.db
      .updateTable('dp_settings' as never)
      .set({ max_rows_per_group: 1 } as never)
      .where('resource_id' as never, '=', resourceId as never)
      .execute();
    expect(await exists(s3)).toBe(true);
    expect(await ask()).toMatchObject({ pairs: 0, rows: 1 });
    expect(await ask(inGongshu)).toMatchObject({ kept: 0, rows: 1 });
    await refreshPairs(t.database.db, resourceId);
    expect(await exists(s3)).toBe(false);
    const s1 = await pairsFor('district');
    const d1 = await pairsFor('dropped:district');
    expect(await ask()).toMatchObject({ pairs: 1, table: s1 });

    // Pairs dropped between the look-up and the read: the row-level statement answers.
    await sql`DROP TABLE ${sql.table(`datasets.${s1}`)}`.execute(t.database.db);
    answer = await ask();
    expect(answer).toMatchObject({ pairs: 0, rows: 1, fallbacks: 1 });
    expect(Math.abs(answer.count - 30)).toBeLessThanOrEqual(2);
    // So does a filtered query whose dropped rows were dropped under it.
    await sql`DROP TABLE ${sql.table(`datasets.${d1}`)}`.execute(t.database.db);
    answer = await ask(inGongshu);
    expect(answer).toMatchObject({ kept: 0, rows: 1, fallbacks: 1 });
    expect(Math.abs(answer.count - 30)).toBeLessThanOrEqual(2);
  }, 300_000);

  it('two builders of the same pairs build them once', async () => {
    const code = await f.resource('门诊记录（成对物化并发）', 'conditional');
    const { resourceId, versionId, table_name: table } = await currentVersion(code);
    const settings: DpSettings = {
      unit: 'person_id',
      maxGroups: 1,
      maxRowsPerGroup: 1,
      bounds: { visits: { lower: 0, upper: 10, precision: 0 } },
      domains: { district: DISTRICTS },
    };
    const input = { resourceId, versionId, versionTable: table, settings, groupBy: ['district'] };
    const results = await Promise.all([buildPairs(t.database.db, input), buildPairs(t.database.db, input)]);
    expect(results.map((r) => r.built).sort()).toEqual([false, true]);
    expect(results[0]!.table).toBe(results[1]!.table);
    expect(await exists(results[0]!.table)).toBe(true);
    expect((await registry(resourceId)).length).toBe(1);
  }, 120_000);
});
