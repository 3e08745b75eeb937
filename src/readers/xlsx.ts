/**
 * Streaming XLSX reader: one worksheet, row by row, on our own zip and XML readers (see zip.ts for why
 * not ExcelJS's WorkbookReader). Memory holds the shared-string table (bounded by maxSharedStringsChars),
 * the cell styles, and one inflated chunk of the sheet.
 *
 * Cell values:
 * - strings (shared, inline, formula string results) exactly as stored — a cell reading `=1+1` typed as
 *   text stays that text;
 * - numbers as numbers; numbers with a date/time number format as 'YYYY-MM-DD', 'YYYY-MM-DD HH:MM:SS'
 *   or 'HH:MM:SS' text (Excel dates carry no time zone);
 * - booleans as booleans; error cells (#N/A, #DIV/0! …) as null;
 * - formulas are never evaluated: the cached result Excel saved is used; a formula without a cached
 *   result (written by some libraries) yields its formula text with a leading '=', as data.
 * The `line` of a row is its spreadsheet row number, so users can find it in Excel.
 */
import type { FileHandle } from 'node:fs/promises';
import { FileReadError, type RowProblem, rowProblem } from './errors.ts';
import { type CellValue, MemoryBudget, type RawRecord, type ReadLimits, stringBytes } from './types.ts';
import { attribute, decodeEntities, type XmlHandler, XmlScanner } from './xml.ts';
import { InflateBudget, readZipDirectory, readZipEntry, type ZipEntry } from './zip.ts';

export interface XlsxSheetSource {
  sheets: string[];
  sheet: string;
  records: AsyncGenerator<RawRecord[]>;
}

interface Relationship {
  target: string;
  type: string;
}

