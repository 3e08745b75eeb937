import { mulberry32 } from '../core/random.ts';
import {
  type ColumnFacts,
  type ColumnShape,
  currentDay,
  type DetectorId,
  type DetectorSpec,
  DISTINCT_CAP,
  detectorById,
  headerContradicts,
  headerHintFor,
  headerWords,
  suggestGrade,
  VALUE_DETECTORS,
} from './detectors.ts';
import { countEntities, redactSpans } from './entities.ts';
import { CELL_FORMAT_BITS, type FormatId, normaliseCell } from './formats.ts';
import { type Grade, gradeRank } from './grades.ts';
import { applyMask } from './masking.ts';

export interface ColumnEvidence {
  /** Up to five distinct validated values, masked with the detector's default rule. */
  samples: string[];
  /** The header word that supported the detector (or, with no detector, any that matched). */
  headerHint: string | null;
  /** Validated values per accepted format other than the plain one (`{ legacy_15: 12 }`). */
  formats?: Partial<Record<FormatId, number>>;
  /** The column's shape (see {@link SHAPE_RULES}). */
  shape?: ColumnShape;
  /** Shape rules that decided against a detector or lowered confidence: `rule:detector`. */
  rules?: string[];
  /** Where the winning detector's category comes from (a vocabulary's source). */
  basis?: string;
  /**
   * Set for a free-text column: entities found inside its values, per type, and the mask that
   * replaces each span. `type` is then the most sensitive entity type.
   */
  freeText?: {
    entities: Partial<Record<DetectorId, number>>;
    valuesWithEntities: number;
    mask: 'redact_spans';
  };
}

export interface ColumnResult {
  name: string;
  type: DetectorId | null;
  grade: Grade;
  /** 0..1: how sure the scanner is of `type` (of "no type" when it is null). */
  confidence: number;
  /** 0..1: share of non-empty values the winning detector validated; 0 without a winner. */
  ratio: number;
  nonEmpty: number;
  evidence: ColumnEvidence;
}

export interface ScanOptions {
  /**
   * Rows validated one by one. Beyond this the scanner answers from a uniform reservoir sample
   * of `sampleRows` rows, kept from the first row on; `Infinity` always scans in full.
   */
  fullScanRows?: number;
  sampleRows?: number;
  /** Seed of the reservoir's generator, so a re-scan of the same file gives the same answer. */
  seed?: number;
  /** The resource's grade from its metadata, the floor of every field's suggested grade. */
  resourceGrade?: Grade;
  detectors?: readonly DetectorSpec[];
}

export interface ColumnScanner {
  /** One row, values in header order (missing trailing values count as empty). */
  add(values: readonly unknown[]): void;
  readonly rows: number;
  /** Whether results come from the reservoir sample rather than a full scan. */
  readonly sampled: boolean;
  result(): ColumnResult[];
}

export const DEFAULT_FULL_SCAN_ROWS = 200_000;
export const DEFAULT_SAMPLE_ROWS = 20_000;
const MAX_SAMPLES = 5;
const MAX_MEASURES = 512;

// Register exports write "no value" in many ways; none of them is evidence for or against a type.
const PLACEHOLDERS = new Set([
  '-',
  '--',
  '---',
  '—',
  '/',
  '\\',
  '\\n',
  'null',
  'none',
  'nil',
  'nan',
  'n/a',
  'na',
  '#n/a',
  'undefined',
  '无',
  '空',
  '暂无',
  '不详',
  '未知',
  '未填写',
  '待补充',
  '（空）',
  '(空)',
]);

// Their first characters (lower case): most short values are told apart from every placeholder by
// their first character alone, without lowering their case.
const PLACEHOLDER_STARTS = new Set([...PLACEHOLDERS].map((p) => p.charCodeAt(0)));

