import { type RawBuilder, sql } from 'kysely';
import { ROW_ORDINAL } from '../../core/datasets.ts';
import { ci95HalfWidth, epsilonOf, partitionThreshold, sigma2For } from './accounting.ts';
import { div, type Rational, rational, toDecimal, toNumber } from './rational.ts';
import { cryptoSource, discreteGaussian, type RandomSource } from './sampler.ts';

/**
 * A DP aggregate as a plan: contribution bounds, which noisy measurements it makes, and the
 * noise of each (exact σ² from the ρ it spends). The plan is public: it depends on the request
 * and the declared settings, never on the data.
 */
export interface NumericBound {
  lower: number;
  upper: number;
  /** Decimal places kept: values are scaled by 10^precision to integers before clamping. */
  precision: number;
}

export interface DpSettings {
  unit: string;
  /** Most groups one unit contributes to (L0) and rows per unit per group (L∞). */
  maxGroups: number;
  maxRowsPerGroup: number;
  bounds: Record<string, NumericBound>;
  /** Public group-key domains: group-by on such a field releases every value, found or not. */
  domains: Record<string, string[]>;
}

export type DpMetric = { fn: 'count' } | { fn: 'sum' | 'mean'; field: string };

/** One noisy measurement: a per-group count or sum of scaled, clamped values. */
export interface Measurement {
  key: string;
  kind: 'count' | 'sum' | 'nonnull';
  field?: string;
  sensitivity2: Rational;
  sigma2: Rational;
  halfWidth: number;
  /** 10^precision of a sum; 1 for counts. */
  scale: number;
}

export interface DpPlan {
  metrics: DpMetric[];
  groupBy: string[];
  /** The public domain of each group-by field, or null when partitions are selected privately. */
  domains: Array<string[] | null>;
  measurements: Measurement[];
  rho: Rational;
  l0: number;
  linf: number;
  /** Whether a unit may reach more than L0 groups, so the SQL must choose (else L0 holds by construction). */
  boundGroups: boolean;
  /** Partition selection: groups released only when the noisy count reaches it (null with public domains). */
  threshold: number | null;
  selectionDelta: number;
}

export const SELECTION_DELTA = 1e-9;

/** How contributions are bounded for a group-by set: what the plan and the materialised pairs share. */
export interface Bounding {
  groupBy: string[];
  domains: Array<string[] | null>;
  publicDomain: boolean;
  l0: number;
  linf: number;
  boundGroups: boolean;
}

/** The bounding of `groupBy` under `settings`: depends on neither the metrics nor ρ nor the data. */
export function boundingOf(settings: DpSettings, groupBy: string[]): Bounding {
  const domains = groupBy.map((g) => settings.domains[g] ?? null);
  const publicDomain = domains.every((d) => d !== null);
  // With public domains a unit reaches at most as many groups as exist.
  const groupsPossible = publicDomain ? domains.reduce((n, d) => n * d!.length, 1) : Number.POSITIVE_INFINITY;
  const l0 = groupBy.length === 0 ? 1 : Math.max(1, Math.min(settings.maxGroups, groupsPossible));
  return {
    groupBy,
    domains,
    publicDomain,
    l0,
    linf: settings.maxRowsPerGroup,
    boundGroups: groupBy.length > 0 && l0 < groupsPossible,
  };
}