export async function openXlsxSheet(
  handle: FileHandle,
  fileSize: number,
  requested: string | number | undefined,
  limits: ReadLimits,
  onCompressed: (bytes: number) => void,
  memory: MemoryBudget = new MemoryBudget(limits.memoryBytes),
): Promise<XlsxSheetSource> {
  const entries = await readZipDirectory(handle, fileSize, memory);
  const list = new ListBudget(memory, limits.maxListedEntries);
  const budget = new InflateBudget(limits.maxXlsxUncompressedBytes, limits.maxXlsxCompressionRatio);
  const readPart = async (path: string, handler: XmlHandler): Promise<void> => {
    const entry = entries.get(path);
    if (!entry) throw corrupt(`missing part "${path}"`, `缺少“${path}”`);
    await scanPart(handle, fileSize, entry, budget, handler, onCompressed, () => false);
  };

  const rootRels = new RelsHandler(list, '_rels/.rels');
  if (entries.has('_rels/.rels')) await readPart('_rels/.rels', rootRels);
  const workbookPath =
    [...rootRels.byId.values()]
      .find((rel) => rel.type.endsWith('/officeDocument'))
      ?.target.replace(/^\//, '') ?? 'xl/workbook.xml';
  if (!entries.has(workbookPath)) {
    throw corrupt(
      'no workbook part (is this a Word or PowerPoint file?)',
      '没有工作簿（可能是 Word 或 PowerPoint 文件）',
    );
  }
  const workbookDir = workbookPath.includes('/')
    ? workbookPath.slice(0, workbookPath.lastIndexOf('/') + 1)
    : '';

  const workbook = new WorkbookHandler(list, workbookPath);
  await readPart(workbookPath, workbook);
  const relsPath = `${workbookDir}_rels/${workbookPath.slice(workbookDir.length)}.rels`;
  const rels = new RelsHandler(list, relsPath);
  if (entries.has(relsPath)) await readPart(relsPath, rels);
  const resolve = (target: string) =>
    target.startsWith('/') ? target.slice(1) : normalizePath(workbookDir + target);

  const visible = workbook.sheets.filter((sheet) => sheet.state === 'visible');
  const names = workbook.sheets.map((sheet) => sheet.name);
  let chosen: (typeof workbook.sheets)[number] | undefined;
  if (requested === undefined) chosen = visible[0] ?? workbook.sheets[0];
  else if (typeof requested === 'number') chosen = workbook.sheets[requested - 1];
  else {
    chosen =
      workbook.sheets.find((sheet) => sheet.name === requested) ??
      workbook.sheets.find((sheet) => sheet.name.trim().toLowerCase() === requested.trim().toLowerCase());
  }
  if (!chosen) {
    if (requested === undefined) throw corrupt('the workbook has no sheets', '工作簿中没有工作表');
    throw new FileReadError(
      'FILE_XLSX_SHEET_NOT_FOUND',
      { sheet: requested, available: names.slice(0, 20), sheetCount: names.length },
      {
        zh: `“${requested}”，现有：${names.slice(0, 20).join('、')}${names.length > 20 ? ` 等 ${names.length} 个` : ''}`,
        en: `"${requested}"; the workbook has: ${names.slice(0, 20).join(', ')}${names.length > 20 ? ` and ${names.length - 20} more` : ''}`,
      },
    );
  }
  const sheetRel = rels.byId.get(chosen.relId);
  const sheetPath = sheetRel ? resolve(sheetRel.target) : null;
  const sheetEntry = sheetPath ? entries.get(sheetPath) : undefined;
  if (!sheetEntry)
    throw corrupt(`the part of sheet "${chosen.name}" is missing`, `工作表“${chosen.name}”的内容缺失`);

  const partOf = (suffix: string, fallback: string): ZipEntry | undefined => {
    const rel = [...rels.byId.values()].find((r) => r.type.endsWith(suffix));
    return entries.get(rel ? resolve(rel.target) : fallback);
  };
  const sharedStringsEntry = partOf('/sharedStrings', `${workbookDir}sharedStrings.xml`);
  const stylesEntry = partOf('/styles', `${workbookDir}styles.xml`);
  budget.checkDeclared([
    sheetEntry,
    ...(sharedStringsEntry ? [sharedStringsEntry] : []),
    ...(stylesEntry ? [stylesEntry] : []),
  ]);

  const styles = new StylesHandler(list, stylesEntry?.name ?? 'styles');
  if (stylesEntry) await scanPart(handle, fileSize, stylesEntry, budget, styles, onCompressed, () => false);
  const shared = new SharedStringsHandler(limits, list, sharedStringsEntry?.name ?? 'sharedStrings');
  if (sharedStringsEntry)
    await scanPart(handle, fileSize, sharedStringsEntry, budget, shared, onCompressed, () => false);

  const sheet = new SheetHandler(shared.strings, styles.dateKinds(), workbook.date1904, limits, chosen.name);
  return {
    sheets: names,
    sheet: chosen.name,
    records: sheetRecords(handle, fileSize, sheetEntry, budget, sheet, onCompressed),
  };
}

async function* sheetRecords(
  handle: FileHandle,
  fileSize: number,
  entry: ZipEntry,
  budget: InflateBudget,
  sheet: SheetHandler,
  onCompressed: (bytes: number) => void,
): AsyncGenerator<RawRecord[]> {
  const scanner = new XmlScanner(sheet, entry.name);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for await (const chunk of readZipEntry(handle, fileSize, entry, budget, onCompressed)) {
    scanner.feed(decodeXml(decoder, chunk, entry.name));
    if (sheet.out.length > 0) {
      const ready = sheet.out;
      sheet.out = [];
      yield ready;
    }
    // Nothing after </sheetData> matters (merge ranges, print settings …).
    if (sheet.done) return;
  }
  scanner.end();
  if (sheet.out.length > 0) yield sheet.out;
}

async function scanPart(
  handle: FileHandle,
  fileSize: number,
  entry: ZipEntry,
  budget: InflateBudget,
  handler: XmlHandler,
  onCompressed: (bytes: number) => void,
  done: () => boolean,
): Promise<void> {
  const scanner = new XmlScanner(handler, entry.name);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for await (const chunk of readZipEntry(handle, fileSize, entry, budget, onCompressed)) {
    scanner.feed(decodeXml(decoder, chunk, entry.name));
    if (done()) return;
  }
  scanner.end();
}

function decodeXml(decoder: InstanceType<typeof TextDecoder>, chunk: Buffer, part: string): string {
  try {
    return decoder.decode(chunk, { stream: true });
  } catch {
    throw corrupt(`"${part}" is not valid UTF-8 XML`, `“${part}”不是有效的 UTF-8 XML`);
  }
}

function corrupt(en: string, zh: string): FileReadError {
  return new FileReadError('FILE_XLSX_CORRUPT', {}, { zh, en });
}

function normalizePath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '..') parts.pop();
    else if (part !== '.' && part !== '') parts.push(part);
  }
  return parts.join('/');
}

