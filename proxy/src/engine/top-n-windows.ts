import type { PgNode } from '../router/sql-parser';
import { FRAME_OPTIONS as FRAME, windowOfCall } from '../router/window-frame';
import { funcName } from '../translate/ast';
import { AGGREGATES } from './aggregate-calls';

/**
 * Window functions a top-N (top-n.ts) may keep, and how far past the cut they make it
 * read. ClickHouse's cut keeps every row up to the (n + m)-th in the cut keys' order and
 * every row tied with it on them (WITH TIES); PostgreSQL then computes each window over
 * hot rows and those. For every row it returns, a window must see the same rows as over
 * every row — the rows before it in the statement's order (all in the cut), its peers on
 * the cut keys (all kept), and, for a window that reads *later* rows, a bounded number of
 * them: its `reach`.
 *
 * A window orders either **with the statement** (its ORDER BY starts with the cut's keys,
 * same direction and NULL placement) or **against it** (those keys reversed: direction and
 * NULL placement). "Before in the window" is then "before in the cut" or "after in the
 * cut". What it reads past the current row in the cut's order:
 *
 * |                             | with the statement       | against it                                  |
 * |-----------------------------|--------------------------|---------------------------------------------|
 * | lag(x, k)                   | 0                        | k                                           |
 * | lead(x, k)                  | k                        | 0                                           |
 * | row_number, rank, dense_rank| 0                        | every later row: row_number and rank are offset by the cold rows the read leaves out (left-out-offsets.ts); dense_rank refused |
 * | frame ending CURRENT ROW / j PRECEDING | 0             | its start: k for ROWS from k PRECEDING, 0 from CURRENT ROW or FOLLOWING; from UNBOUNDED PRECEDING count(*), count(x) and integer sum(x) are offset like row_number (left-out-offsets.ts), the rest refused, as is a RANGE/GROUPS offset |
 * | frame ending j FOLLOWING    | j for ROWS; refused for a RANGE/GROUPS offset | as above                    |
 * | frame ending UNBOUNDED FOLLOWING | refused             | as above                                    |
 *
 * (offsets: integer literals ≥ 0; frames: first_value, last_value, nth_value and the
 * built-in aggregates; ntile, percent_rank and cume_dist count the whole partition, which
 * misses the rows the read leaves out, either way: offset by them, left-out-offsets.ts.)
 * "The latest rows, each with its change" —
 *   `SELECT time, v - lag(v) OVER (ORDER BY time) … ORDER BY time DESC LIMIT 100` —
 * reaches 1; a centred moving average over the first page of a range —
 *   `avg(v) OVER (ORDER BY time ROWS BETWEEN 2 PRECEDING AND 2 FOLLOWING) … ORDER BY time LIMIT 100` —
 * reaches 2. A tie group at the cut can be of any size, so a cut with reach k becomes
 * "through the (n + m)-th row's ties, then k more rows and their ties": the engine has
 * ClickHouse count the first part (the cut itself) before reading (cold-rows.ts).
 *
 * PARTITION BY: a window that reads no row past the current one (reach 0) may partition
 * by anything — the rows it reads are a subset of those before the current row in the
 * cut's order, all in the cut. A window with reach k is over one partition (no PARTITION
 * BY, or one by columns the WHERE fixes: `host = 'h1'` or `= $1`, `IS NULL`), or its
 * PARTITION BY is of plain columns (partition-keys.ts): a partition's next k rows can lie
 * anywhere past the cut, so the cut becomes per partition — each partition's first
 * n + m + k rows, ties kept (`partitionedBy`; top-k.ts's topKOfPartitionedTopN). A named
 * window (WINDOW w AS …) is resolved first, as PostgreSQL resolves it. More order keys after the cut's are fine
 * (they order rows tied on the cut keys, all of which are kept); fewer make the cut on as
 * many keys (a window ordered by time alone keeps each instant's rows whole: its peers). Aggregates without OVER and
 * subqueries are refused by the caller's checks as before.
 */
const FRAME_FUNCTIONS = new Set(['first_value', 'last_value', 'nth_value']);
const RANKING = new Set(['row_number', 'rank', 'dense_rank']);

/** How a window's ORDER BY starts: with how many of the cut's keys as they are, and how many reversed (top-n.ts). */
export interface LeadingKeys {
  same: number;
  reversed: number;
}

/** What the caller (top-n.ts) knows of the statement: how a window's ORDER BY starts, and whether its PARTITION BY is one partition. */
export interface CutContext {
  leadingKeys(order: PgNode[]): LeadingKeys;
  onePartition(partitionBy: PgNode[]): boolean;
  /** Whether ClickHouse can rank within these partitions (partition-keys.ts). */
  partitionable(partitionBy: PgNode[]): boolean;
  /** Whether a call ordered against the statement, or with it, is offset by the rows the read leaves out (left-out-offsets.ts). */
  offsetOf(f: PgNode, over: PgNode, against: boolean): boolean;
}