/** Whether trimmed, non-empty text is a placeholder (in any case). */
function isPlaceholder(text: string): boolean {
  if (text.length > 5) return false;
  const c = text.charCodeAt(0);
  // Only ASCII capitals lower to the ASCII letters the placeholders start with.
  if (!PLACEHOLDER_STARTS.has(c >= 0x41 && c <= 0x5a ? c + 0x20 : c)) return false;
  return PLACEHOLDERS.has(text) || PLACEHOLDERS.has(text.toLowerCase());
}

/** The value as text, or null when it is empty or a placeholder. */
export function cellText(value: unknown): string | null {
  let text: string;
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') text = value.trim();
  else if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null;
    text = String(value);
  } else if (typeof value === 'bigint' || typeof value === 'boolean') text = String(value);
  else if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return null;
    const iso = value.toISOString();
    text = iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso;
  } else return '\u0000object';
  if (text === '' || isPlaceholder(text)) return null;
  return text;
}

const DEFAULT_SEED = 0x5eed;

/** The reservoir's seed: derived from the scan's, so the two generators never run in step. */
function reservoirSeed(options: ScanOptions): number {
  return ((options.seed ?? DEFAULT_SEED) ^ 0x9e3779b9) >>> 0;
}

/** Lower bound of the Wilson score interval (95 %): a ratio discounted for small samples. */
export function wilsonLower(successes: number, n: number, z = 1.96): number {
  if (n <= 0) return 0;
  const p = successes / n;
  const z2 = z * z;
  const centre = p + z2 / (2 * n);
  const margin = z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return Math.max(0, (centre - margin) / (1 + z2 / n));
}

const DIGITS = /^[0-9]+$/;

/**
 * Free text: a column is free text when at least {@link FREE_TEXT_SHARE} of its values are
 * sentences (at least {@link FREE_TEXT_MIN_LENGTH} characters with a clause separator or space);
 * it is classed by the entities inside (entities.ts) when at least two values contain one. Its
 * type is then the most sensitive entity type found (highest default grade, then table order),
 * its mask `redact_spans`, and this takes precedence over a detector that matched whole values
 * (a sentence that contains an address is not an address column).
 */
export const FREE_TEXT_MIN_LENGTH = 12;
export const FREE_TEXT_SHARE = 0.5;
const SENTENCE = /[，。；！？,;:：、 ]/;
// A number written in groups (`6222 0212 3456 7890`, `(0571) 8765 4321`) is one value, not a sentence.
const GROUPED_NUMBER = /^[0-9Xx+()（）.\- ]+$/;
const MAX_TEXT_SAMPLE = 120;

function sum(counts: ReadonlyMap<unknown, number>): number {
  let s = 0;
  for (const v of counts.values()) s += v;
  return s;
}

/**
 * Shape rules: evidence from the column as a whole that values alone cannot give. Each applies to
 * detectors whose values are drawn from a population of people (`population` in detectors.ts:
 * resident IDs, mobiles, landlines, bank cards, passports, permits).
 *
 * - `sequence`: at least {@link SEQUENCE_MIN_VALUES} digit values, {@link SEQUENCE_MONOTONIC} of
 *   consecutive pairs strictly increasing, and a mean step of at most {@link SEQUENCE_MAX_GAP}:
 *   a generated counter (order numbers, serials), whatever the header says. People's numbers are
 *   never that dense: a sorted column of 300 mobiles spans a step of millions.
 * - `serial_header`: the header names a serial or sequence number (流水号, 编号, 序号, 单号,
 *   批次, serial, seq …) and the values increase ({@link SEQUENCE_MONOTONIC}) by a mean step of
 *   at most {@link SERIAL_MAX_GAP}: not called. (ID numbers sorted by birth date step by
 *   billions; counters with gaps by thousands.)
 * - `serial_header_confidence`: such a header over values that are not such a sequence (a
 *   register whose 编号 column really holds ID numbers): called, at 0.6× confidence.
 */