/** Builds the plan; throws a RangeError with a message for an impossible request. */
export function planRelease(
  settings: DpSettings,
  metrics: DpMetric[],
  groupBy: string[],
  rho: Rational,
  minGroupSize: number,
): DpPlan {
  if (rho.n <= 0n) throw new RangeError('rho must be > 0');
  const { domains, publicDomain, l0, linf, boundGroups } = boundingOf(settings, groupBy);
  const wanted: Array<Pick<Measurement, 'key' | 'kind' | 'field'> & { bound: number; scale: number }> = [];
  const add = (kind: Measurement['kind'], field?: string) => {
    const key = field ? `${kind}:${field}` : kind;
    if (wanted.some((m) => m.key === key)) return;
    if (kind === 'sum') {
      const b = settings.bounds[field!]!;
      const scale = 10 ** b.precision;
      const bound = Math.max(Math.abs(Math.round(b.lower * scale)), Math.abs(Math.round(b.upper * scale)));
      wanted.push({ key, kind, field, bound, scale });
    } else wanted.push({ key, kind, ...(field ? { field } : {}), bound: 1, scale: 1 });
  };
  for (const m of metrics) {
    if (m.fn === 'count') add('count');
    else {
      if (!settings.bounds[m.field]) throw new RangeError(`no clamping bounds declared for ${m.field}`);
      add('sum', m.field);
      if (m.fn === 'mean') add('nonnull', m.field);
    }
  }
  // Private partition selection thresholds a noisy count: make one if none was asked for.
  if (!publicDomain && !wanted.some((m) => m.kind === 'count')) add('count');
  const share = div(rho, rational(BigInt(wanted.length)));
  const measurements = wanted.map((m) => {
    const perGroup = BigInt(linf) * BigInt(m.bound);
    const sensitivity2 = rational(BigInt(l0) * perGroup * perGroup);
    const sigma2 = sigma2For(sensitivity2, share);
    return {
      key: m.key,
      kind: m.kind,
      ...(m.field ? { field: m.field } : {}),
      sensitivity2,
      sigma2,
      halfWidth: ci95HalfWidth(sigma2),
      scale: m.scale,
    };
  });
  const count = measurements.find((m) => m.kind === 'count');
  const threshold =
    publicDomain || !count ? null : partitionThreshold(count.sigma2, l0, linf, minGroupSize, SELECTION_DELTA);
  return {
    metrics,
    groupBy,
    domains,
    measurements,
    rho,
    l0,
    linf,
    boundGroups,
    threshold,
    selectionDelta: publicDomain ? 0 : SELECTION_DELTA,
  };
}

const alias = (m: Pick<Measurement, 'key'>) => m.key.replace(':', '__');

/**
 * The bounded aggregate in one SQL statement, bounding in two levels so that only one sort of
 * the filtered rows is needed and the per-unit window runs over (unit, group) pairs, not rows:
 *
 * 1. rows of the filter with a non-null unit, group keys inside their public domains; numeric
 *    values scaled to integers and clamped to [lo, hi] (so |v| ≤ B = max(|lo|, |hi|)); a NULL
 *    value stays NULL (not clamped to lo): it counts as a row, never as a value;
 * 2. one row per (unit, group): c = rows, s = Σv, n = non-null values;
 * 3. L∞: the pair's count becomes min(c, L∞), its sum and non-null count are scaled by
 *    min(1, L∞/c) and truncated toward zero (`div`) — the unit's own mean, L∞ times;
 * 4. L0: each unit keeps at most L0 of its pairs (`row_number() over (partition by unit order by
 *    hashtext(unit, group), group)`: a pseudo-random choice among the unit's own groups, different
 *    for every unit). Skipped when the plan says a unit cannot reach more than L0 groups anyway
 *    (no group-by, or a public domain of at most L0 groups — the WHERE keeps keys inside it);
 * 5. per group: Σ counts, Σ sums, Σ non-null counts, as text (BigInt in JS).
 *
 * Sensitivity (add/remove one unit u, which is the neighbouring relation the budget is for):
 * every step up to 4 depends only on u's own rows (the filter is row-wise, pairs and the window
 * are partitioned by unit, the hash depends on u and the key), so the released vector of a
 * measurement changes by exactly u's bounded contribution x_u. x_u has at most L0 non-zero
 * entries (step 4, or by construction when skipped). Each entry: a count min(c, L∞) ≤ L∞; a sum
 * |trunc(s·min(1, L∞/c))| ≤ |s|·min(1, L∞/c) ≤ c·B·min(1, L∞/c) = min(c, L∞)·B ≤ L∞·B; a
 * non-null count ≤ min(c, L∞) ≤ L∞. Hence ‖x_u‖₂² ≤ L0·(L∞·B)² (B = 1 for counts) — the Δ₂²
 * of `planRelease`. Collation "C" on the unit and keys only makes the sort cheaper: grouping
 * and partitioning compare for equality, which no collation changes.
 */
