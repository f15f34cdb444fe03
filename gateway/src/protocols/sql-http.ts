import type { Pool } from 'pg';
import { BadRequestError, GatewayError, GATEWAY_ERROR_CODES } from '../errors';

/**
 * /v1/sql runs one statement through an injected backend and returns JSON. The default
 * backend runs it on PostgreSQL; the proxy's tier-aware QueryEngine
 * (proxy/src/engine/contract.ts) plugs in through `queryEngineBackend`, so HTTP reads get
 * the same routing as the wire protocol.
 */

export interface SqlField {
  name: string;
  typeOid: number;
}
export interface SqlResult {
  fields: SqlField[];
  rows: unknown[][];
}
/** `(sql, params) => {fields, rows}`. Errors carrying `sqlState` reach the client. */
export type SqlExecutor = (sql: string, params: unknown[]) => Promise<SqlResult>;

/** The QueryEngine shape from proxy/src/engine/contract.ts, restated so gateway does not import the proxy. */
export interface QueryEngineLike {
  execute(
    stmt: { sql: string; params: Array<string | null>; paramTypes: number[] },
    session: { user: string; database: string; settings: ReadonlyMap<string, string>; inTransaction: boolean },
    signal?: AbortSignal,
    /** The PostgreSQL session to run in (the proxy's HotSession), opaque here. */
    hot?: unknown,
  ): Promise<{ fields: Array<{ name: string; typeOid: number }>; rows: AsyncIterable<Array<string | null>>; commandTag(): string }>;
}

export type SqlBackend = SqlExecutor | { engine: QueryEngineLike; user?: string; database?: string; hot?: unknown };

export function postgresExecutor(pool: Pool): SqlExecutor {
  return async (sql, params) => {
    // rowMode array keeps duplicate column names; values come back parsed by `pg` (numbers, Dates, objects).
    const r = await pool.query({ text: sql, values: params, rowMode: 'array' });
    return { fields: r.fields.map((f) => ({ name: f.name, typeOid: f.dataTypeID })), rows: r.rows as unknown[][] };
  };
}

export function queryEngineExecutor(backend: { engine: QueryEngineLike; user?: string; database?: string; hot?: unknown }): SqlExecutor {
  return async (sql, params) => {
    const result = await backend.engine.execute(
      { sql, params: params.map((p) => (p === null || p === undefined ? null : typeof p === 'object' ? JSON.stringify(p) : String(p))), paramTypes: params.map(() => 0) },
      { user: backend.user ?? 'gateway', database: backend.database ?? 'strata', settings: new Map([['strata.route', 'auto']]), inTransaction: false },
      undefined,
      backend.hot,
    );
    const rows: unknown[][] = [];
    for await (const row of result.rows) rows.push(row);
    return { fields: result.fields.map((f) => ({ name: f.name, typeOid: f.typeOid })), rows };
  };
}

export function sqlExecutorOf(backend: SqlBackend): SqlExecutor {
  return typeof backend === 'function' ? backend : queryEngineExecutor(backend);
}

export function parseSqlRequest(body: unknown): { sql: string; params: unknown[] } {
  const b = body as { sql?: unknown; query?: unknown; params?: unknown } | null;
  const sql = b?.sql ?? b?.query;
  if (typeof sql !== 'string' || sql.trim() === '') throw new BadRequestError('expected {"sql": "<statement>", "params": [...]}');
  if (b?.params !== undefined && !Array.isArray(b.params)) throw new BadRequestError('params must be an array');
  return { sql, params: (b?.params as unknown[] | undefined) ?? [] };
}

/** A statement error from the database: 400 with its SQLSTATE (its message names objects, not row values). */
export class SqlStatementError extends GatewayError {
  constructor(
    readonly sqlState: string,
    message: string,
  ) {
    super(GATEWAY_ERROR_CODES.badRequest, 400, message);
  }
}

export function toSqlError(err: unknown): GatewayError | undefined {
  const e = err as { code?: unknown; sqlState?: unknown; message?: unknown };
  const state = typeof e.sqlState === 'string' ? e.sqlState : typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : undefined;
  if (!state || state.startsWith('08') || state.startsWith('57') || state.startsWith('53')) return undefined;
  return new SqlStatementError(state, typeof e.message === 'string' ? e.message : 'statement failed');
}
