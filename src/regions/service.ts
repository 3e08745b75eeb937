import type { FastifyBaseLogger } from 'fastify';
import { type AccessRule, authorize } from '../core/auth.ts';
import type { Ctx } from '../core/context.ts';
import { AppError } from '../core/errors.ts';
import { childDivisions, findRegion, fullRegionName } from '../standards/region.ts';
import { type Boundaries, type DivisionFeature, readBoundaries } from './boundaries.ts';
import { schematicFeatures } from './schematic.ts';

/**
 * Maps of GB/T 2260 divisions for the console's dashboards (issue #23): a region's child
 * divisions as GeoJSON, from the boundaries file the deployment configured, or else a schematic
 * (src/regions/schematic.ts) marked as such.
 */

/**
 * The maps serve the evaluation dashboards, so they go with the indicators scope: a key that
 * reads an index's results reads the map they are drawn on. Every signed-in user reads them.
 */
export const REGION_READ: AccessRule = { roles: 'any', scope: 'indicators' };

/**
 * The configured boundaries, read once at start. A file that cannot be used never stops the
 * server: the error is logged (bilingual, naming the problem) and maps fall back to schematics;
 * features left out are logged too.
 */
export async function loadBoundaries(
  file: string | undefined,
  log: Pick<FastifyBaseLogger, 'warn' | 'error'>,
): Promise<Boundaries | null> {
  if (!file) return null;
  try {
    const boundaries = await readBoundaries(file);
    if (boundaries.rejected.length > 0) {
      log.warn(
        { file, rejected: boundaries.rejected.slice(0, 50), count: boundaries.rejected.length },
        `区划边界文件中 ${boundaries.rejected.length} 个要素未采用（adcode 不是 GB/T 2260 现行代码、重复或边界不是多边形）/ ${boundaries.rejected.length} features of the region boundaries file left out (adcode not a current GB/T 2260 code, repeated, or not a polygon)`,
      );
    }
    return boundaries;
  } catch (error) {
    log.error(
      { file, details: error instanceof AppError ? error.details : undefined },
      `${(error as Error).message}；地图改用示意图 / maps fall back to schematics`,
    );
    return null;
  }
}

export interface RegionMap {
  type: 'FeatureCollection';
  region: { code: string; name: string };
  /** True when the areas are the schematic's hexagons, not real boundaries. */
  schematic: boolean;
  /** Child divisions the boundaries file has no boundary for (not drawn). */
  unmapped: string[];
  features: DivisionFeature[];
}

/** The child divisions of a GB/T 2260 region as a FeatureCollection (`properties.code`, `.name`). */
export function regionMap(ctx: Ctx, code: string, boundaries: Boundaries | null): RegionMap {
  authorize(ctx.principal, REGION_READ);
  const region = findRegion(code);
  if (!region) throw new AppError('INVALID_REGION_CODE', { field: 'code', code });
  const divisions = childDivisions(code);
  if (divisions.length === 0) {
    throw new AppError(
      'VALIDATION_FAILED',
      { field: 'code', code, reason: 'no_child_divisions' },
      {
        zh: `${region.name}（${code}）在 GB/T 2260 中没有下级区划，无从绘图`,
        en: `${code} has no child divisions in GB/T 2260 to draw`,
      },
    );
  }
  // Real boundaries when the file holds any of the divisions; the ones it lacks are listed, not
  // made up — mixing hexagons into a real map would mislead more than a gap.
  const held = boundaries ? divisions.filter((d) => boundaries.geometries.has(d.code)) : [];
  // The full name: a municipality's districts sit under the pseudo-prefecture 市辖区, which says nothing.
  const base = { type: 'FeatureCollection' as const, region: { code, name: fullRegionName(code)! } };
  if (held.length === 0)
    return { ...base, schematic: true, unmapped: [], features: schematicFeatures(divisions) };
  return {
    ...base,
    schematic: false,
    unmapped: divisions.filter((d) => !boundaries!.geometries.has(d.code)).map((d) => d.code),
    features: held.map((d) => ({
      type: 'Feature',
      properties: { code: d.code, name: d.name },
      geometry: boundaries!.geometries.get(d.code)!,
    })),
  };
}
