/**
 * Character encodings of text exports: UTF-8 (with or without BOM), GB18030 (which covers GBK and GB2312,
 * the usual encoding of files exported by Chinese government systems and by Excel on Chinese Windows),
 * and UTF-16 (Excel's "Unicode text", recognised by its BOM or its NUL pattern).
 *
 * The rule is that nothing is ever decoded into mojibake: every line is checked against the chosen
 * encoding, and a line that belongs to another encoding stops the import with an error naming the line.
 */
import { FileReadError } from './errors.ts';

export type TextEncodingName = 'utf-8' | 'gb18030' | 'utf-16le' | 'utf-16be';

const ENCODING_ALIASES: Record<string, TextEncodingName> = {
  utf8: 'utf-8',
  gb18030: 'gb18030',
  gbk: 'gb18030',
  gb2312: 'gb18030',
  cp936: 'gb18030',
  windows936: 'gb18030',
  euccn: 'gb18030',
  utf16le: 'utf-16le',
  ucs2: 'utf-16le',
  utf16: 'utf-16le',
  utf16be: 'utf-16be',
};

/** Accepts the usual spellings ('UTF8', 'gbk', 'GB2312', 'cp936' …). GBK and GB2312 are read as GB18030, their superset. */
export function normalizeEncoding(name: string): TextEncodingName {
  const key = name.toLowerCase().replace(/[-_\s]/g, '');
  const found = ENCODING_ALIASES[key];
  if (!found) {
    throw new FileReadError(
      'FILE_ENCODING_UNKNOWN',
      { encoding: name },
      {
        zh: `“${name}”，可用 utf-8、gbk、gb18030、utf-16le、utf-16be`,
        en: `"${name}"; use utf-8, gbk, gb18030, utf-16le or utf-16be`,
      },
    );
  }
  return found;
}

export interface EncodingGuess {
  /** null when the sample is pure ASCII: the choice is made at the first non-ASCII line instead. */
  encoding: TextEncodingName | null;
  bomLength: number;
}

/** Recognises a byte-order mark; GB18030 has one too (84 31 95 33), rarely used. */
export function detectBom(bytes: Uint8Array): EncodingGuess | null {
  const [a, b, c, d] = [bytes[0], bytes[1], bytes[2], bytes[3]];
  // UTF-32's marks begin like UTF-16's (FF FE 00 00): checked first, or the file would be read as
  // UTF-16 and refused for a header it does not have.
  if (a === 0xff && b === 0xfe && c === 0 && d === 0) refuseUtf32('utf-32le');
  if (a === 0 && b === 0 && c === 0xfe && d === 0xff) refuseUtf32('utf-32be');
  if (a === 0xef && b === 0xbb && c === 0xbf) return { encoding: 'utf-8', bomLength: 3 };
  if (a === 0xff && b === 0xfe) return { encoding: 'utf-16le', bomLength: 2 };
  if (a === 0xfe && b === 0xff) return { encoding: 'utf-16be', bomLength: 2 };
  if (a === 0x84 && b === 0x31 && c === 0x95 && d === 0x33) return { encoding: 'gb18030', bomLength: 4 };
  return null;
}

/**
 * Guesses the encoding of the first bytes of a text file.
 * `atEnd` says the sample is the whole file; otherwise a multi-byte sequence cut by the end of the sample
 * is not held against UTF-8.
 */
export function detectEncoding(sample: Uint8Array, atEnd: boolean): EncodingGuess {
  const bom = detectBom(sample);
  if (bom) return bom;

  const utf32 = detectUtf32WithoutBom(sample);
  if (utf32) refuseUtf32(utf32);
  const utf16 = detectUtf16WithoutBom(sample);
  if (utf16) return { encoding: utf16, bomLength: 0 };

  let nuls = 0;
  let high = -1;
  for (let i = 0; i < sample.length; i++) {
    const byte = sample[i]!;
    if (byte === 0) nuls++;
    else if (byte >= 0x80 && high < 0) high = i;
  }
  // A few stray NULs are a row problem of a text file; many mean the file is not text at all.
  if (nuls > 16 && nuls * 100 > sample.length) {
    throw new FileReadError('FILE_BINARY', { nulBytes: nuls, sampledBytes: sample.length });
  }
  if (high < 0) return { encoding: null, bomLength: 0 };
  return { encoding: guessFromHighBytes(sample, atEnd), bomLength: 0 };
}