export function boundedAggregateSql(
  plan: DpPlan,
  settings: DpSettings,
  source: { table: RawBuilder<unknown>; where: RawBuilder<boolean> | null },
): RawBuilder<Record<string, unknown>> {
  const valueFields = [...new Set(plan.measurements.filter((m) => m.field).map((m) => m.field!))];
  const pairs = boundedPairsSql(plan, settings, valueFields, source);
  return sumPairsSql(plan, valueFields, sql`(${pairs}) b`);
}

/**
 * The fields a materialised pairs table carries a sum and a non-null count of, in column order
 * (`s0`/`n0`, `s1`/`n1`, …): every field with declared bounds, so that one table answers any
 * metrics the settings allow.
 */
export function pairsValueFields(settings: DpSettings): string[] {
  return Object.keys(settings.bounds).sort();
}

/**
 * The bounded (unit, group) pairs of steps 1–4 of `boundedAggregateSql`, after the L0 choice, as
 * one row each: the group keys `g0…` (text, collation "C"), `c` (≤ L∞), and per value field i
 * `s<i>` and `n<i>`; without group-by a constant column `one`. Unit ids are not kept: nothing
 * after step 4 needs them. What the gateway materialises (with `pairsValueFields`, no filter)
 * and what the row-level statement sums (with its measurements' fields and the filter).
 */
export function boundedPairsSql(
  bounding: Omit<Bounding, 'publicDomain'>,
  settings: DpSettings,
  valueFields: string[],
  source: { table: RawBuilder<unknown>; where: RawBuilder<boolean> | null },
): RawBuilder<Record<string, unknown>> {
  const unit = sql.ref(settings.unit);
  const groups = bounding.groupBy.map((g, i) => ({ ref: sql.ref(g), as: sql.ref(`g${i}`) }));
  const conditions = eligible(bounding, settings);
  if (source.where) conditions.push(source.where);
  const values = valueFields.map((f, i) => ({
    v: sql.ref(`v${i}`),
    s: sql.ref(`s${i}`),
    n: sql.ref(`n${i}`),
    expr: clampedValue(settings, f),
  }));
  const keys = groups.map((g) => g.as);
  const linf = sql.lit(bounding.linf);
  const hashed = bounding.boundGroups ? [sql.ref('h')] : [];
  const order = sql.join([sql.ref('u'), ...hashed, ...keys]);
  const rows = sql`SELECT ${sql.join([
    sql`${unit}::text COLLATE "C" AS u`,
    ...groups.map((g) => sql`${g.ref}::text COLLATE "C" AS ${g.as}`),
    ...(bounding.boundGroups ? [sql`${pairHash(settings, bounding.groupBy)} AS h`] : []),
    ...values.map((v) => sql`${v.expr} AS ${v.v}`),
  ])} FROM ${source.table} WHERE ${sql.join(conditions, sql` AND `)} ORDER BY ${order}`;
  // Sorted input: the pairs come out of a group aggregate in the order the window needs.
  const pairs = sql`SELECT ${sql.join([
    order,
    sql`count(*) AS c`,
    ...values.flatMap((v) => [sql`sum(${v.v}) AS ${v.s}`, sql`count(${v.v}) AS ${v.n}`]),
  ])} FROM (${rows}) r GROUP BY ${order}`;
  const columns = [
    ...(keys.length > 0 ? keys : [sql`1 AS one`]),
    sql`least(c, ${linf}) AS c`,
    ...values.flatMap((v) => [
      sql`CASE WHEN c <= ${linf} THEN ${v.s} ELSE div(${v.s} * ${linf}, c) END AS ${v.s}`,
      sql`CASE WHEN c <= ${linf} THEN ${v.n} ELSE ${v.n} * ${linf} / c END AS ${v.n}`,
    ]),
  ];
  if (!bounding.boundGroups) return sql`SELECT ${sql.join(columns)} FROM (${pairs}) p`;
  const kept = [...(keys.length > 0 ? keys : [sql.ref('one')]), sql.ref('c')].concat(
    values.flatMap((v) => [v.s, v.n]),
  );
  const ranked = sql`SELECT ${sql.join([
    ...columns,
    sql`row_number() OVER (PARTITION BY u ORDER BY ${sql.join([...hashed, ...keys])}) AS gr`,
  ])} FROM (${pairs}) p`;
  return sql`SELECT ${sql.join(kept)} FROM (${ranked}) k WHERE gr <= ${sql.lit(bounding.l0)}`;
}

