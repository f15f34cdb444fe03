import { deparseStatement, type PgNode } from '../router/sql-parser';
import { instantFromEpochText, type Instant } from '../translate/instant';
import { SqlStateError } from './contract';
import type { HotSession } from './hot-session';
import { selectOf } from './sql-snippets';

/**
 * The statement's time bounds as PostgreSQL evaluates them, in this transaction and
 * session (so '2026-01-04' is read in the session time zone, now() is the statement's,
 * and $n has the value and type the client bound).
 */
export async function evaluateTimeBounds(hot: HotSession, bounds: PgNode[], params: ReadonlyArray<string | null>, paramTypes: readonly number[]): Promise<Instant[]> {
  if (bounds.length === 0) return [];
  const sel = selectOf('SELECT ' + bounds.map(() => 'extract(epoch FROM (NULL)::timestamptz)::text').join(', '));
  bounds.forEach((b, i) => {
    // TypeCast(FuncCall extract(epoch, TypeCast(NULL → timestamptz)) → text)
    sel.targetList[i].ResTarget.val.TypeCast.arg.FuncCall.args[1].TypeCast.arg = structuredClone(b);
  });
  const r = await hot.query(deparseStatement({ SelectStmt: sel }), params, paramTypes);
  return r.rows[0].map((v) => {
    if (v === null) throw new SqlStateError('22004', 'a time bound of this statement is NULL');
    return instantFromEpochText(v);
  });
}