/** OOXML escapes characters XML cannot hold as _xHHHH_ (e.g. _x000D_ for CR); _x005F_ escapes the underscore. */
function unescapeOoxml(text: string): string {
  if (!text.includes('_x')) return text;
  return text.replace(/_x([0-9A-Fa-f]{4})_/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
}

function cellText(raw: string): string {
  return unescapeOoxml(decodeEntities(raw));
}

/**
 * Entries a part lists (relationships, sheets, styles, shared strings): each is counted against
 * maxListedEntries and its memory reserved from the import's budget before it is kept, so a part
 * listing a million of them stops at the limit, not after the heap has grown.
 */
class ListBudget {
  private readonly counts = new Map<string, number>();
  constructor(
    readonly memory: MemoryBudget,
    private readonly max: number,
  ) {}

  add(part: string, bytes: number): void {
    const n = (this.counts.get(part) ?? 0) + 1;
    this.counts.set(part, n);
    this.memory.count(part, n, this.max);
    this.memory.reserve(part, bytes);
  }
}

/** Heap bytes of a kept entry: an object with these strings. */
function entryBytes(...texts: string[]): number {
  let bytes = 64;
  for (const text of texts) bytes += stringBytes(text.length);
  return bytes;
}

class RelsHandler implements XmlHandler {
  readonly byId = new Map<string, Relationship>();
  constructor(
    private readonly list: ListBudget,
    private readonly part: string,
  ) {}
  open(name: string, tag: string): void {
    if (name !== 'Relationship') return;
    const id = attribute(tag, 'Id');
    const target = attribute(tag, 'Target');
    if (id && target && attribute(tag, 'TargetMode') !== 'External') {
      const type = attribute(tag, 'Type') ?? '';
      this.list.add(this.part, entryBytes(id, target, type) + 48);
      this.byId.set(id, { target, type });
    }
  }
  close(): void {}
  text(): void {}
}

class WorkbookHandler implements XmlHandler {
  readonly sheets: { name: string; relId: string; state: string }[] = [];
  date1904 = false;
  constructor(
    private readonly list: ListBudget,
    private readonly part: string,
  ) {}
  open(name: string, tag: string): void {
    if (name === 'sheet') {
      const sheet = {
        name: attribute(tag, 'name') ?? '',
        relId: attribute(tag, 'id') ?? '',
        state: attribute(tag, 'state') ?? 'visible',
      };
      this.list.add(`${this.part} (sheets)`, entryBytes(sheet.name, sheet.relId, sheet.state));
      this.sheets.push(sheet);
    } else if (name === 'workbookPr') {
      const value = attribute(tag, 'date1904');
      this.date1904 = value === '1' || value === 'true';
    }
  }
  close(): void {}
  text(): void {}
}

type DateKind = 'date' | 'datetime' | 'time';

const BUILTIN_DATE_FORMATS = new Map<number, DateKind>([
  ...[14, 15, 16, 17, 27, 28, 29, 30, 31, 34, 35, 36, 50, 51, 52, 53, 54, 57, 58].map(
    (id) => [id, 'date'] as [number, DateKind],
  ),
  ...[18, 19, 20, 21, 32, 33, 45, 46, 47, 55, 56].map((id) => [id, 'time'] as [number, DateKind]),
  [22, 'datetime'],
]);

/** Whether a custom number format shows a date, a time, both, or neither. */
export function classifyNumberFormat(code: string): DateKind | null {
  const firstSection = code.split(';')[0] ?? '';
  const elapsed = /\[(h+|m+|s+)\]/i.test(firstSection);
  const stripped = firstSection
    .replace(/"[^"]*"/g, '')
    .replace(/\\./g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/[_*]./g, '')
    .toLowerCase();
  if (stripped.includes('general')) return null;
  const hasTime = elapsed || /[hs]/.test(stripped);
  const hasDate = /[yd]/.test(stripped) || (/m/.test(stripped) && !hasTime);
  if (hasDate && hasTime) return 'datetime';
  if (hasDate) return 'date';
  if (hasTime) return 'time';
  return null;
}

class StylesHandler implements XmlHandler {
  private readonly custom = new Map<number, string>();
  private readonly xfFormats: number[] = [];
  private inCellXfs = false;
  constructor(
    private readonly list: ListBudget,
    private readonly part: string,
  ) {}
  open(name: string, tag: string): void {
    if (name === 'numFmt') {
      const id = Number(attribute(tag, 'numFmtId'));
      const code = attribute(tag, 'formatCode');
      if (Number.isInteger(id) && code !== null) {
        this.list.add(`${this.part} (number formats)`, entryBytes(code) + 32);
        this.custom.set(id, code);
      }
    } else if (name === 'cellXfs') {
      this.inCellXfs = true;
    } else if (name === 'xf' && this.inCellXfs) {
      // Twice: the format ids, and the date kinds derived from them.
      this.list.add(`${this.part} (cell formats)`, 32);
      this.xfFormats.push(Number(attribute(tag, 'numFmtId') ?? 0));
    }
  }
  close(name: string): void {
    if (name === 'cellXfs') this.inCellXfs = false;
  }
  text(): void {}

  dateKinds(): (DateKind | null)[] {
    return this.xfFormats.map((id) => {
      const code = this.custom.get(id);
      return code !== undefined ? classifyNumberFormat(code) : (BUILTIN_DATE_FORMATS.get(id) ?? null);
    });
  }
}

/** Each string also costs this much of the budget, so a million empty strings are bounded too. */
const SHARED_STRING_OVERHEAD = 16;

class SharedStringsHandler implements XmlHandler {
  readonly strings: string[] = [];
  private inItem = false;
  private capturing = false;
  private phonetic = 0;
  private raw = '';
  private used = 0;
  constructor(
    private readonly limits: ReadLimits,
    private readonly list: ListBudget,
    private readonly part: string,
  ) {}
  open(name: string): void {
    if (name === 'si') {
      this.inItem = true;
      this.raw = '';
    } else if (name === 'rPh') {
      this.phonetic++;
    } else if (name === 't' && this.inItem && this.phonetic === 0) {
      this.capturing = true;
    }
  }
  close(name: string): void {
    if (name === 't') this.capturing = false;
    else if (name === 'rPh') this.phonetic--;
    else if (name === 'si') {
      this.inItem = false;
      const text = cellText(this.raw);
      this.raw = '';
      // Not counted (a sheet may well have millions of distinct strings): their memory is reserved.
      this.list.memory.reserve(this.part, stringBytes(text.length) + 8);
      this.strings.push(text);
      this.used += text.length + SHARED_STRING_OVERHEAD;
      if (this.used > this.limits.maxSharedStringsChars) {
        throw new FileReadError(
          'FILE_PART_TOO_LARGE',
          { part: 'sharedStrings', limit: this.limits.maxSharedStringsChars },
          { zh: 'XLSX 共享字符串表过大', en: 'the XLSX shared-string table is too large' },
        );
      }
    }
  }
  text(raw: string): void {
    if (!this.capturing) return;
    this.raw += raw;
    if (this.raw.length > this.limits.maxFieldChars) {
      throw new FileReadError('FILE_FIELD_TOO_LARGE', {
        part: 'sharedStrings',
        limit: this.limits.maxFieldChars,
      });
    }
  }
}

/** 0-based column index of a cell reference like "AB12"; -1 if there is no column part. */
function columnIndex(ref: string): number {
  let index = 0;
  let i = 0;
  for (; i < ref.length; i++) {
    const c = ref.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) index = index * 26 + (c - 0x40);
    else if (c >= 0x61 && c <= 0x7a) index = index * 26 + (c - 0x60);
    else break;
    if (index > 1_000_000) return index;
  }
  return i === 0 ? -1 : index - 1;
}

