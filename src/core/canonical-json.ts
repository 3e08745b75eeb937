/**
 * Canonical JSON (RFC 8785 style) for everything Shutong hashes or signs — audit entries, signed
 * documents, the console's proof check: object keys sorted by UTF-16 code units, no whitespace,
 * absent array items as null, absent object members left out, and values JSON cannot hold
 * faithfully (NaN, ±Infinity, cycles, functions) refused rather than silently changed. Pure, so
 * the browser bundle uses the same function as the server.
 */

// Characters JSON.stringify would escape (quote, backslash, controls, any surrogate, to keep lone
// ones well-formed). Strings without them, nearly all in practice, are quoted by hand: ~3× faster.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its purpose
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** Exactly JSON.stringify(s), faster for the common case. */
export function quoteJson(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

export function canonicalJson(value: unknown): string {
  return write(value, []);
}

// Builds one string rather than an array of parts: V8 concatenates into ropes cheaply, and this
// runs once per entry when a million entries are verified.
function write(value: unknown, ancestors: object[]): string {
  switch (typeof value) {
    case 'string':
      return quoteJson(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      // NaN and ±Infinity would silently become null; an audit record should not lose data quietly.
      if (!Number.isFinite(value)) throw new TypeError(`cannot encode non-finite number ${value}`);
      return JSON.stringify(value);
    case 'object': {
      if (value === null) return 'null';
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
        return write((value as { toJSON: () => unknown }).toJSON(), ancestors);
      }
      if (ancestors.includes(value)) throw new TypeError('cannot encode a cyclic structure');
      ancestors.push(value);
      let out: string;
      if (Array.isArray(value)) {
        out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          const item: unknown = value[i];
          // JSON turns absent array items into null; do the same so storage round-trips hash equal.
          out +=
            item === undefined || typeof item === 'function' || typeof item === 'symbol'
              ? 'null'
              : write(item, ancestors);
        }
        out += ']';
      } else {
        const obj = value as Record<string, unknown>;
        const keys = Object.keys(obj).sort(); // default sort compares UTF-16 code units, as JCS requires
        out = '{';
        let first = true;
        for (const k of keys) {
          const v = obj[k];
          if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
          out += `${first ? '' : ','}${quoteJson(k)}:${write(v, ancestors)}`;
          first = false;
        }
        out += '}';
      }
      ancestors.pop();
      return out;
    }
    default:
      throw new TypeError(`cannot encode a value of type ${typeof value} as canonical JSON`);
  }
}
