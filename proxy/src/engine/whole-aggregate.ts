import { chIdent } from '@strata/core';
import type { PgNode } from '../router/sql-parser';
import { funcName, numberConst, opName, stringConst } from '../translate/ast';
import { columnKind, columnOf, equalsAsBytes, isFloatKind, isTimeColumn, type ColumnScope } from '../translate/column-scope';
import { fixedIntervalUs, timeGranularity } from '../translate/time-granularity';
import { floatEqualityKeySql } from './float-equality-key';
import { isRegressionFn, regressionChExpr, type RegressionFn } from './whole-regression';

/**
 * Aggregates that do not merge from partials (percentiles, float variance and standard
 * deviation, count(DISTINCT x)) computed whole by ClickHouse: over the group's cold rows
 * UNION ALL the statement's hot rows of the same range, shipped to ClickHouse for the
 * statement (whole-pushdown.ts) — grouped by a time bucket, only those of the buckets
 * reaching below W, the later buckets PostgreSQL's own (whole-split.ts). PostgreSQL then
 * reads one row per group and still evaluates every expression, HAVING, ORDER BY and
 * LIMIT itself.
 *
 * The invariants that make it exact:
 * - ClickHouse's groups are PostgreSQL's groups, one to one (groupsExactly): every GROUP
 *   BY item is a column whose equality ClickHouse shares (no text of a nondeterministic
 *   collation: 'abc' = 'ABC' there, column-scope.ts equalsAsBytes), a float column grouped
 *   on its PostgreSQL-equality key (-0 = 0, every NaN one value: float-equality-key.ts) and
 *   shown as one of its group's values, or a time bucket whose buckets are the cells
 *   ClickHouse groups by. A float group column is read by PostgreSQL only as its group's
 *   value: an aggregate PostgreSQL evaluates over the grouped rows (a FILTER, count(expr),
 *   a set-valued aggregate) would see one value where its group held -0 and 0, and
 *   `f::text` tells them apart.
 * - each value is PostgreSQL's: percentile_cont is its formula (lo + (hi − lo)·frac over
 *   the sorted values, first = floor(f·(n−1)), no interpolation when frac is 0);
 *   percentile_disc the value at max(ceil(f·n), 1); NULLs are ignored (groupArray skips
 *   them) and ClickHouse's arraySort puts NaN above +Infinity, as PostgreSQL orders it;
 *   no value gives NULL. count(DISTINCT x) over columns ClickHouse compares as
 *   PostgreSQL's deterministic equality does (bytes of text under a deterministic
 *   collation — not a nondeterministic one, which counts 'abc' and 'ABC' once —,
 *   integers, instants), and
 *   over floats counted on a key with PostgreSQL's float equality (-0 = 0, every NaN one
 *   value: float-equality-key.ts); uniqExact skips NULLs as count(DISTINCT) does.
 * - float variance and standard deviation: PostgreSQL's Youngs–Cramer sums and
 *   ClickHouse's stable (Welford) ones may differ in the last bits, as PostgreSQL's own
 *   parallel plans do; differential tests compare them with the relative tolerance the
 *   float sums' partials are compared with. A non-finite input gives NaN as in
 *   PostgreSQL; finite inputs whose sums overflow fail the statement (PostgreSQL's
 *   22003) instead of answering Infinity. covar_* and regr_* of two float columns alike
 *   (whole-regression.ts).
 */
export type WholeFn = 'percentile_cont' | 'percentile_disc' | 'var_samp' | 'var_pop' | 'stddev_samp' | 'stddev_pop' | 'count_distinct' | RegressionFn;

export interface WholeColumn {
  name: string;
  fn: WholeFn;
  /** The argument (covar_* and regr_*: PostgreSQL's first, Y, the dependent one). */
  column: string;
  /** covar_* and regr_*: the second argument, X. */
  x?: string;
  /** percentile_*: the fraction, a decimal literal in [0, 1] (checked, so spliced as a Float64 literal). */
  fraction?: string;
  /** count_distinct of a real or double precision: counted on its PostgreSQL-equality key. */
  float?: boolean;
}

const NUMERIC_KINDS = new Set(['int2', 'int4', 'int8', 'float4', 'float8']);
/** Kinds whose equality ClickHouse shares with PostgreSQL (grouping and DISTINCT). */
const EQUAL_ALIKE = new Set(['text', 'varchar', 'int2', 'int4', 'int8', 'bool', 'date', 'timestamptz', 'timestamp', 'uuid']);

