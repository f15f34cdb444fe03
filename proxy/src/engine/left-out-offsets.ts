import { pgLiteral } from '@strata/core';
import type { PgNode } from '../router/sql-parser';
import { FRAME_OPTIONS as FRAME, windowOfCall } from '../router/window-frame';
import { funcName } from '../translate/ast';
import { columnOf, type ColumnScope } from '../translate/column-scope';
import { partitionKeys, type PartitionKey } from './partition-keys';
import { exprOf, replaceNode } from './sql-snippets';

/**
 * Window functions in a top-N that count or add up rows past any cut: those ordered
 * against the statement that read every row before the current one — "the latest rows,
 * each with its position, or its running total, from the start of the range" — and those
 * that count their whole partition either way (percent_rank, cume_dist, ntile: below,
 * asDistribution):
 *
 *   SELECT time, v, row_number() OVER (ORDER BY time), sum(n) OVER (PARTITION BY host ORDER BY time)
 *     FROM t WHERE … ORDER BY time DESC LIMIT 10
 *
 * Each value reads every row before the current one in the window's order: rows *after*
 * it in the statement's, past any cut. But the rows the cold read leaves out are exactly
 * such rows, and all of them are before every returned row in the window's order: a
 * returned row is among the first n + m over both tiers, so at or before the cold cut's
 * last row on the cut keys, and a row left out is strictly past that row on those keys
 * (the cut keeps its ties) — hence strictly before in the window's order, whatever keys it
 * orders by after them, and never its peer. So over hot rows and the rows read,
 * PostgreSQL's value for a returned row misses exactly the left-out rows of its partition,
 * all of them, and adding their measure gives the value over every row:
 *
 * | call                                   | plus, of the partition's rows left out |
 * |----------------------------------------|----------------------------------------|
 * | row_number(), rank(), count(*)         | their number                           |
 * | count(x)                               | how many have x not NULL               |
 * | sum(x), x smallint/integer/bigint      | the sum of their x (NULL if none has one: the call's value stands) |
 * | avg(x), x smallint/integer/bigint      | rewritten as PostgreSQL computes it, the sum over the count, each offset |
 *
 * (aggregates: a frame from UNBOUNDED PRECEDING to CURRENT ROW or any FOLLOWING end —
 * PostgreSQL's default frame among them —, no FILTER or DISTINCT, x a plain column.)
 * Integer sums are exact in any order of addition; float sums are not (refused), nor is
 * `dense_rank` (a hot row can share a key with a row left out: distinct keys do not add
 * up), nor `avg` of floats or numerics. ClickHouse measures the left-out rows beside the
 * read, per partition, over the same generations (cold-rows.ts's measureInRange and
 * measureLeftOut: rows in range minus rows read; past maxOffsetPartitions partitions, raw
 * rows instead). A window
 * over one partition (no PARTITION BY, or one the WHERE fixes) adds one constant; one
 * partitioned by plain columns (partition-keys.ts) adds its partition's measure, looked up
 * by PostgreSQL's own equality (`IS NOT DISTINCT FROM`, the column's collation: a
 * nondeterministic one's partition sums ClickHouse's finer byte-equal ones). The call runs
 * as `coalesce(call + L, call, L)`, its output column keeping PostgreSQL's name.
 */
export type LeftOutMeasure = { kind: 'rows' } | { kind: 'count'; column: string } | { kind: 'sum'; column: string; pgType: 'int8' | 'numeric' };

/**
 * What a call is offset by: a measure; for avg(x) its sum's and count's, for percent_rank()
 * and cume_dist() their rank's or rows-so-far's (against the statement) and their
 * partition's row count's (either way) — expandOffsetCalls rewrites them into those.
 */
export type OffsetMeasure =
  | LeftOutMeasure
  | { kind: 'avg'; column: string; pgType: 'int8' | 'numeric' }
  | { kind: 'distribution'; fn: 'percent_rank' | 'cume_dist' | 'ntile'; against: boolean; buckets?: bigint };

/** How a call found in the statement is offset (offsetOf). */
export interface OffsetOf {
  measure: OffsetMeasure;
  partition: PartitionKey[];
  partitionBy: PgNode[];
}

