import type { PgNode } from '../router/sql-parser';
import { funcName } from '../translate/ast';
import { AGGREGATES } from './aggregate-calls';

/**
 * Window functions a top-N (top-n.ts) may keep: those whose value at a row depends only
 * on rows at or before it in the cut's order. The first page of a range with each row's
 * change since the one before it —
 *
 *   SELECT time, v, v - lag(v) OVER (ORDER BY time) … WHERE time >= $1 ORDER BY time LIMIT 1000
 *
 * — still needs only the first n + m rows of each tier. The cut keeps every row up to the
 * (n + m)-th in the cut keys' order and every row tied with it on them (WITH TIES), so it
 * holds every row at or before each returned row, its ties on those keys included;
 * PostgreSQL then computes each window over hot rows and candidates and sees, for every
 * row it returns, the same rows before it (and the same peers) as over every row.
 *
 * A window ordered the other way (the latest rows, `ORDER BY time DESC`, each with
 * `lag(v) OVER (ORDER BY time)`) looks past the cut, and by how many rows depends on the
 * ties there (a tie group at the cut can be any size): raw rows.
 *
 * Exact when every window function (target list and ORDER BY alike):
 * - is over one partition (no PARTITION BY: a partition's earlier rows could lie anywhere
 *   past the cut) and is spelled inline (no named window);
 * - orders by the cut keys first, each with its direction and NULL placement, so "before
 *   in the window" is "before or tied in the cut". More keys after them are fine (they
 *   only order rows tied on the cut keys, all of which are kept); fewer shorten the cut to
 *   as many keys (`ORDER BY time, n LIMIT 20` with `sum(n) OVER (ORDER BY time)` cuts on
 *   time alone, keeping each instant's rows whole: the window's peers);
 * - looks no later than the current row: its frame ends at CURRENT ROW (RANGE and GROUPS
 *   take its peers, all kept) or k PRECEDING, never FOLLOWING; EXCLUDE only narrows it;
 * - is row_number, rank, dense_rank, lag with no offset or a non-negative integer literal
 *   one (a negative offset looks forward), first_value, last_value, nth_value, or one of
 *   PostgreSQL's built-in aggregates. lead, ntile, percent_rank and cume_dist look past
 *   the row (or count every row of the partition) and keep the statement on raw rows.
 * Aggregates without OVER and subqueries are refused by the caller's checks as before.
 */
const LOOKING_BACK = new Set(['row_number', 'rank', 'dense_rank', 'lag', 'first_value', 'last_value', 'nth_value']);

/** PostgreSQL's FRAMEOPTION_ bits (parsenodes.h) that let a frame reach later rows. */
const FRAME_LOOKS_FORWARD = 0x00080 | 0x00100 | 0x02000 | 0x04000; // START/END UNBOUNDED FOLLOWING, START/END OFFSET FOLLOWING

/**
 * How many of the cut's keys every window function in `nodes` orders by first, each
 * looking back only (`leadingCutKeys` counts them for one window's ORDER BY: top-n.ts);
 * Infinity with no window, 0 at the first that looks forward or at a subquery. The cut
 * is then made on that many keys: its ties on them are each window's peers, all kept.
 */
export function cutKeysForWindows(nodes: PgNode, leadingCutKeys: (order: PgNode[]) => number): number {
  let keys = Infinity;
  const visit = (n: PgNode): void => {
    if (keys === 0 || n === null || typeof n !== 'object') return;
    if (Array.isArray(n)) return n.forEach(visit);
    if (n.SubLink) {
      keys = 0;
      return;
    }
    if (n.FuncCall?.over) keys = Math.min(keys, looksBack(n.FuncCall) ? leadingCutKeys((n.FuncCall.over.orderClause ?? []) as PgNode[]) : 0);
    for (const v of Object.values(n)) visit(v);
  };
  visit(nodes);
  return keys;
}

/** A window function that looks no later than the current row, over one partition, spelled inline. */
function looksBack(f: PgNode): boolean {
  const fn = (funcName(f) ?? '').toLowerCase();
  if (!LOOKING_BACK.has(fn) && !AGGREGATES.has(fn)) return false;
  const offset = f.args?.[1];
  if (fn === 'lag' && offset !== undefined && !(offset.A_Const?.ival !== undefined && (offset.A_Const.ival.ival ?? 0) >= 0)) return false;
  const over = f.over;
  if (over.name || over.refname || over.partitionClause?.length) return false;
  return ((over.frameOptions ?? 0) & FRAME_LOOKS_FORWARD) === 0;
}
