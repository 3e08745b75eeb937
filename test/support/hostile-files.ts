/**
 * Generators of hostile files of the shapes issue #16 found (structural blow-ups that are small on
 * disk): workbooks listing many sheets, relationships, styles or shared strings; Parquet row groups
 * whose pages add up past what the group declares, or many one-row groups; JSON whose header sample
 * is made of escape sequences; broken NDJSON lines; hostile header names and values. Written for
 * these tests, not copied from any corpus. Not used by production code.
 */
import { parquetMetadata } from 'hyparquet';
import { ByteWriter, parquetWriteBuffer } from 'hyparquet-writer';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { buildZip, workbookParts } from './readers.ts';

const MAIN = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
const RELS = 'http://schemas.openxmlformats.org/package/2006/relationships';
const REL_TYPE = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';

export interface WorkbookBlowUp {
  /** <sheet> entries listed by the workbook (the first one is real). */
  sheets?: number;
  /** Relationships listed by the workbook's .rels part. */
  relationships?: number;
  /** <xf> cell formats in styles.xml. */
  cellFormats?: number;
  /** Shared strings, each of `stringChars` characters. */
  sharedStrings?: number;
  stringChars?: number;
  /** Shared strings of varied letters, so that the part compresses like text, not like a bomb. */
  varied?: boolean;
}

/** A small, valid workbook (header a,b and one row) blown up in the given dimensions. */
export function blownUpWorkbook(blowUp: WorkbookBlowUp): Buffer {
  const sheetData =
    '<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c><c r="B1" t="inlineStr"><is><t>b</t></is></c></row><row r="2"><c r="A2"><v>1</v></c><c r="B2"><v>2</v></c></row>';
  const parts = workbookParts(sheetData).filter(
    (part) => part.name !== 'xl/workbook.xml' && part.name !== 'xl/_rels/workbook.xml.rels',
  );
  const sheets = Math.max(1, blowUp.sheets ?? 1);
  const sheetList: string[] = [];
  for (let i = 1; i <= sheets; i++) sheetList.push(`<sheet name="S${i}" sheetId="${i}" r:id="rId${i}"/>`);
  parts.push({
    name: 'xl/workbook.xml',
    content: `<?xml version="1.0"?><workbook xmlns="${MAIN}" xmlns:r="${REL_TYPE}"><sheets>${sheetList.join('')}</sheets></workbook>`,
  });
  const relationships = Math.max(1, blowUp.relationships ?? 1);
  const relList: string[] = [
    `<Relationship Id="rId1" Type="${REL_TYPE}/worksheet" Target="worksheets/sheet1.xml"/>`,
  ];
  for (let i = 2; i <= relationships; i++) {
    relList.push(
      `<Relationship Id="rId${i}" Type="${REL_TYPE}/worksheet" Target="worksheets/sheet${i}.xml"/>`,
    );
  }
  if (blowUp.sharedStrings !== undefined) {
    relList.push(`<Relationship Id="rSst" Type="${REL_TYPE}/sharedStrings" Target="sharedStrings.xml"/>`);
    const chars = blowUp.stringChars ?? 1;
    let items: string;
    if (blowUp.varied) {
      let seed = 7;
      const letter = () => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return String.fromCharCode(97 + (seed % 26));
      };
      const list: string[] = [];
      for (let i = 0; i < blowUp.sharedStrings; i++) {
        let text = '';
        for (let c = 0; c < chars; c++) text += letter();
        list.push(`<si><t>${text}</t></si>`);
      }
      items = list.join('');
    } else items = `<si><t>${'x'.repeat(chars)}</t></si>`.repeat(blowUp.sharedStrings);
    parts.push({
      name: 'xl/sharedStrings.xml',
      content: `<?xml version="1.0"?><sst xmlns="${MAIN}">${items}</sst>`,
    });
  }
  if (blowUp.cellFormats !== undefined) {
    relList.push(`<Relationship Id="rSty" Type="${REL_TYPE}/styles" Target="styles.xml"/>`);
    parts.push({
      name: 'xl/styles.xml',
      content: `<?xml version="1.0"?><styleSheet xmlns="${MAIN}"><cellXfs>${'<xf numFmtId="14"/>'.repeat(blowUp.cellFormats)}</cellXfs></styleSheet>`,
    });
  }
  parts.push({
    name: 'xl/_rels/workbook.xml.rels',
    content: `<?xml version="1.0"?><Relationships xmlns="${RELS}">${relList.join('')}</Relationships>`,
  });
  return buildZip(parts);
}