/** A call to offset, found in the statement: what it adds of the rows left out, and per which partition. */
export interface OffsetCall {
  /** The call's node in the statement, replaced by its offset form (offsetCalls). */
  node: PgNode;
  /** The function of the call in the statement it comes from (for EXPLAIN): avg for its sum. */
  fn: string;
  measure: LeftOutMeasure;
  /** ClickHouse's partition keys (empty: one partition). */
  partition: PartitionKey[];
  /** The PARTITION BY items PostgreSQL compares a row's partition with, one per key of `partition`. */
  partitionBy: PgNode[];
}

/** The measures of the rows left out, per partition that has some: key texts as PostgreSQL reads them (null: NULL), then the measure. */
export type LeftOutRows = ReadonlyArray<{ key: ReadonlyArray<string | null>; value: string }>;

const RANKINGS = new Set(['row_number', 'rank']);
const DISTRIBUTIONS = new Set(['percent_rank', 'cume_dist', 'ntile']);
const SUMMED = new Map([
  ['int2', 'int8'],
  ['int4', 'int8'],
  ['int8', 'numeric'],
] as const);

/**
 * What a window function call ordered against the statement (`against`), or with it,
 * adds of the rows left out, and its partition, or undefined (the caller reads raw rows,
 * or, with the statement, looks at what the call reads past the cut: top-n-windows.ts).
 * `onePartition`: whether PARTITION BY items are held to one value by the WHERE.
 */
export function offsetOf(f: PgNode, over: PgNode, scope: ColumnScope, onePartition: (by: PgNode[]) => boolean, against: boolean): OffsetOf | undefined {
  const measure = measureOf(f, over, scope, against);
  if (!measure) return undefined;
  const by = (over.partitionClause ?? []) as PgNode[];
  if (by.length === 0 || onePartition(by)) return { measure, partition: [], partitionBy: [] };
  const partition = partitionKeys(by, scope);
  // One item per key (partitionKeys keeps a column once), in the keys' order.
  const items = partition?.map((k) => by.find((item) => columnOf(scope, item.ColumnRef) === k.column)!);
  return partition && items ? { measure, partition, partitionBy: items } : undefined;
}

function measureOf(f: PgNode, over: PgNode, scope: ColumnScope, against: boolean): OffsetMeasure | undefined {
  const fn = funcName(f) ?? '';
  const args = (f.args ?? []) as PgNode[];
  // Their partition's row count counts every row of it, whichever way the window orders.
  if (fn === 'ntile') {
    // A positive integer literal (else PostgreSQL's own answer or error, from raw rows).
    const k = args.length === 1 ? args[0]?.A_Const?.ival : undefined;
    const buckets = k === undefined ? 0n : BigInt(k.ival ?? 0);
    return buckets > 0n ? { kind: 'distribution', fn, against, buckets } : undefined;
  }
  if (DISTRIBUTIONS.has(fn)) return args.length === 0 ? { kind: 'distribution', fn: fn as 'percent_rank', against } : undefined;
  if (!against) return undefined;
  if (RANKINGS.has(fn)) return args.length === 0 ? { kind: 'rows' } : undefined;
  if (f.agg_filter || f.agg_distinct || f.agg_order?.length || !fromPartitionStart(over.frameOptions ?? 0)) return undefined;
  if (fn === 'count' && f.agg_star) return { kind: 'rows' };
  const column = args.length === 1 && args[0]?.ColumnRef ? columnOf(scope, args[0].ColumnRef) : undefined;
  const kind = scope.relation.columns.find((c) => c.name === column)?.kind;
  if (!column || !kind) return undefined;
  if (fn === 'count') return { kind: 'count', column };
  const pgType = fn === 'sum' || fn === 'avg' ? SUMMED.get(kind as 'int2') : undefined;
  return pgType ? { kind: fn as 'sum' | 'avg', column, pgType } : undefined;
}

/** A frame holding every row of the partition before the current one (in the window's order) and its peers: from UNBOUNDED PRECEDING to CURRENT ROW or past it. */
function fromPartitionStart(o: number): boolean {
  const start = (o & FRAME.nondefault) === 0 || (o & FRAME.startUnboundedPreceding) !== 0;
  const end = (o & FRAME.between) === 0 || (o & (FRAME.endCurrentRow | FRAME.endOffsetFollowing | FRAME.endUnboundedFollowing)) !== 0;
  return start && end;
}