/**
 * Votes line by line, so that in a file mixing encodings the majority wins and the line check then names
 * the first line of the minority. A line votes UTF-8 when it is valid UTF-8 and reads as Chinese
 * (its multi-byte sequences are mostly 3-byte CJK), GB18030 when it is valid only as GB18030. Lines
 * valid both ways without looking like UTF-8 Chinese (GBK "女" is UTF-8 "Ů"; UTF-8 "é" is GBK "茅")
 * do not vote. Without votes, the encoding with fewer invalid sequences wins, UTF-8 on a tie.
 */
function guessFromHighBytes(bytes: Uint8Array, atEnd: boolean): TextEncodingName {
  const scanner = new ByteScanner();
  let utf8Votes = 0;
  let gbVotes = 0;
  let first: TextEncodingName | null = null;
  const vote = () => {
    if (scanner.lineHigh) {
      const utf8Valid = !scanner.lineU8Bad && scanner.u8Need === 0;
      const gbValid = !scanner.lineGbBad && scanner.gbState === 0;
      let choice: TextEncodingName | null = null;
      if (utf8Valid && (looksLikeUtf8Chinese(scanner) || !gbValid)) choice = 'utf-8';
      else if (gbValid && !utf8Valid) choice = 'gb18030';
      if (choice === 'utf-8') utf8Votes++;
      if (choice === 'gb18030') gbVotes++;
      first ??= choice;
    }
    scanner.resetLine();
  };
  scanner.onLineEnd = vote;
  scanner.scan(bytes, 0, bytes.length);
  // The last line may be cut by the end of the sample; it only counts when it is the end of the file.
  if (atEnd) vote();
  if (utf8Votes !== gbVotes) return utf8Votes > gbVotes ? 'utf-8' : 'gb18030';
  if (first) return first;
  const utf8Errors = scanner.u8Errors + (atEnd && scanner.u8Need > 0 ? 1 : 0);
  const gbErrors = scanner.gbErrors + (atEnd && scanner.gbState > 0 ? 1 : 0);
  return gbErrors < utf8Errors ? 'gb18030' : 'utf-8';
}

function looksLikeUtf8Chinese(scanner: ByteScanner): boolean {
  return scanner.lineCjk > 0 && scanner.lineCjk >= scanner.lineTwoByte;
}

/**
 * UTF-32 is refused by name: no Chinese government system or spreadsheet exports it, and TextDecoder
 * cannot read it; saying what it is tells the uploader what to do.
 */
function refuseUtf32(encoding: 'utf-32le' | 'utf-32be'): never {
  throw new FileReadError(
    'FILE_ENCODING_UNKNOWN',
    { encoding },
    {
      zh: `文件是 ${encoding.toUpperCase()} 编码，不受支持；请另存为 UTF-8 或 GB18030`,
      en: `the file is ${encoding.toUpperCase()}, which is not supported; save it as UTF-8 or GB18030`,
    },
  );
}

/** UTF-32 text of mostly ASCII or CJK characters has NULs in the same two or three bytes of every four. */
function detectUtf32WithoutBom(sample: Uint8Array): 'utf-32le' | 'utf-32be' | null {
  const units = Math.min(sample.length, 4096) >> 2;
  if (units < 8) return null;
  let le = 0;
  let be = 0;
  let leLines = 0;
  let beLines = 0;
  for (let i = 0; i < units; i++) {
    const at = 4 * i;
    // A code point is at most 0x10FFFF: its highest byte is always NUL, and for BMP text the next too.
    if (sample[at + 3] === 0 && sample[at + 2] === 0 && sample[at] !== 0) le++;
    if (sample[at] === 0 && sample[at + 1] === 0 && sample[at + 3] !== 0) be++;
    if (sample[at] === 0x0a && le > 0) leLines++;
    if (sample[at + 3] === 0x0a && be > 0) beLines++;
  }
  // Text has line breaks; an array of small binary integers has the same NULs but none.
  if (le > units * 0.9 && leLines > 0) return 'utf-32le';
  if (be > units * 0.9 && beLines > 0) return 'utf-32be';
  return null;
}

/** UTF-16 text of mostly ASCII characters has a NUL in every other byte. */
function detectUtf16WithoutBom(sample: Uint8Array): TextEncodingName | null {
  const pairs = Math.min(sample.length, 4096) >> 1;
  if (pairs < 8) return null;
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i < pairs; i++) {
    if (sample[2 * i] === 0) evenNul++;
    if (sample[2 * i + 1] === 0) oddNul++;
  }
  if (oddNul > pairs * 0.4 && evenNul < pairs * 0.05) return 'utf-16le';
  if (evenNul > pairs * 0.4 && oddNul < pairs * 0.05) return 'utf-16be';
  return null;
}

