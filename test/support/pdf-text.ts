import zlib from 'node:zlib';

/**
 * The text of a PDF as Shutong renders it (pdfmake/pdfkit: one embedded CID font subset, glyphs
 * shown with TJ/Tj, a ToUnicode CMap in bfrange form), one line per baseline. Enough for tests to
 * read what a report says; not a general PDF parser.
 */
export function pdfText(pdf: Buffer): string {
  const source = pdf.toString('latin1');
  const streams: string[] = [];
  const start = /stream\r?\n/g;
  for (let m = start.exec(source); m; m = start.exec(source)) {
    const from = m.index + m[0].length;
    const raw = Buffer.from(source.slice(from, source.indexOf('endstream', from)), 'latin1');
    try {
      streams.push(zlib.inflateSync(raw).toString('latin1'));
    } catch {
      streams.push(raw.toString('latin1'));
    }
  }
  const unicode = new Map<number, string>();
  for (const cmap of streams.filter((s) => s.includes('beginbfrange'))) {
    for (const [, lo, hi, targets] of cmap.matchAll(
      /<([0-9a-f]+)>\s*<([0-9a-f]+)>\s*(\[[^\]]*\]|<[0-9a-f]+>)/gi,
    )) {
      const first = Number.parseInt(lo!, 16);
      const last = Number.parseInt(hi!, 16);
      const list = [...targets!.matchAll(/<([0-9a-f]+)>/gi)].map((t) => Number.parseInt(t[1]!, 16));
      for (let code = first; code <= last; code++) {
        const point = targets!.startsWith('[') ? list[code - first] : list[0]! + (code - first);
        if (point !== undefined) unicode.set(code, String.fromCodePoint(point));
      }
    }
  }
  const decode = (hex: string) =>
    (hex.match(/.{4}/g) ?? []).map((g) => unicode.get(Number.parseInt(g, 16)) ?? '\uFFFD').join('');
  const lines: string[] = [];
  let y: string | null = null;
  for (const content of streams.filter((s) => s.includes(' Tf'))) {
    for (const [, , ty, shown] of content.matchAll(
      /([-\d.]+) ([-\d.]+) Tm[\s\S]*?(\[[^\]]*\]\s*TJ|<[0-9a-f]*>\s*Tj)/gi,
    )) {
      const text = [...shown!.matchAll(/<([0-9a-f]*)>/gi)].map((h) => decode(h[1]!)).join('');
      if (ty !== y) lines.push('');
      y = ty!;
      lines[lines.length - 1] += text;
    }
  }
  return lines.join('\n');
}
