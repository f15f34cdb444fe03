import { chIdent } from '@strata/core';
import type { PgNode } from '../router/sql-parser';
import { withWindowRefsInlined } from '../router/window-frame';
import { columnKind, columnOf, isFloatKind, isTextKind, type ColumnScope } from '../translate/column-scope';
import { conjuncts, opName } from '../translate/ast';
import { textOperand } from '../translate/text-order';
import { readsAggregateOrWindow } from './aggregate-calls';
import { integerParam } from './integer-params';
import type { ListedPart } from './part-listings';
import { partitionKeys } from './partition-keys';
import { expandOffsetCalls, findOffsetCalls, offsetOf, type OffsetCall } from './left-out-offsets';
import { cutForWindows, type LeadingKeys } from './top-n-windows';

/**
 * Top-N: `SELECT … FROM t WHERE … ORDER BY <columns> LIMIT n [OFFSET m]` needs at most
 * n + m rows of each tier, so the cold query asks ClickHouse for its first n + m in the
 * same order and PostgreSQL merges them with the hot rows, ordering and cutting as the
 * statement says. "The latest 100 rows" then reads 100 cold rows, not the whole range.
 *
 * Only when the cut is exact: the SELECT reads the table alone; every WHERE condition
 * reached ClickHouse (else a row PostgreSQL would drop could take a place); no grouping,
 * aggregate, DISTINCT or set operation, and window functions only where each returned
 * row's value depends on rows at or before it (top-n-windows.ts); ClickHouse orders by
 * the leading sort keys that are plain columns it orders as PostgreSQL does (timestamps,
 * integers, dates, bool, floats with PostgreSQL's NaN placement spelled out, and text
 * whose collation is byte order: translate/text-order.ts), with PostgreSQL's NULL
 * placement spelled out, and cuts `WITH TIES` so every row tied on those keys stays for
 * PostgreSQL to order; LIMIT and OFFSET are integer literals or parameters PostgreSQL
 * types as integers (resolved per execution).
 */
/** A LIMIT or OFFSET count: a literal, or the number of the parameter holding it. */
export type Count = bigint | { param: number };

export interface TopN {
  /** The keys ClickHouse orders by (orderKeysSql spells them). */
  keys: readonly OrderKey[];
  /** LIMIT and OFFSET where either is a parameter: `rows` is set from them per execution (resolveTopNParams). */
  rowsFrom?: { limit: Count; offset: Count };
  /**
   * n + m; with `reach`, set before the cold read to the rows through the (n + m)-th
   * row's ties plus reach (cold-rows.ts).
   */
  rows: bigint;
  /** Rows past the (n + m)-th row's ties that a window reads (top-n-windows.ts); absent: none. */
  reach?: bigint;
  /** Where windows with reach are partitioned: their PARTITION BY items; the cold read is then per partition (top-k.ts's topKOfPartitionedTopN). */
  partitionedBy?: PgNode[];
  /** Calls offset by the cold rows the read leaves out (left-out-offsets.ts: row_number(), rank(), running counts, integer sums and averages ordered against the statement; percent_rank(), cume_dist(), ntile() either way). */
  offsets?: OffsetCall[];
  /** A copy of the SELECT's WHERE (every condition pushed), for the hot tier's count (hot-top-n.ts). */
  where?: PgNode;
  /** Set once W is known: the hot tier holds the first n + m rows, ClickHouse is not read (hot-top-n.ts). */
  hotHolds?: boolean;
  /** The cold table's parts as the engine last listed them (part-listings.ts): the latest-parts bound is computed from them; absent: by the statement. */
  latestParts?: ListedPart[];
}

/**
 * One sort item ClickHouse orders exactly as PostgreSQL does: a plain column, its
 * direction, and where PostgreSQL puts its NULLs (said or defaulted).
 */
