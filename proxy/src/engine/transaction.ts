import { pgIdent } from '@strata/core';
import type { SessionContext } from './contract';
import { SqlStateError } from './contract';
import type { EngineContext } from './engine-context';
import { runInOrder, type HotSession, type PipelinedStatement, type QueryResult } from './hot-session';
import { withLeadingStatements } from './leading-statements';
import type { PortalRows } from './pg-extended-query';
import { pgHotSession } from './pg-hot-session';

/**
 * Where one statement runs: the client's session. Outside a transaction block the engine
 * opens its own (REPEATABLE READ: W, the committed generation and the hot rows in one
 * snapshot) and commits it when the statement is done, as autocommit would; inside the
 * client's block it works in that block, and leaves it aborted if it fails, as
 * PostgreSQL would.
 */
export interface Transaction {
  hot: HotSession;
  /** The engine opened the block (the client was not in one). */
  own: boolean;
  /** The session's TimeZone is UTC (calendar buckets are then UTC-aligned). */
  utc: boolean;
  /** READ COMMITTED in the client's block: a new snapshot per statement (see core's tier-read-lock.ts). */
  readCommitted: boolean;
  /**
   * No temporary table may be created — a READ ONLY block (or a standby), or a role without
   * the TEMPORARY privilege on the database (a hardened database revokes it from PUBLIC):
   * cold rows travel as array parameters, and hot rows are not pre-aggregated.
   */
  noTempTables: boolean;
  /** Temporary tables to drop when the statement is done (inside the client's block). */
  temps: string[];
  /**
   * Ends the block where it is the engine's (COMMIT when `ok`, else ROLLBACK); in the
   * client's, drops the statement's temporary tables, or aborts the block on failure.
   * `portal`: the statement's result, closed first — with the COMMIT in the same round
   * trip where the session can (PortalRows.closeWith). A failed COMMIT is thrown.
   */
  end(ok: boolean, portal?: PortalRows): Promise<void>;
}

export const UTC_ZONES = /^(utc|uct|gmt|gmt0|zulu|universal|greenwich|etc\/(utc|uct|gmt|gmt0|gmt[+-]0|zulu|universal|greenwich)|utc0|z|[+-]?00(:00)?)$/i;

/**
 * The session to run in: the caller's, or a connection of the engine's own pool
 * (released by `done`), which then takes the session's settings and role for the block.
 */
export async function sessionFor(
  ctx: EngineContext,
  hot: HotSession | undefined,
  session: SessionContext,
): Promise<{ hot: HotSession; done: (broken: boolean) => Promise<void>; settings?: SessionContext }> {
  if (hot) return { hot, done: async () => undefined };
  if (!ctx.opts.hot) throw new SqlStateError('XX000', 'the tier engine was given no PostgreSQL session');
  const client = await ctx.opts.hot.connect();
  const hotSession = pgHotSession(client);
  return {
    hot: hotSession,
    // A SET in a multi-statement string lasts for the client's session; a pooled
    // connection is no one's session, so the next caller must not inherit it.
    done: async (broken) => {
      if (!broken) await client.query('RESET ALL').catch(() => (broken = true));
      hotSession.detach();
      client.release(broken);
    },
    settings: session,
  };
}

/**
 * The statement's transaction: the client's block, or (outside one) a block of the
 * engine's own at `isolation` — REPEATABLE READ for reads (one snapshot, no lock), READ
 * COMMITTED for a lone DELETE / TRUNCATE (which then takes the tier read lock).
 *
 * Outside a block nothing is sent here: BEGIN, the session's settings and the read of
 * the transaction's settings go ahead of the statement's first round trip (its describe
 * and tier states, statement-tables.ts), through `tx.hot` (leading-statements.ts).
 */