/** The cut windows allow: on how many keys (Infinity: no window), and how many rows past it they read (0: none). */
export interface WindowCut {
  keys: number;
  reach: bigint;
  /** The PARTITION BY items of windows with reach over more than one partition: the cut is then per partition, on all of them (empty: one cut). */
  partitionedBy: PgNode[];
  /** How many calls are offset by the cold rows the read leaves out (left-out-offsets.ts). */
  offsets: number;
}

/**
 * The cut every window function in `nodes` allows (see above); keys 0 at the first that
 * allows none, or at a subquery. `nodes` and `windowClause` (which `OVER w` names) come
 * from a SELECT whose references to named windows are inlined (withWindowRefsInlined:
 * the rule PostgreSQL resolves `OVER (w …)` by, kept in one place).
 */
export function cutForWindows(nodes: PgNode, context: CutContext, windowClause?: readonly PgNode[]): WindowCut {
  const cut: WindowCut = { keys: Infinity, reach: 0n, partitionedBy: [], offsets: 0 };
  const visit = (n: PgNode): void => {
    if (cut.keys === 0 || n === null || typeof n !== 'object') return;
    if (Array.isArray(n)) return n.forEach(visit);
    if (n.SubLink) {
      cut.keys = 0;
      return;
    }
    if (n.FuncCall?.over) {
      const over = windowOfCall(n.FuncCall.over, windowClause);
      const one = over ? windowCut(n.FuncCall, over, context) : NONE;
      cut.keys = Math.min(cut.keys, one.keys);
      if (one.reach > cut.reach) cut.reach = one.reach;
      cut.partitionedBy.push(...one.partitionedBy);
      cut.offsets += one.offsets;
    }
    for (const v of Object.values(n)) visit(v);
  };
  visit(nodes);
  return cut;
}

const NONE: WindowCut = { keys: 0, reach: 0n, partitionedBy: [], offsets: 0 };

function windowCut(f: PgNode, over: PgNode, context: CutContext): WindowCut {
  const leading = context.leadingKeys((over.orderClause ?? []) as PgNode[]);
  const against = leading.same === 0;
  const keys = against ? leading.reversed : leading.same;
  const fn = funcName(f) ?? '';
  const by = (over.partitionClause ?? []) as PgNode[];
  const onePartition = by.length === 0 || context.onePartition(by);
  if (keys > 0 && context.offsetOf(f, over, against)) return { keys, reach: 0n, partitionedBy: [], offsets: 1 };
  const reach = keys > 0 ? reachOf(fn, f.args ?? [], over, against) : undefined;
  if (reach === undefined) return NONE;
  if (reach === 0n || onePartition) return { keys, reach, partitionedBy: [], offsets: 0 };
  return context.partitionable(by) ? { keys, reach, partitionedBy: by, offsets: 0 } : NONE;
}

/** Rows past the current one, in the cut's order, that the window function reads; undefined: unbounded or unknown. */
function reachOf(fn: string, args: PgNode[], over: PgNode, against: boolean): bigint | undefined {
  if (fn === 'lag' || fn === 'lead') {
    const k = args.length > 1 ? nonNegativeLiteral(args[1]) : 1n;
    if (k === undefined) return undefined;
    return (fn === 'lag') === against ? k : 0n;
  }
  if (RANKING.has(fn)) return against ? undefined : 0n;
  if (!FRAME_FUNCTIONS.has(fn) && !AGGREGATES.has(fn)) return undefined;
  const o: number = over.frameOptions ?? 0;
  const rows = (o & FRAME.rows) !== 0;
  if (!against) {
    // The frame's end, in the cut's order.
    if (o & (FRAME.endCurrentRow | FRAME.endOffsetPreceding)) return 0n;
    return o & FRAME.endOffsetFollowing && rows ? nonNegativeLiteral(over.endOffset) : undefined;
  }
  // Against the statement the frame's start (in the window's order) is the furthest row past the current one.
  if (o & (FRAME.startCurrentRow | FRAME.startOffsetFollowing)) return 0n;
  return o & FRAME.startOffsetPreceding && rows ? nonNegativeLiteral(over.startOffset) : undefined;
}

function nonNegativeLiteral(n: PgNode): bigint | undefined {
  const ival = n?.A_Const?.ival;
  if (ival === undefined) return undefined;
  const k = BigInt(ival.ival ?? 0);
  return k >= 0n ? k : undefined;
}