const MS_PER_DAY = 86_400_000;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Converts an Excel serial date; returns null when it is out of the representable range. */
export function excelSerialToText(serial: number, kind: DateKind, date1904: boolean): string | null {
  if (kind === 'time') {
    if (serial < 0) return null;
    const totalSeconds = Math.round(serial * 86400);
    return `${pad(Math.floor(totalSeconds / 3600))}:${pad(Math.floor(totalSeconds / 60) % 60)}:${pad(totalSeconds % 60)}`;
  }
  if (serial < 0 || serial > 2_958_465 || (!date1904 && serial >= 60 && serial < 61)) return null;
  // Serial 60 is Excel's phantom 1900-02-29; below it the 1900 system is one day off the Unix arithmetic.
  const unixDays = date1904 ? serial - 24107 : serial < 60 ? serial - 25568 : serial - 25569;
  const ms = Math.round(unixDays * MS_PER_DAY);
  const d = new Date(ms);
  const date = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  if (kind === 'date') return date;
  const millis = d.getUTCMilliseconds();
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return `${date} ${time}${millis ? `.${pad(millis, 3)}` : ''}`;
}

class SheetHandler implements XmlHandler {
  out: RawRecord[] = [];
  done = false;
  private readonly maxValues: number;
  private inSheetData = false;
  private inRow = false;
  private rowNumber = 0;
  private values: CellValue[] = [];
  private widest = 0;
  private column = -1;
  private type = 'n';
  private style = 0;
  private capture: 'v' | 'f' | 't' | null = null;
  private v = '';
  private f = '';
  private inline = '';
  private hasV = false;
  private inInline = false;
  private phonetic = 0;
  private problem: RowProblem | undefined;

