/** Which GB/T 2260 map a set of evaluation units is drawn on (the console's RegionMap). */

export interface MapUnit {
  unitCode: string;
  score: number | null;
  rank: number | null;
}

/**
 * The region whose children the units are: the city of district units, the province of city
 * units (the one most units share). Units below a district (towns, communities) have no map in
 * GB/T 2260: none.
 */
export function mapRegionOf(units: readonly MapUnit[]): string | null {
  const count = new Map<string, number>();
  for (const { unitCode: c } of units) {
    if (!/^\d{6}$/.test(c) || c.endsWith('0000')) continue;
    const parent = c.endsWith('00') ? `${c.slice(0, 2)}0000` : `${c.slice(0, 4)}00`;
    count.set(parent, (count.get(parent) ?? 0) + 1);
  }
  return [...count].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? null;
}