/** Rewrites the footer of a Parquet file with `change` applied to its metadata. */
export function withParquetFooter(
  bytes: Uint8Array,
  change: (metadata: ReturnType<typeof parquetMetadata>) => void,
): Buffer {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const footerLength = view.getUint32(bytes.length - 8, true);
  const metadata = parquetMetadata(bytes.slice().buffer);
  change(metadata);
  const writer = new ByteWriter();
  writeMetadata(writer, metadata as unknown as Parameters<typeof writeMetadata>[1]);
  const footer = writer.getBytes();
  const tail = new Uint8Array(8);
  new DataView(tail.buffer).setUint32(0, footer.length, true);
  tail.set([0x50, 0x41, 0x52, 0x31], 4);
  return Buffer.concat([bytes.subarray(0, bytes.length - 8 - footerLength), footer, tail]);
}

/**
 * One row group of `pages` pages of about `pageBytes` each (a string column), whose column chunk
 * declares an uncompressed size of 100 bytes: each page is within a per-page limit, their sum is not.
 */
export function lyingParquetGroup(pages: number, pageBytes: number): Buffer {
  const valueChars = 1000;
  const rows = Math.max(1, Math.ceil((pages * pageBytes) / valueChars));
  const data = Array.from({ length: rows }, (_, i) => `${i}`.padStart(valueChars, 'x'));
  const bytes = new Uint8Array(
    parquetWriteBuffer({ columnData: [{ name: 's', data, type: 'STRING' }], pageSize: pageBytes }),
  );
  return withParquetFooter(bytes, (metadata) => {
    for (const group of metadata.row_groups) {
      for (const chunk of group.columns) chunk.meta_data!.total_uncompressed_size = 100n;
    }
  });
}

/** `groups` row groups of one row each (id, name). */
export function manyRowGroupsParquet(groups: number): Buffer {
  return Buffer.from(
    parquetWriteBuffer({
      columnData: [
        { name: 'id', data: Array.from({ length: groups }, (_, i) => i), type: 'INT32' },
        { name: 'name', data: Array.from({ length: groups }, (_, i) => `n${i}`), type: 'STRING' },
      ],
      rowGroupSize: 1,
    }),
  );
}

/** A JSON array whose first `strings` rows are top-level strings of `escapes` escape sequences each. */
export function escapedStringsJson(strings: number, escapes: number): string {
  const text = `"${'\\n'.repeat(escapes)}"`;
  return `[${Array.from({ length: strings }, () => text).join(',')},{"a":1}]`;
}

/** NDJSON of `rows` object rows where every `every`-th line is broken in a rotating way. */
export function brokenNdjson(rows: number, every: number): { text: string; bad: number } {
  const broken = ['{"a":"unterminated}', '{"a":{"x":"open', '{"a":1', '{"a":"x\\q"}', '["a"]x'];
  const lines: string[] = [];
  let bad = 0;
  for (let i = 0; i < rows; i++) {
    if (i % every === every - 1) {
      lines.push(broken[bad % broken.length]!);
      bad++;
    } else lines.push(JSON.stringify({ a: String(i) }));
  }
  return { text: `${lines.join('\n')}\n`, bad };
}

/** Header names PostgreSQL refuses as columns or ident() cannot quote, each with one row of values. */
export function hostileHeaderCsv(): { csv: string; header: string[] } {
  const long63 = `c${'x'.repeat(62)}`;
  const header = [
    '_row',
    'ctid',
    'xmin',
    'tableoid',
    'select',
    'order',
    long63,
    long63,
    'n'.repeat(3000),
    'a\u0000b',
    '',
    '名称',
  ];
  const quoted = header.map((name) => `"${name}"`);
  const values = header.map((_, i) => String(i));
  return { csv: `${quoted.join(',')}\n${values.join(',')}\n`, header };
}

/** A CSV with `columns` columns c1…cN and one row. */
export function wideCsv(columns: number): string {
  const names = Array.from({ length: columns }, (_, i) => `c${i + 1}`);
  return `${names.join(',')}\n${names.map((_, i) => i).join(',')}\n`;
}
