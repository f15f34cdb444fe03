import type { PgNode } from '../router/sql-parser';
import { windowOfCall } from '../router/window-frame';
import { funcName } from '../translate/ast';
import { exprOf, replaceNode } from './sql-snippets';

/**
 * `row_number()` and `rank()` ordered against a top-N's statement — "the latest rows, each
 * with its position from the start of the range":
 *
 *   SELECT time, v, row_number() OVER (ORDER BY time) FROM t WHERE … ORDER BY time DESC LIMIT 10
 *
 * Each value counts every row before the current one in the window's order: rows *after*
 * it in the statement's, past any cut. But the rows the cold read leaves out are exactly
 * such rows, and all of them are before every returned row in the window's order: a
 * returned row is among the first n + m over both tiers, so at or before the cold cut's
 * last row on the cut keys, and a row left out is strictly past that row on those keys
 * (the cut keeps its ties) — hence strictly before in the window's order, whatever keys
 * it orders by after them, and never its peer. So over hot rows and the rows read
 * PostgreSQL's value is short by exactly the count of cold rows left out, for every
 * returned row: the call becomes `rank() OVER (…) + <that count>` (a bigint, as rank's),
 * its output column keeping the name PostgreSQL gives the call. The count is ClickHouse's
 * over the same generations as the read: rows in range minus rows read (cold-rows.ts's
 * countRowsLeftOut, beside the read).
 *
 * Not `dense_rank` (a hot row can share its key with a row left out: distinct keys do not
 * add up), and only over one partition (no PARTITION BY, or one the WHERE fixes: a count
 * per partition would be needed otherwise) — top-n-windows.ts refuses the rest.
 */
const OFFSET_BY_ROWS_LEFT_OUT = new Set(['row_number', 'rank']);

/** Whether a window function call ordered against the statement is one this module offsets. */
export function offsetByRowsLeftOut(fn: string): boolean {
  return OFFSET_BY_ROWS_LEFT_OUT.has(fn);
}

/**
 * The row_number()/rank() calls of a top-N's SELECT (its target list and ORDER BY) whose
 * window orders against the statement (`against`: on its resolved ORDER BY), as nodes of
 * the statement, to offset once the count is known. Names the output column of a call
 * that is one (`rank() OVER …` is PostgreSQL's column "rank"), so `… + n` keeps it. A call
 * over `OVER (w …)` or a window defined from another is skipped: the caller compares the
 * count with the windows it allowed and reads raw rows when they differ.
 */
export function rankingsAgainst(sel: PgNode, against: (order: PgNode[]) => boolean): PgNode[] {
  const found: PgNode[] = [];
  const visit = (n: PgNode): void => {
    if (n === null || typeof n !== 'object') return;
    if (Array.isArray(n)) return n.forEach(visit);
    const fn = n.FuncCall?.over ? funcName(n.FuncCall) : undefined;
    if (fn && offsetByRowsLeftOut(fn)) {
      const window = windowOfCall(n.FuncCall.over, sel.windowClause);
      if (window && !window.refname && against((window.orderClause ?? []) as PgNode[])) found.push(n);
    }
    for (const v of Object.values(n)) visit(v);
  };
  visit([sel.targetList, sel.sortClause]);
  for (const t of (sel.targetList ?? []) as PgNode[]) {
    const target = t.ResTarget;
    if (target && target.name === undefined && found.includes(target.val)) target.name = funcName(target.val.FuncCall);
  }
  return found;
}

/** Each call becomes `call + leftOut` (see above). */
export function offsetRankings(calls: readonly PgNode[], leftOut: bigint): void {
  for (const call of calls) {
    const original = { ...call };
    replaceNode(call, { A_Expr: { kind: 'AEXPR_OP', name: [{ String: { sval: '+' } }], lexpr: original, rexpr: exprOf(`${leftOut}::int8`) } });
  }
}