/** Rows that take part at all: a privacy unit, and group keys inside their public domains. */
function eligible(
  bounding: Pick<Bounding, 'groupBy' | 'domains'>,
  settings: DpSettings,
): RawBuilder<boolean>[] {
  const conditions: RawBuilder<boolean>[] = [sql<boolean>`${sql.ref(settings.unit)} IS NOT NULL`];
  bounding.groupBy.forEach((g, i) => {
    const domain = bounding.domains[i];
    if (domain)
      conditions.push(sql<boolean>`${sql.ref(g)}::text IN (${sql.join(domain.map((v) => sql`${v}`))})`);
  });
  return conditions;
}

/**
 * A field's value scaled to an integer and clamped to its bounds. greatest/least skip NULL
 * arguments: a bare least(greatest(NULL, lo), hi) is lo, which would count a missing value as
 * present (in a mean's non-null count) and add lo to the sum — so NULL stays NULL.
 */
function clampedValue(settings: DpSettings, field: string): RawBuilder<unknown> {
  const b = settings.bounds[field]!;
  const scale = 10 ** b.precision;
  const f = sql.ref(field);
  return sql`CASE WHEN ${f} IS NULL THEN NULL ELSE least(greatest(round(${f}::numeric * ${scale})::bigint, ${Math.round(b.lower * scale)}::bigint), ${Math.round(b.upper * scale)}::bigint) END`;
}

/** The pseudo-random order of a unit's groups for the L0 choice: a hash of the unit and the keys. */
function pairHash(settings: DpSettings, groupBy: string[]): RawBuilder<number> {
  return sql<number>`hashtext(concat_ws(chr(31), ${sql.ref(settings.unit)}::text, ${sql.join(groupBy.map((g) => sql.ref(g)))}))`;
}

/**
 * Bounding before any filter, for filtered queries (and contracts with a row filter): the
 * ordinals (`_row`) of the rows that bounding over the whole version drops, and of the rows that
 * take no part (no unit, a key outside its public domain). A filtered query
 * then aggregates the rows of its filter less these (`keptRowsSql`, through `deletionVectorSql`)
 * — one scan and a bit test per row instead of sorting the filtered rows by unit on every query.
 * Materialised once per (version, settings, group-by) by the gateway, as the pairs are.
 *
 * Per unit: its eligible rows (unit, keys inside their public domains) are ordered within each
 * (unit, group) pair by a 64-bit hash of their content, and only the first L∞ are kept (a selection, not
 * the pairs' scaling: a filter may keep any subset of a pair, and the kept rows must stay
 * integers); when the plan bounds groups, only rows of the unit's first L0 pairs in the same
 * hash order as the row-level statement's are kept.
 *
 * Sensitivity (add/remove one unit u): both windows are partitioned by unit and order by
 * functions of u's own rows, so every other unit's kept rows are unchanged; whatever a filter
 * keeps of u's kept rows is at most L∞ rows in each of at most L0 groups, each value clamped to
 * |v| ≤ B. Hence ‖x_u‖₂² ≤ L0·(L∞·B)², the Δ₂² of `planRelease`, for every filter — a filter
 * only removes rows. The answer may differ from bounding the filtered rows (which could keep a
 * pair the whole version's choice dropped): both are within the same sensitivity.
 */