const FLOAT_SPREAD: Record<string, WholeFn> = {
  stddev: 'stddev_samp',
  stddev_samp: 'stddev_samp',
  stddev_pop: 'stddev_pop',
  variance: 'var_samp',
  var_samp: 'var_samp',
  var_pop: 'var_pop',
};

/** The whole aggregate `f` (a FuncCall named `name`) is, or undefined when ClickHouse cannot compute it exactly. */
export function wholeAggregateOf(f: PgNode, name: string, scope: ColumnScope): Omit<WholeColumn, 'name'> | undefined {
  if (f.agg_filter || f.over || f.agg_star) return undefined;
  const args = (f.args ?? []) as PgNode[];
  const columnKindOf = (n: PgNode): { column: string; kind: string } | undefined => {
    const column = n?.ColumnRef ? columnOf(scope, n.ColumnRef) : undefined;
    const kind = column ? columnKind(scope, column) : undefined;
    return column && kind ? { column, kind } : undefined;
  };
  if (f.agg_within_group) {
    if (name !== 'percentile_cont' && name !== 'percentile_disc') return undefined;
    const order = (f.agg_order ?? []) as PgNode[];
    const by = order.length === 1 ? order[0].SortBy : undefined;
    if (args.length !== 1 || !by || by.useOp || (by.sortby_dir !== 'SORTBY_DEFAULT' && by.sortby_dir !== 'SORTBY_ASC')) return undefined;
    const col = columnKindOf(by.node);
    const fraction = numberConst(args[0]);
    if (!col || !NUMERIC_KINDS.has(col.kind) || fraction === undefined || !/^\d*\.?\d+$/.test(fraction) || Number(fraction) > 1) return undefined;
    return { fn: name, column: col.column, fraction };
  }
  if (f.agg_order) return undefined;
  if (isRegressionFn(name) && args.length === 2 && !f.agg_distinct) {
    const [y, x] = args.map(columnKindOf);
    // Integers as PostgreSQL's implicit cast to float8 has them: toFloat64 rounds to nearest alike.
    return y && x && NUMERIC_KINDS.has(y.kind) && NUMERIC_KINDS.has(x.kind) ? { fn: name, column: y.column, x: x.column } : undefined;
  }
  if (args.length !== 1) return undefined;
  const col = columnKindOf(args[0]);
  if (!col) return undefined;
  if (f.agg_distinct) {
    if (name !== 'count') return undefined;
    if (isFloatKind(col.kind)) return { fn: 'count_distinct', column: col.column, float: true };
    return EQUAL_ALIKE.has(col.kind) && equalsAsBytes(scope, col.column) ? { fn: 'count_distinct', column: col.column } : undefined;
  }
  const spread = FLOAT_SPREAD[name];
  return spread && isFloatKind(col.kind) ? { fn: spread, column: col.column } : undefined;
}

/** The table columns the aggregate reads. */
export function wholeInputs(w: WholeColumn): string[] {
  return w.x === undefined ? [w.column] : [w.column, w.x];
}

/** The same aggregate of the same inputs: computed once. */
export function sameWhole(a: Omit<WholeColumn, 'name'>, b: Omit<WholeColumn, 'name'>): boolean {
  return a.fn === b.fn && a.column === b.column && a.x === b.x && a.fraction === b.fraction;
}

/** Counts: no rows give 0, not NULL. */
const COUNTS = new Set<WholeFn>(['count_distinct', 'regr_count']);

/** What PostgreSQL reads in place of the aggregate: the group's one value (a count of no rows is 0). */
export function wholeReplacementSql(w: WholeColumn, quotedName: string): string {
  return COUNTS.has(w.fn) ? `coalesce(min(${quotedName}), 0)::int8` : `min(${quotedName})`;
}

/** PostgreSQL's result type of the aggregate over a column of `pgType`. */
export function wholePgType(w: WholeColumn, pgType: string): string {
  if (w.fn === 'percentile_disc') return pgType;
  return COUNTS.has(w.fn) ? 'bigint' : 'double precision';
}

