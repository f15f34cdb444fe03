/**
 * The seam between the wire server (proxy/frontend, proxy/backend) and the tier-aware
 * query engine (proxy/router, proxy/translate, proxy/engine). The server asks the
 * router about every statement before it reaches PostgreSQL; statements the router
 * sends to the engine are answered by the engine, in PostgreSQL's shape (column names,
 * type OIDs, text values), and the server encodes them on the wire.
 */

import type { ResultField, Router, SessionContext } from '../query-types';
import type { HotSession } from './hot-session';
import type { RoutedPlan } from '../router/routed-plan';

// The types the router and the wire share with the engine live in the bottom layer.
export type { ResultField, Route, Router, SessionContext } from '../query-types';

/** Until the routing issue lands, everything goes to PostgreSQL. */
export const postgresOnlyRouter: Router = () => ({ target: 'postgres' });

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
  /**
   * The same rows as PostgreSQL's DataRow messages in text format, a page at a time, for
   * a consumer that relays them unchanged (decoding and re-encoding every value cost the
   * proxy ~2 µs a row: engine-runner.ts). Read either `rows` or this, never both.
   */
  rowFrames?: AsyncIterable<Buffer[]>;
  /** e.g. 'SELECT 42'; the engine counts rows as it streams and fills this at the end. */
  commandTag(): string;
  /**
   * The unread rows need the session's server held for them (a block of the engine's own,
   * outside the client's): the client's next other message ends them. False inside the
   * client's block, where the rows wait in a named portal and the server serves the
   * client's other statements meanwhile.
   */
  holdsSession?: boolean;
}

export interface EngineStatement {
  sql: string;
  /** Parameter values in text format (the server converts binary parameters first). */
  params: Array<string | null>;
  /** Parameter type OIDs from Parse (0 = unspecified). */
  paramTypes: number[];
  /** The statements as the router parsed and classified them (else the engine does it). */
  plan?: RoutedPlan;
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
