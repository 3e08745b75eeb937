import { createHash } from 'node:crypto';

/**
 * Column statistics gathered while rows stream by, in fixed memory per column: null rate,
 * min/max, invalid values, and a distinct-count estimate by K minimum values (KMV): keep the
 * K smallest 52-bit hashes seen; with K of them, the count is about (K − 1) / (K-th smallest).
 * Exact while fewer than K distinct values were seen.
 */
const K = 1024;
const HASH_SPACE = 2 ** 52;

function hash52(value: string): number {
  const digest = createHash('sha1').update(value).digest();
  return (digest.readUInt32BE(0) * 2 ** 20 + (digest.readUInt32BE(4) >>> 12)) as number;
}

export interface ColumnStats {
  count: number;
  nulls: number;
  nullRate: number;
  invalid: number;
  distinctEstimate: number;
  min: string | number | null;
  max: string | number | null;
}

export class ColumnStatsAccumulator {
  private count = 0;
  private nulls = 0;
  private invalid = 0;
  private min: string | number | null = null;
  private max: string | number | null = null;
  // Sorted ascending; at most K entries.
  private smallest: number[] = [];
  private readonly members = new Set<number>();

  constructor(private readonly numeric: boolean) {}

  addInvalid(): void {
    this.count++;
    this.invalid++;
  }

  add(value: string | number | boolean | null): void {
    this.count++;
    if (value === null) {
      this.nulls++;
      return;
    }
    const comparable = this.numeric ? Number(value) : String(value);
    if (this.min === null || comparable < this.min) this.min = comparable;
    if (this.max === null || comparable > this.max) this.max = comparable;
    const h = hash52(String(value));
    if (this.members.has(h)) return;
    if (this.smallest.length < K) {
      this.insert(h);
    } else if (h < this.smallest[K - 1]!) {
      this.members.delete(this.smallest.pop()!);
      this.insert(h);
    }
  }

  private insert(h: number): void {
    let lo = 0;
    let hi = this.smallest.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.smallest[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    this.smallest.splice(lo, 0, h);
    this.members.add(h);
  }

  result(): ColumnStats {
    const distinct =
      this.smallest.length < K
        ? this.smallest.length
        : Math.round((K - 1) / (this.smallest[K - 1]! / HASH_SPACE));
    const max = this.max;
    const min = this.min;
    return {
      count: this.count,
      nulls: this.nulls,
      nullRate: this.count === 0 ? 0 : this.nulls / this.count,
      invalid: this.invalid,
      distinctEstimate: distinct,
      min: typeof min === 'string' && min.length > 64 ? `${min.slice(0, 64)}…` : min,
      max: typeof max === 'string' && max.length > 64 ? `${max.slice(0, 64)}…` : max,
    };
  }
}
