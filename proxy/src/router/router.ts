import type { Route, Router, SessionContext } from '../query-types';
import type { CatalogSnapshot } from './catalog-snapshot';
import { SqlParseError, type PgNode } from './sql-parser';
import { routedPlan, type RoutedPlan } from './routed-plan';
import { classifyTiered } from './tiered-statement';
import { expandViews } from './view-expansion';
import { routeMode } from './route-setting';

const POSTGRES: Route = { target: 'postgres' };
const POSTGRES_CATALOG_CHANGE: Route = { target: 'postgres', catalogChange: true };

/**
 * Does the engine answer this statement? Every statement that reads (or modifies) a
 * tiered table in one of the ways tiered-statement.ts lists, in the catalog's database.
 */
export function readsTieredTable(stmt: PgNode, snapshot: CatalogSnapshot): boolean {
  return classifyTiered(expandViews(stmt, snapshot), snapshot) !== undefined;
}

/**
 * The router: pure, synchronous, cached by statement text (parseStatements caches
 * parse trees; decisions are cheap walks over them). Anything the parser rejects goes
 * to PostgreSQL, which reports the syntax error in its own words.
 */
export function createRouter(snapshot: CatalogSnapshot): Router {
  const decisions = new Map<string, RoutedPlan | false | 'ddl'>();
  // A statement can only read a tiered table if its text names one, so most of a
  // client's traffic (OLTP statements with literals, each text new to the cache) is
  // relayed without a parse. Case-insensitive: unquoted names fold to lower case, and
  // tiered table names are lower-case identifiers (core's model requires it).
  const names = [snapshot.tables.map((t) => t.table), snapshot.views ?? [], snapshot.matviews ?? [], snapshot.lockedViews ?? []]
    .flat()
    .map((n) => (typeof n === 'string' ? n : n.name).toLowerCase());
  const mayName = (sql: string) => {
    if (names.length === 0) return false;
    const lower = sql.toLowerCase();
    return names.some((n) => lower.includes(n)) || lower.includes('u&');
  };
  return (sql: string, session: SessionContext): Route => {
    // Tiered tables live in one database: a same-named table elsewhere is an ordinary one.
    if (!mayName(sql) || (snapshot.database !== undefined && session.database !== snapshot.database)) return POSTGRES;
    let tiered = decisions.get(sql);
    if (tiered === undefined) {
      try {
        const plan = routedPlan(sql, snapshot);
        tiered = plan.statements.some((s) => s.tiered) ? plan : plan.statements.some((s) => changesViews(s.tree)) ? 'ddl' : false;
      } catch (err) {
        if (!(err instanceof SqlParseError)) throw err;
        tiered = false;
      }
      decisions.set(sql, tiered);
      if (decisions.size > 4096) decisions.delete(decisions.keys().next().value as string);
    }
    if (tiered === 'ddl') return POSTGRES_CATALOG_CHANGE;
    if (!tiered) return POSTGRES;
    // The engine runs in the client's session (its transaction and snapshot), so reads
    // inside a transaction block see both tiers too; only `strata.route = 'hot'` pins
    // PostgreSQL alone.
    return routeMode(session) === 'hot' ? POSTGRES : { target: 'engine', plan: tiered };
  };
}

/** CREATE / ALTER / DROP of a view: which views read tiered tables may have changed. */
function changesViews(stmt: PgNode): boolean {
  if (stmt?.ViewStmt) return true;
  const kind = stmt?.DropStmt?.removeType ?? stmt?.RenameStmt?.renameType ?? stmt?.AlterTableStmt?.objtype;
  return kind === 'OBJECT_VIEW';
}