/** Code points that make up Chinese text: CJK punctuation, ideographs, compatibility ideographs, full-width forms. */
function isCjk(cp: number): boolean {
  return (cp >= 0x3000 && cp <= 0x9fff) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xff00 && cp <= 0xffef);
}

/**
 * Validates bytes as UTF-8 and as GB18030 at the same time, line by line (0x0A cannot occur inside a
 * multi-byte sequence of either encoding, so lines can be judged on their own).
 * GB18030 is checked for structure only; the few structurally valid but unmapped 4-byte sequences are
 * left to TextDecoder, which rejects them.
 */
class ByteScanner {
  u8Need = 0;
  u8Lo = 0x80;
  u8Hi = 0xbf;
  u8Cp = 0;
  u8Len = 0;
  gbState = 0;
  u8Errors = 0;
  gbErrors = 0;
  /** Per-line facts. */
  lineHigh = false;
  lineU8Bad = false;
  lineGbBad = false;
  lineCjk = 0;
  lineTwoByte = 0;
  /** Called at each LF with the facts of the line it ends; may throw. */
  onLineEnd: (() => void) | null = null;

  resetLine(): void {
    this.lineHigh = false;
    this.lineU8Bad = false;
    this.lineGbBad = false;
    this.lineCjk = 0;
    this.lineTwoByte = 0;
  }

  scan(bytes: Uint8Array, from: number, to: number): void {
    for (let i = from; i < to; i++) {
      const byte = bytes[i]!;
      if (byte < 0x80 && this.u8Need === 0 && this.gbState === 0) {
        if (byte === 0x0a && this.onLineEnd) this.onLineEnd();
        continue;
      }
      this.slowByte(byte);
      if (byte === 0x0a && this.onLineEnd) this.onLineEnd();
    }
  }

  private slowByte(byte: number): void {
    if (byte >= 0x80) this.lineHigh = true;
    if (this.u8Need > 0) {
      if (byte >= this.u8Lo && byte <= this.u8Hi) {
        this.u8Cp = (this.u8Cp << 6) | (byte & 0x3f);
        this.u8Lo = 0x80;
        this.u8Hi = 0xbf;
        if (--this.u8Need === 0) {
          if (this.u8Len === 3 && isCjk(this.u8Cp)) this.lineCjk++;
          else if (this.u8Len === 2) this.lineTwoByte++;
        }
      } else {
        this.u8Fail();
        this.u8Lead(byte);
      }
    } else {
      this.u8Lead(byte);
    }
    this.gbByte(byte);
  }

  private u8Fail(): void {
    this.u8Errors++;
    this.lineU8Bad = true;
    this.u8Need = 0;
    this.u8Lo = 0x80;
    this.u8Hi = 0xbf;
  }

  private u8Lead(byte: number): void {
    if (byte < 0x80) return;
    if (byte >= 0xc2 && byte <= 0xdf) {
      this.u8Need = 1;
      this.u8Len = 2;
      this.u8Cp = byte & 0x1f;
    } else if (byte >= 0xe0 && byte <= 0xef) {
      this.u8Need = 2;
      this.u8Len = 3;
      this.u8Cp = byte & 0x0f;
      if (byte === 0xe0) this.u8Lo = 0xa0;
      if (byte === 0xed) this.u8Hi = 0x9f;
    } else if (byte >= 0xf0 && byte <= 0xf4) {
      this.u8Need = 3;
      this.u8Len = 4;
      this.u8Cp = byte & 0x07;
      if (byte === 0xf0) this.u8Lo = 0x90;
      if (byte === 0xf4) this.u8Hi = 0x8f;
    } else {
      this.u8Fail();
    }
  }

  private gbByte(byte: number): void {
    switch (this.gbState) {
      case 0:
        if (byte >= 0x81 && byte <= 0xfe) this.gbState = 1;
        else if (byte === 0xff) this.gbFail();
        return;
      case 1:
        if (byte >= 0x30 && byte <= 0x39) this.gbState = 2;
        else if ((byte >= 0x40 && byte <= 0x7e) || (byte >= 0x80 && byte <= 0xfe)) this.gbState = 0;
        else this.gbRestart(byte);
        return;
      case 2:
        if (byte >= 0x81 && byte <= 0xfe) this.gbState = 3;
        else this.gbRestart(byte);
        return;
      default:
        if (byte >= 0x30 && byte <= 0x39) this.gbState = 0;
        else this.gbRestart(byte);
    }
  }

