import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOSI_2022_CRITERIA, LOSI_2022_INDICATORS } from '../src/standards/losi.ts';
import { startTestApp, type TestApp } from './helpers.ts';

/**
 * Issue #23: the UN Local Online Service Index 2022 installed as an index over the indicator
 * dictionary through the API, reported by two cities through a form, and scored as the survey
 * counts it — the share of the 86 features present (src/standards/losi.ts cites the sources).
 */
let t: TestApp;
let admin: string;
let civil: string;

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.login('admin');
  civil = await t.login('steward.civil');
});
afterAll(() => t.close());

const post = (url: string, token: string, payload?: object) =>
  t.request({ method: 'POST', url, token, ...(payload ? { payload } : {}) });
const get = (url: string, token: string) => t.request({ method: 'GET', url, token });
const INSTALL = '/v1/evaluation/templates/losi-2022';

const auditCount = async (action: string) =>
  Number(
    (
      await t.database.db
        .selectFrom('audit_events')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('action', '=', action)
        .executeTakeFirstOrThrow()
    ).n,
  );

/** Yes to the first `yes[c]` features of each criterion, no to the rest. */
function answers(yes: Record<string, number>): Record<string, number> {
  const values: Record<string, number> = {};
  for (const c of LOSI_2022_CRITERIA) {
    LOSI_2022_INDICATORS.filter((i) => i.criterion === c.code).forEach((i, n) => {
      values[i.code] = n < (yes[c.code] ?? 0) ? 1 : 0;
    });
  }
  return values;
}

describe('the LOSI 2022 template', () => {
  it('is installed by the data bureau only', async () => {
    expect((await post(INSTALL, civil)).statusCode).toBe(403);
    expect((await get('/v1/indicators?q=LOSI', admin)).json()).toEqual([]);
  });

  it('creates the 86 yes/no indicators and the index with its five criteria', async () => {
    // Two installs at once: one creates, the other answers the same index.
    const both = await Promise.all([post(INSTALL, admin), post(INSTALL, admin)]);
    expect(both.map((r) => r.statusCode).sort(), both[0]!.body + both[1]!.body).toEqual([200, 201]);
    expect(both[0]!.json().id).toBe(both[1]!.json().id);
    const index = both.find((r) => r.statusCode === 201)!.json();
    expect(index).toMatchObject({
      code: 'LOSI-2022',
      state: 'draft',
      aggregation: 'arithmetic',
      minCoverage: 1,
    });
    expect(index.dimensions.map((d: { code: string; weight: number }) => [d.code, d.weight])).toEqual([
      ['LOSI-IF', 8],
      ['LOSI-CP', 25],
      ['LOSI-SP', 18],
      ['LOSI-PE', 17],
      ['LOSI-TE', 18],
    ]);
    const codes = index.dimensions.flatMap((d: { indicators: Array<{ code: string }> }) =>
      d.indicators.map((i) => i.code),
    );
    expect(codes).toEqual(LOSI_2022_INDICATORS.map((i) => i.code));
    const evoting = (await get('/v1/indicators/LOSI-PE-01', admin)).json();
    expect(evoting).toMatchObject({
      nameEn: 'E-voting',
      nameZh: '电子投票',
      unit: '是/否',
      dataType: 'boolean',
      period: 'year',
      level: 'city',
      state: 'active',
    });
    expect(await auditCount('indicator.create')).toBe(86);
    expect(await auditCount('evaluation_index.create')).toBe(1);
    expect(await auditCount('evaluation_index.install_template')).toBe(1);
  });

  it('is idempotent: a second call answers the definition already there and creates nothing', async () => {
    const first = (await get('/v1/evaluation/indexes/LOSI-2022', admin)).json();
    const again = await post(INSTALL, admin);
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toEqual(first);
    expect(
      (await get('/v1/evaluation/indexes', admin))
        .json()
        .filter((i: { code: string }) => i.code === 'LOSI-2022'),
    ).toHaveLength(1);
    expect(await auditCount('indicator.create')).toBe(86);
    expect(await auditCount('evaluation_index.create')).toBe(1);
    expect(await auditCount('evaluation_index.install_template')).toBe(1);
  });

  it('scores two cities as the survey counts: the share of the 86 features present', async () => {
    expect((await post('/v1/evaluation/indexes/LOSI-2022/publish', admin)).json().state).toBe('published');
    const form = await post('/v1/forms', admin, {
      code: 'F-LOSI',
      nameZh: '城市门户 LOSI 自评',
      nameEn: 'City portal LOSI self-assessment',
      year: 2026,
      period: 'year',
      level: 'city',
      basis: 'catalogue',
      indicators: LOSI_2022_INDICATORS.map((i) => i.code),
    });
    expect(form.statusCode, form.body).toBe(201);
    expect((await post('/v1/forms/F-LOSI/issue', admin)).json().state).toBe('issued');
    // Hangzhou: 6 + 20 + 9 + 17 + 12 = 64 yes of 86. Ningbo: 4 + 10 + 9 + 8 + 12 = 43 of 86.
    for (const [unitCode, yes] of [
      ['330100', { IF: 6, CP: 20, SP: 9, PE: 17, TE: 12 }],
      ['330200', { IF: 4, CP: 10, SP: 9, PE: 8, TE: 12 }],
    ] as const) {
      const res = await post('/v1/forms/F-LOSI/submissions', admin, {
        period: '2026',
        unitCode,
        values: answers(yes),
      });
      expect(res.statusCode, res.body).toBe(201);
    }
    const results = await get('/v1/evaluation/indexes/LOSI-2022/results?period=2026', civil);
    expect(results.statusCode, results.body).toBe(200);
    const [hangzhou, ningbo] = results.json().units;
    expect(hangzhou).toMatchObject({ unitCode: '330100', rank: 1, coverage: 1 });
    expect(hangzhou.score).toBeCloseTo(64 / 86, 12);
    // Criterion scores are each criterion's own share; contributions are its yes count over 86.
    expect(hangzhou.dimensions.map((d: { score: number }) => d.score)).toEqual([
      0.75,
      0.8,
      0.5,
      1,
      expect.closeTo(12 / 18, 12),
    ]);
    expect(hangzhou.dimensions.map((d: { contribution: number }) => d.contribution * 86)).toEqual(
      [6, 20, 9, 17, 12].map((n) => expect.closeTo(n, 9)),
    );
    expect(ningbo).toMatchObject({ unitCode: '330200', rank: 2 });
    expect(ningbo.score).toBeCloseTo(0.5, 12);
    expect(ningbo.dimensions.map((d: { score: number }) => d.score)).toEqual([
      0.5,
      0.4,
      0.5,
      expect.closeTo(8 / 17, 12),
      expect.closeTo(12 / 18, 12),
    ]);
  });
});