export const SHAPE_RULES = ['sequence', 'serial_header', 'serial_header_confidence'] as const;
export const SEQUENCE_MIN_VALUES = 10;
export const SEQUENCE_MONOTONIC = 0.9;
export const SEQUENCE_MAX_GAP = 1000;
export const SERIAL_MAX_GAP = 1_000_000;
const SERIAL_HEADER_ZH = ['流水号', '编号', '序号', '单号', '批次', '批号', '票号', '凭证号', '顺序号'];
const SERIAL_HEADER_EN = ['serial', 'seq', 'sequence', 'batch', 'no', 'num', 'sn', 'lsh', 'xh', 'bh'];

/** Whether the header names a serial or sequence number (see {@link SHAPE_RULES}). */
export function isSerialHeader(header: string): boolean {
  const lower = header.toLowerCase();
  if (SERIAL_HEADER_ZH.some((w) => lower.includes(w))) return true;
  const words = headerWords(header);
  return SERIAL_HEADER_EN.some((w) => words.includes(w));
}

class ColumnState {
  nonEmpty = 0;
  readonly strong: Uint32Array;
  readonly weak: Uint32Array;
  readonly samples: string[][];
  readonly weakSamples: string[][];
  readonly measures: number[][];
  readonly measureSeen: Uint32Array;
  readonly distinct = new Set<string>();
  /** Per detector, validated values per format (index into FORMAT_KEYS). */
  readonly formats: Map<FormatId, number>[];
  // Shape: digit values in arrival order.
  digitValues = 0;
  increasing = 0;
  private previous: string | undefined;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;
  minLength = Number.POSITIVE_INFINITY;
  maxLength = 0;
  // Free text: sentence-like values, those with entities, entities per type, samples.
  sentences = 0;
  withEntities = 0;
  readonly entities = new Map<DetectorId, number>();
  readonly textSamples: string[] = [];

  constructor(
    private readonly detectors: readonly DetectorSpec[],
    private readonly random: () => number,
  ) {
    this.strong = new Uint32Array(detectors.length);
    this.weak = new Uint32Array(detectors.length);
    this.measureSeen = new Uint32Array(detectors.length);
    this.samples = detectors.map(() => []);
    this.weakSamples = detectors.map(() => []);
    this.measures = detectors.map(() => []);
    this.formats = detectors.map(() => new Map());
  }

  observe(raw: string): void {
    this.nonEmpty++;
    if (this.distinct.size < DISTINCT_CAP) this.distinct.add(raw);
    const { text, bits } = normaliseCell(raw);
    if (text.length === 0) return;
    this.observeShape(text);
    if (text.length >= FREE_TEXT_MIN_LENGTH && SENTENCE.test(text) && !GROUPED_NUMBER.test(text))
      this.observeSentence(text);
    const detectors = this.detectors;
    for (let i = 0; i < detectors.length; i++) {
      const d = detectors[i]!;
      if (d.validate(text)) {
        this.strong[i]!++;
        const format = d.formatOf?.(text);
        if (format !== undefined || bits !== 0) this.countFormats(i, format, bits);
        const samples = this.samples[i]!;
        if (samples.length < MAX_SAMPLES && !samples.includes(text)) samples.push(text);
        if (d.measure) this.addMeasure(i, d.measure(text));
      } else if (d.weak?.(text)) {
        this.weak[i]!++;
        const samples = this.weakSamples[i]!;
        if (samples.length < MAX_SAMPLES && !samples.includes(text)) samples.push(text);
      }
    }
  }

  private countFormats(i: number, format: FormatId | undefined, bits: number): void {
    const counts = this.formats[i]!;
    const add = (f: FormatId) => counts.set(f, (counts.get(f) ?? 0) + 1);
    if (format !== undefined) add(format);
    if (bits & CELL_FORMAT_BITS.excel_text) add('excel_text');
    if (bits & CELL_FORMAT_BITS.excel_formula) add('excel_formula');
    if (bits & CELL_FORMAT_BITS.full_width) add('full_width');
  }

