import { Client } from 'pg';
import type { QueryEngine, Router, SessionContext } from '@strata/proxy';
import type { ProxyApi } from './proxy-api';
import type { Outcome } from './compare';

/** Runs one corpus entry (one string, maybe several statements) and returns the last statement's outcome. */
export interface CorpusRunner {
  run(sql: string): Promise<Outcome>;
  close(): Promise<void>;
}

/** node-postgres types option: every value as PostgreSQL's text output. */
export const RAW_TEXT = { getTypeParser: () => (v: string) => v };

export function errorOutcome(err: unknown): Outcome {
  const e = err as { code?: string; sqlState?: string; message?: string };
  // SqlStateError (the engine) carries sqlState; node-pg's DatabaseError carries code.
  if (typeof e.sqlState === 'string') return { ok: false, code: e.sqlState, message: e.message ?? '' };
  return { ok: false, code: typeof e.code === 'string' ? e.code : 'XX000', message: e.message ?? String(err) };
}

/**
 * A real PostgreSQL client over the simple protocol, as psql and Grafana send panel
 * queries: the reference database directly, or a Strata proxy URL.
 */
export async function connectClientRunner(url: string): Promise<CorpusRunner> {
  const client = new Client({ connectionString: url, types: RAW_TEXT });
  await client.connect();
  return {
    run: (sql) => simpleQuery(client, sql).catch(errorOutcome),
    close: () => client.end(),
  };
}

/** One simple Query message (maybe several statements): the last statement's outcome; throws the server's error. */
export async function simpleQuery(client: Client, sql: string): Promise<Outcome> {
  const r = await client.query({ text: sql, rowMode: 'array' });
  const last = Array.isArray(r) ? r[r.length - 1] : r;
  return {
    ok: true,
    fields: (last.fields ?? []).map((f: { name: string; dataTypeID: number }) => ({ name: f.name, typeOid: f.dataTypeID })),
    rows: (last.rows ?? []) as Array<Array<string | null>>,
  };
}

/**
 * What the wire server does, without the wire: each statement of the string goes
 * through the router; PostgreSQL-bound ones run on the client's own session (SETs
 * then update the session's settings, as ParameterStatus would), engine-bound ones
 * through QueryEngine.execute.
 */
export async function connectEngineRunner(url: string, router: Router, engine: QueryEngine, api: Pick<ProxyApi, 'parseStatements'>): Promise<CorpusRunner> {
  const client = new Client({ connectionString: url, types: RAW_TEXT });
  await client.connect();
  const settings = new Map<string, string>();
  const refreshSettings = async () => {
    const r = await client.query<{ tz: string; ds: string; is: string }>(
      "SELECT current_setting('TimeZone') AS tz, current_setting('DateStyle') AS ds, current_setting('IntervalStyle') AS is",
    );
    settings.set('TimeZone', r.rows[0].tz);
    settings.set('DateStyle', r.rows[0].ds);
    settings.set('IntervalStyle', r.rows[0].is);
  };
  await refreshSettings();
  // The router leaves a same-named table of another database alone: the session's must be the catalog's.
  const database = (await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0].db;
  const session: SessionContext = { user: 'postgres', database, settings, inTransaction: false };
  return {
    async run(sql) {
      let last: Outcome = { ok: true, fields: [], rows: [] };
      try {
        for (const s of api.parseStatements(sql)) {
          if (router(s.text, session).target === 'postgres') {
            const r = await client.query({ text: s.text, rowMode: 'array' });
            last = {
              ok: true,
              fields: r.fields.map((f: { name: string; dataTypeID: number }) => ({ name: f.name, typeOid: f.dataTypeID })),
              rows: r.rows as Array<Array<string | null>>,
            };
            if (s.stmt.VariableSetStmt) await refreshSettings();
            continue;
          }
          const result = await engine.execute({ sql: s.text, params: [], paramTypes: [] }, session);
          const rows: Array<Array<string | null>> = [];
          for await (const row of result.rows) rows.push(row);
          last = { ok: true, fields: result.fields.map((f) => ({ name: f.name, typeOid: f.typeOid })), rows };
        }
        return last;
      } catch (err) {
        return errorOutcome(err);
      }
    },
    close: () => client.end(),
  };
}
