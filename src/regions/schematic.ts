import type { Region } from '../standards/region.ts';
import type { DivisionFeature } from './boundaries.ts';

/**
 * A schematic map for when no real boundaries are configured: one hexagon per division, in code
 * order, filling rows of a near-square grid (odd rows shifted half a hexagon, as in a honeycomb).
 * It says nothing about where a division lies or how large it is — the answer is marked
 * `schematic` and the console says so — but each division has an area to colour and to point at.
 * The same list always gives the same coordinates (no randomness, numbers rounded), so the map
 * can be cached and compared.
 */

const HALF_WIDTH = Math.sqrt(3) / 2; // of a hexagon of circumradius 1, pointy side up
const ROW_STEP = 1.5;

const round = (n: number) => Math.round(n * 1e6) / 1e6;

/** A closed, counter-clockwise ring (RFC 7946's exterior rings) around (cx, cy). */
function hexagon(cx: number, cy: number): number[][] {
  const ring: number[][] = [];
  for (let k = 0; k < 6; k++) {
    const angle = ((30 + 60 * k) * Math.PI) / 180;
    ring.push([round(cx + Math.cos(angle)), round(cy + Math.sin(angle))]);
  }
  ring.push(ring[0]!);
  return ring;
}

export function schematicFeatures(divisions: readonly Region[]): DivisionFeature[] {
  const sorted = [...divisions].sort((a, b) => a.code.localeCompare(b.code));
  const columns = Math.max(1, Math.ceil(Math.sqrt(sorted.length)));
  return sorted.map((d, i) => {
    const row = Math.floor(i / columns);
    const column = i % columns;
    // Rows run downwards: a map's y is north, so the first division sits top left.
    const cx = 2 * HALF_WIDTH * column + (row % 2 === 1 ? HALF_WIDTH : 0);
    const cy = -ROW_STEP * row;
    return {
      type: 'Feature',
      properties: { code: d.code, name: d.name },
      geometry: { type: 'Polygon', coordinates: [hexagon(cx, cy)] },
    };
  });
}