export function droppedRowsSql(
  bounding: Omit<Bounding, 'publicDomain'>,
  settings: DpSettings,
  table: RawBuilder<unknown>,
): RawBuilder<{ _row: string }> {
  const keys = bounding.groupBy.map((g, i) => ({ ref: sql.ref(g), as: sql.ref(`g${i}`) }));
  const pair = [sql.ref('u'), ...keys.map((k) => k.as)];
  const hashed = bounding.boundGroups ? [sql.ref('h')] : [];
  const ordinal = sql.ref(ROW_ORDINAL);
  const rows = sql`SELECT ${sql.join([
    sql`t.${ordinal}`,
    sql`${sql.ref(settings.unit)}::text COLLATE "C" AS u`,
    ...keys.map((k) => sql`${k.ref}::text COLLATE "C" AS ${k.as}`),
    ...(bounding.boundGroups ? [sql`${pairHash(settings, bounding.groupBy)} AS h`] : []),
    // The order within a pair is a hash of the row's content, not of its ordinal: removing another
    // unit renumbers the rows of a new version, and must not change which of this unit's rows stay.
    sql`hashtextextended((to_jsonb(t) - ${sql.lit(ROW_ORDINAL)}::text)::text, 0) AS rh`,
  ])} FROM ${table} t WHERE ${sql.join(eligible(bounding, settings), sql` AND `)}`;
  // One sort serves both windows: (u, h, keys) then the content hash within the pair; rows of
  // identical content tie, and whichever of them is kept, every filter sees the same values.
  const ranked = sql`SELECT ${sql.join([
    ordinal,
    sql`row_number() OVER (PARTITION BY ${sql.join([sql.ref('u'), ...hashed, ...pair.slice(1)])} ORDER BY rh, ${ordinal}) AS rr`,
    ...(bounding.boundGroups
      ? [sql`dense_rank() OVER (PARTITION BY u ORDER BY ${sql.join([...hashed, ...pair.slice(1)])}) AS gr`]
      : []),
  ])} FROM (${rows}) r`;
  const over = bounding.boundGroups
    ? sql`rr > ${sql.lit(bounding.linf)} OR gr > ${sql.lit(bounding.l0)}`
    : sql`rr > ${sql.lit(bounding.linf)}`;
  // And every row that takes no part (no unit, a key outside its domain): the vector alone then
  // says which rows a filtered query may count, and the query tests one bit instead of both.
  const eligibleRow = sql.join(eligible(bounding, settings), sql` AND `);
  return sql`SELECT ${sql.ref(ROW_ORDINAL)} FROM (${ranked}) k WHERE ${over}
    UNION ALL SELECT ${ordinal} FROM ${table} t WHERE NOT coalesce(${eligibleRow}, false)`;
}

/**
 * The dropped rows as a deletion vector: one bytea whose bit n (PostgreSQL's `get_bit` order, the
 * least significant bit of byte n/8 first) is set when the row with ordinal n is dropped, for
 * every ordinal up to the table's largest. 1,000,000 rows take 125 kB. A filtered query tests a
 * bit per row, where an anti-join against the dropped ordinals built a hash table of them in every
 * parallel worker (2–3× the exact query's time, against about 2×).
 */
export function deletionVectorSql(
  bounding: Omit<Bounding, 'publicDomain'>,
  settings: DpSettings,
  table: RawBuilder<unknown>,
): RawBuilder<{ bits: Uint8Array }> {
  const ordinal = sql.ref(ROW_ORDINAL);
  return sql`SELECT decode(string_agg(lpad(to_hex(coalesce(b.v, 0)), 2, '0'), '' ORDER BY s.i), 'hex') AS bits
    FROM generate_series(0::bigint, (SELECT coalesce(max(${ordinal}), 0) FROM ${table}) / 8) s(i)
    LEFT JOIN (SELECT ${ordinal} / 8 AS i, bit_or(1 << (${ordinal} % 8)::int) AS v
               FROM (${droppedRowsSql(bounding, settings, table)}) d GROUP BY 1) b USING (i)`;
}

