import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, quoteJson } from '../core/canonical-json.ts';
import { type AuditEntry, encodeEntry, entryLeafHash, isCanonicalIsoTime, normalizeEntry } from './entry.ts';
import { leafHash, toHex } from './merkle.ts';

const entry: AuditEntry = {
  seq: 42,
  time: '2025-03-01T08:30:00.123Z',
  actorId: 'usr_01',
  orgId: 'org_07',
  action: 'contract.approve',
  objectType: 'contract',
  objectId: 'ctr_99',
  requestId: 'req_5',
  details: { fields: ['姓名', 'id_number'], grade: 3, sensitive: true, note: null },
};

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });

  it('orders keys by UTF-16 code units as RFC 8785 does', () => {
    // U+1F600 is the surrogate pair D83D DE00: before U+E000 by code unit, after it by code point.
    expect(canonicalJson({ '\ue000': 1, '😀': 2, '€': 3, a: 4 })).toBe('{"a":4,"€":3,"😀":2,"\ue000":1}');
  });

  it('serialises numbers and strings the way JSON.stringify does', () => {
    expect(canonicalJson([1e21, 0.1, -0, 1.5e-7, 'a"\\\n\u0001'])).toBe(
      '[1e+21,0.1,0,1.5e-7,"a\\"\\\\\\n\\u0001"]',
    );
  });

  it('property: quoteJson is exactly JSON.stringify, lone surrogates and controls included', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.string()),
        (s) => {
          expect(quoteJson(s)).toBe(JSON.stringify(s));
        },
      ),
      { numRuns: 500 },
    );
    for (const s of ['', '"', '\\', '\u001f', '\u007f', '\u2028', '\ud800', '\udc00x', '😀', '第1条']) {
      expect(quoteJson(s)).toBe(JSON.stringify(s));
    }
  });

  it('refuses values JSON cannot carry faithfully', () => {
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(/non-finite/);
    expect(() => canonicalJson({ x: Number.POSITIVE_INFINITY })).toThrow(/non-finite/);
    expect(() => canonicalJson({ x: 10n })).toThrow(/bigint/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(/cyclic/);
  });

  it('allows the same object twice when it is not a cycle', () => {
    const shared = { a: 1 };
    expect(canonicalJson({ x: shared, y: shared })).toBe('{"x":{"a":1},"y":{"a":1}}');
  });

  it('property: a value encodes the same after a JSON round trip (what a jsonb column does)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const stored = JSON.parse(JSON.stringify(value));
        expect(canonicalJson(stored)).toBe(canonicalJson(value));
        expect(JSON.parse(canonicalJson(value))).toEqual(stored);
      }),
      { numRuns: 300 },
    );
  });

  it('property: key order never changes the encoding', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(obj));
      }),
      { numRuns: 200 },
    );
  });
});

describe('isCanonicalIsoTime', () => {
  it('property: accepts exactly what Date#toISOString writes', () => {
    const two = (n: number) => String(n).padStart(2, '0');
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        fc.integer({ min: 0, max: 24 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 0, max: 999 }),
        (y, mo, d, h, mi, ms) => {
          const s = `${String(y).padStart(4, '0')}-${two(mo)}-${two(d)}T${two(h)}:${two(mi)}:${two(mi)}.${String(ms).padStart(3, '0')}Z`;
          const parsed = new Date(s);
          const expected = !Number.isNaN(parsed.getTime()) && parsed.toISOString() === s;
          expect(isCanonicalIsoTime(s), s).toBe(expected);
        },
      ),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('0000-01-01T00:00:00.000Z'),
          max: new Date('9999-12-31T23:59:59.999Z'),
          noInvalidDate: true,
        }),
        (d) => {
          expect(isCanonicalIsoTime(d.toISOString())).toBe(true);
        },
      ),
    );
    expect(isCanonicalIsoTime('2024-02-29T00:00:00.000Z')).toBe(true);
    expect(isCanonicalIsoTime('2100-02-29T00:00:00.000Z')).toBe(false);
    expect(isCanonicalIsoTime('2000-02-29T00:00:00.000Z')).toBe(true);
    expect(isCanonicalIsoTime('2024-04-31T00:00:00.000Z')).toBe(false);
  });
});

