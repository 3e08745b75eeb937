import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliCtx } from '../src/core/context.ts';
import { DEMO_RESOURCES } from '../src/demo/resources.ts';
import { seedDemo } from '../src/demo/seed.ts';
import { isValidBankCard } from '../src/standards/bank-card.ts';
import { isValidLicensePlate } from '../src/standards/license-plate.ts';
import { isValidLandline, isValidMobile } from '../src/standards/phone.ts';
import { countiesOf } from '../src/standards/region.ts';
import { isValidResidentId } from '../src/standards/resident-id.ts';
import { isValidUscc } from '../src/standards/uscc.ts';
import { startTestApp, type TestApp } from './helpers.ts';

let t: TestApp;
// Seeding the whole city (data, contracts, bundles, registry, operation with its gateway calls) takes
// a while on a busy 2-core machine: a guard against hangs, not a measure.
beforeAll(async () => {
  t = await startTestApp({}, { demoData: true });
}, 400_000);
afterAll(() => t.close());

async function catalog() {
  return t.database.db
    .selectFrom('resources')
    .leftJoin('dataset_versions', 'dataset_versions.id', 'resources.current_version_id')
    .select([
      'resources.id',
      'resources.name',
      'resources.provider_org_id',
      'resources.sharing_type',
      'resources.open_type',
      'dataset_versions.state',
      'dataset_versions.number',
      'dataset_versions.row_count',
      'dataset_versions.encoding',
      'dataset_versions.table_name',
    ])
    .execute();
}

async function currentRows(tableName: string) {
  const { rows } = await sql
    .raw<Record<string, unknown>>(`select * from datasets."${tableName}" order by _row`)
    .execute(t.database.db);
  return rows;
}

/** How many of each seeded record there are: seeding again must add none. */
async function records() {
  const counts: Record<string, number> = {};
  for (const table of [
    'contracts',
    'applications',
    'registrations',
    'registration_certificates',
    'operation_plans',
    'operation_agreements',
    'data_products',
    'product_prices',
    'revenue_caps',
    'product_subscriptions',
    'bills',
  ]) {
    const { rows } = await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(
      t.database.db,
    );
    counts[table] = Number(rows[0]!.n);
  }
  const { rows } = await sql<{ n: string }>`
    select count(*) as n from audit_events where action in ('gateway.rows', 'gateway.aggregate')`.execute(
    t.database.db,
  );
  counts.gatewayCalls = Number(rows[0]!.n);
  return counts;
}

const expectedRows = (name: string) => DEMO_RESOURCES.find((r) => r.name === name)!.rows;

