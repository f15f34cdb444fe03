import { Pool, types, type PoolClient } from 'pg';
import type { Logger } from 'pino';
import { BadRequestError, GatewayConfigError, SqlStatementError, type GatewayError } from '../errors';
import { checkReadStatement, loadStatementParser } from './sql-statement-check';

/**
 * /v1/sql: one reading statement per request, for holders of a SQL token (not an ingest
 * token), run as a PostgreSQL role of its own that may only read, in a transaction that
 * is always rolled back. Statements on tiered tables go through the proxy's tier engine in
 * that same transaction, so both tiers are read as that role. docs/security.md
 * ("Gateway: the SQL API") says what each fence stops.
 */

export interface SqlField {
  name: string;
  typeOid: number;
}
export interface SqlResult {
  fields: SqlField[];
  rows: unknown[][];
}

/** The QueryEngine shape from proxy/src/engine/contract.ts, restated so gateway does not import the proxy. */
export interface QueryEngineLike {
  execute(
    stmt: { sql: string; params: Array<string | null>; paramTypes: number[] },
    session: { user: string; database: string; role?: string; settings: ReadonlyMap<string, string>; inTransaction: boolean },
    signal?: AbortSignal,
    /** The PostgreSQL session to run in (the proxy's HotSession), opaque here. */
    hot?: unknown,
  ): Promise<{ fields: Array<{ name: string; typeOid: number }>; rows: AsyncIterable<Array<string | null>>; commandTag(): string }>;
}

/** The proxy's tier engine and router, as whoever builds the gateway wires them (gateway/src/main.ts). */
export interface SqlTierEngine {
  engine: QueryEngineLike;
  /**
   * The proxy's router: whether a statement reads a tiered table ('engine') or not (after
   * a catalog re-read in flight, when PostgreSQL notified a change of views or tables).
   */
  route(sql: string): 'engine' | 'postgres' | Promise<'engine' | 'postgres'>;
  /**
   * The engine's session over this client, which is inside a transaction block (the
   * proxy's `pgHotSession(client, true)`), and what to call once the statement is done.
   */
  hotSession(client: PoolClient): { session: unknown; done(): void };
}

export interface SqlApiConfig {
  /** Bearer tokens that may query /v1/sql (and nothing else). At least 16 characters, none an ingest token. */
  tokens: string[];
  /**
   * PostgreSQL as the role statements run as: one with CONNECT on the database, USAGE on
   * its schemas and SELECT on its tables, nothing more. The gateway refuses to start if
   * the role can write (checkReadOnlyRole).
   */
  pgUrl: string;
  /** The tier engine; without it statements read PostgreSQL only (the hot tier). */
  engine?: SqlTierEngine;
  /** statement_timeout of each statement, ms. Default 30 s. */
  statementTimeoutMs?: number;
  /** Connections as the SQL role. Default 4: requests beyond wait for one. */
  poolSize?: number;
}

export const SQL_API_DEFAULTS = { statementTimeoutMs: 30_000, poolSize: 4 } as const;

export interface ResolvedSqlApiConfig {
  tokens: string[];
  pgUrl: string;
  engine?: SqlTierEngine;
  statementTimeoutMs: number;
  poolSize: number;
}

export function resolveSqlApiConfig(config: SqlApiConfig, ingestTokens: readonly string[]): ResolvedSqlApiConfig {
  const tokens = config.tokens.filter((t) => t.length > 0);
  if (tokens.length === 0) throw new GatewayConfigError('the SQL API needs at least one SQL token (STRATA_GATEWAY_SQL_TOKENS)');
  for (const t of tokens) if (t.length < 16) throw new GatewayConfigError('SQL tokens must be at least 16 characters');
  if (tokens.some((t) => ingestTokens.includes(t))) throw new GatewayConfigError('a token is both an ingest token and a SQL token: give /v1/sql tokens of its own');
  if (!config.pgUrl) throw new GatewayConfigError('the SQL API needs its own PostgreSQL role (STRATA_GATEWAY_SQL_PG_URL)');
  const statementTimeoutMs = config.statementTimeoutMs ?? SQL_API_DEFAULTS.statementTimeoutMs;
  if (!Number.isInteger(statementTimeoutMs) || statementTimeoutMs < 1) throw new GatewayConfigError('the SQL API statement timeout must be a positive integer (ms)');
  const poolSize = config.poolSize ?? SQL_API_DEFAULTS.poolSize;
  if (!Number.isInteger(poolSize) || poolSize < 1) throw new GatewayConfigError('the SQL API pool size must be a positive integer');
  return { tokens, pgUrl: config.pgUrl, engine: config.engine, statementTimeoutMs, poolSize };
}

