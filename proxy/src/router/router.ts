import type { Route, Router, SessionContext } from '../engine/contract';
import type { CatalogSnapshot } from './catalog-snapshot';
import { parseStatements, SqlParseError, type PgNode } from './sql-parser';
import { findTieredRefs, hasWrites } from './tiered-refs';
import { routeMode } from './route-setting';

const POSTGRES: Route = { target: 'postgres' };
const ENGINE: Route = { target: 'engine' };

/**
 * Does this statement read a tiered table in a way the engine answers? Only plain
 * reads: SELECT (not SELECT INTO, not FOR UPDATE, no data-modifying WITH) and EXPLAIN
 * of one. Writes to tiered tables go to PostgreSQL, the hot tier, as they are.
 */
export function readsTieredTable(stmt: PgNode, snapshot: CatalogSnapshot): boolean {
  const target = stmt?.ExplainStmt ? stmt.ExplainStmt.query : stmt;
  const select = target?.SelectStmt;
  if (!select) return false;
  if (select.intoClause || (select.lockingClause?.length ?? 0) > 0) return false;
  if (hasWrites(target)) return false;
  return findTieredRefs(target, snapshot).length > 0;
}

/**
 * The router: pure, synchronous, cached by statement text (parseStatements caches
 * parse trees; decisions are cheap walks over them). Anything the parser rejects goes
 * to PostgreSQL, which reports the syntax error in its own words.
 */
export function createRouter(snapshot: CatalogSnapshot): Router {
  const decisions = new Map<string, boolean>();
  // A statement can only read a tiered table if its text names one, so most of a
  // client's traffic (OLTP statements with literals, each text new to the cache) is
  // relayed without a parse. Case-insensitive: unquoted names fold to lower case, and
  // tiered table names are lower-case identifiers (core's model requires it).
  const names = snapshot.tables.map((t) => t.table.toLowerCase());
  const mayName = (sql: string) => {
    if (names.length === 0) return false;
    const lower = sql.toLowerCase();
    return names.some((n) => lower.includes(n)) || lower.includes('u&');
  };
  return (sql: string, session: SessionContext): Route => {
    if (!mayName(sql)) return POSTGRES;
    let tiered = decisions.get(sql);
    if (tiered === undefined) {
      try {
        tiered = parseStatements(sql).some((s) => readsTieredTable(s.stmt, snapshot));
      } catch (err) {
        if (!(err instanceof SqlParseError)) throw err;
        tiered = false;
      }
      decisions.set(sql, tiered);
      if (decisions.size > 4096) decisions.delete(decisions.keys().next().value as string);
    }
    if (!tiered) return POSTGRES;
    const mode = routeMode(session);
    if (mode === 'hot') return POSTGRES;
    if (mode === 'cold') return ENGINE;
    // Inside a transaction block the client expects its own snapshot and locks:
    // PostgreSQL answers (rows already moved below W are not seen there).
    return session.inTransaction ? POSTGRES : ENGINE;
  };
}
