import { Type } from 'typebox';

export const RegionParams = Type.Object({
  code: Type.String({ pattern: '^\\d{6}$', description: 'GB/T 2260 code, e.g. 330100' }),
});

const Position = Type.Array(Type.Number(), { minItems: 2 });
const Ring = Type.Array(Position);
const Geometry = Type.Union([
  Type.Object({ type: Type.Literal('Polygon'), coordinates: Type.Array(Ring) }),
  Type.Object({ type: Type.Literal('MultiPolygon'), coordinates: Type.Array(Type.Array(Ring)) }),
]);

export const RegionMap = Type.Object(
  {
    type: Type.Literal('FeatureCollection'),
    region: Type.Object({ code: Type.String(), name: Type.String() }),
    schematic: Type.Boolean({
      description: 'true: hexagons in code order, not real boundaries (no boundaries file configured)',
    }),
    unmapped: Type.Array(Type.String(), {
      description: 'child divisions the boundaries file has no boundary for',
    }),
    features: Type.Array(
      Type.Object({
        type: Type.Literal('Feature'),
        properties: Type.Object({
          code: Type.String({ description: 'GB/T 2260 code' }),
          name: Type.String(),
        }),
        geometry: Geometry,
      }),
    ),
  },
  { description: 'GeoJSON FeatureCollection (RFC 7946) with foreign members region, schematic, unmapped' },
);
