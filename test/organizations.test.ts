import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeUscc, USCC_ALPHABET } from '../src/standards/uscc.ts';
import { startTestApp, type TestApp } from './helpers.ts';

let t: TestApp;
let admin: string;
beforeAll(async () => {
  t = await startTestApp();
  admin = await t.login('admin');
});
afterAll(() => t.close());

const valid = (overrides: Record<string, unknown> = {}) => ({
  name: `云岚市测试中心${Math.random().toString(36).slice(2, 8)}`,
  type: 'public_institution',
  level: 'county',
  regionCode: '330106',
  uscc: makeUscc('1', '2', '330106', Math.random().toString().slice(2, 10)),
  ...overrides,
});

const create = (payload: unknown) =>
  t.request({ method: 'POST', url: '/v1/organizations', token: admin, payload: payload as object });

describe('organizations', () => {
  it('registers an organization with a real region code and a valid credit code', async () => {
    const res = await create(valid());
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ level: 'county', regionCode: '330106', regionName: '西湖区' });
    expect(res.json().id).toMatch(/^org_/);
  });

  it('refuses region codes that are not current GB/T 2260 codes, naming the field', async () => {
    for (const regionCode of ['330199', '999999', '000000', '330103' /* 下城区, abolished 2021 */]) {
      const res = await create(valid({ regionCode }));
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatchObject({
        code: 'INVALID_REGION_CODE',
        details: { field: 'regionCode' },
      });
    }
    const shape = await create(valid({ regionCode: '33010' }));
    expect(shape.statusCode).toBe(400);
    expect(shape.json().error.details.field).toBe('regionCode');
  });

  it('refuses a region code of the wrong administrative level', async () => {
    const res = await create(valid({ level: 'provincial', regionCode: '330106' }));
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({
      code: 'REGION_LEVEL_MISMATCH',
      details: { field: 'regionCode' },
    });
    expect((await create(valid({ level: 'municipal', regionCode: '310000' }))).statusCode).toBe(201);
    expect((await create(valid({ level: 'national', regionCode: null }))).statusCode).toBe(201);
    expect((await create(valid({ level: 'county', regionCode: null }))).statusCode).toBe(400);
  });

  it('registers a township office at its town’s nine-digit statistical code, and only there', async () => {
    const town = await create(
      valid({ type: 'government_department', level: 'township', regionCode: '330106100' }),
    );
    expect(town.statusCode, town.body).toBe(201);
    // A town code may end in 00 (镇 codes start at 100): it is still the town, not the district.
    expect(town.json()).toMatchObject({
      level: 'township',
      regionCode: '330106100',
      regionName: '西湖区（乡级区划 100）',
    });
    for (const [level, regionCode, code] of [
      ['township', '330106', 'REGION_LEVEL_MISMATCH'], // a district is not a town
      ['county', '330106001', 'REGION_LEVEL_MISMATCH'], // nor a town a district
      ['township', '330106000', 'INVALID_REGION_CODE'], // 000 is the district itself
      ['township', '330100001', 'INVALID_REGION_CODE'], // towns sit in counties, not in a city
      ['township', '330199001', 'INVALID_REGION_CODE'], // no such county
    ] as const) {
      const res = await create(valid({ level, regionCode }));
      expect(res.statusCode, `${level} ${regionCode}`).toBe(400);
      expect(res.json().error).toMatchObject({ code, details: { field: 'regionCode' } });
    }
  });

  it('refuses a credit code whose GB 32100 check character is wrong, naming the field', async () => {
    const good = makeUscc('9', '1', '330106', '12345678');
    const last = good.at(-1)!;
    const wrongCheck = good.slice(0, 17) + USCC_ALPHABET[(USCC_ALPHABET.indexOf(last) + 1) % 31];
    for (const uscc of [wrongCheck, '91330106MA2XXXXXXO', 'I1330106123456789X']) {
      const res = await create(valid({ uscc }));
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'INVALID_USCC', details: { field: 'uscc' } });
    }
  });

  it('refuses any single-character change of a valid credit code (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(/^[0-9A-HJ-NPQRTUWXY]{8}$/),
        fc.integer({ min: 0, max: 17 }),
        fc.integer({ min: 1, max: 30 }),
        async (body, position, shift) => {
          const code = makeUscc('9', '1', '330106', body);
          const changed =
            code.slice(0, position) +
            USCC_ALPHABET[(USCC_ALPHABET.indexOf(code[position]!) + shift) % 31] +
            code.slice(position + 1);
          const res = await create(valid({ uscc: changed }));
          expect(res.statusCode).toBe(400);
          expect(res.json().error.code).toBe('INVALID_USCC');
        },
      ),
      { numRuns: 25 },
    );
  });

  it('refuses a credit code or a name registered twice with 409', async () => {
    const first = valid();
    expect((await create(first)).statusCode).toBe(201);
    const dupCode = await create(valid({ uscc: first.uscc }));
    expect(dupCode.statusCode).toBe(409);
    expect(dupCode.json().error.details.field).toBe('uscc');
    const dupName = await create(valid({ name: first.name }));
    expect(dupName.statusCode).toBe(409);
    expect(dupName.json().error.details.field).toBe('name');
  });

  it('lets the organization admin correct their organization, validating again', async () => {
    const org = (await create(valid())).json();
    const bad = await t.request({
      method: 'PATCH',
      url: `/v1/organizations/${org.id}`,
      token: admin,
      payload: { regionCode: '123456' },
    });
    expect(bad.statusCode).toBe(400);
    const ok = await t.request({
      method: 'PATCH',
      url: `/v1/organizations/${org.id}`,
      token: admin,
      payload: { regionCode: '330108' },
    });
    expect(ok.json()).toMatchObject({ regionCode: '330108', regionName: '滨江区' });
    const missing = await t.request({
      method: 'PATCH',
      url: '/v1/organizations/org_00000000000000000000000000',
      token: admin,
      payload: { name: 'x y' },
    });
    expect(missing.statusCode).toBe(404);
  });

  it('pages the directory with a cursor, every organization exactly once', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await t.request({
        method: 'GET',
        url: `/v1/organizations?limit=5${cursor ? `&cursor=${cursor}` : ''}`,
        token: admin,
      });
      const page = res.json();
      seen.push(...page.items.map((o: { id: string }) => o.id));
      cursor = page.nextCursor;
    } while (cursor);
    const total = await t.database.db
      .selectFrom('organizations')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('id', '<>', 'org_public')
      .executeTakeFirstOrThrow();
    // Every organization but the built-in public of citizens, which is no directory entry.
    expect(seen.length).toBe(Number(total.n));
    expect(seen).not.toContain('org_public');
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('records every change in the audit trail in the same transaction', async () => {
    const org = (await create(valid())).json();
    const events = await t.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('object_id', '=', org.id)
      .execute();
    expect(events.map((e) => e.action)).toEqual(['organization.create']);
    const before = await t.database.db
      .selectFrom('audit_events')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    expect((await create(valid({ regionCode: '999999' }))).statusCode).toBe(400);
    const after = await t.database.db
      .selectFrom('audit_events')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    expect(after.n).toEqual(before.n);
  });
});