export interface OrderKey {
  column: string;
  direction: 'ASC' | 'DESC';
  nullsFirst: boolean;
  /** real or double precision: NaN placed as PostgreSQL places it (orderKeysSql). */
  float: boolean;
}

const ORDERED_ALIKE = new Set(['timestamptz', 'timestamp', 'int8', 'int4', 'int2', 'date', 'bool']);

export function topNOf(sel: PgNode, scope: ColumnScope): TopN | undefined {
  if (sel.op !== 'SETOP_NONE' || sel.fromClause?.length !== 1) return undefined;
  if (sel.groupClause?.length || sel.havingClause || sel.distinctClause || sel.lockingClause?.length) return undefined;
  if (sel.limitOption !== 'LIMIT_OPTION_COUNT' || !sel.sortClause?.length) return undefined;
  const limit = countOf(sel.limitCount);
  const offset = sel.limitOffset === undefined ? 0n : countOf(sel.limitOffset);
  if (limit === undefined || offset === undefined) return undefined;
  // Aggregates (one row), subqueries; window functions only where they look back (top-n-windows.ts).
  const spelled = withWindowRefsInlined({ SelectStmt: sel }).SelectStmt;
  const items = [spelled.targetList, spelled.sortClause];
  if (readsAggregateOrWindow(withoutWindows([...items, spelled.windowClause]))) return undefined;
  const ordered = untilTextAfterLatestTime(orderedAlikePrefix(sel.sortClause as PgNode[], scope), scope);
  const fixed = fixedColumns(sel.whereClause, scope);
  const onePartition = (by: PgNode[]) => by.every((item) => item?.ColumnRef && fixed.has(columnOf(scope, item.ColumnRef) ?? ''));
  const offsetBy = (f: PgNode, over: PgNode, against: boolean) => offsetOf(f, over, scope, onePartition, against);
  const windows = cutForWindows(items, {
    leadingKeys: (order) => leadingCutKeys(order, ordered, scope),
    onePartition,
    partitionable: (by) => partitionKeys(by, scope) !== undefined,
    offsetOf: (f, over, against) => offsetBy(f, over, against) !== undefined,
  }, spelled.windowClause);
  const keys = ordered.slice(0, windows.keys);
  if (keys.length === 0) return undefined;
  const direction = (order: PgNode[]) => {
    const leading = leadingCutKeys(order, keys, scope);
    return leading.same > 0 ? 'with' : leading.reversed > 0 ? 'against' : undefined;
  };
  const found = windows.offsets > 0 ? findOffsetCalls(sel, direction, offsetBy) : [];
  // Each must be found in the statement itself (to offset), and the rows left out are those of the plain cut (not a per-partition read).
  if (found.length !== windows.offsets || (found.length > 0 && windows.partitionedBy.length > 0)) return undefined;
  // Kept: the calls become their offset forms' parts only now.
  const offsets = expandOffsetCalls(sel, found);
  const given = typeof limit === 'bigint' && typeof offset === 'bigint';
  return {
    keys,
    rows: given ? limit + offset : 0n,
    ...(given ? {} : { rowsFrom: { limit, offset } }),
    ...(windows.reach > 0n ? { reach: windows.reach } : {}),
    ...(windows.partitionedBy.length ? { partitionedBy: windows.partitionedBy } : {}),
    ...(offsets.length ? { offsets } : {}),
    ...(sel.whereClause ? { where: structuredClone(sel.whereClause) } : {}),
  };
}

/**
 * The leading sort items ClickHouse orders exactly as PostgreSQL does (plain columns of
 * ORDERED_ALIKE kinds, floats, and text PostgreSQL orders byte-wise: its column's
 * collation, or an explicit `COLLATE "C"`), up to the first that it does not. A cut on
 * this prefix that keeps its ties (WITH TIES, or a rank) keeps every row PostgreSQL's full
 * order (other collations included) could put before the cut. Also used by top-k.ts.
 */
