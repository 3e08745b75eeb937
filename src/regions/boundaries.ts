import fs from 'node:fs/promises';
import { AppError } from '../core/errors.ts';
import { findRegion } from '../standards/region.ts';

/**
 * Real boundaries, when the deployment has them: a GeoJSON FeatureCollection in the convention of
 * Aliyun DataV's area files (the ones most bureaus already hold), each feature naming its GB/T 2260
 * division in `properties.adcode`. Read and checked once at start; a feature whose adcode is not a
 * current GB/T 2260 code, or whose geometry is not a polygon, is left out and reported rather than
 * drawn under a wrong name.
 */

export type Position = number[];
export type Geometry =
  | { type: 'Polygon'; coordinates: Position[][] }
  | { type: 'MultiPolygon'; coordinates: Position[][][] };

export interface DivisionFeature {
  type: 'Feature';
  properties: { code: string; name: string };
  geometry: Geometry;
}

/**
 * The file is parsed whole (JSON has no useful streaming form here), and parsing takes several
 * times the file's size in memory: the budget keeps that bounded. A city's districts at DataV's
 * resolution take well under 2 MiB, a whole province's counties about 10.
 */
export const BOUNDARY_FILE_MAX_BYTES = 16 * 1024 ** 2;

export type RejectReason = 'no_adcode' | 'not_gbt2260' | 'bad_geometry' | 'duplicate';

export interface Boundaries {
  /** GB/T 2260 code → its boundary. */
  geometries: Map<string, Geometry>;
  /** Features left out, in file order (index in `features`). */
  rejected: Array<{ index: number; adcode: string | null; reason: RejectReason }>;
}

function refused(file: string, reason: string, note: { zh: string; en: string }): AppError {
  return new AppError(
    'FILE_REJECTED',
    { file, reason },
    {
      zh: `区划边界文件 ${file}：${note.zh}`,
      en: `the region boundaries file ${file}: ${note.en}`,
    },
  );
}

const isPosition = (p: unknown): boolean =>
  Array.isArray(p) && p.length >= 2 && p.every((n) => typeof n === 'number' && Number.isFinite(n));
// A linear ring has at least four positions, the last repeating the first (RFC 7946 §3.1.6).
const isRing = (r: unknown): boolean => Array.isArray(r) && r.length >= 4 && r.every(isPosition);
const isPolygon = (p: unknown): boolean => Array.isArray(p) && p.length >= 1 && p.every(isRing);

function geometryOf(value: unknown): Geometry | null {
  if (typeof value !== 'object' || value === null) return null;
  const { type, coordinates } = value as { type?: unknown; coordinates?: unknown };
  if (type === 'Polygon' && isPolygon(coordinates)) return { type, coordinates: coordinates as Position[][] };
  if (
    type === 'MultiPolygon' &&
    Array.isArray(coordinates) &&
    coordinates.length > 0 &&
    coordinates.every(isPolygon)
  )
    return { type, coordinates: coordinates as Position[][][] };
  return null;
}

/** Checks a parsed file: a FeatureCollection, its usable features kept, the others reported. */
export function checkBoundaries(file: string, parsed: unknown): Boundaries {
  const collection = parsed as { type?: unknown; features?: unknown } | null;
  if (typeof collection !== 'object' || collection === null || collection.type !== 'FeatureCollection') {
    throw refused(file, 'not_feature_collection', {
      zh: '不是 GeoJSON FeatureCollection（顶层 type 须为 "FeatureCollection"）',
      en: 'not a GeoJSON FeatureCollection (the top-level type must be "FeatureCollection")',
    });
  }
  if (!Array.isArray(collection.features)) {
    throw refused(file, 'no_features', { zh: '缺少 features 数组', en: 'it has no features array' });
  }
  const geometries = new Map<string, Geometry>();
  const rejected: Boundaries['rejected'] = [];
  collection.features.forEach((feature: unknown, index) => {
    const f = (typeof feature === 'object' && feature !== null ? feature : {}) as {
      properties?: { adcode?: unknown } | null;
      geometry?: unknown;
    };
    const raw = f.properties?.adcode;
    const adcode = typeof raw === 'number' || typeof raw === 'string' ? String(raw) : null;
    const reason: RejectReason | null =
      adcode === null
        ? 'no_adcode'
        : !findRegion(adcode)
          ? 'not_gbt2260'
          : geometries.has(adcode)
            ? 'duplicate'
            : null;
    const geometry = reason === null ? geometryOf(f.geometry) : null;
    if (reason !== null || geometry === null) {
      rejected.push({ index, adcode, reason: reason ?? 'bad_geometry' });
      return;
    }
    geometries.set(adcode!, geometry);
  });
  if (geometries.size === 0) {
    throw refused(file, 'no_usable_features', {
      zh: `没有一个要素带有效的 GB/T 2260 adcode 和多边形边界（共 ${collection.features.length} 个要素）`,
      en: `none of its ${collection.features.length} features has a valid GB/T 2260 adcode and a polygon boundary`,
    });
  }
  return { geometries, rejected };
}

/** Reads and checks a boundaries file; the size is checked before a byte is read. */
export async function readBoundaries(file: string, maxBytes = BOUNDARY_FILE_MAX_BYTES): Promise<Boundaries> {
  const unreadable = (error: unknown) =>
    refused(file, 'unreadable', {
      zh: `无法读取（${(error as NodeJS.ErrnoException).code ?? 'error'}）`,
      en: `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    });
  const size = await fs.stat(file).then(
    (s) => s.size,
    (error) => {
      throw unreadable(error);
    },
  );
  if (size > maxBytes) {
    throw refused(file, 'too_large', {
      zh: `文件 ${size} 字节，超过上限 ${maxBytes} 字节（只保留所需区划的要素即可）`,
      en: `${size} bytes, above the limit of ${maxBytes} (keep only the divisions needed)`,
    });
  }
  const text = await fs.readFile(file, 'utf8').catch((error) => {
    throw unreadable(error);
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw refused(file, 'not_json', {
      zh: `不是有效的 JSON（${(error as Error).message}）`,
      en: `not valid JSON (${(error as Error).message})`,
    });
  }
  return checkBoundaries(file, parsed);
}
