import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type { PoolClient } from 'pg';
import { pgIdent, visibleGenerationsSql, type ColdStore, type TieredTableSpec } from '@strata/core';
import { withCurrentSpecs, type CatalogSnapshot } from '../router/catalog-snapshot';
import { readsTieredTable } from '../router/router';
import { findTieredRefs } from '../router/tiered-refs';
import { routeMode, routeSettingOf } from '../router/route-setting';
import { deparseStatement, parseStatements, type ParsedStatement, type PgNode } from '../router/sql-parser';
import { instantFromEpochText, isoInstant, type Instant } from '../translate/instant';
import type { EngineResult, EngineStatement, QueryEngine, ResultField, SessionContext } from './contract';
import { SqlStateError } from './contract';
import { notSupported, RefusedError, toSqlStateError, type RefusedConstruct } from './errors';
import { describeStatement, openPortal, runStatement, type Described, type PortalRows } from './pg-extended-query';
import { coldQuery, coldRange, isEmptyRange, occurrenceRange, planStatement, tempTableColumns, tempTableSql, type StatementPlan } from './plan';
import { selectOf } from './sql-snippets';

/** A hot-side connection: node-postgres PoolClient (query text, submittables, COPY streams). */
export type HotClient = PoolClient;

export interface HotPool {
  connect(): Promise<HotClient>;
}

/** The part of a pino logger the engine uses. Never given SQL, parameters or values. */
export interface EngineLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface TierEngineOptions {
  hot: HotPool;
  cold: ColdStore;
  /** ClickHouse database holding the cold tables. */
  coldDatabase: string;
  /** The tiered tables: a snapshot, or a getter for the current one. */
  catalog: CatalogSnapshot | (() => CatalogSnapshot);
  logger?: EngineLogger;
  /**
   * Run each statement as the client's user (`SET LOCAL ROLE`), so PostgreSQL's
   * privileges apply as on the client's own session. Needs a pool user that is a
   * member of those roles. Default false: the pool's user reads.
   */
  setRole?: boolean;
  /** Rows fetched from PostgreSQL per page while a result streams. Default 1000. */
  pageRows?: number;
}

export type TierRoute = 'hot' | 'cold' | 'split';

export interface EngineStats extends Record<TierRoute | 'refused', number> {
  /** Refusals by what was refused. */
  refusals: Partial<Record<RefusedConstruct, number>>;
  /**
   * ClickHouse reads by what they return: `partial` = aggregation pushed down (partial
   * aggregates per group), `raw` = rows for PostgreSQL to aggregate. The pushdown ratio
   * is partial / (partial + raw).
   */
  coldReads: { partial: number; raw: number };
}

export interface TierEngine extends QueryEngine {
  /** Statements answered per route, and refusals (SQLSTATE 0A000). */
  readonly stats: EngineStats;
}

/** Session settings that change how PostgreSQL reads or prints values. */
const SESSION_SETTINGS = ['TimeZone', 'DateStyle', 'IntervalStyle', 'extra_float_digits', 'search_path', 'bytea_output'];

const UTC_ZONES = /^(utc|uct|gmt|gmt0|zulu|universal|greenwich|etc\/(utc|uct|gmt|gmt0|gmt[+-]0|zulu|universal|greenwich)|utc0|z|[+-]?00(:00)?)$/i;

const QUERY_PLAN_FIELD: ResultField = { name: 'QUERY PLAN', tableOid: 0, columnAttr: 0, typeOid: 25, typeSize: -1, typeModifier: -1 };

interface TierStateRow {
  w: Instant;
  text: string;
  visibility: string;
}