/** A call found in the statement that offsetOf takes, before expandOffsetCalls rewrites it. */
export interface FoundCall extends OffsetOf {
  node: PgNode;
  fn: string;
  /** Its window, resolved (a WINDOW clause's definition inlined). */
  window: PgNode;
}

/**
 * The calls of a top-N's SELECT (its target list and ORDER BY) whose window orders against
 * the statement or with it (`direction`: on its resolved ORDER BY) and that offsetOf takes,
 * as nodes of the statement. A call over `OVER (w …)` or a window defined from another is
 * skipped: the caller compares how many it found with the windows it allowed and reads raw
 * rows when they differ. Changes nothing: expandOffsetCalls does, once the top-N is kept.
 */
export function findOffsetCalls(
  sel: PgNode,
  direction: (order: PgNode[]) => 'with' | 'against' | undefined,
  offsetOf: (f: PgNode, over: PgNode, against: boolean) => OffsetOf | undefined,
): FoundCall[] {
  const found: FoundCall[] = [];
  const visit = (n: PgNode): void => {
    if (n === null || typeof n !== 'object') return;
    if (Array.isArray(n)) return n.forEach(visit);
    if (n.FuncCall?.over) {
      const window = windowOfCall(n.FuncCall.over, sel.windowClause);
      const way = window && !window.refname ? direction((window.orderClause ?? []) as PgNode[]) : undefined;
      const offset = way ? offsetOf(n.FuncCall, window, way === 'against') : undefined;
      if (offset) return void found.push({ node: n, fn: funcName(n.FuncCall) ?? '', window, ...offset });
    }
    for (const v of Object.values(n)) visit(v);
  };
  visit([sel.targetList, sel.sortClause]);
  return found;
}

/**
 * The found calls as calls to offset, in `sel`: each call that is an output column is
 * named (`rank() OVER …` is PostgreSQL's column "rank"), so its offset form keeps the
 * name; avg, percent_rank, cume_dist and ntile become the formulas PostgreSQL computes them
 * by (asAverage, asDistribution), whose parts are the calls to offset.
 */
export function expandOffsetCalls(sel: PgNode, found: readonly FoundCall[]): OffsetCall[] {
  for (const t of (sel.targetList ?? []) as PgNode[]) {
    const target = t.ResTarget;
    const call = target && target.name === undefined ? found.find((c) => c.node === target.val) : undefined;
    if (call) target.name = call.fn;
  }
  return found.flatMap(({ node, fn, window, measure, partition, partitionBy }) => {
    const of = { fn, partition, partitionBy };
    if (measure.kind === 'distribution') return asDistribution(node, window, measure, of);
    if (measure.kind === 'avg') return asAverage(node, measure, of);
    return [{ node, measure, ...of }];
  });
}

/** The part of an OffsetCall its expansion shares with the call it comes from. */
type CallOf = Pick<OffsetCall, 'fn' | 'partition' | 'partitionBy'>;

/**
 * avg(x) of an integer becomes what PostgreSQL computes it as, `CASE WHEN count(x) = 0
 * THEN NULL ELSE sum(x)::numeric / count(x)::numeric END` over the same window
 * (numeric_div of the sum by the count: int8_avg, numeric_poly_avg), its sum and counts
 * each offset.
 */
function asAverage(n: PgNode, measure: { column: string; pgType: 'int8' | 'numeric' }, of: CallOf): OffsetCall[] {
  const call = (name: string) => ({ FuncCall: { ...structuredClone(n.FuncCall), funcname: [{ String: { sval: name } }] } });
  const parts = [call('sum'), call('count'), call('count')];
  replaceNode(n, exprOf(`CASE WHEN ${AVG_COUNT} = 0 THEN NULL ELSE ${AVG_SUM}::numeric / ${AVG_COUNT}_again::numeric END`));
  const [sum, count, again] = placeholders(n, [AVG_SUM, AVG_COUNT, `${AVG_COUNT}_again`], parts);
  const counted = { kind: 'count', column: measure.column } as const;
  return [
    { node: sum, measure: { kind: 'sum', column: measure.column, pgType: measure.pgType }, ...of },
    { node: count, measure: counted, ...of },
    { node: again, measure: counted, ...of },
  ];
}

