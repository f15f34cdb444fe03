import { parsePgType } from '@strata/core/model';
import type { TieredColumnInfo } from '../router/catalog-snapshot';
import type { PgNode } from '../router/sql-parser';
import { exprOf } from './sql-snippets';

/**
 * Exact partials for aggregates of integer and numeric(p,s) columns, combined in
 * PostgreSQL to PostgreSQL's own result type and value. The invariant: every partial is
 * exact (ClickHouse sums over Int128 / Int256 or Decimal128 / Decimal256, never a
 * wrapping Int64 or a float), read into `numeric`, so PostgreSQL's combination sees the
 * very N, Σx and Σx² its own accumulators would hold, and finishes with the same numeric
 * arithmetic (numeric.c):
 * - sum(int2|int4) is bigint, sum(int8) numeric (scale 0), sum(numeric(p,s)) numeric at
 *   scale s (NumericSumAccum keeps the largest dscale of its inputs, and every value of a
 *   numeric(p,s) column has dscale s);
 * - avg is numeric_div(Σx, N) — the `/` operator on the same two numerics;
 * - var_pop / var_samp / variance are numeric_stddev_internal's formula,
 *   (N·Σx² − (Σx)²) / (N·N or N·(N−1)), a numerator ≤ 0 giving 0, too few rows NULL.
 *   Its products are exact there too (rscale 2·dscale(Σx), as numeric_mul's), so with Σx
 *   at scale s and Σx² at 2s (do_numeric_accum's X·X at 2·dscale) the numerator, and
 *   select_div_scale's choice for the quotient, are the same;
 * - stddev / stddev_samp / stddev_pop are that variance's square root at the variance's
 *   own scale (exactSqrtSql).
 * ClickHouse's text trims a Decimal's trailing zeros (1.500 → 1.5), which numeric_in reads
 * at a smaller dscale: a numeric sum is rounded back to its scale (s, or 2s for Σx²) where
 * it is combined, which only pads, since every partial is exact at that scale.
 * NaN (a hot row's; the cold tier holds none) counts in N and makes sums NaN, as
 * PostgreSQL's NaNcount does: too few rows stay NULL, anything else is NaN.
 */
export type ExactPartialFn = 'esum' | 'esum2';

const VARIANCES: Record<string, 'samp' | 'pop'> = { variance: 'samp', var_samp: 'samp', var_pop: 'pop', stddev: 'samp', stddev_samp: 'samp', stddev_pop: 'pop' };
const STDDEVS: ReadonlySet<string> = new Set(['stddev', 'stddev_samp', 'stddev_pop']);
const INTEGER_KINDS: ReadonlySet<string> = new Set(['int2', 'int4', 'int8']);

/**
 * A column whose sums have exact partials. `digits`: the most decimal digits of one value
 * as an integer (x·10^s): a Decimal(p,s) holds fewer than 10^p — ClickHouse's input formats
 * refuse more digits than p ("Too many digits"), and tiered rows come from numeric(p,s).
 */
interface Summand {
  kind: string;
  /** Digits after the point: 0 for integers. */
  scale: number;
  digits: number;
}

function summandOf(column: Pick<TieredColumnInfo, 'kind' | 'pgType'>): Summand | undefined {
  if (INTEGER_KINDS.has(column.kind)) return { kind: column.kind, scale: 0, digits: 19 };
  const t = column.kind === 'numeric' ? parsePgType(column.pgType) : undefined;
  if (!t?.ok || t.type.precision === undefined) return undefined;
  return { kind: 'numeric', scale: t.type.scale ?? 0, digits: t.type.precision };
}

/**
 * The ClickHouse Decimal width a sum of values of `digits` digits never overflows in, or
 * undefined. A group has fewer than 2^64 < 1.85·10^19 rows (count() is a UInt64), so the
 * sum has fewer than 1.85·10^(digits+19): Int128 holds 1.7·10^38 (digits + 19 ≤ 37),
 * Int256 5.7·10^76 (digits + 19 ≤ 76). Wider: finished in PostgreSQL from raw rows.
 */
function decimalBits(digits: number): 128 | 256 | undefined {
  return digits + 19 <= 37 ? 128 : digits + 19 <= 76 ? 256 : undefined;
}

/** Whether `fn`'s partial of the column is exact (numeric(p,s): p ≤ 57 for Σx, p ≤ 28 for Σx²). */
function fits(s: Summand, fn: ExactPartialFn): boolean {
  return s.kind !== 'numeric' || decimalBits(fn === 'esum' ? s.digits : 2 * s.digits) !== undefined;
}

/** Names a partial column of `fn` over the aggregate's column (shared with the other partials). */
type PartialRef = (fn: 'count' | ExactPartialFn) => string;