export function parseSqlRequest(body: unknown): { sql: string; params: unknown[] } {
  const b = body as { sql?: unknown; query?: unknown; params?: unknown } | null;
  const sql = b?.sql ?? b?.query;
  if (typeof sql !== 'string' || sql.trim() === '') throw new BadRequestError('expected {"sql": "<statement>", "params": [...]}');
  if (b?.params !== undefined && !Array.isArray(b.params)) throw new BadRequestError('params must be an array');
  return { sql, params: (b?.params as unknown[] | undefined) ?? [] };
}

/**
 * Why the role cannot be the SQL API's, or [] when it only reads. Strata's own schema is
 * left out: every role may insert tombstones into strata.cold_deletes, which row-level
 * security limits to tables the role may delete from.
 */
const WRITE_CAPABILITIES_SQL = `
SELECT reason FROM (
  SELECT 1 AS o, 'is a superuser' AS reason FROM pg_roles WHERE rolname = current_user AND rolsuper
  UNION ALL SELECT 2, 'may create roles' FROM pg_roles WHERE rolname = current_user AND rolcreaterole
  UNION ALL SELECT 2, 'may create databases' FROM pg_roles WHERE rolname = current_user AND rolcreatedb
  UNION ALL SELECT 3, format('is a member of %s', g) FROM unnest(ARRAY['pg_write_all_data', 'pg_write_server_files', 'pg_execute_server_program', 'pg_signal_backend']) AS g
             WHERE to_regrole(g) IS NOT NULL AND pg_has_role(current_user, g, 'USAGE')
  UNION ALL SELECT 4, format('may CREATE in database %s', current_database()) WHERE has_database_privilege(current_database(), 'CREATE')
  UNION ALL SELECT 4, format('may CREATE in schema %s', nspname) FROM pg_namespace
             WHERE nspname NOT LIKE 'pg\\_temp\\_%' AND nspname NOT LIKE 'pg\\_toast%' AND has_schema_privilege(oid, 'CREATE')
  UNION ALL SELECT 5, format('may %s on %s.%s', p, n.nspname, c.relname)
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace CROSS JOIN unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS p
             WHERE c.relkind IN ('r', 'p', 'v', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'strata')
               AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast%'
               AND CASE WHEN p IN ('INSERT', 'UPDATE') THEN has_any_column_privilege(c.oid, p) ELSE has_table_privilege(c.oid, p) END
  UNION ALL SELECT 5, format('may use sequence %s.%s', n.nspname, c.relname)
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'strata')
               AND (has_sequence_privilege(c.oid, 'USAGE') OR has_sequence_privilege(c.oid, 'UPDATE'))
) r ORDER BY o LIMIT 5`;

/** Throws GatewayConfigError naming what the role may do beyond reading. */
export async function checkReadOnlyRole(pool: Pool): Promise<void> {
  const r = await pool.query<{ reason: string }>(WRITE_CAPABILITIES_SQL);
  if (r.rows.length === 0) return;
  const who = (await pool.query<{ u: string }>('SELECT current_user AS u')).rows[0].u;
  throw new GatewayConfigError(
    `the SQL API's PostgreSQL role ${who} can do more than read: it ${r.rows.map((x) => x.reason).join('; ')}. ` +
      'Give STRATA_GATEWAY_SQL_PG_URL a role that only reads (docs/security.md, "Gateway: the SQL API")',
  );
}

