import type { Readable } from 'node:stream';
import type { ResultField } from './contract';
import type { Described, PortalRows } from './pg-extended-query';

/** PostgreSQL's transaction status (ReadyForQuery): idle, in a transaction block, failed. */
export type TxStatus = 'I' | 'T' | 'E';

export interface QueryResult {
  fields: ResultField[];
  /** PostgreSQL's text output, NULL as null. */
  rows: Array<Array<string | null>>;
  commandTag: string;
  /** A pipelined describe's parameter types (PipelinedStatement.describeOnly). */
  paramTypes?: number[];
}

export interface PipelinedStatement {
  sql: string;
  params?: ReadonlyArray<string | null>;
  paramTypes?: readonly number[];
  /** Describe it instead of running it: its result has `paramTypes` and `fields`, no rows. */
  describeOnly?: boolean;
}

/** `statements` in one round trip where the session can, else one by one. */
export async function runInOrder(hot: HotSession, statements: readonly PipelinedStatement[]): Promise<QueryResult[]> {
  if (hot.pipeline) return hot.pipeline(statements);
  const results: QueryResult[] = [];
  for (const s of statements) {
    if (s.describeOnly) {
      const d = await hot.describe(s.sql, s.paramTypes ?? []);
      results.push({ fields: d.fields, rows: [], commandTag: '', paramTypes: d.paramTypes });
    } else results.push(await hot.query(s.sql, s.params, s.paramTypes));
  }
  return results;
}

/**
 * The PostgreSQL session a tiered statement runs in. In the proxy it is the server
 * connection lent to the client (backend/session-channel.ts): the client's role,
 * database, settings, transaction and snapshot. Elsewhere (tests, the in-process corpus
 * run, the gateway's /v1/sql) a node-postgres client stands in (pg-hot-session.ts).
 *
 * The engine sends only extended-protocol messages (never a simple Query), so the
 * session's unnamed statement is the only thing it replaces.
 */
export interface HotSession {
  /** The transaction status before the engine's statement. */
  status(): TxStatus;
  /** One statement with text parameters, all rows (small results: catalog reads, bounds). */
  query(sql: string, params?: ReadonlyArray<string | null>, paramTypes?: readonly number[]): Promise<QueryResult>;
  /**
   * Statements run in order in one round trip (one Sync): the engine's fixed cost per
   * statement is mostly round trips (issue 14, item 5). The first failure skips the rest
   * and is thrown. Absent: `runInOrder` sends them one by one.
   */
  pipeline?(statements: readonly PipelinedStatement[]): Promise<QueryResult[]>;
  describe(sql: string, paramTypes: readonly number[]): Promise<Described>;
  /**
   * A running statement read a page at a time (rows in text format). `name`: a named
   * portal inside the client's transaction block, which survives between pages while
   * the connection serves the client's other statements.
   */
  openPortal(sql: string, params: ReadonlyArray<string | null>, paramTypes: readonly number[], pageRows: number, name?: string): Promise<PortalRows>;
  /** COPY … FROM STDIN fed from `source`; resolves with the rows copied. */
  copyIn(sql: string, source: Readable): Promise<number>;
  /**
   * COPY … TO STDOUT: the server's reply frames (CopyOutResponse, CopyData…, CopyDone,
   * CommandComplete) to relay as they are. Absent where there is no client wire.
   */
  copyOut?(sql: string, params: ReadonlyArray<string | null>, paramTypes: readonly number[]): AsyncIterable<Buffer>;
}