/** ClickHouse's aggregate over the group's rows (cold and shipped). */
export function wholeChExpr(w: WholeColumn): string {
  if (isRegressionFn(w.fn)) return regressionChExpr(w.fn, w.column, w.x!);
  const x = chIdent(w.column);
  switch (w.fn) {
    case 'count_distinct':
      return `uniqExact(${w.float ? floatEqualityKeySql(x) : x})`;
    case 'percentile_cont': {
      // `sorted` spelled out each time costs nothing: ClickHouse computes an expression once
      // (one groupArray, one arraySort; an inline alias measured no faster, H5). Its
      // quantileExact* are not PostgreSQL's percentiles, not even over integers (other
      // interpolation arithmetic, other rows, NaN order): whole-percentile-exact.test.ts.
      const sorted = `arraySort(groupArray(toFloat64(${x})))`;
      const n = `length(${sorted})`;
      const pos = `(${w.fraction} * (${n} - 1))`;
      const lo = `${sorted}[toUInt64(floor(${pos})) + 1]`;
      const hi = `${sorted}[toUInt64(ceil(${pos})) + 1]`;
      return `if(${n} = 0, NULL, if(floor(${pos}) = ceil(${pos}), ${lo}, ${lo} + (${hi} - ${lo}) * (${pos} - floor(${pos}))))`;
    }
    case 'percentile_disc': {
      const sorted = `arraySort(groupArray(${x}))`;
      const n = `length(${sorted})`;
      return `if(${n} = 0, NULL, ${sorted}[greatest(toUInt64(ceil(${w.fraction} * ${n})), 1)])`;
    }
    default: {
      const v = `toFloat64(${x})`;
      const fn = ({ var_samp: 'varSampStable', var_pop: 'varPopStable', stddev_samp: 'stddevSampStable', stddev_pop: 'stddevPopStable' } as Record<string, string>)[w.fn];
      const tooFew = w.fn.endsWith('_samp') ? `count(${x}) < 2` : `count(${x}) = 0`;
      // PostgreSQL: any infinite or NaN input makes the result NaN; finite inputs whose sums overflow are an error.
      const nonFinite = `countIf(NOT isFinite(${v})) > 0`;
      const value = `${fn}(${v})`;
      const overflow = `throwIf(NOT (${nonFinite}) AND (isInfinite(sum(${v})) OR isInfinite(${value})), 'value out of range: overflow')`;
      return `multiIf(${tooFew}, NULL, ${nonFinite}, nan, ${value} + ${overflow})`;
    }
  }
}

/**
 * True when ClickHouse, grouping by `groupColumns` and the time column floored to
 * `granularity` (partial-aggregate.ts's shape), forms exactly the statement's groups.
 * `readPerRow`: columns PostgreSQL reads in aggregates over the grouped rows (no float
 * group column may be among them).
 */
export function groupsExactly(
  sel: PgNode,
  scope: ColumnScope,
  groupColumns: string[],
  granularity: bigint | undefined,
  utc: boolean,
  readPerRow: ReadonlySet<string>,
): boolean {
  const items = ((sel.groupClause ?? []) as PgNode[]).map((g) => resolveGroupItem(sel, scope, g));
  const plain = new Set<string>();
  const timeCells: bigint[] = [];
  for (const item of items) {
    const col = item?.ColumnRef ? columnOf(scope, item.ColumnRef) : undefined;
    if (col === scope.relation.timeColumn) timeCells.push(0n);
    else if (col) {
      const kind = columnKind(scope, col);
      const exact = isFloatKind(kind) ? !readPerRow.has(col) : EQUAL_ALIKE.has(kind ?? '') && equalsAsBytes(scope, col);
      if (!exact) return false;
      plain.add(col);
    } else {
      const width = bucketWidth(scope, item);
      // A bucket is one ClickHouse cell only when its boundaries are the cells' (aligned).
      if (width === undefined || timeGranularity(scope, [item], utc) !== width) return false;
      timeCells.push(width);
    }
  }
  if (!groupColumns.every((c) => plain.has(c))) return false;
  return granularity === undefined || timeCells.includes(granularity);
}