describe('the seeded demo city', () => {
  it('has about twenty resources from many departments, of every sharing and open type', async () => {
    const resources = await catalog();
    expect(resources.length).toBeGreaterThanOrEqual(18);
    expect(new Set(resources.map((r) => r.provider_org_id)).size).toBeGreaterThanOrEqual(8);
    expect(new Set(resources.map((r) => r.sharing_type))).toEqual(
      new Set(['unconditional', 'conditional', 'not_shared']),
    );
    expect(new Set(resources.map((r) => r.open_type))).toEqual(
      new Set(['unconditional', 'conditional', 'not_open']),
    );
  });

  it('loaded a first version of every resource through the importer, some of them from GB18030 files', async () => {
    const resources = await catalog();
    for (const r of resources) {
      expect(r.state, r.name).toBe('ready');
      expect(r.number, r.name).toBe(1);
      expect(r.row_count, r.name).toBe(expectedRows(r.name));
      expect((await currentRows(r.table_name!)).length, r.name).toBe(expectedRows(r.name));
    }
    const gb = resources.filter((r) => r.encoding === 'gb18030');
    expect(gb.length).toBeGreaterThan(0);
    const districts = new Set(countiesOf('330100').map((c) => c.name));
    const lowIncome = resources.find((r) => r.name === '最低生活保障对象名录')!;
    expect(lowIncome.encoding).toBe('gb18030');
    for (const row of await currentRows(lowIncome.table_name!))
      expect(districts.has(String(row.district))).toBe(true);
  });

  it('holds identifiers that pass the national standards’ checks', async () => {
    const checks: Array<[RegExp, (value: string) => boolean]> = [
      [/id_number$/, (v) => isValidResidentId(v, { regionRule: 'current' })],
      [/^(uscc|.+_uscc|taxpayer_id|agent_tax_id)$/, isValidUscc],
      [/mobile$/, isValidMobile],
      [/^(bank_account|card_account)$/, isValidBankCard],
      [/^plate$/, isValidLicensePlate],
      [/^phone$/, isValidLandline],
    ];
    const checked = checks.map(() => 0);
    for (const r of await catalog()) {
      for (const row of await currentRows(r.table_name!)) {
        for (const [column, value] of Object.entries(row)) {
          checks.forEach(([pattern, valid], i) => {
            if (!pattern.test(column)) return;
            // Children have no phone of their own; every other value is there and valid.
            if (value === null && /mobile$/.test(column)) return;
            expect(valid(String(value)), `${r.name}.${column} = ${value}`).toBe(true);
            checked[i]!++;
          });
        }
      }
    }
    for (const n of checked) expect(n).toBeGreaterThan(100);
  });

  it('serves both one-thing bundles on contracts, to people whose shared data the departments really find', async () => {
    const ids = (await t.request({ method: 'GET', url: '/v1/citizen/demo-identities' })).json();
    expect(ids.citizens).toHaveLength(2);
    expect(ids.enterprises).toHaveLength(1);
    const [mother] = ids.citizens;
    const login = await t.request({
      method: 'POST',
      url: '/v1/citizen/login',
      payload: { idNumber: mother.idNumber, password: 'shutong-demo' },
    });
    expect(login.statusCode, login.body).toBe(200);
    const token = login.json().token as string;
    const bundle = (await t.request({ method: 'GET', url: '/v1/services/bundles/NEWBORN', token })).json();
    expect(bundle.state).toBe('published');
    expect(bundle.eligibility.length).toBeGreaterThan(0);
    expect(bundle.savings.exemptedFields).toBeGreaterThanOrEqual(4);
    const asked = bundle.steps.flatMap((s: { fields: Array<{ name: string; provenance: string }> }) =>
      s.fields.filter((f) => f.provenance !== 'contract').map((f) => f.name),
    );
    const form = Object.fromEntries([...new Set<string>(asked)].map((name) => [name, '示范填写']));
    const applied = await t.request({
      method: 'POST',
      url: '/v1/services/bundles/NEWBORN/applications',
      token,
      payload: { form },
    });
    expect(applied.statusCode, applied.body).toBe(201);
    const id = applied.json().id;
    const hospital = await t.login('steward.hospital');
    for (const event of ['accept', 'start', 'complete'])
      await t.request({
        method: 'POST',
        url: `/v1/services/applications/${id}/steps/birth_certificate/${event}`,
        token: hospital,
      });
    const prefill = await t.request({
      method: 'POST',
      url: `/v1/services/applications/${id}/steps/household/prefill`,
      token: await t.login('consumer.psb'),
    });
    expect(prefill.statusCode, prefill.body).toBe(200);
    expect(prefill.json()).toMatchObject({ filled: ['baby_sex', 'born_at'], missing: [] });
    const household = prefill.json().application.steps.find((s: { key: string }) => s.key === 'household');
    expect(household.prefill.baby_sex.value).toMatch(/^[男女]$/);
    const biz = (
      await t.request({ method: 'GET', url: '/v1/services/bundles/ENTERPRISE-CHANGE', token })
    ).json();
    expect(biz.savings.exemptedFields).toBe(2);
  });

  it('runs authorized operation: registered resources, an agreement, a capped product, a free and a paying customer billed from the audit log', async () => {
    const admin = await t.login('admin');
    const get = async (url: string, token?: string) => {
      const res = await t.request({ method: 'GET', url, ...(token ? { token } : {}) });
      expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
      return res.json();
    };
    const orgs = await t.database.db.selectFrom('organizations').select(['id', 'name']).execute();
    const orgId = (name: string) => orgs.find((o) => o.name === name)!.id;
    const operatorOrgId = orgId('云岚市数据运营有限公司');

    // Two resources registered by their holders, decided after a public notice that has ended.
    const registered = (await get('/v1/registry/registrations?state=registered', admin)).items;
    expect(registered).toHaveLength(2);
    const today = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);
    for (const r of registered) {
      expect(r.subject.type).toBe('resource');
      expect(r.dates.noticeUntil < today).toBe(true);
      expect(r.dates.registeredOn).toBe(today);
      const history = await get(`/v1/registry/certificates/${r.code}`);
      expect(history.status).toBe('registered');
      expect(history.current.certificate.holder.id).toBe(r.registrantOrgId);
      const check = await t.request({
        method: 'POST',
        url: '/v1/registry/certificates/verify',
        payload: history.current,
      });
      expect(check.json()).toMatchObject({ valid: true, current: true, code: r.code, version: 1 });
    }
    const resourceIds = registered.map((r: { subject: { id: string } }) => r.subject.id).sort();

    // The operator holds an agreement in force over those resources.
    const operator = await t.login('steward.operator');
    const agreements = await get('/v1/operation/agreements', operator);
    expect(agreements).toHaveLength(1);
    const [agreement] = agreements;
    expect(agreement).toMatchObject({ operatorOrgId, state: 'active' });
    expect(agreement.validFrom <= today && today <= agreement.validTo).toBe(true);
    expect(agreement.scope.resources.map((r: { resourceId: string }) => r.resourceId).sort()).toEqual(
      resourceIds,
    );

    // One product, its cap fee set by the bureau and its price at or under it.
    const products = await get(`/v1/operation/products?operatorOrgId=${operatorOrgId}`, operator);
    expect(products).toHaveLength(1);
    const [product] = products;
    expect(product.agreementId).toBe(agreement.id);
    expect(product.prices).toHaveLength(1);
    const [price] = product.prices;
    expect(price.unit).toBe('call');
    expect(price.capFen).toBeGreaterThan(0);
    expect(price.priceFen).toBeGreaterThan(0);
    expect(price.priceFen).toBeLessThanOrEqual(price.capFen);

    // A free public-welfare customer and a paying one, each on its own contract.
    const subs = await get('/v1/operation/subscriptions', operator);
    expect(subs).toHaveLength(2);
    const welfare = subs.find((s: { free: boolean }) => s.free);
    const paying = subs.find((s: { free: boolean }) => !s.free);
    expect(welfare).toMatchObject({ customerOrgId: orgId('云岚市民政局'), purpose: 'public_welfare' });
    expect(paying).toMatchObject({ customerOrgId: orgId('云岚市智慧出行科技有限公司'), purpose: 'industry' });

    // A month of metered calls billed: 0 fen for the free customer, calls × price for the paying
    // one, each bill recomputed from the audit log and matching.
    const bills = await get('/v1/operation/bills', operator);
    expect(bills).toHaveLength(2);
    const billOf = (sub: { id: string }) =>
      bills.find((b: { subscriptionId: string }) => b.subscriptionId === sub.id);
    const free = billOf(welfare);
    expect(free.metered.calls).toBeGreaterThan(0);
    expect(free.totalFen).toBe(0);
    expect(free.lines).toEqual([
      expect.objectContaining({ unit: 'call', quantity: free.metered.calls, unitPriceFen: 0, amountFen: 0 }),
    ]);
    const paid = billOf(paying);
    expect(paid.metered.calls).toBeGreaterThan(0);
    expect(paid.lines).toEqual([
      expect.objectContaining({
        unit: 'call',
        quantity: paid.metered.calls,
        unitPriceFen: price.priceFen,
        amountFen: paid.metered.calls * price.priceFen,
      }),
    ]);
    expect(paid.totalFen).toBe(paid.metered.calls * price.priceFen);
    expect(paid.totalFen).toBeGreaterThan(0);
    for (const bill of [free, paid]) {
      const again = await get(`/v1/operation/bills/${bill.id}/reproduce`, admin);
      expect(again.matches, JSON.stringify(again)).toBe(true);
      // The calls are the gateway's own audit entries on the customer's contract in that month.
      const { rows } = await sql<{ n: string }>`
        select count(*) as n from audit_events
        where object_type = 'contract' and object_id = ${bill.contractId}
          and action in ('gateway.rows', 'gateway.aggregate')
          and (time at time zone 'Asia/Shanghai') >= ${`${bill.month}-01`}::timestamp
          and (time at time zone 'Asia/Shanghai') < (${`${bill.month}-01`}::timestamp + interval '1 month')`.execute(
        t.database.db,
      );
      expect(Number(rows[0]!.n)).toBe(bill.metered.calls);
      expect(bill.metered.first).not.toBeNull();
      expect(bill.metered.last).toBeGreaterThanOrEqual(bill.metered.first);
    }
    // The paying customer sees its own bill.
    expect((await get(`/v1/operation/bills/${paid.id}`, await t.login('consumer.mobility'))).id).toBe(
      paid.id,
    );

    // The year's public disclosure lists the operator, its resources, product, fees and revenue.
    const year = Number(paid.month.slice(0, 4));
    const disclosure = await get(`/v1/operation/disclosures/${year}`);
    const listed = disclosure.operators.find((o: { orgId: string }) => o.orgId === operatorOrgId);
    expect(listed.name).toBe('云岚市数据运营有限公司');
    expect(listed.authorizedResources).toHaveLength(2);
    expect(listed.products.map((p: { id: string }) => p.id)).toEqual([product.id]);
    expect(listed.revenue.actualFen).toBe(paid.totalFen);
    expect(listed.revenue.maxRevenueFen).toBeGreaterThan(0);
  });

  it('adds nothing when seeded again, forced or not', async () => {
    const ctx = cliCtx(t.database.db, t.config);
    const before = await catalog();
    const recordsBefore = await records();
    expect(await seedDemo(ctx)).toMatchObject({ seeded: false, resources: 0, versions: 0 });
    expect(await seedDemo(ctx, { force: true })).toMatchObject({
      organizations: 0,
      users: 0,
      resources: 0,
      versions: 0,
    });
    expect(await catalog()).toEqual(before);
    expect(await records()).toEqual(recordsBefore);
  });

  it('loads a new version of every resource with the asked number of rows', async () => {
    const ctx = cliCtx(t.database.db, t.config);
    const result = await seedDemo(ctx, { force: true, rows: 30 });
    expect(result).toMatchObject({ resources: 0, versions: DEMO_RESOURCES.length });
    for (const r of await catalog()) {
      expect(r.number, r.name).toBe(2);
      expect(r.row_count, r.name).toBe(30);
    }
  });
});
