import type { PgNode } from '../router/sql-parser';
import { exprOf } from './sql-snippets';

/**
 * Exact partials for aggregates of integer columns, combined in PostgreSQL to PostgreSQL's
 * own result type and value. The invariant: every partial is an exact integer (ClickHouse
 * sums over Int128 / Int256, never a wrapping Int64 or a float), read into `numeric`, so
 * PostgreSQL's combination sees the very N, Σx and Σx² its own accumulators would hold,
 * and finishes with the same numeric arithmetic:
 * - sum(int2|int4) is bigint, sum(int8) numeric (scale 0);
 * - avg(int*) is numeric_div(Σx, N) — the `/` operator on the same two numerics;
 * - var_pop / var_samp / variance of int* are numeric_stddev_internal's formula,
 *   (N·Σx² − (Σx)²) / (N·N or N·(N−1)), a numerator ≤ 0 giving 0, too few rows NULL;
 * - stddev / stddev_samp / stddev_pop of int* are that variance's square root at the
 *   variance's own scale (exactSqrtSql).
 */
export type IntegerPartialFn = 'isum' | 'isum2';

export const INTEGER_KINDS: ReadonlySet<string> = new Set(['int2', 'int4', 'int8']);

const VARIANCES: Record<string, 'samp' | 'pop'> = { variance: 'samp', var_samp: 'samp', var_pop: 'pop', stddev: 'samp', stddev_samp: 'samp', stddev_pop: 'pop' };
const STDDEVS: ReadonlySet<string> = new Set(['stddev', 'stddev_samp', 'stddev_pop']);

/** Names a partial column of `fn` over the aggregate's column (shared with the other partials). */
type PartialRef = (fn: 'count' | IntegerPartialFn) => string;

/** The combining expression for `name(col)` over an integer column, or undefined when it has none. */
export function integerAggregate(name: string, kind: string, partial: PartialRef): PgNode | undefined {
  if (!INTEGER_KINDS.has(kind)) return undefined;
  if (name === 'sum') return exprOf(kind === 'int8' ? `sum(${partial('isum')})` : `sum(${partial('isum')})::int8`);
  if (name === 'avg') return exprOf(`(sum(${partial('isum')}) / NULLIF(sum(${partial('count')}), 0))`);
  const variance = VARIANCES[name];
  if (variance === undefined) return undefined;
  const n = `sum(${partial('count')})`;
  const s = `sum(${partial('isum')})`;
  const numerator = `(${n} * sum(${partial('isum2')}) - ${s} * ${s})`;
  const denominator = variance === 'samp' ? `(${n} * (${n} - 1))` : `(${n} * ${n})`;
  const tooFew = variance === 'samp' ? `${n} <= 1` : `${n} = 0`;
  const varianceSql = `(CASE WHEN ${n} IS NULL OR ${tooFew} THEN NULL::numeric WHEN ${numerator} <= 0 THEN 0::numeric ELSE ${numerator} / ${denominator} END)`;
  return exprOf(STDDEVS.has(name) ? exactSqrtSql(varianceSql) : varianceSql);
}

/**
 * √v rounded at v's own scale s, as numeric_stddev_internal takes it (sqrt_var(v, s):
 * the root truncated past s, then rounded half up). `sqrt(numeric)` picks its own scale
 * (at least 16 significant digits), so sqrt(v) shows other digits and round(sqrt(v), s)
 * rounds twice. Exact instead, in integers: q = v·10^(2s) is an integer; r = ⌊√q⌋ from
 * sqrt's estimate corrected by one either way (r² ≤ q < (r+1)²); the root is rounded
 * up when its fraction is at least ½, i.e. 4q ≥ (2r+1)²; the answer is that / 10^s at
 * scale s. NULL stays NULL; 0 (scale 0, a numerator ≤ 0) stays 0.
 */
function exactSqrtSql(v: string): string {
  const q = `(${v} * power(10::numeric, 2 * scale(${v})))`;
  const r0 = `floor(sqrt(${q}))`;
  const r = `(${r0} - CASE WHEN ${r0} * ${r0} > ${q} THEN 1 ELSE 0 END + CASE WHEN (${r0} + 1) * (${r0} + 1) <= ${q} THEN 1 ELSE 0 END)`;
  const rounded = `(${r} + CASE WHEN 4 * ${q} >= (2 * ${r} + 1) * (2 * ${r} + 1) THEN 1 ELSE 0 END)`;
  return `round(${rounded} / power(10::numeric, scale(${v})), scale(${v}))`;
}

/** The partial's column: its type, its value on one hot row, and its ClickHouse aggregate. */
export function integerPartialColumn(fn: IntegerPartialFn, hotRef: string, ch: string): { pgType: string; hotExpr: string; chExpr: string } {
  if (fn === 'isum') return { pgType: 'numeric', hotExpr: `${hotRef}::numeric`, chExpr: `if(count(${ch}) = 0, NULL, sum(toInt128(${ch})))` };
  return { pgType: 'numeric', hotExpr: `(${hotRef}::numeric * ${hotRef}::numeric)`, chExpr: `if(count(${ch}) = 0, NULL, sum(toInt256(${ch}) * toInt256(${ch})))` };
}