/**
 * percent_rank(), cume_dist() and ntile(k) become what PostgreSQL computes them as, over
 * the same partition and order (window_percent_rank, window_cume_dist, window_ntile):
 *   percent_rank: CASE WHEN total <= 1 THEN 0 ELSE (rank - 1)::float8 / (total - 1)::float8 END
 *   cume_dist:    rows_so_far::float8 / total::float8
 *   ntile(k):     the bucket of row_number() among total rows (below)
 * with rank = rank() OVER (PARTITION BY p ORDER BY o), rows_so_far = count(*) OVER (the
 * same, default frame: the rows before and the peers), total = count(*) OVER (PARTITION BY
 * p), row_number() over the window for ntile's row. Ordered with the statement, the rank,
 * rows so far and row number are PostgreSQL's own over the cut (every row before a
 * returned row is in it); the total misses the partition's rows
 * left out, either way: each is offset by their number. Returns the calls to offset.
 */
function asDistribution(n: PgNode, window: PgNode, measure: { fn: 'percent_rank' | 'cume_dist' | 'ntile'; against: boolean; buckets?: bigint }, of: CallOf): OffsetCall[] {
  const windowed = (call: string, ordered: boolean) => {
    const e = exprOf(`${call} OVER ()`);
    if (window.partitionClause?.length) e.FuncCall.over.partitionClause = structuredClone(window.partitionClause);
    if (ordered && window.orderClause?.length) e.FuncCall.over.orderClause = structuredClone(window.orderClause);
    return e;
  };
  const rows = { kind: 'rows' } as const;
  const offset = (node: PgNode): OffsetCall => ({ node, measure: rows, ...of });
  if (measure.fn === 'percent_rank') {
    replaceNode(n, exprOf(`CASE WHEN ${TOTAL} <= 1 THEN 0::float8 ELSE (${RANK} - 1)::float8 / (${TOTAL}_again - 1)::float8 END`));
    const [total, rank, again] = placeholders(n, [TOTAL, RANK, `${TOTAL}_again`], [windowed('count(*)', false), windowed('rank()', true), windowed('count(*)', false)]);
    return [offset(total), offset(again), ...(measure.against ? [offset(rank)] : [])];
  }
  if (measure.fn === 'ntile') {
    // window_ntile: N rows in k buckets, the first N % k of N / k + 1 rows, the rest of N / k
    // (N < k: a row each), filled in order — row i's bucket in closed form. Each N and i a
    // call of its own (N1…N7, i1…i3), each offset.
    const k = `${measure.buckets}::int8`;
    const N = (j: number) => `${TOTAL}_${j}`;
    const i = (j: number) => `${POSITION}_${j}`;
    const sql =
      `(CASE WHEN ${i(1)} <= (${N(1)} % ${k}) * (${N(2)} / ${k} + 1) THEN (${i(2)} - 1) / (${N(3)} / ${k} + 1) + 1` +
      ` ELSE (${N(4)} % ${k}) + (${i(3)} - 1 - (${N(5)} % ${k}) * (${N(6)} / ${k} + 1)) / NULLIF(${N(7)} / ${k}, 0) + 1 END)::int4`;
    replaceNode(n, exprOf(sql));
    const totals = [1, 2, 3, 4, 5, 6, 7].map(N);
    const positions = [1, 2, 3].map(i);
    const placed = placeholders(n, [...totals, ...positions], [...totals.map(() => windowed('count(*)', false)), ...positions.map(() => windowed('row_number()', true))]);
    return [...placed.slice(0, totals.length).map(offset), ...(measure.against ? placed.slice(totals.length).map(offset) : [])];
  }
  replaceNode(n, exprOf(`${SO_FAR}::float8 / ${TOTAL}::float8`));
  const [soFar, total] = placeholders(n, [SO_FAR, TOTAL], [windowed('count(*)', true), windowed('count(*)', false)]);
  return [offset(total), ...(measure.against ? [offset(soFar)] : [])];
}

const TOTAL = '_strata_partition_rows';
const RANK = '_strata_rank';
const SO_FAR = '_strata_rows_so_far';
const POSITION = '_strata_position';
const AVG_SUM = '_strata_avg_sum';
const AVG_COUNT = '_strata_avg_count';

