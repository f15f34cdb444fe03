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
  const literal = bounds.map(isoLiteralInstant);
  if (literal.every((v) => v !== undefined)) return literal as Instant[];
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

/**
 * An ISO 8601 literal with its own UTC offset ('2026-08-19T11:39:00Z', as Grafana's
 * $__timeFilter writes them) is one instant whatever the session's TimeZone and
 * DateStyle, so a statement whose bounds are all such literals needs no round trip to
 * PostgreSQL for them (issue 14, item 5). Any other form — other layouts, a year before
 * 1000, fields PostgreSQL would roll over or refuse (24:00, second 60, February 30),
 * surrounding spaces — undefined: PostgreSQL evaluates it.
 */
const ISO_WITH_OFFSET = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(?:Z|([+-])(\d{2})(?::?(\d{2}))?)$/;

export function isoLiteralInstant(bound: PgNode): Instant | undefined {
  const text: unknown = bound?.A_Const?.sval?.sval;
  if (typeof text !== 'string') return undefined;
  const m = ISO_WITH_OFFSET.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = [1, 2, 3, 4, 5, 6, 9, 10].map((i) => Number(m[i] ?? 0));
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (year < 1000 || month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) return undefined;
  if (offsetHours > 15 || offsetMinutes > 59) return undefined;
  const offsetMs = (m[8] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second) - offsetMs;
  return BigInt(ms) * 1000n + BigInt((m[7] ?? '').padEnd(6, '0'));
}