describe('encodeEntry', () => {
  it('equals canonicalJson of the entry plus its version', () => {
    fc.assert(
      fc.property(
        fc.nat(10_000),
        fc.jsonValue(),
        fc.option(fc.string({ unit: 'binary' })),
        (seq, details, actor) => {
          const e = { ...entry, seq, details, actorId: actor };
          const expected = canonicalJson({ ...normalizeEntry(e), v: 1 });
          expect(encodeEntry(e).toString('utf8')).toBe(expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('produces the documented canonical bytes', () => {
    expect(encodeEntry(entry).toString('utf8')).toBe(
      '{"action":"contract.approve","actorId":"usr_01","details":{"fields":["姓名","id_number"],"grade":3,' +
        '"note":null,"sensitive":true},"objectId":"ctr_99","objectType":"contract","orgId":"org_07",' +
        '"requestId":"req_5","seq":42,"time":"2025-03-01T08:30:00.123Z","v":1}',
    );
    expect(toHex(entryLeafHash(entry))).toBe(toHex(leafHash(encodeEntry(entry))));
  });

  it('property: entryLeafHash (entry text written into a reused buffer) is leafHash of encodeEntry', () => {
    const text = fc.option(fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' })), {
      nil: null,
    });
    fc.assert(
      fc.property(
        fc.record({
          seq: fc.nat(),
          time: fc
            .date({
              min: new Date(Date.UTC(0, 0, 1)),
              max: new Date(Date.UTC(9999, 11, 31)),
              noInvalidDate: true,
            })
            .map((d) => d.toISOString()),
          actorId: text,
          orgId: text,
          action: fc.string({ unit: 'grapheme', minLength: 1 }),
          objectType: fc.string({ unit: 'binary', minLength: 1 }),
          objectId: text,
          requestId: text,
          details: fc.oneof(
            fc.jsonValue(),
            fc.dictionary(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' })),
            // Long enough to outgrow the reused buffer, then short again.
            fc.string({ unit: 'grapheme', minLength: 2000, maxLength: 6000 }),
          ),
        }),
        (e) => {
          expect(toHex(entryLeafHash(e))).toBe(toHex(leafHash(encodeEntry(e))));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('hashes the same whatever order the database returns jsonb keys in', () => {
    const reordered = {
      ...entry,
      details: { sensitive: true, note: null, grade: 3, fields: ['姓名', 'id_number'] },
    };
    expect(toHex(entryLeafHash(reordered))).toBe(toHex(entryLeafHash(entry)));
  });

  it('changes the leaf hash when any single field changes', () => {
    const base = toHex(entryLeafHash(entry));
    const variants: AuditEntry[] = [
      { ...entry, seq: 43 },
      { ...entry, time: '2025-03-01T08:30:00.124Z' },
      { ...entry, actorId: 'usr_02' },
      { ...entry, actorId: null },
      { ...entry, orgId: 'org_08' },
      { ...entry, action: 'contract.revoke' },
      { ...entry, objectType: 'application' },
      { ...entry, objectId: 'ctr_98' },
      { ...entry, requestId: null },
      { ...entry, details: { ...(entry.details as object), grade: 4 } },
      { ...entry, details: { ...(entry.details as object), extra: 1 } },
      { ...entry, details: { ...(entry.details as object), fields: ['id_number', '姓名'] } },
      // the same characters shifted between fields must not collide
      { ...entry, actorId: 'usr_0', orgId: '1org_07' },
    ];
    const hashes = variants.map((v) => toHex(entryLeafHash(v)));
    for (const h of hashes) expect(h).not.toBe(base);
    expect(new Set(hashes).size).toBe(hashes.length);
  });

  it('fills defaults the way the database columns do', () => {
    const minimal = {
      seq: 1,
      time: new Date('2025-01-01T00:00:00Z'),
      action: 'login',
      objectType: 'session',
    };
    expect(normalizeEntry(minimal)).toEqual({
      seq: 1,
      time: '2025-01-01T00:00:00.000Z',
      actorId: null,
      orgId: null,
      action: 'login',
      objectType: 'session',
      objectId: null,
      requestId: null,
      details: {},
    });
    expect(toHex(entryLeafHash(minimal))).toBe(
      toHex(entryLeafHash({ ...minimal, time: '2025-01-01T00:00:00.000Z', requestId: null, details: {} })),
    );
  });

  it('rejects entries that could not be encoded unambiguously', () => {
    expect(() => encodeEntry({ ...entry, time: '2025-03-01T08:30:00Z' })).toThrow(/time/);
    expect(() => encodeEntry({ ...entry, time: '2025-03-01T16:30:00.123+08:00' })).toThrow(/time/);
    expect(() => encodeEntry({ ...entry, time: '2025-02-30T08:30:00.123Z' })).toThrow(/time/);
    expect(() => encodeEntry({ ...entry, seq: 1.5 })).toThrow(/seq/);
    expect(() => encodeEntry({ ...entry, seq: -1 })).toThrow(/seq/);
    expect(() => encodeEntry({ ...entry, action: '' })).toThrow(/action/);
    expect(() => encodeEntry({ ...entry, actorId: 5 as unknown as string })).toThrow(/actorId/);
  });
});