/** Puts `nodes` in place of the column references named `names` in `expr` (each once), returning the nodes as they are in it. */
function placeholders(expr: PgNode, names: string[], nodes: PgNode[]): PgNode[] {
  const placed: PgNode[] = [];
  const visit = (n: PgNode): void => {
    if (n === null || typeof n !== 'object') return;
    if (Array.isArray(n)) return n.forEach(visit);
    const field = n.ColumnRef?.fields?.length === 1 ? n.ColumnRef.fields[0].String?.sval : undefined;
    const i = field === undefined ? -1 : names.indexOf(field);
    if (i >= 0) {
      replaceNode(n, nodes[i]);
      placed[i] = n;
      return;
    }
    for (const v of Object.values(n)) visit(v);
  };
  visit(expr);
  return placed;
}

/**
 * Each call becomes `coalesce(call + L, call, L)`: L its partition's measure of the rows
 * left out (`leftOut`, ClickHouse's; absent partitions had none left out), a constant over
 * one partition, else looked up by the row's PARTITION BY values.
 */
export function offsetCalls(calls: readonly OffsetCall[], leftOut: (call: OffsetCall) => LeftOutRows, columnType: (column: string) => string): void {
  for (const call of calls) {
    const rows = leftOut(call);
    const type = call.measure.kind === 'sum' ? call.measure.pgType : 'int8';
    const lookup = call.partition.length === 0 ? exprOf(typedLiteral(rows[0]?.value ?? null, type)) : partitionLookup(call, rows, type, columnType);
    const original = { ...call.node };
    const plus = { A_Expr: { kind: 'AEXPR_OP', name: [{ String: { sval: '+' } }], lexpr: original, rexpr: lookup } };
    replaceNode(call.node, { CoalesceExpr: { args: [plus, structuredClone(original), structuredClone(lookup)] } });
  }
}

const LOOKUP = '_strata_left_out';

/** `'v'::t`, or `NULL::t`. */
function typedLiteral(v: string | null, t: string): string {
  return v === null ? `NULL::${t}` : `${pgLiteral(v)}::${t}`;
}

/**
 * `(SELECT sum(n)::<type> FROM (VALUES (k…, n), …) AS _strata_left_out (k0…, n) WHERE ROW(k…) IS
 * NOT DISTINCT FROM ROW(<PARTITION BY items>))`: NULL where the partition had none left
 * out; a sum, not the one value, where several of ClickHouse's byte-equal partitions are
 * one of PostgreSQL's (a nondeterministic collation). Keys are typed as their columns (a
 * float key as float8: ClickHouse's equality key of a real is that value widened).
 */
function partitionLookup(call: OffsetCall, rows: LeftOutRows, type: string, columnType: (column: string) => string): PgNode {
  if (rows.length === 0) return exprOf(`NULL::${type}`);
  const keyTypes = call.partition.map((k) => (k.float ? 'float8' : columnType(k.column)));
  const values = rows.map((r) => `(${[...r.key.map((k, i) => typedLiteral(k, keyTypes[i])), typedLiteral(r.value, type)].join(', ')})`);
  const columns = call.partition.map((_, i) => `k${i}`);
  const names = call.partition.map((_, i) => `${LOOKUP}_p${i}`);
  const lookup = exprOf(
    `(SELECT sum(${LOOKUP}.n)::${type} FROM (VALUES ${values.join(', ')}) AS ${LOOKUP} (${columns.join(', ')}, n)` +
      ` WHERE ROW(${columns.map((n) => `${LOOKUP}.${n}`).join(', ')}) IS NOT DISTINCT FROM ROW(${names.join(', ')}))`,
  );
  // The placeholders become the window's own PARTITION BY items, which name the statement's columns.
  placeholders(lookup, names, call.partitionBy.map((item) => structuredClone(item)));
  return lookup;
}

/** The calls as EXPLAIN names them: `row_number, sum per partition`. */
export function offsetCallsText(calls: readonly OffsetCall[]): string {
  return [...new Set(calls.map((c) => `${c.fn}${c.partition.length > 0 ? ' per partition' : ''}`))].join(', ');
}
