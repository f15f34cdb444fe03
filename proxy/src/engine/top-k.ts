import type { PgNode } from '../router/sql-parser';
import { conjuncts, funcName, opName, visit } from '../translate/ast';
import { columnOf, type ColumnScope } from '../translate/column-scope';
import { readsAggregateOrWindow } from './aggregate-calls';
import { integerParam } from './integer-params';
import { partitionBySql, partitionKeys } from './partition-keys';
import { cutRows, orderedAlikePrefix, orderKeysSql, type Count, type TopN } from './top-n';

/**
 * Top-k per partition: "the latest row per host" spelled either way PostgreSQL users do,
 *
 *   SELECT DISTINCT ON (p…) … FROM t WHERE … ORDER BY p…, o…
 *   SELECT … FROM (SELECT …, row_number() OVER (PARTITION BY p… ORDER BY o…) AS rn
 *                  FROM t WHERE …) s WHERE rn <= k          (or rn = k, rn < k; rank, dense_rank)
 *
 * needs from the cold tier only its *candidates*: the cold rows whose rank within the cold
 * tier (ClickHouse's `rank()` over the same partition and order, ties included;
 * `dense_rank()` for a dense_rank filter) is at most k. Exact because a row's rank over
 * both tiers is at least its rank within one (every row before it in its tier is before
 * it overall), so every row PostgreSQL could return is a candidate, and every row before
 * a returned row is one too: PostgreSQL runs the statement unchanged over hot rows and
 * candidates and ranks, picks and orders exactly as over every row.
 *
 * Conditions, else the occurrence reads raw rows:
 * - every WHERE condition of the ranked SELECT reached ClickHouse (ranks are over the rows
 *   that pass it);
 * - the partition keys are ones ClickHouse partitions on never more coarsely than
 *   PostgreSQL (partition-keys.ts: a finer partition only keeps more candidates);
 * - the order keys ClickHouse ranks by are the leading ones it orders exactly as
 *   PostgreSQL (top-n.ts's orderedAlikePrefix: a rank on a prefix is never above the rank
 *   on the whole order, so a prefix keeps more candidates, never fewer); at least one;
 * - the ranked SELECT reads the table alone, has no grouping, aggregate, DISTINCT, LIMIT
 *   (DISTINCT ON may have one: it cuts the rows picked) or subquery, and every window function in it is row_number/rank/dense_rank over the
 *   same PARTITION BY and ORDER BY (another window would see fewer rows);
 * - the filter is a top-level AND term of the enclosing SELECT, whose FROM is that
 *   subquery alone (or a CTE it defines, read once in the statement): `rn <= k`,
 *   `rn < k`, `rn = k` (either side), k an integer literal or a `$n` PostgreSQL types as
 *   an integer (resolved per execution: resolveTopKParams).
 */
export interface TopK {
  fn: 'rank' | 'dense_rank';
  /** ClickHouse PARTITION BY list. */
  partitionBy: string;
  /** ClickHouse ORDER BY list (the ordered-alike prefix). */
  orderBy: string;
  /**
   * The highest rank kept: a number, or resolved before the cold read from a parameter
   * (a rank filter's k) or from a top-N's LIMIT and OFFSET plus its windows' reach.
   */
  maxRank: bigint | { param: number; strict: boolean } | { limit: Count; offset: Count; reach: bigint };
  /** Read for a top-N whose windows reach past its cut within partitions (topKOfPartitionedTopN). */
  ofTopN?: true;
}

const RANKING = new Set(['row_number', 'rank', 'dense_rank']);

/** The top-k shape of the occurrence's SELECT `sel` (inside `tree`), if it has one. */
export function topKOf(tree: PgNode, sel: PgNode, scope: ColumnScope): TopK | undefined {
  if (sel.op !== 'SETOP_NONE' || sel.fromClause?.length !== 1) return undefined;
  if (sel.groupClause?.length || sel.havingClause || sel.lockingClause?.length) return undefined;
  // DISTINCT ON's LIMIT cuts the per-partition rows it picked, the same from candidates;
  // a LIMIT under a window would cut rows before the enclosing SELECT filters them.
  return distinctOnTopK(sel, scope) ?? (sel.limitCount || sel.limitOffset ? undefined : rankFilterTopK(tree, sel, scope));
}

/**
 * A top-N whose windows read rows past the cut within partitions (top-n-windows.ts:
 * `v - lag(v) OVER (PARTITION BY host ORDER BY time) … ORDER BY time DESC LIMIT 100`,
 * the latest rows each with its host's previous value), read as a top-k: every cold row
 * whose rank within its partition (PARTITION BY the columns of those windows' partitions,
 * ORDER BY the cut's keys) is at most n + m + reach. Exact: a row among the first n + m
 * over both tiers has fewer than n + m rows before it overall, so fewer in its partition,
 * and the rows a returned row's window reads past it in its partition are within reach
 * rows of it there — ranks within the cold tier alone are never higher; ties are kept
 * whole. A window partitioned by some of those columns only, or by none, sees a coarser
 * partition whose first rows are candidates too (partition-keys.ts).
 */
