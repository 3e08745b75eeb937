import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import * as S from './schema.ts';
import * as regions from './service.ts';

/** The boundaries file is read when the routes are registered: once, at start. */
export const regionRoutes =
  (boundariesFile: string | undefined): FastifyPluginAsyncTypebox =>
  async (app) => {
    const boundaries = await regions.loadBoundaries(boundariesFile, app.log);
    app.get(
      '/v1/regions/:code/map',
      {
        config: { access: regions.REGION_READ },
        schema: {
          tags: ['regions'],
          summary: '下级区划地图（GeoJSON）/ Map of a region’s child divisions (GeoJSON)',
          description:
            'The child divisions of a GB/T 2260 region (a city’s districts and counties, a province’s cities) as a GeoJSON FeatureCollection, each feature with `properties.code` and `properties.name`. Boundaries come from REGION_BOUNDARIES_FILE when it holds them; otherwise `schematic: true` and the areas are hexagons in code order, not real boundaries. 400 INVALID_REGION_CODE for a code not in GB/T 2260; 400 VALIDATION_FAILED for a county (no child divisions).',
          params: S.RegionParams,
          response: { 200: S.RegionMap },
        },
      },
      (req) => regions.regionMap(req.ctx, req.params.code, boundaries),
    );
  };
