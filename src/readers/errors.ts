/**
 * Errors of the file readers.
 *
 * A file-level problem (the file cannot be read further, or reading it would break a limit) throws a
 * `FileReadError` with a stable `code`. A row-level problem (this row is malformed, the next one may be
 * fine) never throws: the row is yielded with a `problem`, so the importer can report the first bad rows
 * with their line numbers and carry on.
 *
 * Codes are kept here rather than in `src/core/errors.ts` so that the readers stay a pure, self-contained
 * module; the app maps `FileReadError.code` to its own HTTP codes (415 for FILE_FORMAT_UNKNOWN, 422 for the rest).
 */

export const FILE_ERRORS = {
  FILE_FORMAT_UNKNOWN: {
    zh: '无法识别的文件格式（支持 CSV、TSV、XLSX、JSON、NDJSON、Parquet）',
    en: 'Unrecognised file format (supported: CSV, TSV, XLSX, JSON, NDJSON, Parquet)',
  },
  FILE_EMPTY: { zh: '文件中没有表头行', en: 'The file has no header row' },
  FILE_BINARY: {
    zh: '文件含有大量空字节，不是文本文件',
    en: 'The file contains many NUL bytes; it is not a text file',
  },
  FILE_ENCODING_UNKNOWN: { zh: '不支持的字符编码', en: 'Unsupported character encoding' },
  FILE_ENCODING_MIXED: {
    zh: '文件混用了多种字符编码（例如 UTF-8 与 GBK 混杂）',
    en: 'The file mixes character encodings (for example UTF-8 and GBK lines)',
  },
  FILE_ENCODING_INVALID: {
    zh: '文件含有在所用字符编码中无效的字节',
    en: 'The file contains bytes that are invalid in its character encoding',
  },
  FILE_FIELD_TOO_LARGE: { zh: '单个字段超过大小上限', en: 'A single field exceeds the size limit' },
  FILE_RECORD_TOO_LARGE: { zh: '单行记录超过大小上限', en: 'A single record exceeds the size limit' },
  FILE_TOO_MANY_COLUMNS: { zh: '列数超过上限', en: 'Too many columns' },
  FILE_UNBALANCED_QUOTE: { zh: '引号未闭合', en: 'A quote is not closed' },
  FILE_JSON_INVALID: { zh: 'JSON 语法错误', en: 'Invalid JSON syntax' },
  FILE_JSON_TOO_DEEP: { zh: 'JSON 嵌套层级过深', en: 'JSON is nested too deeply' },
  FILE_XLSX_BOMB: {
    zh: 'XLSX 解压后体积异常（疑似压缩炸弹）',
    en: 'The XLSX file decompresses to an abnormal size (suspected zip bomb)',
  },
  FILE_XLSX_CORRUPT: {
    zh: 'XLSX 文件已损坏或不是有效的工作簿',
    en: 'The XLSX file is corrupt or not a workbook',
  },
  FILE_XLSX_SHEET_NOT_FOUND: { zh: '工作表不存在', en: 'No such worksheet' },
  FILE_PARQUET_CORRUPT: { zh: 'Parquet 文件已损坏', en: 'The Parquet file is corrupt' },
  FILE_PARQUET_UNSUPPORTED: {
    zh: 'Parquet 文件使用了不支持的特性',
    en: 'The Parquet file uses an unsupported feature',
  },
  FILE_OVER_BUDGET: {
    zh: '读取该文件所需的内存超过导入内存上限',
    en: 'Reading this file would take more memory than an import may use',
  },
  FILE_FORMAT_MISMATCH: {
    zh: '文件名（或指定的格式）与文件内容不符',
    en: 'The file name (or the format given) does not match the content',
  },
  FILE_PART_TOO_LARGE: {
    zh: '文件的某一部分超过大小上限',
    en: 'A part of the file exceeds the size limit',
  },
} as const satisfies Record<string, { zh: string; en: string }>;

export type FileErrorCode = keyof typeof FILE_ERRORS;

/** Where in the file the problem is; `line` is 1-based (CSV/JSON physical line, XLSX row, Parquet row). */
export interface FileErrorDetails {
  line?: number;
  column?: number;
  [key: string]: unknown;
}

export class FileReadError extends Error {
  readonly code: FileErrorCode;
  readonly zh: string;
  readonly en: string;
  readonly details: FileErrorDetails;

  constructor(code: FileErrorCode, details: FileErrorDetails = {}, note?: { zh: string; en: string }) {
    const spec = FILE_ERRORS[code];
    const where = details.line === undefined ? null : details.line;
    const zh = `${spec.zh}${note ? `：${note.zh}` : ''}${where === null ? '' : `（第 ${where} 行）`}`;
    const en = `${spec.en}${note ? `: ${note.en}` : ''}${where === null ? '' : ` (line ${where})`}`;
    super(`${zh} / ${en}`);
    this.name = 'FileReadError';
    this.code = code;
    this.zh = zh;
    this.en = en;
    this.details = details;
  }
}

export const ROW_PROBLEMS = {
  ROW_FIELD_COUNT: { zh: '字段数与表头不一致', en: 'The number of fields does not match the header' },
  ROW_NUL_BYTE: { zh: '字段中含有空字节（\\0）', en: 'A field contains a NUL byte' },
  ROW_BAD_QUOTE: {
    zh: '引号格式错误（右引号后紧跟其他字符）',
    en: 'Malformed quoting (characters follow a closing quote)',
  },
  ROW_NOT_RECORD: {
    zh: '该元素不是对象或数组，无法作为一行数据',
    en: 'The element is not an object or an array, so it is not a row',
  },
  ROW_UNKNOWN_KEY: { zh: '含有表头中没有的键', en: 'The row has keys that are not in the header' },
  ROW_INVALID_JSON: { zh: '该行不是有效的 JSON', en: 'The line is not valid JSON' },
} as const satisfies Record<string, { zh: string; en: string }>;

export type RowProblemCode = keyof typeof ROW_PROBLEMS;

export interface RowProblem {
  code: RowProblemCode;
  zh: string;
  en: string;
  /** 0-based column index the problem is about, when there is one. */
  column?: number;
}

export function rowProblem(
  code: RowProblemCode,
  note?: { zh: string; en: string },
  column?: number,
): RowProblem {
  const spec = ROW_PROBLEMS[code];
  const problem: RowProblem = {
    code,
    zh: note ? `${spec.zh}：${note.zh}` : spec.zh,
    en: note ? `${spec.en}: ${note.en}` : spec.en,
  };
  if (column !== undefined) problem.column = column;
  return problem;
}
