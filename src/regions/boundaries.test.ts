import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AppError } from '../core/errors.ts';
import { childDivisions } from '../standards/region.ts';
import { checkBoundaries, readBoundaries } from './boundaries.ts';
import { schematicFeatures } from './schematic.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shutong-boundaries-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const square = (x: number) => [
  [
    [x, 0],
    [x + 1, 0],
    [x + 1, 1],
    [x, 1],
    [x, 0],
  ],
];
const feature = (adcode: unknown, geometry: unknown = { type: 'Polygon', coordinates: square(0) }) => ({
  type: 'Feature',
  properties: { adcode, name: 'x' },
  geometry,
});
const write = (name: string, content: unknown) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
};

/** The refusal's reason, with both messages naming the file. */
async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  const e = error as AppError;
  expect(e.code).toBe('FILE_REJECTED');
  expect(e.zh).toContain('区划边界文件');
  expect(e.en).toContain('region boundaries file');
  return e.details.reason as string;
}

describe('the schematic map', () => {
  const districts = childDivisions('330100');

  it('draws one closed hexagon per division, in code order, the same every time', () => {
    const shuffled = [...districts].reverse();
    const features = schematicFeatures(shuffled);
    expect(features.map((f) => f.properties.code)).toEqual(districts.map((d) => d.code));
    expect(features.map((f) => f.properties.name)).toContain('西湖区');
    for (const f of features) {
      expect(f.geometry.type).toBe('Polygon');
      const ring = f.geometry.coordinates[0] as number[][];
      expect(ring).toHaveLength(7);
      expect(ring[6]).toEqual(ring[0]);
    }
    expect(JSON.stringify(schematicFeatures(districts))).toBe(JSON.stringify(features));
  });

  it('lays the hexagons in a near-square grid without overlap', () => {
    const features = schematicFeatures(districts); // 13 districts: 4 columns, 4 rows
    const centres = features.map((f) => {
      const ring = f.geometry.coordinates[0] as number[][];
      const xs = ring.slice(0, 6).map((p) => p[0]!);
      const ys = ring.slice(0, 6).map((p) => p[1]!);
      return [xs.reduce((a, b) => a + b) / 6, ys.reduce((a, b) => a + b) / 6] as const;
    });
    expect(new Set(centres.map(([, y]) => y.toFixed(3))).size).toBe(4);
    for (let i = 0; i < centres.length; i++) {
      for (let j = i + 1; j < centres.length; j++) {
        const [a, b] = [centres[i]!, centres[j]!];
        // Neighbouring hexagons of circumradius 1 have centres √3 apart.
        expect(Math.hypot(a[0] - b[0], a[1] - b[1])).toBeGreaterThan(1.73);
      }
    }
  });

  it('has no areas for no divisions', () => {
    expect(schematicFeatures([])).toEqual([]);
  });
});

describe('a boundaries file', () => {
  it('keeps features with GB/T 2260 adcodes (numbers or strings) and polygon geometry', async () => {
    const file = write('good.json', {
      type: 'FeatureCollection',
      features: [
        feature(330106),
        feature('330108', { type: 'MultiPolygon', coordinates: [square(2), square(4)] }),
      ],
    });
    const boundaries = await readBoundaries(file);
    expect([...boundaries.geometries.keys()]).toEqual(['330106', '330108']);
    expect(boundaries.geometries.get('330108')!.type).toBe('MultiPolygon');
    expect(boundaries.rejected).toEqual([]);
  });

  it('reports features whose adcode is not GB/T 2260, missing, repeated or not drawn as a polygon', () => {
    const boundaries = checkBoundaries('f.json', {
      type: 'FeatureCollection',
      features: [
        feature(330106),
        feature('100000_JD'), // DataV's nine-dash line: no division
        feature(339999),
        feature(undefined),
        feature(330106),
        feature(330108, { type: 'Point', coordinates: [1, 2] }),
        feature(330110, { type: 'Polygon', coordinates: [[[0, 0]]] }),
        null,
      ],
    });
    expect([...boundaries.geometries.keys()]).toEqual(['330106']);
    expect(boundaries.rejected).toEqual([
      { index: 1, adcode: '100000_JD', reason: 'not_gbt2260' },
      { index: 2, adcode: '339999', reason: 'not_gbt2260' },
      { index: 3, adcode: null, reason: 'no_adcode' },
      { index: 4, adcode: '330106', reason: 'duplicate' },
      { index: 5, adcode: '330108', reason: 'bad_geometry' },
      { index: 6, adcode: '330110', reason: 'bad_geometry' },
      { index: 7, adcode: null, reason: 'no_adcode' },
    ]);
  });

  it('is refused, with the problem named, when it is not JSON', async () => {
    expect(await refusal(readBoundaries(write('bad.json', '{"type": "FeatureCollection", ')))).toBe(
      'not_json',
    );
  });

  it('is refused when it is not a FeatureCollection or has no features', async () => {
    expect(await refusal(readBoundaries(write('feature.json', feature(330106))))).toBe(
      'not_feature_collection',
    );
    expect(await refusal(readBoundaries(write('array.json', [feature(330106)])))).toBe(
      'not_feature_collection',
    );
    expect(await refusal(readBoundaries(write('nofeatures.json', { type: 'FeatureCollection' })))).toBe(
      'no_features',
    );
  });

  it('is refused when no feature is usable', async () => {
    const file = write('unknown.json', { type: 'FeatureCollection', features: [feature(999999)] });
    expect(await refusal(readBoundaries(file))).toBe('no_usable_features');
  });

  it('is refused by its size before it is read', async () => {
    const file = write('big.json', { type: 'FeatureCollection', features: [feature(330106)] });
    const size = fs.statSync(file).size;
    expect(await refusal(readBoundaries(file, size - 1))).toBe('too_large');
    await expect(readBoundaries(file, size)).resolves.toBeTruthy();
  });

  it('is refused when it cannot be read', async () => {
    expect(await refusal(readBoundaries(path.join(dir, 'missing.json')))).toBe('unreadable');
  });
});
