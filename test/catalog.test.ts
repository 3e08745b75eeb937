import jsonld from 'jsonld';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers.ts';

let t: TestApp;
let health: string;
let psb: string;
let consumer: string;

const resource = (overrides: Record<string, unknown> = {}) => ({
  name: '城镇职工社会保险缴费明细',
  summary: '城镇职工基本养老、医疗、失业保险的月度缴费记录',
  theme: 'social_security',
  keywords: ['社会保险', '缴费'],
  updateCycle: 'monthly',
  sharingType: 'conditional',
  sharingConditions: '用于社会保障业务办理',
  openType: 'not_open',
  fields: [
    { name: 'person_id', label: '公民身份号码', dataType: 'text', isKey: true },
    { name: 'pay_month', label: '缴费月份', dataType: 'date' },
    { name: 'amount', label: '缴费金额', dataType: 'decimal' },
  ],
  ...overrides,
});

async function create(token: string, body: Record<string, unknown>) {
  const res = await t.request({ method: 'POST', url: '/v1/resources', token, payload: body });
  if (res.statusCode !== 201) throw new Error(`create failed ${res.statusCode} ${res.body}`);
  // What these tests search, read and harvest is the published catalog (drafts: catalog-publication.test.ts).
  await t.publish(res.json().code, token);
  return (await t.request({ method: 'GET', url: `/v1/resources/${res.json().code}`, token })).json();
}

beforeAll(async () => {
  t = await startTestApp();
  health = await t.login('steward.health');
  psb = await t.login('steward.psb');
  consumer = await t.login('consumer.civil');
});
afterAll(() => t.close());

describe('resources', () => {
  it('registers a resource with a generated, documented code and unassessed fields', async () => {
    const r = await create(health, resource());
    expect(r.code).toMatch(/^330100-Z12-[0-9A-HJ-NPQRTUWXY]{9}-\d{4}$/);
    expect(r.provider.name).toBe('云岚市卫生健康委员会');
    expect(r.category).toBe('theme');
    expect(r.grade).toBe('unassessed');
    expect(r.fields.map((f: { grade: string }) => f.grade)).toEqual([
      'unassessed',
      'unassessed',
      'unassessed',
    ]);
    const second = await create(health, resource({ name: '第二个资源' }));
    expect(second.code.slice(0, -4)).toBe(r.code.slice(0, -4));
    expect(Number(second.code.slice(-4))).toBe(Number(r.code.slice(-4)) + 1);
  });

  it('lets only data stewards of the provider change a resource, keeping every change as history', async () => {
    const r = await create(health, resource({ name: '门诊就诊统计' }));
    const other = await t.request({
      method: 'PATCH',
      url: `/v1/resources/${r.id}`,
      token: psb,
      payload: { revision: 1, name: '改名' },
    });
    expect(other.statusCode).toBe(403);
    const admin = await t.request({
      method: 'PATCH',
      url: `/v1/resources/${r.id}`,
      token: await t.login('admin'),
      payload: { revision: 1, name: '改名' },
    });
    expect(admin.statusCode).toBe(403);
    const byConsumer = await t.request({
      method: 'POST',
      url: '/v1/resources',
      token: consumer,
      payload: resource(),
    });
    expect(byConsumer.statusCode).toBe(403);

    const ok = await t.request({
      method: 'PATCH',
      url: `/v1/resources/${r.code}`,
      token: health,
      payload: { revision: 1, name: '门诊就诊人次统计', openType: 'conditional' },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ name: '门诊就诊人次统计', openType: 'conditional', revision: 2 });

    const stale = await t.request({
      method: 'PATCH',
      url: `/v1/resources/${r.id}`,
      token: health,
      payload: { revision: 1, summary: 'x' },
    });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().error.details.field).toBe('revision');

    const history = (
      await t.request({ method: 'GET', url: `/v1/resources/${r.id}/history`, token: consumer })
    ).json();
    expect(history.map((h: { revision: number }) => h.revision)).toEqual([2, 1]);
    expect(history[0].changes).toEqual({
      name: { from: '门诊就诊统计', to: '门诊就诊人次统计' },
      openType: { from: 'not_open', to: 'conditional' },
    });
    expect(history[0].actorId).toMatch(/^usr_/);
  });

  it('refuses bad resources with 400 naming the field', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [resource({ theme: 'astrology' }), 'theme'],
      [resource({ sharingType: 'not_shared', sharingConditions: '' }), 'sharingConditions'],
      [resource({ fields: [{ name: 'Bad Name', label: 'x', dataType: 'text' }] }), 'fields.0.name'],
      [
        resource({
          fields: [
            { name: 'a', label: 'x', dataType: 'text' },
            { name: 'a', label: 'y', dataType: 'text' },
          ],
        }),
        'fields.1.name',
      ],
      [resource({ relatedCodes: ['NO-SUCH-CODE'] }), 'relatedCodes'],
      [resource({ publishedOn: '2024-13-45' }), 'publishedOn'],
    ];
    for (const [body, field] of cases) {
      const res = await t.request({ method: 'POST', url: '/v1/resources', token: health, payload: body });
      expect(res.statusCode, field).toBe(400);
      expect(res.json().error.details.field).toBe(field);
    }
  });

  it('keeps dates as written, whatever the time zone', async () => {
    const r = await create(health, resource({ name: '日期测试', publishedOn: '2024-01-01' }));
    expect(r.publishedOn).toBe('2024-01-01');
    const again = (await t.request({ method: 'GET', url: `/v1/resources/${r.id}`, token: consumer })).json();
    expect(again.publishedOn).toBe('2024-01-01');
  });
});