export function topKOfPartitionedTopN(topN: TopN, scope: ColumnScope): TopK | undefined {
  const partition = topN.partitionedBy && partitionKeys(topN.partitionedBy, scope);
  if (!partition?.length || topN.reach === undefined) return undefined;
  const reach = topN.reach;
  const maxRank = topN.rowsFrom ? { ...topN.rowsFrom, reach } : topN.rows + reach;
  return { fn: 'rank', partitionBy: partitionBySql(partition), orderBy: orderKeysSql(topN.keys), maxRank, ofTopN: true };
}

function distinctOnTopK(sel: PgNode, scope: ColumnScope): TopK | undefined {
  const distinct = sel.distinctClause as PgNode[] | undefined;
  if (!distinct?.length || distinct.some((d) => !d?.ColumnRef) || sel.windowClause?.length) return undefined;
  if (readsAggregateOrWindow([sel.targetList, sel.sortClause])) return undefined;
  const partition = partitionKeys(distinct, scope);
  const sort = (sel.sortClause ?? []) as PgNode[];
  // PostgreSQL requires the DISTINCT ON keys to lead the ORDER BY; the rest orders each partition.
  const leading = sort.slice(0, distinct.length).map((s) => (s.SortBy?.node?.ColumnRef ? columnOf(scope, s.SortBy.node.ColumnRef) : undefined));
  if (!partition || leading.some((c) => c === undefined || !partition.some((p) => p.column === c))) return undefined;
  const order = orderedAlikePrefix(sort.slice(distinct.length), scope);
  if (order.length === 0) return undefined;
  return { fn: 'rank', partitionBy: partitionBySql(partition), orderBy: orderKeysSql(order), maxRank: 1n };
}

function rankFilterTopK(tree: PgNode, sel: PgNode, scope: ColumnScope): TopK | undefined {
  if (sel.distinctClause || sel.windowClause?.length) return undefined;
  // The ranking calls, each with the name the enclosing SELECT knows its column by.
  const ranked: Array<{ name: string; fn: string; over: PgNode }> = [];
  for (const t of (sel.targetList ?? []) as PgNode[]) {
    const f = t.ResTarget?.val?.FuncCall;
    if (!f?.over) continue;
    const fn = funcName(f) ?? '';
    if (!RANKING.has(fn) || f.args?.length || f.over.name || f.over.refname) return undefined;
    ranked.push({ name: t.ResTarget.name ?? fn, fn, over: f.over });
  }
  if (ranked.length === 0 || ranked.some((r) => !sameWindow(r.over, ranked[0].over))) return undefined;
  // Any other window (even nested in an expression), aggregate or subquery disqualifies.
  let windows = 0;
  let disqualified = false;
  visit([sel.targetList, sel.sortClause, sel.whereClause], (n) => {
    if (n.FuncCall?.over) windows++;
    else if (n.SubLink || (n.FuncCall && readsAggregateOrWindow({ FuncCall: { ...n.FuncCall, args: undefined } }))) disqualified = true;
  });
  if (disqualified || windows !== ranked.length) return undefined;

  const over = ranked[0].over;
  const partition = partitionKeys((over.partitionClause ?? []) as PgNode[], scope);
  const order = orderedAlikePrefix((over.orderClause ?? []) as PgNode[], scope);
  if (!partition || order.length === 0) return undefined;

  const outer = enclosingSelect(tree, sel);
  if (!outer) return undefined;
  for (const c of conjuncts(outer.select.whereClause)) {
    const f = rankFilter(c, outer.alias);
    const target = f && ranked.find((r) => r.name === f.column);
    if (!f || !target) continue;
    return {
      fn: target.fn === 'dense_rank' ? 'dense_rank' : 'rank',
      partitionBy: partitionBySql(partition),
      orderBy: orderKeysSql(order),
      maxRank: typeof f.k === 'bigint' ? (f.strict ? f.k - 1n : f.k) : { param: f.k.param, strict: f.strict },
    };
  }
  return undefined;
}

function sameWindow(a: PgNode, b: PgNode): boolean {
  const shape = (w: PgNode) => JSON.stringify([w.partitionClause ?? [], w.orderClause ?? []], (k, v) => (k === 'location' ? undefined : v));
  return shape(a) === shape(b);
}

/**
 * The SELECT whose FROM is exactly `sel` — as a subquery (not LATERAL), or as a CTE
 * (not recursive, no column aliases) that the whole statement reads once and that no
 * other CTE's name shadows — and the name its columns are qualified with there.
 */