/**
 * The rows a filtered query aggregates when the dropped rows are materialised: rows of the filter
 * whose bit in the deletion vector is clear (so rows that take part, and are kept), one record each in the shape of bounded
 * pairs (`c` = 1, `s<i>` the clamped value, `n<i>` whether it has one) — so `sumPairsSql` sums
 * them. A row past the vector's end (which a version's immutable table cannot have) counts as
 * dropped: the error is on the side of privacy.
 */
export function keptRowsSql(
  plan: DpPlan,
  settings: DpSettings,
  valueFields: string[],
  source: { table: RawBuilder<unknown>; where: RawBuilder<boolean> | null; dropped: Uint8Array },
): RawBuilder<Record<string, unknown>> {
  // Rows that take no part are in the vector (`droppedRowsSql`): no eligibility test here.
  const conditions: RawBuilder<boolean>[] = source.where ? [source.where] : [];
  const ordinal = sql`t.${sql.ref(ROW_ORDINAL)}`;
  // `<> 1`, not `= 0`: the planner guesses an inequality keeps most rows (it does) and so keeps its
  // hash aggregate; for an equality on a function it guessed a few hundred rows and chose to sort.
  conditions.push(
    sql<boolean>`${ordinal} < ${source.dropped.length * 8} AND get_bit(${source.dropped}::bytea, ${ordinal}) <> 1`,
  );
  return sql`SELECT ${sql.join([
    ...(plan.groupBy.length > 0
      ? plan.groupBy.map((g, i) => sql`${sql.ref(g)}::text COLLATE "C" AS ${sql.ref(`g${i}`)}`)
      : [sql`1 AS one`]),
    sql`1 AS c`,
    ...valueFields.flatMap((f, i) => [
      sql`${clampedValue(settings, f)} AS ${sql.ref(`s${i}`)}`,
      sql`(${sql.ref(f)} IS NOT NULL)::int AS ${sql.ref(`n${i}`)}`,
    ]),
  ])} FROM ${source.table} t WHERE ${sql.join(conditions, sql` AND `)}`;
}

/**
 * Step 5 over bounded pairs — the row-level statement's pairs or a materialised table of them:
 * per group, Σ counts, Σ sums, Σ non-null counts as text. `valueFields` names the pairs'
 * `s<i>`/`n<i>` columns in order.
 */
export function sumPairsSql(
  plan: DpPlan,
  valueFields: string[],
  pairs: RawBuilder<unknown>,
): RawBuilder<Record<string, unknown>> {
  const keys = plan.groupBy.map((_, i) => sql.ref(`g${i}`));
  const outputs = plan.measurements.map((m) => {
    const i = m.field ? valueFields.indexOf(m.field) : -1;
    if (m.field && i < 0) throw new RangeError(`no pairs column for ${m.field}`);
    const summed = m.kind === 'count' ? sql.ref('c') : sql.ref(`${m.kind === 'sum' ? 's' : 'n'}${i}`);
    return sql`coalesce(sum(${summed}), 0)::text AS ${sql.ref(alias(m))}`;
  });
  const groupClause = keys.length > 0 ? sql`GROUP BY ${sql.join(keys)}` : sql``;
  return sql<Record<string, unknown>>`SELECT ${sql.join([...keys, ...outputs])} FROM ${pairs} ${groupClause}`;
}

export interface Released {
  rows: Array<Record<string, string | number | null>>;
  ci95: Array<Record<string, [number, number] | null>>;
}

function cartesian(domains: string[][]): string[][] {
  return domains.reduce<string[][]>((acc, d) => acc.flatMap((prefix) => d.map((v) => [...prefix, v])), [[]]);
}

