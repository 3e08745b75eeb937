/**
 * Column statistics gathered while rows stream by, in fixed memory per column: null rate,
 * min/max, invalid values, and a distinct-count estimate by K minimum values (KMV): keep the
 * K smallest 52-bit hashes seen; with K of them, the count is about (K − 1) / (K-th smallest).
 * Exact while fewer than K distinct values were seen.
 */
const K = 1024;
const HASH_SPACE = 2 ** 52;

/**
 * 52 well-mixed bits of a string (cyrb53: two multiply-xorshift lanes over the UTF-16 units).
 * KMV needs uniform hashes, not secret ones: a SHA-1 object per value cost more than parsing,
 * checking and loading the value together.
 */
function hash52(value: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2_654_435_761);
    h2 = Math.imul(h2 ^ c, 1_597_334_677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2_246_822_507) ^ Math.imul(h2 ^ (h2 >>> 13), 3_266_489_909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2_246_822_507) ^ Math.imul(h1 ^ (h1 >>> 13), 3_266_489_909);
  return (h2 & 0xfffff) * 2 ** 32 + (h1 >>> 0);
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
  /** Short values seen while fewer than K are kept: a repeat is answered without hashing. */
  private seen: Set<string> | null = new Set();

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
    const text = String(value);
    if (this.seen?.has(text)) return;
    const h = hash52(text);
    const full = this.smallest.length === K;
    // Once K hashes are kept, nearly every value is above the largest: one comparison, no lookup.
    if (full && h >= this.smallest[K - 1]!) return;
    if (this.members.has(h)) return;
    if (full) this.members.delete(this.smallest.pop()!);
    this.insert(h);
    if (this.smallest.length === K) this.seen = null;
    else if (text.length <= 64) this.seen?.add(text);
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
