/**
 * A small streaming XML tokenizer, enough for the SpreadsheetML parts of an XLSX file.
 *
 * It never builds a tree: elements are reported as they open and close, text as raw (still
 * entity-encoded) pieces that the handler accumulates only where it cares. Namespace prefixes are
 * dropped (`x:row` → `row`; some producers write prefixed SpreadsheetML). DTDs are refused outright, so
 * entity-expansion attacks ("billion laughs") and external entities cannot happen; only the five
 * predefined entities and numeric character references are decoded.
 */
import { FileReadError } from './errors.ts';

export interface XmlHandler {
  /** `tag` is the raw text between `<` and `>`, for `attribute()`. */
  open(name: string, tag: string): void;
  close(name: string): void;
  text(raw: string): void;
}

const MAX_MARKUP = 1024 * 1024;

export class XmlScanner {
  private pending = '';

  constructor(
    private readonly handler: XmlHandler,
    private readonly part: string,
  ) {}

  feed(chunk: string): void {
    const text = this.pending.length > 0 ? this.pending + chunk : chunk;
    this.pending = '';
    const length = text.length;
    let position = 0;
    while (position < length) {
      const lt = text.indexOf('<', position);
      if (lt === -1) {
        this.handler.text(text.slice(position));
        return;
      }
      if (lt > position) this.handler.text(text.slice(position, lt));
      const next = this.markup(text, lt);
      if (next === -1) {
        this.pending = text.slice(lt);
        if (this.pending.length > MAX_MARKUP) throw this.corrupt('an XML tag is too long');
        return;
      }
      position = next;
    }
  }

  end(): void {
    if (this.pending.trim() !== '') throw this.corrupt('the XML ends inside a tag');
  }

  /** Handles the markup starting at `lt`; returns the index after it, or -1 if it is not complete yet. */
  private markup(text: string, lt: number): number {
    const second = text.charCodeAt(lt + 1);
    if (Number.isNaN(second)) return -1;
    if (second === 0x21 /* ! */) {
      if (text.startsWith('<!--', lt)) {
        const end = text.indexOf('-->', lt + 4);
        return end === -1 ? -1 : end + 3;
      }
      if (text.startsWith('<![CDATA[', lt)) {
        const end = text.indexOf(']]>', lt + 9);
        if (end === -1) return -1;
        this.handler.text(escapeText(text.slice(lt + 9, end)));
        return end + 3;
      }
      if (text.length - lt < 9) return -1;
      throw this.corrupt('DTDs are not allowed');
    }
    if (second === 0x3f /* ? */) {
      const end = text.indexOf('?>', lt + 2);
      return end === -1 ? -1 : end + 2;
    }
    const gt = tagEnd(text, lt + 1);
    if (gt === -1) return -1;
    if (second === 0x2f /* / */) {
      this.handler.close(localName(text.slice(lt + 2, gt).trim()));
      return gt + 1;
    }
    const selfClosing = text.charCodeAt(gt - 1) === 0x2f;
    const tag = text.slice(lt + 1, selfClosing ? gt - 1 : gt);
    const name = localName(tagName(tag));
    this.handler.open(name, tag);
    if (selfClosing) this.handler.close(name);
    return gt + 1;
  }

  private corrupt(en: string): FileReadError {
    return new FileReadError(
      'FILE_XLSX_CORRUPT',
      { part: this.part },
      { zh: `“${this.part}”的 XML 无效`, en: `"${this.part}": ${en}` },
    );
  }
}

/** Index of the `>` closing a tag, skipping `>` inside quoted attribute values; -1 if not in `text`. */
function tagEnd(text: string, from: number): number {
  let quote = 0;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (quote !== 0) {
      if (c === quote) quote = 0;
    } else if (c === 0x22 || c === 0x27) {
      quote = c;
    } else if (c === 0x3e) {
      return i;
    }
  }
  return -1;
}

function tagName(tag: string): string {
  let end = 0;
  while (end < tag.length) {
    const c = tag.charCodeAt(end);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x2f) break;
    end++;
  }
  return tag.slice(0, end);
}

function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon === -1 ? name : name.slice(colon + 1);
}

/** The decoded value of attribute `name` (matched on its local name) in a raw tag, or null. */
export function attribute(tag: string, name: string): string | null {
  let from = 0;
  for (;;) {
    const at = tag.indexOf(name, from);
    if (at === -1) return null;
    from = at + name.length;
    const before = tag.charCodeAt(at - 1);
    const boundary =
      before === 0x20 || before === 0x3a || before === 0x09 || before === 0x0a || before === 0x0d;
    if (!boundary) continue;
    let i = from;
    while (tag.charCodeAt(i) === 0x20) i++;
    if (tag.charCodeAt(i) !== 0x3d /* = */) continue;
    i++;
    while (tag.charCodeAt(i) === 0x20) i++;
    const quote = tag[i];
    if (quote !== '"' && quote !== "'") continue;
    const end = tag.indexOf(quote, i + 1);
    if (end === -1) return null;
    return decodeEntities(tag.slice(i + 1, end));
  }
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function decodeEntities(raw: string): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, body: string) => {
    if (body[0] === '#') {
      const code =
        body[1] === 'x' || body[1] === 'X'
          ? Number.parseInt(body.slice(2), 16)
          : Number.parseInt(body.slice(1), 10);
      return code >= 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED[body] ?? whole;
  });
}

function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}
