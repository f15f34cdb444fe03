/**
 * The seam between the wire server (proxy/frontend, proxy/backend) and the tier-aware
 * query engine (proxy/router, proxy/translate, proxy/engine). The server asks the
 * router about every statement before it reaches PostgreSQL; statements the router
 * sends to the engine are answered by the engine, in PostgreSQL's shape (column names,
 * type OIDs, text values), and the server encodes them on the wire.
 */

import type { HotSession } from './hot-session';

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
  /** Answer with the tier-aware engine. */
  | { target: 'engine' };

/** Pure: no I/O. Called for every statement text (simple query string or Parse). */
export type Router = (sql: string, session: SessionContext) => Route;

/** Until the routing issue lands, everything goes to PostgreSQL. */
export const postgresOnlyRouter: Router = () => ({ target: 'postgres' });

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

/** One statement's answer. Values are PostgreSQL text-format output (NULL as null). */
export interface EngineResult {
  fields: ResultField[];
  /**
   * Reply frames to relay as PostgreSQL sent them, command completion included (COPY …
   * TO STDOUT); `rows` is then empty and `commandTag` unused.
   */
  raw?: AsyncIterable<Buffer>;
  /** Streamed so large cold results keep proxy memory bounded; the server awaits each row. */
  rows: AsyncIterable<Array<string | null>>;
  /** e.g. 'SELECT 42'; the engine counts rows as it streams and fills this at the end. */
  commandTag(): string;
}

export interface EngineStatement {
  sql: string;
  /** Parameter values in text format (the server converts binary parameters first). */
  params: Array<string | null>;
  /** Parameter type OIDs from Parse (0 = unspecified). */
  paramTypes: number[];
}

/**
 * `hot`: the PostgreSQL session to run in — in the proxy, the server connection lent to
 * the client (its role, database, settings, transaction). Without one the engine takes a
 * connection of its own pool, if it was given one (tests, benchmarks).
 */
export interface QueryEngine {
  /** For Describe: parameter types and result columns, without running the statement. */
  describe(stmt: Omit<EngineStatement, 'params'>, session: SessionContext, hot?: HotSession): Promise<{ paramTypes: number[]; fields: ResultField[] }>;
  execute(stmt: EngineStatement, session: SessionContext, signal?: AbortSignal, hot?: HotSession): Promise<EngineResult>;
}

/**
 * The only error the engine lets reach a client: it carries a SQLSTATE (e.g. 0A000
 * feature_not_supported naming the construct). Anything else becomes a generic
 * internal error on the wire and is logged.
 */
export class SqlStateError extends Error {
  constructor(
    readonly sqlState: string,
    message: string,
    readonly detail?: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SqlStateError';
  }
}
