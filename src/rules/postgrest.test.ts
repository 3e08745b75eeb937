import { describe, expect, it } from 'vitest';
import type { AppError } from '../core/errors.ts';
import {
  contentRange,
  parseRange,
  parseRead,
  preferredCount,
  rangeStatus,
  requestedWindow,
} from './postgrest.ts';

const fields = [
  { name: 'id', dataType: 'text' as const, mask: 'none' },
  { name: 'n', dataType: 'integer' as const, mask: 'none' },
  { name: 'pid', dataType: 'text' as const, mask: 'pseudonym' },
];
const read = (q: string) => parseRead([...new URLSearchParams(q)], { fields });
const code = (q: string) => {
  try {
    read(q);
    return 'ok';
  } catch (e) {
    return (e as AppError).code;
  }
};

describe('PostgREST read dialect', () => {
  it('reads repeated filters, not., in lists with quotes, like with *', () => {
    expect(read('n=gte.1&n=lt.5').filter).toEqual({
      and: [
        { field: 'n', op: 'gte', value: 1 },
        { field: 'n', op: 'lt', value: 5 },
      ],
    });
    expect(read('id=not.in.(a,"b,c",d)').filter).toEqual({
      not: { field: 'id', op: 'in', value: ['a', 'b,c', 'd'] },
    });
    expect(read("id=in.(') OR ('a'='a,x)").filter).toEqual({
      field: 'id',
      op: 'in',
      value: ["') OR ('a'='a", 'x'],
    });
    expect(read('id=ilike.*ab*').filter).toEqual({ field: 'id', op: 'ilike', value: '%ab%' });
  });

  it('reads logic trees, nested and negated', () => {
    expect(read('not.or=(n.eq.1,and(id.eq."x,y",n.not.is.null))').filter).toEqual({
      not: {
        or: [
          { field: 'n', op: 'eq', value: 1 },
          {
            and: [{ field: 'id', op: 'eq', value: 'x,y' }, { not: { field: 'n', op: 'is', value: 'null' } }],
          },
        ],
      },
    });
  });

  it('select * and aliases; order with nulls', () => {
    expect(read('select=*').select.map((s) => s.field)).toEqual(['id', 'n', 'pid']);
    expect(read('select=x:pid,id').select).toEqual([
      { field: 'pid', alias: 'x' },
      { field: 'id', alias: 'id' },
    ]);
    expect(read('order=n.desc.nullslast,id').order).toEqual([
      { field: 'n', direction: 'desc', nulls: 'last' },
      { field: 'id', direction: 'asc' },
    ]);
  });

  it('refuses masked and unknown fields anywhere, and what it does not offer', () => {
    for (const q of [
      'pid=eq.1',
      'pid=not.like.*',
      'or=(n.eq.1,pid.is.null)',
      'and=(not.or(pid.eq.1))',
      'order=pid',
      'zz=eq.1',
    ])
      expect(code(q), q).toBe('FILTER_ON_MASKED_FIELD');
    for (const q of [
      'n=fts.x',
      'n=eq(any).{1,2}',
      'select=n::text',
      'select=rel(*)',
      'rel.n=eq.1',
      'or=(n.eq.1',
      'limit=-1',
      'limit=1&limit=2',
      'id=is.true',
    ])
      expect(code(q), q).toBe('VALIDATION_FAILED');
    expect(code('select=nope')).toBe('FIELD_NOT_GRANTED');
  });

  it('windows, ranges and counts as PostgREST answers them', () => {
    expect(requestedWindow({ offset: 5, limit: 10 }, { from: 0, to: 9 })).toEqual({ offset: 5, limit: 5 });
    expect(requestedWindow({}, parseRange('10-', 'items'))).toEqual({ offset: 10 });
    expect(parseRange('0-9', 'bytes')).toBeNull();
    expect(preferredCount('return=minimal, count=planned')).toBe('planned');
    expect(contentRange(0, 10, 40)).toBe('0-9/40');
    expect(contentRange(40, 0, 40)).toBe('*/40');
    expect(contentRange(0, 3, null)).toBe('0-2/*');
    expect(rangeStatus(0, 10, 40)).toBe(206);
    expect(rangeStatus(0, 40, 40)).toBe(200);
    expect(rangeStatus(41, 0, 40)).toBe(416);
    expect(rangeStatus(0, 10, null)).toBe(200);
  });
});
