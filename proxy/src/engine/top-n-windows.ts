import type { PgNode } from '../router/sql-parser';
import { funcName } from '../translate/ast';
import { AGGREGATES } from './aggregate-calls';

/**
 * Window functions a top-N (top-n.ts) may keep, and how far past the cut they make it
 * read. ClickHouse's cut keeps every row up to the (n + m)-th in the cut keys' order and
 * every row tied with it on them (WITH TIES); PostgreSQL then computes each window over
 * hot rows and those. For every row it returns, a window must see the same rows as over
 * every row:
 *
 * - **Ordered with the statement** (its ORDER BY starts with the cut's keys, same
 *   direction and NULL placement), looking no later than the current row — the first page
 *   of a range with each row's change since the one before,
 *     `SELECT time, v - lag(v) OVER (ORDER BY time) … ORDER BY time LIMIT 1000` —
 *   it reads only rows at or before the returned ones and their peers on the cut keys:
 *   all in the cut. Any frame ending at CURRENT ROW (RANGE and GROUPS take the peers) or
 *   k PRECEDING; row_number, rank, dense_rank, lag (no offset or a literal ≥ 0),
 *   first_value, last_value, nth_value, or a built-in aggregate.
 * - **Ordered against it** (the cut's keys reversed: direction and NULL placement) and
 *   looking back a bounded number of rows — the latest rows, each with its change,
 *     `SELECT time, v - lag(v) OVER (ORDER BY time) … ORDER BY time DESC LIMIT 100` —
 *   it reads up to k rows past the last returned row's peers: lag with a literal offset
 *   k (1 when left out), or a ROWS frame from k PRECEDING (a literal) to CURRENT ROW or
 *   j PRECEDING. A tie group at the cut can be of any size, so the cut becomes "through
 *   the (n + m)-th row's ties, then k more rows and their ties": the engine counts the
 *   first part in ClickHouse (the same cut, counted) before reading (`lookBack`,
 *   cold-rows.ts). Ranking and unbounded frames count every later row: raw rows.
 *
 * Every window is over one partition — no PARTITION BY (a partition's rows could lie
 * anywhere past the cut), or one by columns the WHERE fixes (`host = 'h1'` or `= $1`, `IS
 * NULL`: every row it keeps is in one partition) — and is spelled inline (no named window). More order keys after the cut's are fine
 * (they order rows tied on the cut keys, all of which are kept); fewer make the cut on as
 * many keys (a window ordered by time alone keeps each instant's rows whole: its peers).
 * lead, ntile, percent_rank, cume_dist and frames reaching FOLLOWING rows read raw rows.
 * Aggregates without OVER and subqueries are refused by the caller's checks as before.
 */
const LOOKING_BACK = new Set(['row_number', 'rank', 'dense_rank', 'lag', 'first_value', 'last_value', 'nth_value']);

/** PostgreSQL's FRAMEOPTION_ bits (parsenodes.h). */
const FRAME = {
  rows: 0x00004,
  /** START/END UNBOUNDED FOLLOWING, START/END OFFSET FOLLOWING: the frame reaches later rows. */
  looksForward: 0x00080 | 0x00100 | 0x02000 | 0x04000,
  startCurrentRow: 0x00200,
  startOffsetPreceding: 0x00800,
} as const;

/** How a window's ORDER BY starts: with how many of the cut's keys as they are, and how many reversed (top-n.ts). */
export interface LeadingKeys {
  same: number;
  reversed: number;
}

/** The cut windows allow: on how many keys (Infinity: no window), and how many rows past it they look back (0: none). */
export interface WindowCut {
  keys: number;
  lookBack: bigint;
}

/** What the caller (top-n.ts) knows of the statement: how a window's ORDER BY starts, and whether its PARTITION BY is one partition. */
export interface CutContext {
  leadingKeys(order: PgNode[]): LeadingKeys;
  onePartition(partitionBy: PgNode[]): boolean;
}

/** The cut every window function in `nodes` allows (see above); keys 0 at the first that allows none, or at a subquery. */
export function cutForWindows(nodes: PgNode, context: CutContext): WindowCut {
  const cut: WindowCut = { keys: Infinity, lookBack: 0n };
  const visit = (n: PgNode): void => {
    if (cut.keys === 0 || n === null || typeof n !== 'object') return;
    if (Array.isArray(n)) return n.forEach(visit);
    if (n.SubLink) {
      cut.keys = 0;
      return;
    }
    if (n.FuncCall?.over) {
      const one = windowCut(n.FuncCall, context);
      cut.keys = Math.min(cut.keys, one.keys);
      if (one.lookBack > cut.lookBack) cut.lookBack = one.lookBack;
    }
    for (const v of Object.values(n)) visit(v);
  };
  visit(nodes);
  return cut;
}

function windowCut(f: PgNode, context: CutContext): WindowCut {
  const none = { keys: 0, lookBack: 0n };
  const over = f.over;
  if (over.name || over.refname || ((over.frameOptions ?? 0) & FRAME.looksForward) !== 0) return none;
  if (over.partitionClause?.length && !context.onePartition(over.partitionClause)) return none;
  const leading = context.leadingKeys((over.orderClause ?? []) as PgNode[]);
  const fn = funcName(f) ?? '';
  if (!LOOKING_BACK.has(fn) && !AGGREGATES.has(fn)) return none;
  const offset = fn === 'lag' ? (f.args?.length > 1 ? nonNegativeLiteral(f.args[1]) : 1n) : undefined;
  if (fn === 'lag' && offset === undefined) return none;
  if (leading.same > 0) return { keys: leading.same, lookBack: 0n };
  const back = offset ?? rowsFrameLookBack(fn, over);
  return leading.reversed > 0 && back !== undefined ? { keys: leading.reversed, lookBack: back } : none;
}

/** How many rows before the current one a ROWS frame from k PRECEDING (or CURRENT ROW) reaches; undefined otherwise (ranking ignores frames). */
function rowsFrameLookBack(fn: string, over: PgNode): bigint | undefined {
  const o: number = over.frameOptions ?? 0;
  if (fn === 'row_number' || fn === 'rank' || fn === 'dense_rank' || (o & FRAME.rows) === 0) return undefined;
  if (o & FRAME.startCurrentRow) return 0n;
  return o & FRAME.startOffsetPreceding ? nonNegativeLiteral(over.startOffset) : undefined;
}

function nonNegativeLiteral(n: PgNode): bigint | undefined {
  const ival = n?.A_Const?.ival;
  if (ival === undefined) return undefined;
  const k = BigInt(ival.ival ?? 0);
  return k >= 0n ? k : undefined;
}
