/**
 * A seeded 32-bit generator (mulberry32): reproducible sampling, synthetic data and shuffles
 * without a dependency. Fast and well mixed, but predictable — never for keys, tokens or noise
 * that protects privacy (node:crypto is for those).
 */
export class Mulberry32 {
  private state: number;

  constructor(seed = 0) {
    this.state = seed >>> 0;
  }

  /** Restarts the sequence from `seed`. */
  seed(seed: number): void {
    this.state = seed >>> 0;
  }

  /** The next number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }
}

/** `Math.random`'s shape, seeded. */
export function mulberry32(seed: number): () => number {
  const generator = new Mulberry32(seed);
  return () => generator.next();
}