  private gbFail(): void {
    this.gbErrors++;
    this.lineGbBad = true;
    this.gbState = 0;
  }

  private gbRestart(byte: number): void {
    this.gbFail();
    this.gbByte(byte);
  }
}

/**
 * Streaming decoder that refuses to produce mojibake.
 *
 * - UTF-8: decoded by a fatal TextDecoder (fast path); on failure the offending line is located and
 *   classified: FILE_ENCODING_MIXED when the line is valid GB18030, FILE_ENCODING_INVALID otherwise.
 * - GB18030: every line is also checked as UTF-8, because UTF-8 Chinese is usually *valid* GB18030 and
 *   would silently decode to nonsense. A line that is valid UTF-8 and whose multi-byte sequences are
 *   mostly 3-byte CJK characters is UTF-8 text (GBK text essentially never has that shape: its
 *   characters are 2 bytes and would have to line up as 3-byte sequences all along the line) →
 *   FILE_ENCODING_MIXED.
 * - Not yet decided (only ASCII so far): the choice is made on the first chunk with a non-ASCII byte.
 *
 * Known limit: in a UTF-8 file, a GBK line that happens to be valid UTF-8 (only possible for lines with
 * one or two Chinese characters, e.g. GBK "女" = C5 AE = UTF-8 "Ů") cannot be told apart.
 */
export class CheckedTextDecoder {
  private mode: TextEncodingName | null;
  private bomToSkip: number;
  private decoder: InstanceType<typeof TextDecoder> | null = null;
  /** LF bytes seen before the current chunk, i.e. the current chunk starts on line linesBefore + 1. */
  private linesBefore = 0;
  /** UTF-8 bytes of an incomplete sequence at the end of the last chunk (held inside the TextDecoder). */
  private pending: Uint8Array = new Uint8Array(0);
  private gbScanner: ByteScanner | null = null;

  constructor(encoding: TextEncodingName | null, bomLength = 0) {
    this.mode = encoding;
    this.bomToSkip = bomLength;
    if (encoding) this.start(encoding);
  }

  /** The encoding in use; a pure-ASCII file so far reports utf-8, of which ASCII is a subset. */
  get encoding(): TextEncodingName {
    return this.mode ?? 'utf-8';
  }

  /** Line (1-based) on which the next byte falls. */
  get line(): number {
    return this.gbScanner ? this.gbLine : this.linesBefore + 1;
  }

  private gbLine = 1;

  private start(encoding: TextEncodingName): void {
    this.mode = encoding;
    this.decoder = new TextDecoder(encoding, { fatal: true, ignoreBOM: true });
    if (encoding === 'gb18030') {
      const scanner = new ByteScanner();
      scanner.onLineEnd = () => {
        this.judgeGbLine(scanner);
        scanner.resetLine();
        this.gbLine++;
      };
      this.gbScanner = scanner;
      this.gbLine = this.linesBefore + 1;
    }
  }

  decode(chunk: Uint8Array): string {
    let bytes = chunk;
    if (this.bomToSkip > 0) {
      const skip = Math.min(this.bomToSkip, bytes.length);
      bytes = bytes.subarray(skip);
      this.bomToSkip -= skip;
    }
    if (bytes.length === 0) return '';
    if (this.mode === null) {
      const ascii = decodeIfAscii(bytes);
      if (ascii !== null) {
        this.linesBefore += countLf(bytes);
        return ascii;
      }
      this.start(detectEncoding(bytes, false).encoding ?? 'utf-8');
    }
    switch (this.mode) {
      case 'utf-8':
        return this.decodeUtf8(bytes);
      case 'gb18030':
        return this.decodeGb(bytes);
      default:
        return this.decodeUtf16(bytes);
    }
  }

  /** Flushes the decoder; throws if the file ends inside a multi-byte sequence. */
  end(): string {
    if (!this.decoder) return '';
    if (this.gbScanner) {
      const scanner = this.gbScanner;
      if (scanner.gbState > 0) scanner.lineGbBad = true;
      this.judgeGbLine(scanner);
    }
    try {
      return this.decoder.decode();
    } catch {
      throw this.invalidAt(this.line, 'incomplete');
    }
  }

  private decodeUtf8(bytes: Uint8Array): string {
    let text: string;
    try {
      text = this.decoder!.decode(bytes, { stream: true });
    } catch {
      this.diagnoseUtf8(bytes);
      throw this.invalidAt(this.line, 'unknown');
    }
    this.pending = incompleteUtf8Tail(bytes, this.pending);
    this.linesBefore += countLf(bytes);
    return text;
  }