  private observeSentence(text: string): void {
    this.sentences++;
    const before = this.entities.size === 0 ? 0 : sum(this.entities);
    countEntities(text, this.entities);
    if (sum(this.entities) > before) {
      this.withEntities++;
      if (this.textSamples.length < MAX_SAMPLES) this.textSamples.push(text);
    }
  }

  private observeShape(text: string): void {
    const n = text.length;
    if (n < this.minLength) this.minLength = n;
    if (n > this.maxLength) this.maxLength = n;
    if (n < 6 || n > 19 || !DIGITS.test(text)) return;
    this.digitValues++;
    const prev = this.previous;
    // Same-length digit strings compare as numbers; a longer one is larger.
    if (prev !== undefined && (n > prev.length || (n === prev.length && text > prev))) this.increasing++;
    this.previous = text;
    const x = Number(text);
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
  }

  shape(): ColumnShape {
    const pairs = this.digitValues - 1;
    return {
      digitValues: this.digitValues,
      monotonic: pairs > 0 ? round3(this.increasing / pairs) : 0,
      meanGap: pairs > 0 ? (this.max - this.min) / pairs : 0,
      unique: this.nonEmpty > 0 ? round3(this.distinct.size / Math.min(this.nonEmpty, DISTINCT_CAP)) : 0,
      minLength: this.nonEmpty > 0 && Number.isFinite(this.minLength) ? this.minLength : 0,
      maxLength: this.maxLength,
    };
  }

  private addMeasure(i: number, value: number | undefined): void {
    if (value === undefined) return;
    const seen = ++this.measureSeen[i]!;
    const measures = this.measures[i]!;
    if (measures.length < MAX_MEASURES) measures.push(value);
    else {
      const j = Math.floor(this.random() * seen);
      if (j < MAX_MEASURES) measures[j] = value;
    }
  }
}

function decide(
  name: string,
  state: ColumnState,
  nonEmptyTotal: number,
  detectors: readonly DetectorSpec[],
  options: ScanOptions,
): ColumnResult {
  const n = state.nonEmpty;
  const today = currentDay();
  let best: { index: number; validated: number; hint: string | null; score: number } | undefined;
  let bestAnyRatio = 0;
  let anyHint: string | null = null;
  const shape = state.shape();
  const serialHeader = isSerialHeader(name);
  const sequence =
    shape.digitValues >= SEQUENCE_MIN_VALUES &&
    shape.monotonic >= SEQUENCE_MONOTONIC &&
    shape.meanGap <= SEQUENCE_MAX_GAP;
  const rules: string[] = [];
  if (n > 0 && state.sentences >= n * FREE_TEXT_SHARE && state.withEntities >= 2) {
    return freeTextResult(name, state, nonEmptyTotal, detectors, options, shape);
  }
  for (let i = 0; i < detectors.length; i++) {
    const d = detectors[i]!;
    const hint = headerHintFor(name, d);
    anyHint ??= hint;
    const validated = state.strong[i]! + (hint ? state.weak[i]! : 0);
    if (n === 0) continue;
    const ratio = validated / n;
    bestAnyRatio = Math.max(bestAnyRatio, ratio);
    if (ratio < (hint ? d.minRatioWithHint : d.minRatio) || validated === 0) continue;
    if (!hint && headerContradicts(name, d)) continue;
    if (d.population && sequence) {
      rules.push(`sequence:${d.id}`);
      continue;
    }
    if (
      d.population &&
      serialHeader &&
      shape.digitValues >= SEQUENCE_MIN_VALUES &&
      shape.monotonic >= SEQUENCE_MONOTONIC &&
      shape.meanGap <= SERIAL_MAX_GAP
    ) {
      rules.push(`serial_header:${d.id}`);
      continue;
    }
    const facts: ColumnFacts = {
      nonEmpty: n,
      validated,
      distinct: state.distinct.size,
      measures: state.measures[i]!,
      today,
      shape,
    };
    if (d.columnCheck && !d.columnCheck(facts, hint !== null)) continue;
    // A header hint breaks near ties (联系电话 holding both mobiles and landlines).
    const score = ratio + (hint ? 0.02 : 0);
    if (!best || score > best.score) best = { index: i, validated, hint, score };
  }
  if (!best) {
    return {
      name,
      type: null,
      grade: suggestGrade(null, options.resourceGrade),
      confidence: round3(n === 0 ? 0 : wilsonLower(n - Math.round(bestAnyRatio * n), n)),
      ratio: 0,
      nonEmpty: nonEmptyTotal,
      evidence: { samples: [], headerHint: anyHint, shape, ...(rules.length > 0 ? { rules } : {}) },
    };
  }
  const d = detectors[best.index]!;
  const lower = wilsonLower(best.validated, n);
  let confidence = best.hint ? lower + (1 - lower) * 0.3 : lower;
  if (d.population && serialHeader) {
    confidence *= 0.6;
    rules.push(`serial_header_confidence:${d.id}`);
  }
  const formats = Object.fromEntries(state.formats[best.index]!) as Partial<Record<FormatId, number>>;
  return {
    name,
    type: d.id,
    grade: suggestGrade(d.id, options.resourceGrade),
    confidence: round3(confidence),
    ratio: round3(best.validated / n),
    nonEmpty: nonEmptyTotal,
    evidence: {
      samples: [...state.samples[best.index]!, ...(best.hint ? state.weakSamples[best.index]! : [])]
        .slice(0, MAX_SAMPLES)
        .map((v) => applyMask(d.defaultMask, normaliseCell(v).text) ?? ''),
      headerHint: best.hint,
      ...(Object.keys(formats).length > 0 ? { formats } : {}),
      shape,
      ...(rules.length > 0 ? { rules } : {}),
      ...(d.basis ? { basis: d.basis } : {}),
    },
  };
}

