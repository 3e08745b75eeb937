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
beforeAll(async () => {
  t = await startTestApp({}, { demoData: true });
});
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

  it('adds nothing when seeded again, forced or not', async () => {
    const ctx = cliCtx(t.database.db, t.config);
    const before = await catalog();
    expect(await seedDemo(ctx)).toMatchObject({ seeded: false, resources: 0, versions: 0 });
    expect(await seedDemo(ctx, { force: true })).toMatchObject({
      organizations: 0,
      users: 0,
      resources: 0,
      versions: 0,
    });
    expect(await catalog()).toEqual(before);
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