/** The combining expression for `name(col)` over an integer or numeric column, or undefined when it has none. */
export function exactAggregate(name: string, column: Pick<TieredColumnInfo, 'kind' | 'pgType'>, partial: PartialRef): PgNode | undefined {
  const s = summandOf(column);
  const variance = VARIANCES[name];
  if (!s || (name !== 'sum' && name !== 'avg' && variance === undefined) || !fits(s, variance ? 'esum2' : 'esum')) return undefined;
  // A numeric sum at its own scale (see above); an integer one is at scale 0 already.
  const sum = (fn: ExactPartialFn, scale: number) => (s.kind === 'numeric' ? `round(sum(${partial(fn)}), ${scale})` : `sum(${partial(fn)})`);
  const sx = sum('esum', s.scale);
  if (name === 'sum') return exprOf(s.kind === 'int2' || s.kind === 'int4' ? `${sx}::int8` : sx);
  if (name === 'avg') return exprOf(`(${sx} / NULLIF(sum(${partial('count')}), 0))`);
  const n = `sum(${partial('count')})`;
  const numerator = `(${n} * ${sum('esum2', 2 * s.scale)} - ${sx} * ${sx})`;
  const denominator = variance === 'samp' ? `(${n} * (${n} - 1))` : `(${n} * ${n})`;
  const tooFew = variance === 'samp' ? `${n} <= 1` : `${n} = 0`;
  const varianceSql = `(CASE WHEN ${n} IS NULL OR ${tooFew} THEN NULL::numeric WHEN ${numerator} <= 0 THEN 0::numeric ELSE ${numerator} / ${denominator} END)`;
  return exprOf(STDDEVS.has(name) ? exactSqrtSql(varianceSql) : varianceSql);
}

/**
 * √v rounded at v's own scale s, as numeric_stddev_internal takes it (sqrt_var(v, s):
 * the exact root rounded half up at s). `sqrt(numeric)` picks its own scale (at least 16
 * significant digits), so sqrt(v) shows other digits and round(sqrt(v), s) rounds twice.
 * Exact instead, in integers: with q = v·10^(2s), the answer is ⌊√q + ½⌋ / 10^s, and
 * ⌊√q + ½⌋ = ⌊(√(4q) + 1) / 2⌋ = ⌊(⌊√m⌋ + 1) / 2⌋ for the integer m = 4q. sqrt(m) is
 * computed to at least m's own scale, here given as m's digit count D, and rounded there:
 * off by at most ½·10^-D, less than the distance 1/(2√m + 1) from √m to any integer it
 * is not, so its floor is ⌊√m⌋. Halved by div() (truncating; `/` rounds at its own scale,
 * 0 for a large dividend, so (2k+1)/2 became k+1). The division by 10^s takes the dividend at scale s, since
 * numeric_div computes only 16 significant digits past the quotient's first (20 decimals
 * for a root below 1) or the operands' scales, and s is 24 for a variance below 10^-4
 * (28 for numeric(28,14)'s). v appears 9 times, not the ~50 of correcting an estimate
 * (every stddev's SQL is that many copies of its variance's). NULL stays NULL; 0 (scale 0,
 * a numerator ≤ 0) stays 0; NaN (scale NULL) stays NaN.
 */
function exactSqrtSql(v: string): string {
  const s = `scale(${v})`;
  const m = `trunc(4 * ${v} * power(10::numeric, 2 * ${s}))`;
  const rounded = `div(floor(sqrt(round(${m}, length(${m}::text)))) + 1, 2)`;
  return `(CASE WHEN ${v} = 'NaN'::numeric THEN ${v} ELSE round(round(${rounded}, ${s}) / power(10::numeric, ${s}), ${s}) END)`;
}

/**
 * ClickHouse's value of one row for `fn` — x, or x·x at twice the scale — in a type whose
 * sum is exact (see decimalBits): Int128 / Int256 for integers, Decimal128 / Decimal256 at
 * the column's scale for numeric (Decimal products add the scales).
 */
export function exactSummandCh(fn: ExactPartialFn, column: Pick<TieredColumnInfo, 'kind' | 'pgType'>, ch: string): string {
  const s = summandOf(column);
  if (!s || !fits(s, fn)) throw new Error(`no exact ${fn} partial for ${column.pgType}`);
  if (s.kind !== 'numeric') return fn === 'esum' ? `toInt128(${ch})` : `toInt256(${ch}) * toInt256(${ch})`;
  if (fn === 'esum') return `toDecimal${decimalBits(s.digits)}(${ch}, ${s.scale})`;
  const x = `toDecimal${decimalBits(2 * s.digits)}(${ch}, ${s.scale})`;
  return `${x} * ${x}`;
}

/** The partial's column: its type, its value on one hot row (x's own scale, and 2s for x·x), and its ClickHouse aggregate. */
export function exactPartialColumn(
  fn: ExactPartialFn,
  column: Pick<TieredColumnInfo, 'kind' | 'pgType'>,
  hotRef: string,
  ch: string,
): { pgType: string; hotExpr: string; chExpr: string } {
  const hotExpr = fn === 'esum' ? `${hotRef}::numeric` : `(${hotRef}::numeric * ${hotRef}::numeric)`;
  return { pgType: 'numeric', hotExpr, chExpr: `if(count(${ch}) = 0, NULL, sum(${exactSummandCh(fn, column, ch)}))` };
}
