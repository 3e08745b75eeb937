/**
 * A GB18030 encoder for the demo city's files, so that seeding exercises the importer's GB18030
 * path the way exports of older government systems do. Node decodes GB18030 (full ICU) but does
 * not encode it, and iconv-lite is only a development dependency; the table is built once by
 * decoding every two-byte sequence, which covers GBK (all common hanzi and full-width punctuation).
 * Characters outside it (four-byte sequences) are refused rather than written wrongly.
 */
let table: Map<string, number> | undefined;

function twoByteTable(): Map<string, number> {
  if (table) return table;
  const decoder = new TextDecoder('gb18030');
  const map = new Map<string, number>();
  for (let lead = 0x81; lead <= 0xfe; lead++) {
    for (let trail = 0x40; trail <= 0xfe; trail++) {
      if (trail === 0x7f) continue;
      const char = decoder.decode(Uint8Array.of(lead, trail));
      if (char.length === 1 && char !== '\ufffd' && !map.has(char)) map.set(char, (lead << 8) | trail);
    }
  }
  table = map;
  return map;
}

export function encodeGb18030(text: string): Buffer {
  const codes = twoByteTable();
  const out = Buffer.allocUnsafe(text.length * 2);
  let n = 0;
  for (const char of text) {
    const unit = char.charCodeAt(0);
    if (unit < 0x80) {
      out[n++] = unit;
      continue;
    }
    const code = codes.get(char);
    if (code === undefined) throw new Error(`no two-byte GB18030 code for ${JSON.stringify(char)}`);
    out[n++] = code >> 8;
    out[n++] = code & 0xff;
  }
  return out.subarray(0, n);
}