export function orderedAlikePrefix(sortItems: PgNode[], scope: ColumnScope): OrderKey[] {
  const keys: OrderKey[] = [];
  for (const item of sortItems) {
    const by = item.SortBy;
    const text = by && !by.useOp ? textOperand(scope, by.node) : undefined;
    const column = text ? (text.bytewise ? text.column : undefined) : by?.node?.ColumnRef && !by.useOp ? columnOf(scope, by.node.ColumnRef) : undefined;
    const kind = scope.relation.columns.find((c) => c.name === column)?.kind;
    const float = isFloatKind(kind);
    if (!column || !kind || !(ORDERED_ALIKE.has(kind) || float || text)) break;
    const desc = by.sortby_dir === 'SORTBY_DESC';
    // PostgreSQL: NULLS LAST ascending, NULLS FIRST descending, unless said otherwise.
    const nullsFirst = by.sortby_nulls === 'SORTBY_NULLS_FIRST' || (by.sortby_nulls !== 'SORTBY_NULLS_LAST' && desc);
    keys.push({ column, direction: desc ? 'DESC' : 'ASC', nullsFirst, float });
  }
  return keys;
}

/** How many of the cut's keys a window's ORDER BY starts with, as they are and reversed (direction and NULL placement; top-n-windows.ts). */
function leadingCutKeys(order: PgNode[], keys: readonly OrderKey[], scope: ColumnScope): LeadingKeys {
  const leading = orderedAlikePrefix(order.slice(0, keys.length), scope);
  const run = (reversed: boolean) => {
    const i = leading.findIndex((k, j) => k.column !== keys[j].column || (k.direction === keys[j].direction) === reversed || (k.nullsFirst === keys[j].nullsFirst) === reversed);
    return i < 0 ? leading.length : i;
  };
  return { same: run(false), reversed: run(true) };
}

/**
 * Columns a top-level AND term of `where` holds to one value: `col = <constant or $n>`
 * (either side, casts allowed) or `col IS NULL`. A PARTITION BY of these is one partition
 * over every row the statement keeps.
 */
function fixedColumns(where: PgNode | undefined, scope: ColumnScope): Set<string> {
  const constant = (n: PgNode): boolean => (n?.A_Const !== undefined && !n.A_Const.isnull) || n?.ParamRef !== undefined || (n?.TypeCast !== undefined && constant(n.TypeCast.arg));
  const fixed = new Set<string>();
  const add = (ref: PgNode) => {
    const column = columnOf(scope, ref);
    if (column) fixed.add(column);
  };
  for (const c of conjuncts(where)) {
    if (c?.NullTest?.nulltesttype === 'IS_NULL' && c.NullTest.arg?.ColumnRef) add(c.NullTest.arg.ColumnRef);
    const e = c?.A_Expr;
    if (e?.kind !== 'AEXPR_OP' || opName(e) !== '=') continue;
    const [column, value] = e.lexpr?.ColumnRef ? [e.lexpr, e.rexpr] : [e.rexpr, e.lexpr];
    if (column?.ColumnRef && constant(value)) add(column.ColumnRef);
  }
  return fixed;
}

/**
 * "The latest rows" ordered by time, then text (`ORDER BY time DESC, host`): the time
 * column leading the cold sort key is cut on without the text keys after it, as before
 * text keys were pushed — latest-parts.ts reads a cut on the time column alone part by
 * part (57 → 13 ms measured there), and the few rows tied on one instant are ordered by
 * PostgreSQL anyway (WITH TIES keeps them all).
 */
function untilTextAfterLatestTime(keys: OrderKey[], scope: ColumnScope): OrderKey[] {
  const rel = scope.relation;
  if (keys[0]?.column !== rel.timeColumn || rel.coldSortKey?.[0] !== rel.timeColumn) return keys;
  const text = keys.findIndex((k) => isTextKind(columnKind(scope, k.column)));
  return text < 0 ? keys : keys.slice(0, text);
}

