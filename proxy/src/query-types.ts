/**
 * The bottom layer of the query path: types the router, the engine, the wire codecs and
 * the frontend all share. Imports nothing, so every layer may import it
 * (eslint.config.mjs keeps router/, translate/ and wire/ off the I/O modules).
 */

import type { RoutedPlan } from './router/routed-plan';

/** What the router may know about the client's session. */
export interface SessionContext {
  user: string;
  database: string;
  /**
   * The PostgreSQL role the session is (delegated auth): the engine reads a tiered table
   * only if that role has SELECT on it, as PostgreSQL checks on the relayed path.
   */
  role?: string;
  /**
   * Settings as PostgreSQL reports them (ParameterStatus: TimeZone, DateStyle,
   * server_version, …) plus Strata's own (`strata.route`: 'auto' | 'hot' | 'cold').
   */
  settings: ReadonlyMap<string, string>;
  /** True inside an explicit transaction block: reads then stay on PostgreSQL unless forced. */
  inTransaction: boolean;
}

/** Where one statement goes. */
export type Route =
  /**
   * Relay to PostgreSQL unchanged (the fast path: bytes are not re-encoded).
   * `catalogChange`: DDL of a view over a tiered table: re-read the catalog once it is done.
   */
  | { target: 'postgres'; catalogChange?: boolean }
  /** Answer with the tier-aware engine; `plan`: the statements as the router parsed and classified them. */
  | { target: 'engine'; plan?: RoutedPlan };

/** Pure: no I/O. Called for every statement text (simple query string or Parse). */
export type Router = (sql: string, session: SessionContext) => Route;

/** A result column as PostgreSQL's RowDescription would describe it. */
export interface ResultField {
  name: string;
  /** 0 when the column is not a plain table column. */
  tableOid: number;
  columnAttr: number;
  typeOid: number;
  typeSize: number;
  typeModifier: number;
}