/** A GROUP BY item as PostgreSQL resolves it: an input column first, then an output name or position. */
function resolveGroupItem(sel: PgNode, scope: ColumnScope, item: PgNode): PgNode {
  const targets = ((sel.targetList ?? []) as PgNode[]).map((t) => t.ResTarget);
  const position = item?.A_Const?.ival !== undefined ? Number(item.A_Const.ival.ival ?? 0) : undefined;
  if (position !== undefined) return targets[position - 1]?.val;
  const fields = item?.ColumnRef?.fields as PgNode[] | undefined;
  if (fields?.length === 1 && columnOf(scope, item.ColumnRef) === undefined) {
    const named = targets.filter((t) => t?.name === fields[0].String?.sval);
    if (named.length === 1) return named[0].val;
  }
  return item;
}

/**
 * The GROUP BY item whole aggregates' groups are split at W by (whole-split.ts): a time
 * bucket groupsExactly accepts as ClickHouse's cells (or the time column itself), the
 * finest when there are several (the fewest hot rows at or above W share a bucket with
 * rows below it). Each such form is non-decreasing in time. `cell`: its width in µs
 * (0: the time column), its buckets' boundaries multiples of it from the epoch.
 */
export function timeSplitOf(sel: PgNode, scope: ColumnScope, utc: boolean): { bucket: PgNode; cell: bigint } | undefined {
  let best: { bucket: PgNode; cell: bigint } | undefined;
  for (const g of (sel.groupClause ?? []) as PgNode[]) {
    const item = resolveGroupItem(sel, scope, g);
    const col = item?.ColumnRef ? columnOf(scope, item.ColumnRef) : undefined;
    const cell = col === scope.relation.timeColumn ? 0n : col ? undefined : bucketWidth(scope, item);
    if (cell === undefined || (cell > 0n && timeGranularity(scope, [item], utc) !== cell)) continue;
    if (!best || cell < best.cell) best = { bucket: item, cell };
  }
  return best;
}

/**
 * The nominal width in µs of a time bucket of the time column one-to-one with its
 * buckets' starts, non-decreasing in time; undefined for anything else (floor(extract(minute
 * …) / 60) * 60 is constant on minute cells yet not one bucket per cell).
 */
function bucketWidth(scope: ColumnScope, n: PgNode): bigint | undefined {
  // floor(extract(epoch from t) / N) * N (Grafana's $__timeGroup) has floor(…)'s buckets.
  const e = n?.A_Expr;
  if (e && e.kind === 'AEXPR_OP' && opName(e) === '*' && funcName(e.lexpr?.FuncCall) === 'floor' && numberConst(e.rexpr) !== undefined && Number(numberConst(e.rexpr)) > 0) {
    return bucketWidth(scope, e.lexpr);
  }
  const f = n?.FuncCall;
  if (!f || f.over || f.agg_star || f.agg_distinct || f.agg_filter) return undefined;
  const name = funcName(f);
  const args = (f.args ?? []) as PgNode[];
  const interval = (a: PgNode) => fixedIntervalUs(stringConst(a) ?? stringConst(a?.TypeCast?.arg) ?? '');
  if ((name === 'time_bucket' && args.length === 2) || (name === 'date_bin' && args.length === 3)) return isTimeColumn(scope, args[1]) ? interval(args[0]) : undefined;
  if (name === 'date_trunc' && args.length === 2 && isTimeColumn(scope, args[1])) {
    const unit = stringConst(args[0])?.toLowerCase() ?? '';
    return ({ microseconds: 1n, milliseconds: 1000n, second: 1_000_000n, minute: 60_000_000n, hour: 3_600_000_000n, day: 86_400_000_000n } as Record<string, bigint>)[unit];
  }
  if (name === 'floor' && args.length === 1) {
    const div = args[0]?.A_Expr;
    const seconds = div?.kind === 'AEXPR_OP' && opName(div) === '/' ? numberConst(div.rexpr) : undefined;
    const inner = div?.lexpr?.FuncCall;
    const innerArgs = (inner?.args ?? []) as PgNode[];
    const epoch = ['extract', 'date_part'].includes(funcName(inner) ?? '') && innerArgs.length === 2 && stringConst(innerArgs[0])?.toLowerCase() === 'epoch' && isTimeColumn(scope, innerArgs[1]);
    return epoch && seconds !== undefined && /^\d+$/.test(seconds) && BigInt(seconds) > 0n ? BigInt(seconds) * 1_000_000n : undefined;
  }
  return undefined;
}
