import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Mulberry32, mulberry32 } from './random.ts';

describe('mulberry32', () => {
  it('gives the reference sequence of mulberry32 (seed 42)', () => {
    const next = mulberry32(42);
    expect([next(), next(), next()]).toEqual([0.6011037519201636, 0.44829055899754167, 0.8524657934904099]);
  });

  it('is reproducible from its seed and stays in [0, 1)', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const a = mulberry32(seed);
        const b = new Mulberry32(seed);
        for (let i = 0; i < 50; i++) {
          const x = a();
          expect(x).toBe(b.next());
          expect(x >= 0 && x < 1).toBe(true);
        }
      }),
    );
  });

  it('restarts when reseeded', () => {
    const g = new Mulberry32(7);
    const first = [g.next(), g.next()];
    g.seed(7);
    expect([g.next(), g.next()]).toEqual(first);
  });
});