function freeTextResult(
  name: string,
  state: ColumnState,
  nonEmptyTotal: number,
  detectors: readonly DetectorSpec[],
  options: ScanOptions,
  shape: ColumnShape,
): ColumnResult {
  const order = new Map(detectors.map((d, i) => [d.id, i]));
  let type: DetectorId | null = null;
  for (const t of state.entities.keys()) {
    if (type === null) type = t;
    else {
      const a = gradeRank(detectorById(t).defaultGrade);
      const b = gradeRank(detectorById(type).defaultGrade);
      if (a > b || (a === b && (order.get(t) ?? 99) < (order.get(type) ?? 99))) type = t;
    }
  }
  const n = state.nonEmpty;
  const hint = type ? headerHintFor(name, detectorById(type)) : null;
  return {
    name,
    type,
    grade: suggestGrade(type, options.resourceGrade),
    confidence: round3(wilsonLower(state.withEntities, state.sentences)),
    ratio: round3(state.withEntities / n),
    nonEmpty: nonEmptyTotal,
    evidence: {
      // Masked first, then shortened: a cut must not leave half a number unmasked.
      samples: state.textSamples.map((t) => Array.from(redactSpans(t)).slice(0, MAX_TEXT_SAMPLE).join('')),
      headerHint: hint,
      shape,
      freeText: {
        entities: Object.fromEntries(state.entities) as Partial<Record<DetectorId, number>>,
        valuesWithEntities: state.withEntities,
        mask: 'redact_spans',
      },
    },
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/**
 * What {@link RowSampler.add} decided for a row: SKIP, the row is not needed (past the full-scan
 * size and not drawn into the reservoir); OBSERVE, it is judged but not kept; a slot (≥ 0), it is
 * judged while within the full-scan size and kept in the reservoir at that slot.
 */
export const SKIP = -2;
export const OBSERVE = -1;

/** Whether the value has text: exactly `cellText(value) !== null`, without building the text. */
export function hasText(value: unknown): boolean {
  if (typeof value === 'string') {
    const n = value.length;
    if (n === 0) return false;
    // Nothing to trim: the text is the value itself.
    if (notTrimmed(value.charCodeAt(0)) && notTrimmed(value.charCodeAt(n - 1))) return !isPlaceholder(value);
  }
  return cellText(value) !== null;
}

// True only for characters String.prototype.trim keeps: printable ASCII, Latin-1 letters and
// signs, and everything from the CJK punctuation block on (U+3000, the ideographic space, and
// U+FEFF excepted). Other characters take the slow path.
function notTrimmed(c: number): boolean {
  if (c < 0x7f) return c > 0x20;
  if (c < 0x100) return c > 0xa0;
  return c > 0x3000 && c !== 0xfeff;
}

/**
 * The cheap half of a scan, which sees every row: counts rows and non-empty values per column
 * and draws the reservoir (its own generator, so the draw does not depend on what the detectors
 * did). Imports run it on the importing thread and hand the judge ({@link createColumnJudge})
 * only the rows it needs: every row up to `fullScanRows`, beyond that only rows drawn into the
 * reservoir — about `sampleRows · ln(rows / fullScanRows)` of them.
 */
export interface RowSampler {
  /** Counts the row and returns SKIP, OBSERVE or its reservoir slot. */
  add(values: readonly unknown[]): number;
  readonly rows: number;
  readonly sampled: boolean;
  /** Non-empty values per column, every row counted. */
  readonly nonEmpty: readonly number[];
}

/**
 * Given `expectedRows` (an estimate, asked once at the first row), a table expected to be more
 * than twice `fullScanRows` long is judged on the reservoir from its first row: judging its first
 * `fullScanRows` rows one by one would be wasted, since past that size the reservoir decides.
 * `judgeOptions` then tells the judge so. A wrong estimate costs speed, never truth: `sampled`
 * reports what was actually done.
 */
export function createRowSampler(
  width: number,
  options: ScanOptions = {},
  expectedRows?: () => number | undefined,
): RowSampler & { readonly judgeOptions: ScanOptions } {
  const fullScanRows = options.fullScanRows ?? DEFAULT_FULL_SCAN_ROWS;
  const sampleRows = Math.max(1, options.sampleRows ?? DEFAULT_SAMPLE_ROWS);
  const keepReservoir = Number.isFinite(fullScanRows);
  const random = mulberry32(reservoirSeed(options));
  const nonEmpty = new Array<number>(width).fill(0);
  let rows = 0;
  // Decided at the first row; until then nothing was judged either way.
  let sampleOnly = false;
  return {
    get rows() {
      return rows;
    },
    get sampled() {
      return rows > (sampleOnly ? sampleRows : fullScanRows);
    },
    get judgeOptions() {
      return sampleOnly ? { ...options, fullScanRows: 0 } : options;
    },
    nonEmpty,
    add(values) {
      rows++;
      if (rows === 1 && keepReservoir && expectedRows) {
        sampleOnly = (expectedRows() ?? 0) > 2 * Math.max(fullScanRows, sampleRows);
      }
      for (let c = 0; c < width; c++) if (hasText(values[c])) nonEmpty[c]!++;
      // Algorithm R: the first sampleRows rows fill the reservoir, row k replaces a random slot
      // with probability sampleRows / k.
      let slot = OBSERVE;
      if (keepReservoir) {
        if (rows <= sampleRows) slot = rows - 1;
        else {
          const j = Math.floor(random() * rows);
          if (j < sampleRows) slot = j;
        }
      }
      return slot === OBSERVE && (sampleOnly || rows > fullScanRows) ? SKIP : slot;
    },
  };
}

/** The reservoir's seeded generator, for samples drawn elsewhere (a bulk import's records). */
export function sampleRandom(options: ScanOptions = {}): () => number {
  return mulberry32(reservoirSeed(options));
}

/**
 * The rows of a stored table of `rows` rows (numbered 1..rows) that a scan judges when it reads the
 * table instead of a stream: all of them up to `fullScanRows`, beyond that a uniform sample of
 * `sampleRows` drawn without replacement (Floyd's algorithm) by the reservoir's seeded generator,
 * in ascending order. `null` means every row.
 */
export function sampleOrdinals(rows: number, options: ScanOptions = {}): number[] | null {
  const fullScanRows = options.fullScanRows ?? DEFAULT_FULL_SCAN_ROWS;
  const sampleRows = Math.max(1, options.sampleRows ?? DEFAULT_SAMPLE_ROWS);
  if (rows <= Math.max(fullScanRows, sampleRows)) return null;
  const random = mulberry32(reservoirSeed(options));
  const chosen = new Set<number>();
  for (let j = rows - sampleRows + 1; j <= rows; j++) {
    const t = 1 + Math.floor(random() * j);
    chosen.add(chosen.has(t) ? j : t);
  }
  return [...chosen].sort((a, b) => a - b);
}

/**
 * The expensive half of a scan: runs every detector over the rows the sampler passes on (in the
 * order it saw them) and keeps the reservoir; past `fullScanRows` it answers from the reservoir.
 */
export interface ColumnJudge {
  /** A row the sampler did not skip, with what it returned for it. */
  add(values: readonly unknown[], slot: number): void;
  result(nonEmpty: readonly number[], sampled: boolean): ColumnResult[];
}

export function createColumnJudge(header: readonly string[], options: ScanOptions = {}): ColumnJudge {
  const detectors = options.detectors ?? VALUE_DETECTORS;
  const fullScanRows = options.fullScanRows ?? DEFAULT_FULL_SCAN_ROWS;
  const seed = options.seed ?? DEFAULT_SEED;
  const width = header.length;
  // The evidence generator (bounded measures per detector), separate from the reservoir's.
  let exact: ColumnState[] | undefined = header.map(() => new ColumnState(detectors, mulberry32(seed)));
  const reservoir: (string | null)[][] = [];
  let observed = 0;

  const texts = (values: readonly unknown[]) => {
    const out = new Array<string | null>(width);
    for (let c = 0; c < width; c++) out[c] = cellText(values[c]);
    return out;
  };

  return {
    add(values, slot) {
      const row = texts(values);
      if (observed < fullScanRows) {
        observed++;
        for (let c = 0; c < width; c++) {
          const text = row[c];
          if (text !== null && text !== undefined) exact![c]!.observe(text);
        }
      } else exact = undefined;
      if (slot === reservoir.length) reservoir.push(row);
      else if (slot >= 0) reservoir[slot] = row;
    },
    result(nonEmpty, sampled) {
      let states = exact;
      if (sampled || !states) {
        states = header.map(() => new ColumnState(detectors, mulberry32(seed)));
        for (const row of reservoir) {
          for (let c = 0; c < width; c++) {
            const text = row[c];
            if (text !== null && text !== undefined) states[c]!.observe(text);
          }
        }
      }
      return header.map((name, c) => decide(name, states[c]!, nonEmpty[c] ?? 0, detectors, options));
    },
  };
}

/**
 * Streams rows through every detector and decides each column's type: a sampler and a judge in
 * one thread. Memory is bounded by the reservoir (`sampleRows` rows) and small per-column
 * counters, whatever the file size.
 */
export function createColumnScanner(header: readonly string[], options: ScanOptions = {}): ColumnScanner {
  const sampler = createRowSampler(header.length, options);
  const judge = createColumnJudge(header, options);
  return {
    get rows() {
      return sampler.rows;
    },
    get sampled() {
      return sampler.sampled;
    },
    add(values) {
      const slot = sampler.add(values);
      if (slot !== SKIP) judge.add(values, slot);
    },
    result() {
      return judge.result(sampler.nonEmpty, sampler.sampled);
    },
  };
}