/** The ClickHouse ORDER BY list of `keys`, NULL (and a float's NaN) placed as PostgreSQL places them. */
export function orderKeysSql(keys: readonly OrderKey[]): string {
  return keys.map(orderKeySql).join(', ');
}

function orderKeySql({ column, direction, nullsFirst, float }: OrderKey): string {
  const col = chIdent(column);
  // PostgreSQL puts NaN above every number (last ascending, first descending) and has
  // -0 = 0 and NaN = NaN as peers. ClickHouse puts NaN next to NULLs in either direction
  // (NULL, NaN, numbers with NULLS FIRST; numbers, NaN, NULL with NULLS LAST): the same
  // for PostgreSQL's defaults (ASC NULLS LAST, DESC NULLS FIRST). For the other two the
  // placement is said as keys — whether NULL (where PostgreSQL puts NULLs), whether NaN
  // (above every number in the statement's direction), then the value (-0 = 0); they
  // sort about 30% slower in ClickHouse, so the defaults keep the plain key.
  if (float && (direction === 'DESC') !== nullsFirst) {
    return `isNull(${col}) ${nullsFirst ? 'DESC' : 'ASC'}, isNaN(${col}) ${direction}, ${col} ${direction}`;
  }
  return `${col} ${direction} NULLS ${nullsFirst ? 'FIRST' : 'LAST'}`;
}

/** LIMIT's or OFFSET's count: an integer literal, or a parameter resolved per execution (resolveTopNParams). */
function countOf(n: PgNode): Count | undefined {
  const c = n?.A_Const;
  if (c?.ival !== undefined) return BigInt(c.ival.ival ?? 0);
  return n?.ParamRef ? { param: n.ParamRef.number as number } : undefined;
}

/**
 * Gives each top-N whose LIMIT or OFFSET is a parameter its n + m for this execution, or
 * drops it (the occurrence reads raw rows) where PostgreSQL did not type one as an integer
 * or LIMIT is NULL (no limit). A NULL OFFSET is 0, as PostgreSQL has it; a negative count
 * cuts nothing (PostgreSQL then refuses the statement itself, 2201W / 2201X).
 */
export function resolveTopNParams(occurrences: Array<{ topN?: TopN }>, params: ReadonlyArray<string | null>, paramTypes: readonly number[]): void {
  for (const occ of occurrences) {
    const from = occ.topN?.rowsFrom;
    if (!from) continue;
    const rows = cutRows(from, params, paramTypes);
    occ.topN = rows === undefined ? undefined : { ...occ.topN!, rows, rowsFrom: undefined };
  }
}

/** n + m for this execution; undefined where either count is not an integer or LIMIT is NULL (resolveTopNParams). */
export function cutRows(from: { limit: Count; offset: Count }, params: ReadonlyArray<string | null>, paramTypes: readonly number[]): bigint | undefined {
  const value = (c: Count) => (typeof c === 'bigint' ? c : integerParam(c.param, params, paramTypes));
  const [limit, offset] = [value(from.limit), value(from.offset)];
  if (limit === undefined || limit === null || offset === undefined) return undefined;
  const skipped = offset ?? 0n;
  return limit < 0n || skipped < 0n ? 0n : limit + skipped;
}

/**
 * `node` with each window function call replaced by what it reads (arguments, FILTER, its
 * window's clauses): an aggregate among those still makes the SELECT grouped.
 */
function withoutWindows(node: PgNode): PgNode {
  if (node === null || typeof node !== 'object') return node;
  if (Array.isArray(node)) return node.map(withoutWindows);
  if (node.FuncCall?.over) {
    const { args, agg_filter, agg_order, over } = node.FuncCall;
    return withoutWindows([args, agg_filter, agg_order, over.partitionClause, over.orderClause, over.startOffset, over.endOffset]);
  }
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, withoutWindows(v)]));
}