describe('bad bodies', () => {
  it('answer 400 naming the field, never 500', async () => {
    const cases: Array<[unknown, string]> = [
      [{ ...valid(), name: undefined }, 'name'],
      [{ ...valid(), type: 'church' }, 'type'],
      [{ ...valid(), level: 3 }, 'level'],
      [{ ...valid(), extra: 'x' }, 'extra'],
      [{ ...valid(), uscc: 'short' }, 'uscc'],
    ];
    for (const [payload, field] of cases) {
      const res = await create(payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_FAILED');
      expect(res.json().error.details.field).toBe(field);
      expect(res.json().error.message).toContain(field);
    }
  });

  it('answer 400 for malformed JSON, 415 for other content types, 413 for oversized bodies', async () => {
    const malformed = await t.request({
      method: 'POST',
      url: '/v1/organizations',
      token: admin,
      headers: { 'content-type': 'application/json' },
      payload: '{"name": ',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.code).toBe('BAD_REQUEST');
    const xml = await t.request({
      method: 'POST',
      url: '/v1/organizations',
      token: admin,
      headers: { 'content-type': 'application/xml' },
      payload: '<org/>',
    });
    expect(xml.statusCode).toBe(415);
    const huge = await t.request({
      method: 'POST',
      url: '/v1/organizations',
      token: admin,
      payload: { ...valid(), name: 'x'.repeat(2_000_000) },
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('answer 400 for bad query parameters on lists', async () => {
    const res = await t.request({ method: 'GET', url: '/v1/organizations?limit=100000', token: admin });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details.field).toBe('limit');
  });

  it('survive random JSON bodies on every write route without a 500 (property)', async () => {
    const routes = [
      ['POST', '/v1/organizations'],
      ['POST', '/v1/users'],
      ['POST', '/v1/api-keys'],
      ['POST', '/v1/auth/login'],
    ] as const;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.jsonValue(), async ([method, url], body) => {
        const res = await t.request({
          method,
          url,
          token: admin,
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify(body),
        });
        expect(res.statusCode).toBeGreaterThanOrEqual(400);
        expect(res.statusCode).toBeLessThan(500);
        expect(res.json().error.code).toMatch(/^[A-Z_]+$/);
      }),
      { numRuns: 60 },
    );
  });
});

describe('organization search (q)', () => {
  const search = (q: string) =>
    t.request({ method: 'GET', url: `/v1/organizations?q=${encodeURIComponent(q)}&limit=200`, token: admin });

  it('finds organizations by a substring of the name or the credit code, wildcards literal', async () => {
    const body = valid({ name: `检索机构_${Math.random().toString(36).slice(2, 8)}` });
    const created = (await create(body)).json();
    const byName = (await search('检索机构_')).json();
    expect(byName.items.map((o: { id: string }) => o.id)).toEqual([created.id]);
    const byCode = (await search(body.uscc.slice(2, 14).toLowerCase())).json();
    expect(byCode.items.map((o: { id: string }) => o.id)).toContain(created.id);
    expect((await search('检索机构%')).json().items).toEqual([]);
    const all = (await search('云岚市')).json();
    expect(all.items.length).toBeGreaterThan(1);
    expect(all.items.every((o: { name: string }) => o.name.includes('云岚市'))).toBe(true);
  });
});