describe('search', () => {
  beforeAll(async () => {
    await create(
      psb,
      resource({
        name: '居民户籍人口基本信息',
        theme: 'population',
        keywords: ['户籍'],
        summary: '常住人口',
        openType: 'not_open',
      }),
    );
    await create(
      health,
      resource({
        name: '医疗机构名录',
        theme: 'health',
        keywords: ['医院'],
        openType: 'unconditional',
        sharingType: 'unconditional',
        sharingConditions: '',
      }),
    );
    await create(
      health,
      resource({
        name: '水费缴费记录',
        theme: 'urban_rural',
        keywords: ['水费'],
        summary: '',
        fields: [{ name: 'reading', label: '读数', dataType: 'decimal' }],
      }),
    );
    await create(
      psb,
      resource({
        name: 'Bus ridership by line',
        theme: 'transport',
        keywords: ['公交', 'bus'],
        summary: 'daily boardings',
        openType: 'unconditional',
      }),
    );
  });

  const search = async (query: string, token = consumer) => {
    const res = await t.request({ method: 'GET', url: `/v1/catalog/search?${query}`, token });
    expect(res.statusCode).toBe(200);
    return res.json();
  };

  it('finds 城镇职工社会保险缴费明细 for 社保缴费, ranked above partial matches', async () => {
    const result = await search(`q=${encodeURIComponent('社保缴费')}`);
    expect(result.items[0].name).toBe('城镇职工社会保险缴费明细');
    expect(result.items[0].matchedAllTerms).toBe(true);
    const water = result.items.find((r: { name: string }) => r.name === '水费缴费记录');
    if (water) {
      expect(water.matchedAllTerms).toBe(false);
      expect(result.items.indexOf(water)).toBeGreaterThan(0);
    }
  });

  it('searches field labels, keywords and English words', async () => {
    expect((await search(`q=${encodeURIComponent('公民身份号码')}`)).items.length).toBeGreaterThan(0);
    expect((await search(`q=${encodeURIComponent('户籍')}`)).items[0].name).toBe('居民户籍人口基本信息');
    expect((await search('q=ridership')).items[0].name).toBe('Bus ridership by line');
    expect((await search('q=BUS')).items[0].name).toBe('Bus ridership by line');
  });

  it('filters by theme, provider, sharing type, open type and grade', async () => {
    expect((await search('theme=health')).items.every((r: { theme: string }) => r.theme === 'health')).toBe(
      true,
    );
    const openOnes = (await search('openType=unconditional')).items;
    expect(openOnes.length).toBeGreaterThan(0);
    expect(openOnes.every((r: { openType: string }) => r.openType === 'unconditional')).toBe(true);
    const unconditional = (await search('sharingType=unconditional')).items;
    expect(unconditional.map((r: { name: string }) => r.name)).toContain('医疗机构名录');
    const me = (await t.request({ method: 'GET', url: '/v1/me', token: psb })).json();
    const byProvider = (await search(`provider=${me.organization.id}`)).items;
    expect(byProvider.length).toBeGreaterThan(0);
    expect(byProvider.every((r: { provider: { id: string } }) => r.provider.id === me.organization.id)).toBe(
      true,
    );
    expect((await search('grade=g4')).items).toEqual([]);
    const nonsense = await t.request({
      method: 'GET',
      url: '/v1/catalog/search?theme=nonsense',
      token: consumer,
    });
    expect(nonsense.statusCode).toBe(400);
    expect(nonsense.json().error.details.field).toBe('theme');
  });

  it('pages with a cursor without repeats', async () => {
    const first = await search('limit=2');
    expect(first.items).toHaveLength(2);
    const second = await search(`limit=2&cursor=${first.nextCursor}`);
    const ids = [...first.items, ...second.items].map((r: { id: string }) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    const bad = await t.request({ method: 'GET', url: '/v1/catalog/search?cursor=%%%', token: consumer });
    expect(bad.statusCode).toBe(400);
  });

  it('treats query syntax as text: no tsquery or SQL injection', async () => {
    for (const q of ["'; drop table resources; --", 'a & b | !c <-> d:*', '\\', "社保' | '1"]) {
      const res = await t.request({
        method: 'GET',
        url: `/v1/catalog/search?q=${encodeURIComponent(q)}`,
        token: consumer,
      });
      expect(res.statusCode, q).toBe(200);
    }
    expect((await search('limit=1')).items.length).toBe(1);
  });

  it('needs a signed-in caller', async () => {
    expect((await t.request({ method: 'GET', url: '/v1/catalog/search?q=x' })).statusCode).toBe(401);
  });

  /** Every result of a search, page by page. */
  const all = async (query: string) => {
    const items: Array<Record<string, unknown>> = [];
    let cursor: string | null = null;
    do {
      const page = await search(`${query}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return items;
  };

  it('answers the total of all pages, and facets that count the same results', async () => {
    for (const query of [
      '',
      `q=${encodeURIComponent('缴费')}`,
      'theme=health',
      `q=bus&openType=unconditional`,
    ]) {
      const items = await all(query);
      const first = await search(`${query}&limit=2&withTotal=true&facets=true`);
      expect(first.total, query).toBe(items.length);
      const facets = first.facets as Record<string, Record<string, number>>;
      for (const [facet, field] of [
        ['theme', 'theme'],
        ['sharingType', 'sharingType'],
        ['openType', 'openType'],
        ['grade', 'grade'],
      ] as const) {
        const expected: Record<string, number> = {};
        for (const r of items) expected[String(r[field])] = (expected[String(r[field])] ?? 0) + 1;
        expect(facets[facet], `${query} ${facet}`).toEqual(expected);
      }
    }
    // Without asking, neither is computed.
    const plain = await search('limit=2');
    expect(plain.total).toBeUndefined();
    expect(plain.facets).toBeUndefined();
  });

  it('orders by latest update or publication on request, over the same results as relevance', async () => {
    const q = `q=${encodeURIComponent('缴费')}`;
    const byRelevance = await all(q);
    const byUpdate = await all(`${q}&sort=updated`);
    expect(new Set(byUpdate.map((r) => r.id))).toEqual(new Set(byRelevance.map((r) => r.id)));
    const times = byUpdate.map((r) => Date.parse(String(r.updatedAt)));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    const newest = await all('sort=newest');
    const created = newest.map((r) => Date.parse(String(r.createdAt)));
    expect(created).toEqual([...created].sort((a, b) => b - a));
    const bad = await t.request({ method: 'GET', url: '/v1/catalog/search?sort=random', token: consumer });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details.field).toBe('sort');
  });
});

describe('DCAT 3 JSON-LD', () => {
  it('parses as RDF in a real JSON-LD processor and uses the DCAT terms', async () => {
    const res = await t.request({ method: 'GET', url: '/dcat/catalog.jsonld' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('application/ld+json');
    const doc = res.json();
    const nquads = (await jsonld.toRDF(doc, { format: 'application/n-quads' })) as unknown as string;
    const lines = nquads.trim().split('\n');
    const type = '<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>';
    expect(lines.some((l) => l.includes(`${type} <http://www.w3.org/ns/dcat#Catalog>`))).toBe(true);
    const datasets = lines.filter((l) => l.includes(`${type} <http://www.w3.org/ns/dcat#Dataset>`));
    // Anonymous harvesters see only resources open to the public.
    expect(datasets.length).toBe(doc['dcat:dataset'].length);
    expect(
      doc['dcat:dataset'].every(
        (d: Record<string, { '@id': string }>) => !d['dct:accessRights']!['@id'].endsWith('NON_PUBLIC'),
      ),
    ).toBe(true);
    for (const term of [
      'dcat#distribution',
      'dcat#theme',
      'dcat#keyword',
      'terms/publisher',
      'terms/accessRights',
      'dcat#accessURL',
    ]) {
      expect(
        lines.some((l) => l.includes(term)),
        term,
      ).toBe(true);
    }
    expect(
      lines.some((l) => l.includes('<http://publications.europa.eu/resource/authority/access-right/PUBLIC>')),
    ).toBe(true);
    expect(lines.some((l) => l.includes('"医疗机构名录"@zh-cn') || l.includes('"医疗机构名录"@zh-CN'))).toBe(
      true,
    );
  });

  it('shows the whole catalog to a signed-in caller, and single datasets by code', async () => {
    const all = (await t.request({ method: 'GET', url: '/dcat/catalog.jsonld', token: consumer })).json();
    const anonymous = (await t.request({ method: 'GET', url: '/dcat/catalog.jsonld' })).json();
    expect(all['dcat:dataset'].length).toBeGreaterThan(anonymous['dcat:dataset'].length);
    const code = anonymous['dcat:dataset'][0]['dct:identifier'];
    const one = await t.request({ method: 'GET', url: `/dcat/datasets/${code}.jsonld` });
    expect(one.statusCode).toBe(200);
    expect(one.json()['@type']).toBe('dcat:Dataset');
    const hidden = all['dcat:dataset'].find((d: Record<string, { '@id': string }>) =>
      d['dct:accessRights']!['@id'].endsWith('NON_PUBLIC'),
    );
    expect(
      (await t.request({ method: 'GET', url: `/dcat/datasets/${hidden['dct:identifier']}` })).statusCode,
    ).toBe(404);
    expect(
      (
        await t.request({
          method: 'GET',
          url: '/dcat/catalog.jsonld',
          headers: { authorization: 'Bearer sts_forgedforgedforgedforged' },
        })
      ).statusCode,
    ).toBe(401);
  });
});

describe('CKAN Action API', () => {
  it('answers package_search in the CKAN envelope with count, rows and start', async () => {
    const res = await t.request({
      method: 'GET',
      url: '/api/3/action/package_search?rows=1&start=0',
      token: consumer,
    });
    const body = res.json();
    expect(body.success).toBe(true);
    expect(body.help).toContain('/api/3/action/help_show?name=package_search');
    expect(body.result.count).toBeGreaterThan(1);
    expect(body.result.results).toHaveLength(1);
    const pkg = body.result.results[0];
    expect(pkg).toMatchObject({ type: 'dataset', state: 'active', private: false });
    expect(pkg.name).toBe(pkg.name.toLowerCase());
    const next = (
      await t.request({ method: 'GET', url: '/api/3/action/package_search?rows=1&start=1', token: consumer })
    ).json();
    expect(next.result.results[0].id).not.toBe(pkg.id);
  });

  it('supports q and fq on organization, tags and groups', async () => {
    const q = (
      await t.request({
        method: 'GET',
        url: `/api/3/action/package_search?q=${encodeURIComponent('社保缴费')}`,
        token: consumer,
      })
    ).json();
    expect(q.result.results[0].title).toBe('城镇职工社会保险缴费明细');
    const tags = (
      await t.request({
        method: 'GET',
        url: `/api/3/action/package_search?fq=${encodeURIComponent('tags:"户籍"')}`,
        token: consumer,
      })
    ).json();
    expect(tags.result.count).toBe(1);
    const groups = (
      await t.request({
        method: 'GET',
        url: '/api/3/action/package_search?fq=groups:transport',
        token: consumer,
      })
    ).json();
    expect(
      groups.result.results.every(
        (p: { groups: Array<{ name: string }> }) => p.groups[0]!.name === 'transport',
      ),
    ).toBe(true);
    const bad = await t.request({ method: 'GET', url: '/api/3/action/package_search?fq=res_format:CSV' });
    expect(bad.statusCode).toBe(409);
    expect(bad.json()).toMatchObject({ success: false, error: { __type: 'Validation Error' } });
  });

  it('shows packages and organizations, with CKAN errors for unknown ids', async () => {
    const list = (await t.request({ method: 'GET', url: '/api/3/action/package_search?rows=1' })).json();
    const name = list.result.results[0].name;
    const show = (await t.request({ method: 'GET', url: `/api/3/action/package_show?id=${name}` })).json();
    expect(show.result.name).toBe(name);
    const missing = await t.request({ method: 'GET', url: '/api/3/action/package_show?id=nope' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ success: false, error: { __type: 'Not Found Error' } });

    const orgs = (await t.request({ method: 'GET', url: '/api/3/action/organization_list' })).json();
    expect(orgs.result.length).toBe(16);
    const full = (
      await t.request({ method: 'GET', url: '/api/3/action/organization_list?all_fields=true' })
    ).json();
    const healthOrg = full.result.find((o: { title: string }) => o.title === '云岚市卫生健康委员会');
    const org = (
      await t.request({ method: 'GET', url: `/api/3/action/organization_show?id=${healthOrg.id}` })
    ).json();
    expect(org.result).toMatchObject({ id: healthOrg.id, is_organization: true });
    expect(org.result.package_count).toBeGreaterThan(0);
    expect(
      (await t.request({ method: 'GET', url: '/api/3/action/organization_show?id=org_x' })).statusCode,
    ).toBe(404);
  });
});
