import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBoundaries } from '../src/regions/service.ts';
import { childDivisions } from '../src/standards/region.ts';
import { makeResidentId } from '../src/standards/resident-id.ts';
import { startTestApp, type TestApp } from './helpers.ts';

/**
 * GET /v1/regions/{code}/map (issue #23's maps by district): a city's districts from the bureau's
 * boundaries file when it is configured and usable, a schematic marked as such otherwise; read by
 * every signed-in user through the indicators scope, refused for codes outside GB/T 2260.
 */

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shutong-regions-'));
const DISTRICTS = childDivisions('330100').map((d) => d.code);

const square = (x: number) => ({
  type: 'Polygon',
  coordinates: [
    [
      [120 + x, 30],
      [120.1 + x, 30],
      [120.1 + x, 30.1],
      [120 + x, 30.1],
      [120 + x, 30],
    ],
  ],
});

// Two districts of the city in DataV's convention, and one feature no GB/T 2260 code names.
const goodFile = path.join(dir, '330100_full.json');
fs.writeFileSync(
  goodFile,
  JSON.stringify({
    type: 'FeatureCollection',
    features: [
      { type: 'Feature', properties: { adcode: 330106, name: '西湖区' }, geometry: square(0) },
      { type: 'Feature', properties: { adcode: 330108, name: '滨江区' }, geometry: square(0.2) },
      { type: 'Feature', properties: { adcode: '100000_JD', name: '' }, geometry: square(1) },
    ],
  }),
);
const brokenFile = path.join(dir, 'broken.json');
fs.writeFileSync(brokenFile, '{"type": "FeatureCollection", "features": [');

let withFile: TestApp;
let withBrokenFile: TestApp;
let admin: string;

beforeAll(async () => {
  [withFile, withBrokenFile] = await Promise.all([
    startTestApp({ REGION_BOUNDARIES_FILE: goodFile }),
    startTestApp({ REGION_BOUNDARIES_FILE: brokenFile }),
  ]);
  admin = await withBrokenFile.login('admin');
});

afterAll(async () => {
  await Promise.all([withFile?.close(), withBrokenFile?.close()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

const map = (t: TestApp, code: string, token?: string) =>
  t.request({ method: 'GET', url: `/v1/regions/${code}/map`, ...(token ? { token } : {}) });

describe('without usable boundaries', () => {
  it('starts anyway, saying in the log what is wrong with the file', () => {
    const line = withBrokenFile.logs.find((l) => l.includes('区划边界文件'));
    expect(line).toBeDefined();
    expect(line).toContain('not valid JSON');
    expect(line).toContain('schematics');
  });

  it('answers a schematic: one hexagon per district of the city, in code order, marked as such', async () => {
    const res = await map(withBrokenFile, '330100', admin);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      type: 'FeatureCollection',
      region: { code: '330100', name: '浙江省杭州市' },
      schematic: true,
      unmapped: [],
    });
    expect(body.features.map((f: { properties: { code: string } }) => f.properties.code)).toEqual(DISTRICTS);
    expect(body.features[2]).toMatchObject({
      type: 'Feature',
      properties: { code: '330106', name: '西湖区' },
      geometry: { type: 'Polygon' },
    });
  });

  it('draws a province-level municipality with its districts, named for the city', async () => {
    for (const code of ['110000', '110100']) {
      const res = await map(withBrokenFile, code, admin);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().region.name).toBe('北京市');
      expect(res.json().features.map((f: { properties: { name: string } }) => f.properties.name)).toContain(
        '海淀区',
      );
    }
  });

  it('refuses a code outside GB/T 2260, a malformed code and a county (nothing under it)', async () => {
    const unknown = await map(withBrokenFile, '339999', admin);
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.code).toBe('INVALID_REGION_CODE');
    const malformed = await map(withBrokenFile, '33010', admin);
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.code).toBe('VALIDATION_FAILED');
    const county = await map(withBrokenFile, '330106', admin);
    expect(county.statusCode).toBe(400);
    expect(county.json().error).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { reason: 'no_child_divisions' },
    });
    expect(county.json().error.messages.en).toContain('no child divisions');
  });

  it('is read by any signed-in user with the indicators scope, and no one else', async () => {
    const t = withBrokenFile;
    expect((await map(t, '330100')).statusCode).toBe(401);
    expect((await map(t, '330100', await t.login('consumer.civil'))).statusCode).toBe(200);
    expect((await map(t, '330100', await t.login('auditor'))).statusCode).toBe(200);
    const key = async (scopes: string[]) => {
      const res = await t.request({
        method: 'POST',
        url: '/v1/api-keys',
        token: admin,
        payload: { name: `map ${scopes.join(' ')}`, scopes },
      });
      expect(res.statusCode, res.body).toBe(201);
      return res.json().secret as string;
    };
    expect((await map(t, '330100', await key(['indicators']))).statusCode).toBe(200);
    const narrow = await map(t, '330100', await key(['catalog:read']));
    expect(narrow.statusCode).toBe(403);
    expect(narrow.json().error.details.reason).toBe('scope:indicators');
    const citizen = await t.citizen(makeResidentId('330106', '1990-05-06', 31), '周公众');
    expect((await map(t, '330100', citizen.token)).statusCode).toBe(403);
  });

  it('is in the OpenAPI document with its summary in Chinese and English', async () => {
    const doc = (await withBrokenFile.request({ method: 'GET', url: '/openapi.json' })).json();
    const get = doc.paths['/v1/regions/{code}/map'].get;
    expect(get.summary).toMatch(/下级区划地图.*\/ Map of a region/);
    expect(get.security).toEqual([{ bearer: [] }]);
  });

  it('loads nothing when no file is configured', async () => {
    const said: unknown[] = [];
    const log = { warn: (...a: unknown[]) => said.push(a), error: (...a: unknown[]) => said.push(a) };
    expect(await loadBoundaries(undefined, log)).toBeNull();
    expect(said).toEqual([]);
  });
});

describe('with the bureau’s boundaries file', () => {
  it('logs the features it left out', () => {
    const line = withFile.logs.find((l) => l.includes('100000_JD'));
    expect(line).toContain('not a current GB/T 2260 code');
  });

  it('answers the real boundaries it holds and lists the districts it lacks', async () => {
    const res = await map(withFile, '330100', await withFile.login('admin'));
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.schematic).toBe(false);
    expect(body.features).toEqual([
      { type: 'Feature', properties: { code: '330106', name: '西湖区' }, geometry: square(0) },
      { type: 'Feature', properties: { code: '330108', name: '滨江区' }, geometry: square(0.2) },
    ]);
    expect(body.unmapped).toEqual(DISTRICTS.filter((c) => c !== '330106' && c !== '330108'));
  });

  it('falls back to a schematic for a region the file does not cover', async () => {
    const res = await map(withFile, '330200', await withFile.login('admin'));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().schematic).toBe(true);
  });
});