export function createTierEngine(opts: TierEngineOptions): TierEngine {
  const snapshot = () => (typeof opts.catalog === 'function' ? opts.catalog() : opts.catalog);
  const stats: EngineStats = { hot: 0, cold: 0, split: 0, refused: 0, refusals: {}, coldReads: { partial: 0, raw: 0 } };

  interface Transaction {
    client: HotClient;
    utc: boolean;
    /** Rolls back (nothing the engine does is kept) and returns the connection. */
    end(): Promise<void>;
  }

  async function begin(session: SessionContext): Promise<Transaction> {
    const client = await opts.hot.connect();
    let ended = false;
    const end = async () => {
      if (ended) return;
      ended = true;
      let broken = false;
      // Temp tables and the SETs of a multi-statement string go with the rollback.
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      client.release(broken);
    };
    try {
      // One snapshot for W, the hot rows and the committed generation: a row is then
      // in exactly one of the two tiers, whatever a concurrent tiering run does.
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      const names: string[] = [];
      const values: string[] = [];
      for (const k of SESSION_SETTINGS) {
        const v = session.settings.get(k);
        if (v !== undefined) {
          names.push(k);
          values.push(v);
        }
      }
      if (opts.setRole) {
        names.push('role');
        values.push(session.user);
      }
      const sets = names.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, true)`);
      const r = await client.query<{ tz: string }>(
        `SELECT ${[...sets, "current_setting('TimeZone') AS tz"].join(', ')}`,
        names.flatMap((n, i) => [n, values[i]]),
      );
      return { client, utc: UTC_ZONES.test(r.rows[0].tz), end };
    } catch (err) {
      await end();
      throw toSqlStateError(err);
    }
  }

  async function withTransaction<T>(session: SessionContext, work: (client: HotClient, utc: boolean) => Promise<T>): Promise<T> {
    const tx = await begin(session);
    try {
      return await work(tx.client, tx.utc);
    } catch (err) {
      throw toSqlStateError(err);
    } finally {
      await tx.end();
    }
  }

  /**
   * W, visibility and the registered spec of each table, in the statement's snapshot. The
   * spec is read here too because the proxy's catalog is refreshed periodically: a column
   * added since (by the gateway, the operator, `strata apply`) must be planned for now, or
   * its cold values would be read as NULL. A table without tier state is left out (prepare refuses it).
   */
  async function tierStates(client: HotClient, tables: string[]): Promise<{ states: Map<string, TierStateRow>; specs: TieredTableSpec[] }> {
    const r = await client.query<{ table_name: string; w: string; text: string; committed_gen: string; excluded_gens: string[]; spec: TieredTableSpec }>(
      `SELECT s.table_name, extract(epoch FROM s.watermark)::text AS w, s.watermark::text AS text, s.committed_gen::text, s.excluded_gens::text[], r.schema AS spec
         FROM strata.tier_state s JOIN strata.table_registry r USING (table_name) WHERE s.table_name = ANY($1)`,
      [tables],
    );
    const states = new Map<string, TierStateRow>();
    for (const row of r.rows) {
      states.set(row.table_name, {
        w: instantFromEpochText(row.w),
        text: row.text,
        visibility: visibleGenerationsSql({ committedGen: BigInt(row.committed_gen), excludedGens: row.excluded_gens.map((g) => BigInt(g)) }),
      });
    }
    return { states, specs: r.rows.map((row) => row.spec) };
  }

  /** Evaluates the time bounds in PostgreSQL, in this transaction (now() included). */
  async function boundValues(client: HotClient, plan: StatementPlan, stmt: EngineStatement, paramTypes: number[]): Promise<Instant[]> {
    if (plan.bounds.length === 0) return [];
    const sel = selectOf('SELECT ' + plan.bounds.map(() => 'extract(epoch FROM (NULL)::timestamptz)::text').join(', '));
    plan.bounds.forEach((b, i) => {
      // TypeCast(FuncCall extract(epoch, TypeCast(NULL → timestamptz)) → text)
      sel.targetList[i].ResTarget.val.TypeCast.arg.FuncCall.args[1].TypeCast.arg = structuredClone(b);
    });
    const r = await runStatement(client, deparseStatement({ SelectStmt: sel }), stmt.params, paramTypes);
    return r.rows[0].map((v) => {
      if (v === null) throw new SqlStateError('22004', 'a time bound of this statement is NULL');
      return instantFromEpochText(v);
    });
  }

  interface Prepared {
    plan: StatementPlan;
    states: Map<string, TierStateRow>;
    values: Instant[];
    route: TierRoute;
  }

  /** The statement's tables as this transaction sees them: their tier states, and the catalog with their current specs. */
  interface Current {
    snapshot: CatalogSnapshot;
    states: Map<string, TierStateRow>;
  }

  async function readCurrent(client: HotClient, query: PgNode, session: SessionContext): Promise<Current> {
    const cached = snapshot();
    const refs = findTieredRefs(query, cached);
    if (session.role) await checkCanRead(client, session.role, refs.map((r) => r.relation));
    const { states, specs } = await tierStates(client, [...new Set(refs.map((r) => r.relation.table))]);
    return { snapshot: withCurrentSpecs(cached, specs), states };
  }

  /**
   * A session that is a PostgreSQL role (delegated auth) reads a tiered table only if
   * that role may: cold rows never pass PostgreSQL's own check, so it is made here.
   */
  async function checkCanRead(client: HotClient, role: string, relations: Array<{ schema: string; table: string }>): Promise<void> {
    if (relations.length === 0) return;
    const names = relations.map((r) => `${pgIdent(r.schema)}.${pgIdent(r.table)}`);
    const r = await client.query<{ name: string; ok: boolean }>(
      "SELECT name, has_table_privilege($1, name, 'SELECT') AS ok FROM unnest($2::text[]) AS name",
      [role, names],
    );
    const denied = r.rows.find((row) => !row.ok);
    if (denied) throw new SqlStateError('42501', `permission denied for table ${relations[names.indexOf(denied.name)].table}`);
  }

  async function prepare(client: HotClient, query: PgNode, stmt: EngineStatement, session: SessionContext, utc: boolean, paramTypes: number[], current: Current): Promise<Prepared> {
    const mode = routeMode(session);
    const { states } = current;
    const plan = planStatement(query, current.snapshot, { utc, includeHot: mode !== 'cold' });
    // Refused here, after PostgreSQL described the statement, so its own errors come first.
    for (const occ of plan.occurrences) {
      const t = occ.relation.table;
      if (!states.has(t)) throw notSupported('unapplied-table', `table "${t}" has no tier state (is it applied?)`);
    }
    const values = await boundValues(client, plan, stmt, paramTypes);
    let anyCold = false;
    let allCold = true;
    for (const occ of plan.occurrences) {
      const w = states.get(occ.relation.table)!.w;
      if (!isEmptyRange(coldRange(occ, values, w))) anyCold = true;
      const r = occurrenceRange(occ, values);
      if (!(r.hi < w || (r.hi === w && !r.hiInclusive))) allCold = false;
    }
    const route: TierRoute = mode === 'cold' ? 'cold' : !anyCold ? 'hot' : allCold ? 'cold' : 'split';
    return { plan, states, values, route };
  }

  async function loadColdRows(client: HotClient, p: Prepared): Promise<void> {
    for (const occ of p.plan.occurrences) {
      await client.query(tempTableSql(occ));
      const state = p.states.get(occ.relation.table)!;
      if (isEmptyRange(coldRange(occ, p.values, state.w))) continue;
      const q = coldQuery(occ, p.values, state.w, state.visibility, opts.coldDatabase);
      stats.coldReads[occ.mode]++;
      const started = Date.now();
      // Streamed from ClickHouse into COPY: the proxy holds a chunk at a time, never the result.
      const rows = await opts.cold.queryTsvStream(q.sql, q.params);
      // Named columns: the hot table's column order can differ from the spec's after evolution.
      const sink = client.query(copyFrom(`COPY pg_temp.${pgIdent(occ.tempTable)} (${tempTableColumns(occ).map(pgIdent).join(', ')}) FROM STDIN`));
      await pipeline(rows, sink);
      opts.logger?.debug({ table: occ.relation.table, mode: occ.mode, rows: sink.rowCount, ms: Date.now() - started }, 'cold rows loaded');
    }
  }

  async function explain(client: HotClient, query: PgNode, stmt: EngineStatement, session: SessionContext, utc: boolean): Promise<string[]> {
    const current = await readCurrent(client, query, session);
    const { paramTypes } = await describeFor(client, query, deparseStatement(query), stmt.paramTypes, current.snapshot);
    const p = await prepare(client, query, stmt, session, utc, paramTypes, current);
    const lines: string[] = [`Strata route: ${p.route}`];
    for (const occ of p.plan.occurrences) {
      const state = p.states.get(occ.relation.table)!;
      const range = coldRange(occ, p.values, state.w);
      lines.push(
        `Tiered table ${occ.relation.schema}.${occ.relation.table} AS ${occ.refName}: watermark W = ${isoInstant(state.w)}; ` +
          `${occ.mode === 'partial' ? 'partial aggregates' : 'raw rows'} from the cold tier`,
      );
      if (isEmptyRange(range)) {
        lines.push('  ClickHouse: (not queried: no cold rows in range)');
        continue;
      }
      const q = coldQuery(occ, p.values, state.w, state.visibility, opts.coldDatabase);
      lines.push(`  ClickHouse: ${q.sql}`);
      const params = Object.entries(q.params).map(([k, v]) => `${k} = ${JSON.stringify(v)}`);
      if (params.length > 0) lines.push(`  ClickHouse parameters: ${params.join(', ')}`);
    }
    lines.push(`PostgreSQL: ${p.route === 'hot' ? deparseStatement(query) : deparseStatement(p.plan.stmt)}`);
    return lines;
  }

  /**
   * Describes a statement as PostgreSQL does. Cold-only tables have no PostgreSQL table:
   * each is read from an empty temporary table of its columns instead, as the registry
   * has them in this snapshot (dropped again), so PostgreSQL itself gives the parameter
   * and result types. `current`: the catalog already read in this transaction, if any.
   */
  async function describeFor(client: HotClient, query: PgNode, text: string, paramTypes: number[], current?: CatalogSnapshot): Promise<Described> {
    const coldOnly = findTieredRefs(query, current ?? snapshot()).filter((r) => r.relation.mode === 'cold-only');
    if (coldOnly.length === 0) return describeStatement(client, text, paramTypes);
    if (!current) {
      const specs = await client.query<{ spec: TieredTableSpec }>('SELECT schema AS spec FROM strata.table_registry WHERE table_name = ANY($1)', [
        [...new Set(coldOnly.map((r) => r.relation.table))],
      ]);
      current = withCurrentSpecs(snapshot(), specs.rows.map((r) => r.spec));
    }
    const tree = structuredClone(query);
    const temps: string[] = [];
    for (const ref of findTieredRefs(tree, current)) {
      if (ref.relation.mode !== 'cold-only') continue;
      const temp = `_strata_describe_${temps.length}`;
      temps.push(temp);
      await client.query(`CREATE TEMP TABLE ${pgIdent(temp)} (${ref.relation.columns.map((c) => `${pgIdent(c.name)} ${c.pgType}`).join(', ')})`);
      ref.rangeVar.alias ??= { aliasname: ref.rangeVar.relname };
      ref.rangeVar.schemaname = 'pg_temp';
      ref.rangeVar.relname = temp;
      delete ref.rangeVar.catalogname;
    }
    // On failure the transaction is aborted and rolled back, temporary tables with it.
    const described = await describeStatement(client, deparseStatement(tree), paramTypes);
    for (const t of temps) await client.query(`DROP TABLE pg_temp.${pgIdent(t)}`);
    return described;
  }

  async function answerSelect(
    client: HotClient,
    parsed: ParsedStatement,
    stmt: EngineStatement,
    session: SessionContext,
    utc: boolean,
  ): Promise<{ fields: ResultField[]; portal: PortalRows }> {
    // Described first: bound parameters (time bounds among them) get their types from it.
    const current = await readCurrent(client, parsed.stmt, session);
    const described = await describeFor(client, parsed.stmt, parsed.text, stmt.paramTypes, current.snapshot);
    const p = await prepare(client, parsed.stmt, stmt, session, utc, described.paramTypes, current);
    if (p.route === 'hot' && !p.plan.occurrences.some((o) => o.relation.mode === 'cold-only')) {
      stats.hot++;
      return { fields: described.fields, portal: await openPortal(client, parsed.text, stmt.params, described.paramTypes, opts.pageRows) };
    }
    stats[p.route]++;
    opts.logger?.debug({ route: p.route, occurrences: p.plan.occurrences.map((o) => o.mode) }, 'tiered statement');
    const finalSql = () => deparseStatement(p.plan.stmt);
    await loadColdRows(client, p);
    const portal = await openPortal(client, finalSql(), stmt.params, described.paramTypes, opts.pageRows);
    // PostgreSQL must have produced the original statement's types; otherwise refuse.
    const mismatch = portal.fields.findIndex((f, i) => f.typeOid !== described!.fields[i]?.typeOid);
    if (mismatch >= 0 || portal.fields.length !== described.fields.length) {
      await portal.close();
      throw notSupported('type-change', `column ${mismatch + 1} would change type`);
    }
    return { fields: described.fields, portal };
  }

  function result(fields: ResultField[], rows: Array<Array<string | null>>, tag: string): EngineResult {
    return {
      fields,
      rows: (async function* () {
        yield* rows;
      })(),
      commandTag: () => tag,
    };
  }

  /**
   * Rows read page by page from PostgreSQL as the consumer iterates; the transaction
   * (and its connection) ends when iteration finishes, fails or is abandoned with
   * return(). The consumer must iterate: the connection is held until it does.
   */
  function streamed(fields: ResultField[], portal: PortalRows, tx: Transaction, signal?: AbortSignal): EngineResult {
    let tag = '';
    let count = 0;
    return {
      fields,
      rows: (async function* () {
        try {
          for (;;) {
            signal?.throwIfAborted();
            const page = await portal.next().catch((err: unknown) => {
              throw toSqlStateError(err);
            });
            if (page === null) break;
            count += page.length;
            yield* page;
          }
          // PostgreSQL's tag counts the last page only (each Execute is limited): count all.
          tag = portal.commandTag().replace(/^SELECT \d+$/, `SELECT ${count}`);
        } finally {
          await portal.close().catch(() => undefined);
          await tx.end();
        }
      })(),
      commandTag: () => tag,
    };
  }

  return {
    stats,
    async describe(stmt, session) {
      const statements = parseStatements(stmt.sql);
      const last = statements[statements.length - 1];
      if (last?.stmt?.ExplainStmt) return { paramTypes: stmt.paramTypes, fields: [QUERY_PLAN_FIELD] };
      return withTransaction(session, (client) =>
        last ? describeFor(client, last.stmt, stmt.sql, stmt.paramTypes) : describeStatement(client, stmt.sql, stmt.paramTypes),
      );
    },

    async execute(stmt, session, signal) {
      const statements = parseStatements(stmt.sql);
      if (statements.length === 0) return result([], [], '');
      const snap = snapshot();
      let tx: Transaction | undefined;
      try {
        tx = await begin(session);
        const { client } = tx;
        let utc = tx.utc;
        let last: EngineResult | undefined;
        for (const [i, s] of statements.entries()) {
          signal?.throwIfAborted();
          const isLast = i === statements.length - 1;
          if (s.stmt.VariableSetStmt) {
            if (routeSettingOf(s.stmt) !== undefined) throw notSupported('route-setting-in-string', 'SET strata.route inside a multi-statement string');
            // Applies to the rest of this string only (the transaction is rolled back).
            await client.query(s.text);
            const tz = await client.query<{ tz: string }>("SELECT current_setting('TimeZone') AS tz");
            utc = UTC_ZONES.test(tz.rows[0].tz);
            last = result([], [], 'SET');
            continue;
          }
          const explainStmt = s.stmt.ExplainStmt;
          if (explainStmt && readsTieredTable(s.stmt, snap)) {
            const lines = await explain(client, explainStmt.query, { ...stmt, sql: s.text }, session, utc);
            last = result([QUERY_PLAN_FIELD], lines.map((l) => [l]), 'EXPLAIN');
            continue;
          }
          if (!readsTieredTable(s.stmt, snap) && (statements.length > 1 || !s.stmt.SelectStmt)) {
            throw notSupported('non-select-in-string', 'statements other than SELECT and SET in a string with a tiered query');
          }
          const answer = await answerSelect(client, s, { ...stmt, sql: s.text }, session, utc);
          if (!isLast) {
            while ((await answer.portal.next()) !== null);
            await answer.portal.close();
            continue;
          }
          // The last statement streams: the transaction ends when its rows are consumed.
          const owned = tx;
          tx = undefined;
          return streamed(answer.fields, answer.portal, owned, signal);
        }
        return last!;
      } catch (err) {
        const e = toSqlStateError(err);
        if (e instanceof RefusedError) {
          stats.refused++;
          stats.refusals[e.construct] = (stats.refusals[e.construct] ?? 0) + 1;
        }
        throw e;
      } finally {
        await tx?.end();
      }
    },
  };
}
