import {
  type ColumnFacts,
  currentDay,
  DETECTORS,
  type DetectorId,
  type DetectorSpec,
  DISTINCT_CAP,
  headerContradicts,
  headerHintFor,
  suggestGrade,
} from './detectors.ts';
import type { Grade } from './grades.ts';
import { applyMask } from './masking.ts';

export interface ColumnEvidence {
  /** Up to five distinct validated values, masked with the detector's default rule. */
  samples: string[];
  /** The header word that supported the detector (or, with no detector, any that matched). */
  headerHint: string | null;
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
  if (text === '' || (text.length <= 5 && PLACEHOLDERS.has(text.toLowerCase()))) return null;
  return text;
}

/** Seeded 32-bit generator (mulberry32): reproducible sampling without a dependency. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
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

class ColumnState {
  nonEmpty = 0;
  readonly strong: Uint32Array;
  readonly weak: Uint32Array;
  readonly samples: string[][];
  readonly weakSamples: string[][];
  readonly measures: number[][];
  readonly measureSeen: Uint32Array;
  readonly distinct = new Set<string>();

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
  }

  observe(text: string): void {
    this.nonEmpty++;
    if (this.distinct.size < DISTINCT_CAP) this.distinct.add(text);
    const detectors = this.detectors;
    for (let i = 0; i < detectors.length; i++) {
      const d = detectors[i]!;
      if (d.validate(text)) {
        this.strong[i]!++;
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
    const facts: ColumnFacts = {
      nonEmpty: n,
      validated,
      distinct: state.distinct.size,
      measures: state.measures[i]!,
      today,
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
      evidence: { samples: [], headerHint: anyHint },
    };
  }
  const d = detectors[best.index]!;
  const lower = wilsonLower(best.validated, n);
  const confidence = best.hint ? lower + (1 - lower) * 0.3 : lower;
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
        .map((v) => applyMask(d.defaultMask, v) ?? ''),
      headerHint: best.hint,
    },
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/**
 * Streams rows through every detector and decides each column's type. Memory is bounded by the
 * reservoir (`sampleRows` rows) and small per-column counters, whatever the file size.
 */
export function createColumnScanner(header: readonly string[], options: ScanOptions = {}): ColumnScanner {
  const detectors = options.detectors ?? DETECTORS;
  const fullScanRows = options.fullScanRows ?? DEFAULT_FULL_SCAN_ROWS;
  const sampleRows = Math.max(1, options.sampleRows ?? DEFAULT_SAMPLE_ROWS);
  const random = mulberry32(options.seed ?? 0x5eed);
  const keepReservoir = Number.isFinite(fullScanRows);
  const width = header.length;
  let exact: ColumnState[] | undefined = header.map(() => new ColumnState(detectors, random));
  const nonEmpty = new Array<number>(width).fill(0);
  const reservoir: (string | null)[][] = [];
  let rows = 0;

  const texts = (values: readonly unknown[]) => {
    const out = new Array<string | null>(width);
    for (let c = 0; c < width; c++) out[c] = cellText(values[c]);
    return out;
  };

  return {
    get rows() {
      return rows;
    },
    get sampled() {
      return rows > fullScanRows;
    },
    add(values) {
      rows++;
      if (rows <= fullScanRows) {
        const row = texts(values);
        for (let c = 0; c < width; c++) {
          const text = row[c];
          if (text === null || text === undefined) continue;
          nonEmpty[c]!++;
          exact![c]!.observe(text);
        }
        if (keepReservoir) {
          if (reservoir.length < sampleRows) reservoir.push(row);
          else {
            const j = Math.floor(random() * rows);
            if (j < sampleRows) reservoir[j] = row;
          }
        }
        return;
      }
      // Past the full-scan limit only the reservoir and the non-empty counts are maintained.
      exact = undefined;
      const j = Math.floor(random() * rows);
      const row = j < sampleRows ? texts(values) : undefined;
      for (let c = 0; c < width; c++) {
        if ((row ? row[c] : cellText(values[c])) !== null) nonEmpty[c]!++;
      }
      if (row) reservoir[j] = row;
    },
    result() {
      let states = exact;
      if (!states) {
        states = header.map(() => new ColumnState(detectors, mulberry32(options.seed ?? 0x5eed)));
        for (const row of reservoir) {
          for (let c = 0; c < width; c++) {
            const text = row[c];
            if (text !== null && text !== undefined) states[c]!.observe(text);
          }
        }
      }
      return header.map((name, c) => decide(name, states[c]!, nonEmpty[c]!, detectors, options));
    },
  };
}