  /** Re-scans the failing chunk to name the line and say whether it is GBK or just broken. */
  private diagnoseUtf8(bytes: Uint8Array): void {
    const scanner = new ByteScanner();
    const joined = new Uint8Array(this.pending.length + bytes.length);
    joined.set(this.pending);
    joined.set(bytes, this.pending.length);
    let line = this.linesBefore + 1;
    const judge = () => {
      if (scanner.lineU8Bad) {
        throw scanner.lineGbBad
          ? this.invalidAt(line, 'utf-8')
          : new FileReadError(
              'FILE_ENCODING_MIXED',
              { line, encoding: 'utf-8', lineEncoding: 'gb18030' },
              {
                zh: '文件按 UTF-8 读取，但该行是 GBK/GB18030 编码',
                en: 'the file reads as UTF-8 but this line is GBK/GB18030',
              },
            );
      }
    };
    scanner.onLineEnd = () => {
      judge();
      scanner.resetLine();
      line++;
    };
    scanner.scan(joined, 0, joined.length);
    judge();
  }

  private decodeGb(bytes: Uint8Array): string {
    const scanner = this.gbScanner!;
    scanner.scan(bytes, 0, bytes.length);
    if (scanner.lineGbBad) this.judgeGbLine(scanner);
    try {
      return this.decoder!.decode(bytes, { stream: true });
    } catch {
      throw this.invalidAt(this.gbLine, 'gb18030');
    }
  }

  private judgeGbLine(scanner: ByteScanner): void {
    const line = this.gbLine;
    if (scanner.lineGbBad) {
      if (scanner.lineHigh && !scanner.lineU8Bad && scanner.u8Need === 0) throw this.mixedUtf8In(line);
      throw this.invalidAt(line, 'gb18030');
    }
    if (
      scanner.lineHigh &&
      !scanner.lineU8Bad &&
      scanner.lineCjk > 0 &&
      scanner.lineCjk >= scanner.lineTwoByte
    ) {
      throw this.mixedUtf8In(line);
    }
  }

  private mixedUtf8In(line: number): FileReadError {
    return new FileReadError(
      'FILE_ENCODING_MIXED',
      { line, encoding: 'gb18030', lineEncoding: 'utf-8' },
      {
        zh: '文件按 GBK/GB18030 读取，但该行是 UTF-8 编码',
        en: 'the file reads as GBK/GB18030 but this line is UTF-8',
      },
    );
  }

  private decodeUtf16(bytes: Uint8Array): string {
    try {
      return this.decoder!.decode(bytes, { stream: true });
    } catch {
      throw this.invalidAt(undefined, this.mode ?? 'utf-16');
    }
  }

  private invalidAt(line: number | undefined, encoding: string): FileReadError {
    const details: Record<string, unknown> = { encoding: this.mode ?? encoding };
    if (line !== undefined) details.line = line;
    return new FileReadError('FILE_ENCODING_INVALID', details, {
      zh: `不是有效的 ${this.mode ?? encoding}`,
      en: `not valid ${this.mode ?? encoding}`,
    });
  }
}

const asciiProbe = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeIfAscii(bytes: Uint8Array): string | null {
  try {
    const text = asciiProbe.decode(bytes);
    // Every non-ASCII UTF-8 sequence is shorter in UTF-16 code units than in bytes.
    return text.length === bytes.length ? text : null;
  } catch {
    return null;
  }
}

function countLf(bytes: Uint8Array): number {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let count = 0;
  for (let at = buffer.indexOf(0x0a); at !== -1; at = buffer.indexOf(0x0a, at + 1)) count++;
  return count;
}

/** The bytes of a UTF-8 sequence left unfinished at the end of a chunk (they belong to the next line position). */
function incompleteUtf8Tail(bytes: Uint8Array, previous: Uint8Array): Uint8Array {
  const end = bytes.length;
  for (let back = 1; back <= 3 && back <= end; back++) {
    const byte = bytes[end - back]!;
    if (byte < 0x80) return new Uint8Array(0);
    if (byte >= 0xc0) {
      const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
      return length > back ? bytes.slice(end - back) : new Uint8Array(0);
    }
  }
  // Only continuation bytes at the end: a short chunk continuing an earlier pending sequence.
  if (end < 3) {
    const joined = new Uint8Array(previous.length + end);
    joined.set(previous);
    joined.set(bytes, previous.length);
    return incompleteUtf8Tail(joined, new Uint8Array(0));
  }
  return new Uint8Array(0);
}
