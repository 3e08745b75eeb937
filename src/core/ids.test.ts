import { describe, expect, it } from 'vitest';
import { isId, newId } from './ids.ts';

describe('ids', () => {
  it('are prefixed, 26 base32 characters, unique, and sort by creation time', async () => {
    const first = newId('org');
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = newId('org');
    expect(isId('org', first)).toBe(true);
    expect(isId('usr', first)).toBe(false);
    expect(first < second).toBe(true);
    const many = new Set(Array.from({ length: 10_000 }, () => newId('key')));
    expect(many.size).toBe(10_000);
  });
});