export async function begin(
  hot: HotSession,
  settingsOf?: SessionContext,
  isolation: 'REPEATABLE READ' | 'READ COMMITTED' = 'REPEATABLE READ',
  statementTimeoutMs = 0,
): Promise<Transaction> {
  const status = hot.status();
  if (status === 'E') throw new SqlStateError('25P02', 'current transaction is aborted, commands ignored until end of transaction block');
  const own = status === 'I';
  // The engine's default statement timeout, for its own block only and only where the
  // session has none (set_config(…, true) lasts until COMMIT), with the same read.
  const defaultTimeout = own && statementTimeoutMs > 0;
  const readSettings: PipelinedStatement = {
    sql:
      "SELECT current_setting('TimeZone'), current_setting('transaction_isolation'), current_setting('transaction_read_only'), has_database_privilege(current_database(), 'TEMPORARY')::text" +
      (defaultTimeout ? ", CASE WHEN current_setting('statement_timeout') = '0' THEN set_config('statement_timeout', $1, true) END" : ''),
    params: defaultTimeout ? [`${statementTimeoutMs}ms`] : [],
  };
  let read: { utc: boolean; noTempTables: boolean } | undefined;
  const settingsRead = (results: QueryResult[]) => {
    // After the session's settings, its role among them: the privilege is the client's role's.
    const [tz, isolationNow, readOnly, temporary] = results[results.length - 1].rows[0];
    read = { utc: UTC_ZONES.test(tz ?? ''), noTempTables: readOnly === 'on' || temporary !== 'true' };
    tx.readCommitted = isolationNow === 'read committed';
  };
  // A read before the settings have come back would be a wrong answer, not a slow one.
  const settingOf = (name: 'utc' | 'noTempTables'): boolean => {
    if (!read) throw new SqlStateError('XX000', `the transaction's ${name} setting was used before it was read`);
    return read[name];
  };
  const tx: Transaction = {
    hot,
    own,
    get utc() {
      return settingOf('utc');
    },
    set utc(v: boolean) {
      settingOf('utc');
      read!.utc = v;
    },
    // Known before the read in a block of the engine's own (the tier read lock depends on it).
    readCommitted: own && isolation === 'READ COMMITTED',
    get noTempTables() {
      return settingOf('noTempTables');
    },
    temps: [],
    end: async (ok, portal) => {
      if (own) {
        if (ok && portal?.closeWith && hot.status() === 'T') return portal.closeWith('COMMIT');
        await portal?.close().catch(() => undefined);
        // Idle: the block was never opened (nothing was sent) or has ended already.
        if (hot.status() !== 'I') await hot.query(ok && hot.status() === 'T' ? 'COMMIT' : 'ROLLBACK');
        return;
      }
      await portal?.close().catch(() => undefined);
      if (ok && tx.temps.length > 0) await hot.query(`DROP TABLE ${tx.temps.map((t) => `pg_temp.${pgIdent(t)}`).join(', ')}`);
      // An error of the engine's own (a refusal, the cold tier failing) ends the client's
      // block as PostgreSQL's errors do: the client must roll back, never go on as if the
      // statement had run.
      if (!ok && hot.status() === 'T') await hot.query('SELECT 1/0').catch(() => undefined);
    },
  };
  if (own) {
    tx.hot = withLeadingStatements(hot, [{ sql: `BEGIN ISOLATION LEVEL ${isolation}` }, ...(settingsOf ? sessionSettingsStatements(settingsOf) : []), readSettings], settingsRead, 'T');
    return tx;
  }
  try {
    settingsRead(await runInOrder(hot, [readSettings]));
    return tx;
  } catch (err) {
    await tx.end(false).catch(() => undefined);
    throw err;
  }
}

/** Settings that change how PostgreSQL reads or prints values (a pooled connection takes the session's). */
const SESSION_SETTINGS = ['TimeZone', 'DateStyle', 'IntervalStyle', 'extra_float_digits', 'search_path', 'bytea_output'];

/** For the engine's own connections: the session's settings, and its role, for this block only. */
function sessionSettingsStatements(session: SessionContext): PipelinedStatement[] {
  const pairs: Array<[string, string]> = [];
  for (const k of SESSION_SETTINGS) {
    const v = session.settings.get(k);
    if (v !== undefined) pairs.push([k, v]);
  }
  if (session.role) pairs.push(['role', session.role]);
  if (pairs.length === 0) return [];
  return [{ sql: `SELECT ${pairs.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, true)`).join(', ')}`, params: pairs.flat() }];
}