  constructor(
    private readonly shared: string[],
    private readonly dateKinds: (DateKind | null)[],
    private readonly date1904: boolean,
    private readonly limits: ReadLimits,
    private readonly sheetName: string,
  ) {
    this.maxValues = limits.maxColumns + 1;
  }

  open(name: string, tag: string): void {
    switch (name) {
      case 'sheetData':
        this.inSheetData = true;
        return;
      case 'row': {
        if (!this.inSheetData) return;
        const r = Number(attribute(tag, 'r'));
        this.rowNumber = Number.isInteger(r) && r > 0 ? r : this.rowNumber + 1;
        this.inRow = true;
        this.problem = undefined;
        this.values = [];
        this.widest = 0;
        this.column = -1;
        return;
      }
      case 'c': {
        if (!this.inRow) return;
        const ref = attribute(tag, 'r');
        const fromRef = ref ? columnIndex(ref) : -1;
        this.column = fromRef >= 0 ? fromRef : this.column + 1;
        this.type = attribute(tag, 't') ?? 'n';
        const s = attribute(tag, 's');
        this.style = s ? Number(s) : 0;
        this.v = '';
        this.f = '';
        this.inline = '';
        this.hasV = false;
        this.inInline = false;
        this.phonetic = 0;
        return;
      }
      case 'v':
        if (this.inRow) {
          this.capture = 'v';
          this.hasV = true;
        }
        return;
      case 'f':
        if (this.inRow) this.capture = 'f';
        return;
      case 'is':
        this.inInline = true;
        return;
      case 'rPh':
        this.phonetic++;
        return;
      case 't':
        if (this.inInline && this.phonetic === 0) this.capture = 't';
        return;
    }
  }