/** Adds the noise to the bounded aggregate and applies partition selection: the release. */
export function release(
  plan: DpPlan,
  exact: ReadonlyArray<Readonly<Record<string, unknown>>>,
  source: RandomSource = cryptoSource,
): Released {
  // A NULL group key stays null: mapped to '' it would merge with a real '' group and be released as ''.
  const keyOf = (row: Record<string, unknown>): Array<string | null> =>
    plan.groupBy.map((_, i) => {
      const value = row[`g${i}`];
      return value === null || value === undefined ? null : String(value);
    });
  const byKey = new Map(exact.map((row) => [JSON.stringify(keyOf(row)), row]));
  const publicDomain = plan.threshold === null;
  const keys: Array<Array<string | null>> =
    plan.groupBy.length === 0
      ? [[]]
      : publicDomain
        ? cartesian(plan.domains as string[][])
        : exact.map(keyOf);
  const rows: Released['rows'] = [];
  const ci95: Released['ci95'] = [];
  for (const key of keys) {
    const row = byKey.get(JSON.stringify(key));
    const noisy = new Map<string, bigint>();
    for (const m of plan.measurements) {
      const trueValue = BigInt(String(row?.[alias(m)] ?? '0'));
      noisy.set(m.key, trueValue + discreteGaussian(m.sigma2, source));
    }
    if (plan.threshold !== null && Number(noisy.get('count')) < plan.threshold) continue;
    const out: Record<string, string | number | null> = {};
    const intervals: Record<string, [number, number] | null> = {};
    plan.groupBy.forEach((g, i) => {
      out[g] = key[i] ?? null;
    });
    for (const metric of plan.metrics) {
      if (metric.fn === 'count') {
        const m = plan.measurements.find((x) => x.kind === 'count')!;
        const value = Number(noisy.get('count'));
        out.count = value;
        intervals.count = [value - m.halfWidth, value + m.halfWidth];
        continue;
      }
      const sum = plan.measurements.find((x) => x.key === `sum:${metric.field}`)!;
      const s = Number(noisy.get(sum.key));
      if (metric.fn === 'sum') {
        out[`sum_${metric.field}`] = s / sum.scale;
        intervals[`sum_${metric.field}`] = [(s - sum.halfWidth) / sum.scale, (s + sum.halfWidth) / sum.scale];
        continue;
      }
      const n = plan.measurements.find((x) => x.key === `nonnull:${metric.field}`)!;
      const c = Number(noisy.get(n.key));
      const name = `mean_${metric.field}`;
      out[name] = c > 0 ? round(s / sum.scale / c) : null;
      // Both ends of both 95% intervals (a conservative interval for the ratio), when the count's is positive.
      const cLow = c - n.halfWidth;
      if (cLow <= 0) {
        intervals[name] = null;
        continue;
      }
      const ends = [s - sum.halfWidth, s + sum.halfWidth].flatMap((x) => [x / cLow, x / (c + n.halfWidth)]);
      intervals[name] = [round(Math.min(...ends) / sum.scale), round(Math.max(...ends) / sum.scale)];
    }
    rows.push(out);
    ci95.push(intervals);
  }
  return { rows, ci95 };
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

/** The interval each released number will carry, before spending: what a preview shows. */
export function previewIntervals(plan: DpPlan): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const metric of plan.metrics) {
    if (metric.fn === 'count') out.count = plan.measurements.find((m) => m.kind === 'count')!.halfWidth;
    else {
      const sum = plan.measurements.find((m) => m.key === `sum:${metric.field}`)!;
      out[`${metric.fn}_${metric.field}`] = metric.fn === 'sum' ? sum.halfWidth / sum.scale : null;
    }
  }
  return out;
}

/** ρ as the API shows it, with ε at δ. */
export function spendView(rho: Rational, delta: number) {
  return { rho: Number(toDecimal(rho)), epsilon: epsilonOf(toNumber(rho), delta), delta };
}
