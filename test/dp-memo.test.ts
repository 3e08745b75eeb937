import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExactMemo } from '../src/gateway/dp-memo.ts';

/**
 * The node's memo of exact DP aggregates (issue 14): bounded in entries and bytes, least recently
 * used out first, one execution for identical queries running at once, nothing kept on failure.
 */
const rowsOf = (n: number) => Array.from({ length: n }, (_, i) => ({ g0: `g${i}`, count: String(i) }));

describe('memo of exact DP aggregates', () => {
  it('computes once per key and answers repeats from memory', async () => {
    const memo = new ExactMemo();
    let runs = 0;
    const compute = async () => {
      runs++;
      return rowsOf(3);
    };
    const [a, b] = await Promise.all([memo.get('k', compute), memo.get('k', compute)]);
    const c = await memo.get('k', compute);
    expect(runs).toBe(1);
    expect(a).toEqual(rowsOf(3));
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(Object.isFrozen(c[0])).toBe(true);
    expect(memo.stats()).toMatchObject({ entries: 1, hits: 2, misses: 1 });
  });

  it('keeps nothing when the query fails', async () => {
    const memo = new ExactMemo();
    await expect(memo.get('k', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await memo.get('k', async () => rowsOf(1))).toEqual(rowsOf(1));
    expect(memo.stats()).toMatchObject({ entries: 1, misses: 2 });
  });

  it('keys differ by contract, version, SQL and parameters', () => {
    const base = { contractId: 'c1', versionId: 'v1', sql: 'select $1', parameters: [1] };
    const keys = new Set([
      ExactMemo.key(base),
      ExactMemo.key({ ...base, contractId: 'c2' }),
      ExactMemo.key({ ...base, versionId: 'v2' }),
      ExactMemo.key({ ...base, sql: 'select $1 ' }),
      ExactMemo.key({ ...base, parameters: ['1'] }),
      ExactMemo.key({ ...base, parameters: [1n] }),
    ]);
    expect(keys.size).toBe(6);
  });

  it('property: never holds more entries or bytes than its limits, and evicts the least recently used', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 2_000, max: 40_000 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 60 })), {
          maxLength: 60,
        }),
        async (entries, bytes, accesses) => {
          const memo = new ExactMemo({ entries, bytes });
          for (const [k, n] of accesses) {
            // The same key always has the same rows, as a query on an immutable version does.
            await memo.get(`k${k}`, async () => rowsOf(n + k));
            const s = memo.stats();
            expect(s.entries).toBeLessThanOrEqual(entries);
            expect(s.bytes).toBeLessThanOrEqual(bytes);
          }
        },
      ),
    );
    const memo = new ExactMemo({ entries: 2, bytes: 1_000_000 });
    let runs = 0;
    const compute = async () => {
      runs++;
      return rowsOf(1);
    };
    await memo.get('a', compute);
    await memo.get('b', compute);
    await memo.get('a', compute); // a is now the most recent
    await memo.get('c', compute); // evicts b
    await memo.get('a', compute);
    expect(runs).toBe(3);
    await memo.get('b', compute);
    expect(runs).toBe(4);
  });

  it('does not keep an answer larger than a quarter of its byte budget', async () => {
    const memo = new ExactMemo({ entries: 10, bytes: 4_000 });
    await memo.get('big', async () => rowsOf(100));
    expect(memo.stats()).toMatchObject({ entries: 0, bytes: 0 });
  });
});