  close(name: string): void {
    switch (name) {
      case 'v':
      case 'f':
      case 't':
        this.capture = null;
        return;
      case 'rPh':
        this.phonetic--;
        return;
      case 'is':
        this.inInline = false;
        return;
      case 'c':
        if (this.inRow) this.finishCell();
        return;
      case 'row':
        if (this.inRow) this.finishRow();
        return;
      case 'sheetData':
        this.inSheetData = false;
        this.done = true;
        return;
    }
  }

  text(raw: string): void {
    switch (this.capture) {
      case null:
        return;
      case 'v':
        this.v += raw;
        this.checkLength(this.v);
        return;
      case 'f':
        this.f += raw;
        this.checkLength(this.f);
        return;
      default:
        this.inline += raw;
        this.checkLength(this.inline);
    }
  }

  private checkLength(text: string): void {
    if (text.length > this.limits.maxFieldChars) {
      throw new FileReadError(
        'FILE_FIELD_TOO_LARGE',
        {
          line: this.rowNumber,
          column: this.column + 1,
          sheet: this.sheetName,
          limit: this.limits.maxFieldChars,
        },
        {
          zh: `超过 ${this.limits.maxFieldChars} 个字符`,
          en: `longer than ${this.limits.maxFieldChars} characters`,
        },
      );
    }
  }

  private finishCell(): void {
    const value = this.cellValue();
    if (value === null || this.column < 0) return;
    if (this.column >= this.maxValues) {
      this.widest = Math.max(this.widest, this.column + 1);
      return;
    }
    while (this.values.length < this.column) this.values.push(null);
    this.values[this.column] = value;
    // XML cannot carry NUL, but the _x0000_ escape can.
    if (typeof value === 'string' && value.includes('\0')) {
      this.problem ??= rowProblem('ROW_NUL_BYTE', undefined, this.column);
    }
    this.widest = Math.max(this.widest, this.column + 1);
  }

  private cellValue(): CellValue {
    if (this.type === 'inlineStr') return cellText(this.inline);
    if (!this.hasV) return this.f ? `=${cellText(this.f)}` : null;
    switch (this.type) {
      case 's': {
        const index = Number(this.v);
        const text = this.shared[index];
        if (text === undefined) {
          throw new FileReadError(
            'FILE_XLSX_CORRUPT',
            { line: this.rowNumber, column: this.column + 1, sheet: this.sheetName },
            { zh: `共享字符串 ${this.v} 不存在`, en: `shared string ${this.v} does not exist` },
          );
        }
        return text;
      }
      case 'str':
      case 'd':
        return cellText(this.v);
      case 'b':
        return this.v.trim() === '1' || this.v.trim() === 'true';
      case 'e':
        return null;
      default: {
        if (this.v.trim() === '') return null;
        const number = Number(this.v);
        if (!Number.isFinite(number)) return cellText(this.v);
        const kind = this.dateKinds[this.style];
        if (kind) return excelSerialToText(number, kind, this.date1904) ?? number;
        return number;
      }
    }
  }

  private finishRow(): void {
    this.inRow = false;
    const problem = this.problem;
    this.problem = undefined;
    if (this.widest === 0) return;
    const record: RawRecord = { line: this.rowNumber, values: this.values };
    if (this.widest > this.values.length) record.fieldCount = this.widest;
    if (problem) record.problem = problem;
    this.out.push(record);
  }
}
