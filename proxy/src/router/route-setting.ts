import type { SessionContext } from '../query-types';
import type { PgNode } from './sql-parser';

/** `SET strata.route = …`: where a session's reads of tiered tables go. */
export const ROUTE_SETTING = 'strata.route';
export const ROUTE_MODES = ['auto', 'hot', 'cold'] as const;
export type RouteMode = (typeof ROUTE_MODES)[number];

export function routeMode(session: Pick<SessionContext, 'settings'>): RouteMode {
  const v = session.settings.get(ROUTE_SETTING)?.trim().toLowerCase();
  return (ROUTE_MODES as readonly string[]).includes(v ?? '') ? (v as RouteMode) : 'auto';
}

/**
 * The value a `SET [SESSION|LOCAL] strata.route …` / `RESET strata.route` statement
 * sets, for the server to keep in SessionContext.settings (PostgreSQL accepts the
 * placeholder setting but reports no ParameterStatus for it). undefined: not such a
 * statement. Throws RangeError for a value that is not a route mode.
 */
export function routeSettingOf(stmt: PgNode): RouteMode | undefined {
  const set = stmt?.VariableSetStmt;
  if (!set || String(set.name).toLowerCase() !== ROUTE_SETTING) return undefined;
  if (set.kind === 'VAR_RESET' || set.kind === 'VAR_SET_DEFAULT') return 'auto';
  const arg = set.args?.[0]?.A_Const;
  const value = String(arg?.sval?.sval ?? '').toLowerCase();
  if (!(ROUTE_MODES as readonly string[]).includes(value)) {
    throw new RangeError(`invalid value for parameter "${ROUTE_SETTING}": "${value}" (expected auto, hot or cold)`);
  }
  return value as RouteMode;
}