function enclosingSelect(tree: PgNode, sel: PgNode): { select: PgNode; alias: string | undefined } | undefined {
  let found: { select: PgNode; alias: string | undefined } | undefined;
  let cte: PgNode | undefined;
  visit(tree, (n) => {
    const s = n.SelectStmt;
    const from = s?.fromClause as PgNode[] | undefined;
    const sub = from?.length === 1 ? from[0].RangeSubselect : undefined;
    if (sub && !sub.lateral && sub.subquery?.SelectStmt === sel) found = { select: s, alias: sub.alias?.aliasname };
    if (s?.withClause && !s.withClause.recursive) {
      cte ??= (s.withClause.ctes as PgNode[]).find((c) => c.CommonTableExpr?.ctequery?.SelectStmt === sel && !c.CommonTableExpr.aliascolnames)?.CommonTableExpr;
    }
    return found === undefined;
  });
  return found ?? (cte ? cteReader(tree, cte.ctename) : undefined);
}

function cteReader(tree: PgNode, name: string): { select: PgNode; alias: string | undefined } | undefined {
  let definitions = 0;
  let reads = 0;
  let reader: { select: PgNode; alias: string | undefined } | undefined;
  visit(tree, (n) => {
    if (n.CommonTableExpr?.ctename === name) definitions++;
    if (n.RangeVar?.relname === name && n.RangeVar.schemaname === undefined) reads++;
    const from = n.SelectStmt?.fromClause as PgNode[] | undefined;
    const rv = from?.length === 1 ? from[0].RangeVar : undefined;
    if (rv?.relname === name && rv.schemaname === undefined) reader = { select: n.SelectStmt, alias: rv.alias?.aliasname ?? name };
  });
  return definitions === 1 && reads === 1 ? reader : undefined;
}

interface RankFilter {
  column: string;
  k: bigint | { param: number };
  /** `rn < k`: ranks up to k - 1. */
  strict: boolean;
}

const FLIPPED: Record<string, string> = { '<': '>', '<=': '>=', '=': '=', '>': '<', '>=': '<=' };

/** `rn <= k`, `rn < k`, `rn = k` or the same with the sides swapped. */
function rankFilter(c: PgNode, alias: string | undefined): RankFilter | undefined {
  const e = c?.A_Expr;
  if (!e || e.kind !== 'AEXPR_OP' || (e.name as PgNode[]).length !== 1) return undefined;
  let op = opName(e);
  let [col, k] = [e.lexpr, e.rexpr];
  if (!col?.ColumnRef) {
    [col, k] = [k, col];
    op = op ? FLIPPED[op] : undefined;
  }
  if (op !== '<' && op !== '<=' && op !== '=') return undefined;
  const fields = (col?.ColumnRef?.fields ?? []) as PgNode[];
  const names = fields.map((f) => f.String?.sval);
  const column = names.length === 1 ? names[0] : names.length === 2 && alias !== undefined && names[0] === alias ? names[1] : undefined;
  if (typeof column !== 'string') return undefined;
  const value = k?.A_Const?.ival !== undefined ? BigInt(k.A_Const.ival.ival ?? 0) : k?.ParamRef ? { param: k.ParamRef.number as number } : undefined;
  if (value === undefined) return undefined;
  return { column, k: value, strict: op === '<' };
}

/**
 * Gives each top-k whose k is a parameter its value for this execution, or drops it (the
 * occurrence reads raw rows) when PostgreSQL did not type the parameter as an integer.
 * A NULL k keeps no row (`rn <= NULL` is never true).
 */
export function resolveTopKParams(occurrences: Array<{ topK?: TopK }>, params: ReadonlyArray<string | null>, paramTypes: readonly number[]): void {
  for (const occ of occurrences) {
    const m = occ.topK?.maxRank;
    if (m === undefined || typeof m === 'bigint') continue;
    if ('reach' in m) {
      const rows = cutRows(m, params, paramTypes);
      if (rows === undefined) occ.topK = undefined;
      else occ.topK!.maxRank = rows + m.reach;
      continue;
    }
    const k = integerParam(m.param, params, paramTypes);
    if (k === undefined) occ.topK = undefined;
    else occ.topK!.maxRank = k === null ? 0n : m.strict ? k - 1n : k;
  }
}

/** The ClickHouse clause keeping only the candidates (after the cold query's WHERE). */
export function topKQualifySql(k: TopK): string {
  const max = typeof k.maxRank === 'bigint' ? k.maxRank : 0n;
  const partition = k.partitionBy ? `PARTITION BY ${k.partitionBy} ` : '';
  return ` QUALIFY ${k.fn}() OVER (${partition}ORDER BY ${k.orderBy}) <= ${max < 0n ? 0n : max}`;
}