/** PostgreSQL's text output as node-postgres parses it, so a row reads the same whichever path answered it. */
function parseText(typeOid: number): (v: string) => unknown {
  return types.getTypeParser(typeOid, 'text') as (v: string) => unknown;
}

export interface SqlApi {
  run(sql: string, params: unknown[]): Promise<SqlResult>;
  close(): Promise<void>;
}

export async function openSqlApi(cfg: ResolvedSqlApiConfig, logger: Logger): Promise<SqlApi> {
  await loadStatementParser();
  const pool = new Pool({ connectionString: cfg.pgUrl, max: cfg.poolSize, application_name: 'strata-gateway-sql' });
  pool.on('error', (err) => logger.warn({ err: { name: err.name, code: (err as { code?: unknown }).code } }, 'idle SQL API connection closed'));
  try {
    await checkReadOnlyRole(pool);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  const database = new URL(cfg.pgUrl).pathname.slice(1) || 'postgres';

  async function inTransaction(client: PoolClient, sql: string, params: unknown[]): Promise<SqlResult> {
    const engine = (await cfg.engine?.route(sql)) === 'engine' ? cfg.engine : undefined;
    // READ ONLY for the tier engine too: there it binds cold rows as parameters instead of
    // staging them in temporary tables (proxy/src/engine/inline-cold-rows.ts).
    const begun = (await client.query(
      `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL statement_timeout = ${cfg.statementTimeoutMs}; SELECT current_user`,
    )) as unknown as Array<{ rows: Array<{ current_user: string }> }>;
    if (!engine) {
      const r = await client.query({ text: sql, values: params, rowMode: 'array' });
      return { fields: r.fields.map((f) => ({ name: f.name, typeOid: f.dataTypeID })), rows: r.rows as unknown[][] };
    }
    // The role, for the engine's own privilege check of cold-only tables (no PostgreSQL table to check).
    const role = begun[2].rows[0].current_user;
    const hot = engine.hotSession(client);
    try {
      const result = await engine.engine.execute(
        { sql, params: params.map(textParam), paramTypes: params.map(() => 0) },
        { user: role, database, role, settings: new Map([['strata.route', 'auto']]), inTransaction: true },
        undefined,
        hot.session,
      );
      const parsers = result.fields.map((f) => parseText(f.typeOid));
      const rows: unknown[][] = [];
      for await (const row of result.rows) rows.push(row.map((v, i) => (v === null ? null : parsers[i](v))));
      return { fields: result.fields.map((f) => ({ name: f.name, typeOid: f.typeOid })), rows };
    } finally {
      hot.done();
    }
  }

  return {
    async run(sql, params) {
      checkReadStatement(sql);
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        return await inTransaction(client, sql, params);
      } catch (err) {
        throw toSqlError(err) ?? err;
      } finally {
        // Nothing a statement did is kept: the transaction is rolled back, and DISCARD ALL
        // drops what outlives a rollback (session advisory locks, prepared statements).
        try {
          await client.query('ROLLBACK');
          await client.query('DISCARD ALL');
        } catch (err) {
          broken = err as Error;
        }
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

function textParam(p: unknown): string | null {
  if (p === null || p === undefined) return null;
  return typeof p === 'object' ? JSON.stringify(p) : String(p);
}

/**
 * A statement's own failure (it carries a SQLSTATE): 400/403 with it. Connection loss
 * (08), resources (53) and operator intervention (57, but for the statement timeout's
 * 57014) are the gateway's to report as 5xx.
 */
export function toSqlError(err: unknown): GatewayError | undefined {
  if (err instanceof SqlStatementError) return err;
  const e = err as { code?: unknown; sqlState?: unknown; message?: unknown };
  const state = typeof e.sqlState === 'string' ? e.sqlState : typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : undefined;
  if (!state || state.startsWith('08') || state.startsWith('53') || (state.startsWith('57') && state !== '57014')) return undefined;
  return new SqlStatementError(state, typeof e.message === 'string' ? e.message : 'statement failed');
}
