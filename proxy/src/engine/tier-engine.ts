import type { Pool } from 'pg';
import { pgIdent, TIER_READ_LOCK_SHARED_SQL, visibleGenerationsSql, type ColdStore, type TieredTableSpec } from '@strata/core';
import { withCurrentSpecs, type CatalogSnapshot, type TieredRelation } from '../router/catalog-snapshot';
import { findTieredRefs } from '../router/tiered-refs';
import { expandViews } from '../router/view-expansion';
import { classifyTiered, type TieredStatement } from '../router/tiered-statement';
import { routeMode, routeSettingOf } from '../router/route-setting';
import { deparseStatement, parseStatements, type ParsedStatement, type PgNode } from '../router/sql-parser';
import { conjuncts } from '../translate/ast';
import { instantFromEpochText, isoInstant, NEG_INFINITY, type Instant } from '../translate/instant';
import { FULL_RANGE, belowRange, intersectRanges, rangeOf, timePredicateOf, type TimePredicate } from '../translate/time-predicate';
import type { EngineResult, EngineStatement, QueryEngine, ResultField, SessionContext } from './contract';
import { SqlStateError } from './contract';
import { notSupported, RefusedError, toSqlStateError, type RefusedConstruct } from './errors';
import type { HotSession } from './hot-session';
import type { Described, PortalRows } from './pg-extended-query';
import { pgHotSession } from './pg-hot-session';
import { executeTieredDelete, readColdDeletes, tombstoneFilterSql } from './tiered-delete';
import { coldQuery, coldRange, isEmptyRange, occurrenceRange, planStatement, tempTableColumns, tempTableSql, type StatementPlan } from './plan';
import { replaceNode, selectOf } from './sql-snippets';
import { inlineTempTable, stagedColumns, tsvToArrayLiterals } from './inline-cold-rows';

/** The part of a pino logger the engine uses. Never given SQL, parameters or values. */
export interface EngineLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface TierEngineOptions {
  cold: ColdStore;
  /** ClickHouse database holding the cold tables. */
  coldDatabase: string;
  /** The tiered tables: a snapshot, or a getter for the current one. */
  catalog: CatalogSnapshot | (() => CatalogSnapshot);
  /**
   * Connections for callers that bring no session of their own (tests, benchmarks, the
   * in-process corpus run). The proxy passes none: every statement runs in the client's
   * session.
   */
  hot?: Pick<Pool, 'connect'>;
  logger?: EngineLogger;
  /** Rows fetched from PostgreSQL per page while a result streams. Default 1000. */
  pageRows?: number;
  /** READ ONLY blocks: most bytes of cold rows held as parameters per statement (default 64 MiB; past it 54000). */
  maxInlineColdBytes?: number;
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

const UTC_ZONES = /^(utc|uct|gmt|gmt0|zulu|universal|greenwich|etc\/(utc|uct|gmt|gmt0|gmt[+-]0|zulu|universal|greenwich)|utc0|z|[+-]?00(:00)?)$/i;

const QUERY_PLAN_FIELD: ResultField = { name: 'QUERY PLAN', tableOid: 0, columnAttr: 0, typeOid: 25, typeSize: -1, typeModifier: -1 };

interface TierStateRow {
  w: Instant;
  text: string;
  visibility: string;
  rowSecurity: boolean;
}

/**
 * Where one statement runs: the client's session. Outside a transaction block the engine
 * opens its own (REPEATABLE READ: W, the committed generation and the hot rows in one
 * snapshot) and commits it when the statement is done, as autocommit would; inside the
 * client's block it works in that block, and leaves it aborted if it fails, as
 * PostgreSQL would.
 */
interface Transaction {
  hot: HotSession;
  /** The engine opened the block (the client was not in one). */
  own: boolean;
  utc: boolean;
  /** READ COMMITTED in the client's block: a new snapshot per statement (see tier-read-lock.ts). */
  readCommitted: boolean;
  /** A READ ONLY block (or a standby): cold rows travel as array parameters, not temporary tables. */
  readOnly: boolean;
  /** Temporary tables to drop when the statement is done (inside the client's block). */
  temps: string[];
  end(ok: boolean): Promise<void>;
}

let nextCursorTemps = 1;

export function createTierEngine(opts: TierEngineOptions): TierEngine {
  const snapshot = () => (typeof opts.catalog === 'function' ? opts.catalog() : opts.catalog);
  const stats: EngineStats = { hot: 0, cold: 0, split: 0, refused: 0, refusals: {}, coldReads: { partial: 0, raw: 0 } };

  /**
   * The session to run in: the caller's, or a connection of the engine's own pool
   * (released by `done`), which then takes the session's settings and role for the block.
   */
  async function sessionFor(hot: HotSession | undefined, session: SessionContext): Promise<{ hot: HotSession; done: (broken: boolean) => void; settings?: SessionContext }> {
    if (hot) return { hot, done: () => undefined };
    if (!opts.hot) throw new SqlStateError('XX000', 'the tier engine was given no PostgreSQL session');
    const client = await opts.hot.connect();
    return { hot: pgHotSession(client), done: (broken) => client.release(broken), settings: session };
  }

  async function begin(hot: HotSession, settingsOf?: SessionContext): Promise<Transaction> {
    const status = hot.status();
    if (status === 'E') throw new SqlStateError('25P02', 'current transaction is aborted, commands ignored until end of transaction block');
    const own = status === 'I';
    if (own) await hot.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    if (own && settingsOf) await applySessionSettings(hot, settingsOf);
    const tx: Transaction = { hot, own, utc: true, readCommitted: false, readOnly: false, temps: [], end: async () => undefined };
    tx.end = async (ok: boolean) => {
      if (own) {
        await hot.query(ok && hot.status() === 'T' ? 'COMMIT' : 'ROLLBACK');
        return;
      }
      if (ok && tx.temps.length > 0) await hot.query(`DROP TABLE ${tx.temps.map((t) => `pg_temp.${pgIdent(t)}`).join(', ')}`);
      // An error of the engine's own (a refusal, the cold tier failing) ends the client's
      // block as PostgreSQL's errors do: the client must roll back, never go on as if the
      // statement had run.
      if (!ok && hot.status() === 'T') await hot.query('SELECT 1/0').catch(() => undefined);
    };
    try {
      const r = await hot.query("SELECT current_setting('TimeZone'), current_setting('transaction_isolation'), current_setting('transaction_read_only')");
      const [tz, isolation, readOnly] = r.rows[0];
      tx.utc = UTC_ZONES.test(tz ?? '');
      tx.readCommitted = isolation === 'read committed';
      tx.readOnly = readOnly === 'on';
      return tx;
    } catch (err) {
      await tx.end(false).catch(() => undefined);
      throw err;
    }
  }

  /**
   * W, visibility and the registered spec of each table, in the statement's snapshot. The
   * spec is read here too because the proxy's catalog is refreshed periodically: a column
   * added since must be planned for now, or its cold values would be read as NULL.
   */
  async function tierStates(tx: Transaction, tables: string[]): Promise<{ states: Map<string, TierStateRow>; specs: TieredTableSpec[] }> {
    const list = `{${tables.map((t) => `"${t}"`).join(',')}}`;
    // READ COMMITTED: hold tiering commits off until this transaction ends, so the
    // statements below (cold rows, then the rewritten statement) agree with this W.
    if (tx.readCommitted) await tx.hot.query(TIER_READ_LOCK_SHARED_SQL, [list]);
    const r = await tx.hot.query(
      `SELECT s.table_name, extract(epoch FROM s.watermark)::text, s.watermark::text, s.committed_gen::text, s.excluded_gens::text, r.schema::text,
              coalesce((SELECT c.relrowsecurity FROM pg_catalog.pg_class c
                         WHERE c.oid = to_regclass(format('%I.%I', r.schema->>'schema', s.table_name))), false)::text
         FROM strata.tier_state s JOIN strata.table_registry r USING (table_name) WHERE s.table_name = ANY($1::text[])`,
      [list],
    );
    const states = new Map<string, TierStateRow>();
    const specs: TieredTableSpec[] = [];
    for (const [table, w, text, committed, excluded, spec, rls] of r.rows) {
      const excludedGens = (excluded ?? '{}').replace(/[{}]/g, '').split(',').filter((g) => g !== '');
      states.set(table!, {
        w: instantFromEpochText(w!),
        text: text!,
        visibility: visibleGenerationsSql({ committedGen: BigInt(committed!), excludedGens: excludedGens.map((g) => BigInt(g)) }),
        rowSecurity: rls === 'true',
      });
      specs.push(JSON.parse(spec!) as TieredTableSpec);
    }
    return { states, specs };
  }

  /** Evaluates the time bounds in PostgreSQL, in this transaction (now() included). */
  async function boundValues(tx: Transaction, bounds: PgNode[], stmt: EngineStatement, paramTypes: number[]): Promise<Instant[]> {
    if (bounds.length === 0) return [];
    const sel = selectOf('SELECT ' + bounds.map(() => 'extract(epoch FROM (NULL)::timestamptz)::text').join(', '));
    bounds.forEach((b, i) => {
      // TypeCast(FuncCall extract(epoch, TypeCast(NULL → timestamptz)) → text)
      sel.targetList[i].ResTarget.val.TypeCast.arg.FuncCall.args[1].TypeCast.arg = structuredClone(b);
    });
    // Only the parameters the bounds use must be typed; the rest are sent as unknown text.
    const r = await tx.hot.query(deparseStatement({ SelectStmt: sel }), stmt.params, paramTypes);
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

  async function readCurrent(tx: Transaction, query: PgNode, session: SessionContext, known?: TieredStatement): Promise<Current> {
    const cached = snapshot();
    const refs = known?.refs ?? findTieredRefs(query, cached);
    const coldOnly = refs.filter((r) => r.relation.mode === 'cold-only').map((r) => r.relation);
    // Tables with a PostgreSQL table are checked by PostgreSQL itself (the statement runs
    // as the client's role); cold-only tables have none, so their privilege is checked here.
    if (session.role) await checkCanRead(tx, session.role, coldOnly);
    const tables = [...new Set(refs.map((r) => r.relation.table))];
    const { states, specs } = await tierStates(tx, tables);
    // Cold rows a DELETE / TRUNCATE removed that ClickHouse has not dropped yet (tiered-delete.ts).
    const deletes = await readColdDeletes(tx.hot, tables);
    for (const [table, state] of states) {
      const d = deletes.get(table) ?? [];
      if (d.length > 0) state.visibility = `${state.visibility} AND ${tombstoneFilterSql(d)}`;
    }
    for (const [table, state] of states) {
      if (state.rowSecurity) {
        throw notSupported('row-level-security', `table "${table}" has row-level security, which the cold tier cannot apply`);
      }
    }
    return { snapshot: withCurrentSpecs(cached, specs), states };
  }

  async function checkCanRead(tx: Transaction, role: string, relations: TieredRelation[]): Promise<void> {
    if (relations.length === 0) return;
    const names = relations.map((r) => `${pgIdent(r.schema)}.${pgIdent(r.table)}`);
    const r = await tx.hot.query(
      "SELECT name, has_table_privilege($1, name, 'SELECT')::text FROM unnest($2::text[]) AS name",
      [role, `{${names.map((n) => `"${n.replace(/"/g, '\\"')}"`).join(',')}}`],
    );
    const denied = r.rows.find((row) => row[1] !== 'true');
    if (denied) throw new SqlStateError('42501', `permission denied for table ${relations[names.indexOf(denied[0]!)].table}`);
  }

  async function prepare(tx: Transaction, query: PgNode, stmt: EngineStatement, session: SessionContext, paramTypes: number[], current: Current, tempPrefix?: string): Promise<Prepared> {
    const mode = routeMode(session);
    const { states } = current;
    const plan = planStatement(query, current.snapshot, { utc: tx.utc, includeHot: mode !== 'cold', tempPrefix });
    // Refused here, after PostgreSQL described the statement, so its own errors come first.
    for (const occ of plan.occurrences) {
      const t = occ.relation.table;
      if (!states.has(t)) throw notSupported('unapplied-table', `table "${t}" has no tier state (is it applied?)`);
    }
    const values = await boundValues(tx, plan.bounds, stmt, paramTypes);
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

  /**
   * Fills each occurrence's temporary table with its cold rows; in a READ ONLY block the
   * rows become array parameters numbered after the statement's own `base` ones instead
   * (inline-cold-rows.ts), returned to be bound after the client's.
   */
  async function loadColdRows(tx: Transaction, p: Prepared, keep = false, base = 0): Promise<string[]> {
    const extra: string[] = [];
    for (const occ of p.plan.occurrences) {
      if (!tx.readOnly) {
        await tx.hot.query(tempTableSql(occ));
        if (!keep) tx.temps.push(occ.tempTable);
      }
      const state = p.states.get(occ.relation.table)!;
      const empty = isEmptyRange(coldRange(occ, p.values, state.w));
      if (tx.readOnly) {
        const columns = await stagedColumns(tx.hot, occ);
        let arrays = columns.copied.map(() => '{}');
        if (!empty) {
          const q = coldQuery(occ, p.values, state.w, state.visibility, opts.coldDatabase);
          stats.coldReads[occ.mode]++;
          arrays = (await tsvToArrayLiterals(await opts.cold.queryTsvStream(q.sql, q.params), columns.copied.length, opts.maxInlineColdBytes ?? 64 << 20)).arrays;
        }
        inlineTempTable(p.plan.stmt, occ.tempTable, columns, base + extra.length + 1);
        extra.push(...arrays);
        continue;
      }
      if (empty) continue;
      const q = coldQuery(occ, p.values, state.w, state.visibility, opts.coldDatabase);
      stats.coldReads[occ.mode]++;
      const started = Date.now();
      // Streamed from ClickHouse into COPY: the proxy holds a chunk at a time, never the result.
      const rows = await opts.cold.queryTsvStream(q.sql, q.params);
      // Named columns: the hot table's column order can differ from the spec's after evolution.
      const copied = await tx.hot.copyIn(`COPY pg_temp.${pgIdent(occ.tempTable)} (${tempTableColumns(occ).map(pgIdent).join(', ')}) FROM STDIN`, rows);
      opts.logger?.debug({ table: occ.relation.table, mode: occ.mode, rows: copied, ms: Date.now() - started }, 'cold rows loaded');
    }
    return extra;
  }

  /** The client's parameters (as many as PostgreSQL found) followed by the inlined cold rows. */
  function boundWith(stmt: EngineStatement, paramTypes: number[], extra: string[]): { params: Array<string | null>; types: number[] } {
    if (extra.length === 0) return { params: stmt.params, types: paramTypes };
    const own = Array.from({ length: paramTypes.length }, (_, i) => stmt.params[i] ?? null);
    return { params: [...own, ...extra], types: [...paramTypes, ...extra.map(() => 0)] };
  }

  async function explain(tx: Transaction, query: PgNode, stmt: EngineStatement, session: SessionContext): Promise<string[]> {
    const current = await readCurrent(tx, query, session);
    const { paramTypes } = await describeFor(tx, query, deparseStatement(query), stmt.paramTypes, current.snapshot);
    const p = await prepare(tx, query, stmt, session, paramTypes, current);
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
  async function describeFor(tx: Transaction, query: PgNode, text: string, paramTypes: number[], current?: CatalogSnapshot): Promise<Described> {
    const coldOnly = findTieredRefs(query, current ?? snapshot()).filter((r) => r.relation.mode === 'cold-only');
    if (coldOnly.length === 0) return tx.hot.describe(text, paramTypes);
    if (!current) {
      const tables = [...new Set(coldOnly.map((r) => r.relation.table))];
      const specs = await tx.hot.query('SELECT schema::text FROM strata.table_registry WHERE table_name = ANY($1::text[])', [`{${tables.map((t) => `"${t}"`).join(',')}}`]);
      current = withCurrentSpecs(
        snapshot(),
        specs.rows.map((r) => JSON.parse(r[0]!) as TieredTableSpec),
      );
    }
    const tree = structuredClone(query);
    const temps: string[] = [];
    for (const ref of findTieredRefs(tree, current)) {
      if (ref.relation.mode !== 'cold-only') continue;
      if (tx.readOnly) {
        // No temporary table in a READ ONLY block: an empty unnest of the same columns.
        const cols = ref.relation.columns;
        const sub = selectOf(`SELECT * FROM unnest(${cols.map((c) => `NULL::${c.pgType}[]`).join(', ')}) AS t (${cols.map((c) => pgIdent(c.name)).join(', ')})`);
        replaceNode(ref.node, { RangeSubselect: { subquery: { SelectStmt: sub }, alias: ref.rangeVar.alias ?? { aliasname: ref.rangeVar.relname } } });
        continue;
      }
      const temp = `_strata_describe_${temps.length}`;
      temps.push(temp);
      await tx.hot.query(`CREATE TEMP TABLE ${pgIdent(temp)} (${ref.relation.columns.map((c) => `${pgIdent(c.name)} ${c.pgType}`).join(', ')}) ON COMMIT DROP`);
      ref.rangeVar.alias ??= { aliasname: ref.rangeVar.relname };
      ref.rangeVar.schemaname = 'pg_temp';
      ref.rangeVar.relname = temp;
      delete ref.rangeVar.catalogname;
    }
    // On failure the transaction is aborted and rolled back, temporary tables with it.
    const described = await tx.hot.describe(deparseStatement(tree), paramTypes);
    if (temps.length > 0) await tx.hot.query(`DROP TABLE ${temps.map((t) => `pg_temp.${pgIdent(t)}`).join(', ')}`);
    return described;
  }

  /** Refuses a rewritten query whose columns PostgreSQL types differently from the original's. */
  function checkSameTypes(original: ResultField[], rewritten: ResultField[]): void {
    const mismatch = rewritten.findIndex((f, i) => f.typeOid !== original[i]?.typeOid);
    if (mismatch >= 0 || rewritten.length !== original.length) throw notSupported('type-change', `column ${mismatch + 1} would change type`);
  }

  function countRoute(route: TierRoute, p: Prepared): void {
    stats[route]++;
    opts.logger?.debug({ route, occurrences: p.plan.occurrences.map((o) => o.mode) }, 'tiered statement');
  }

  async function answerSelect(tx: Transaction, parsed: ParsedStatement, stmt: EngineStatement, session: SessionContext): Promise<{ fields: ResultField[]; portal: PortalRows }> {
    // Described first: bound parameters (time bounds among them) get their types from it.
    const current = await readCurrent(tx, parsed.stmt, session);
    const described = await describeFor(tx, parsed.stmt, parsed.text, stmt.paramTypes, current.snapshot);
    const p = await prepare(tx, parsed.stmt, stmt, session, described.paramTypes, current);
    const locking = (parsed.stmt.SelectStmt?.lockingClause?.length ?? 0) > 0;
    if (p.route === 'hot' && !p.plan.occurrences.some((o) => o.relation.mode === 'cold-only')) {
      stats.hot++;
      return { fields: described.fields, portal: await tx.hot.openPortal(parsed.text, stmt.params, described.paramTypes, opts.pageRows ?? 1000) };
    }
    if (locking) throw notSupported('locking-clause', 'FOR UPDATE / FOR SHARE on rows of the cold tier (they cannot be locked)');
    countRoute(p.route, p);
    const bound = boundWith(stmt, described.paramTypes, await loadColdRows(tx, p, false, described.paramTypes.length));
    const portal = await tx.hot.openPortal(deparseStatement(p.plan.stmt), bound.params, bound.types, opts.pageRows ?? 1000);
    try {
      // PostgreSQL must have produced the original statement's types; otherwise refuse.
      checkSameTypes(described.fields, portal.fields);
    } catch (err) {
      await portal.close();
      throw err;
    }
    return { fields: described.fields, portal };
  }

  /**
   * DECLARE, COPY (…) TO STDOUT, CREATE TABLE AS / SELECT INTO / INSERT … SELECT: the
   * statement runs as written with each read of a tiered table replaced, after the query
   * it reads through is checked to keep PostgreSQL's column types.
   */
  async function answerRewritten(tx: Transaction, parsed: ParsedStatement, tiered: TieredStatement, stmt: EngineStatement, session: SessionContext): Promise<EngineResult> {
    let tree = parsed.stmt;
    if (tiered.kind === 'write-from-read' && tree.CreateTableAsStmt?.objtype === 'OBJECT_MATVIEW') {
      throw notSupported('materialized-view', 'a materialized view over a tiered table (its refresh would read the hot tier only)');
    }
    if (tiered.kind === 'declare' && tx.own && !(tree.DeclareCursorStmt.options & CURSOR_OPT_HOLD)) {
      throw new SqlStateError('25P01', 'DECLARE CURSOR can only be used in transaction blocks');
    }
    if (tiered.kind === 'copy-out' && tree.CopyStmt.relation) tree = copyOfQuery(tree.CopyStmt);
    const current = await readCurrent(tx, tree, session);
    const described = await describeFor(tx, tree, deparseStatement(tree), stmt.paramTypes, current.snapshot);
    const keep = tiered.kind === 'declare';
    // A cursor's tables live until the transaction ends: names of their own.
    const p = await prepare(tx, tree, stmt, session, described.paramTypes, current, keep ? `_strata_cursor${nextCursorTemps++}_` : undefined);
    let sql = deparseStatement(tree);
    let bound = boundWith(stmt, described.paramTypes, []);
    if (p.route !== 'hot' || p.plan.occurrences.some((o) => o.relation.mode === 'cold-only')) {
      countRoute(p.route, p);
      bound = boundWith(stmt, described.paramTypes, await loadColdRows(tx, p, keep, described.paramTypes.length));
      const inner = innerQuery(tree);
      const rewrittenInner = innerQuery(p.plan.stmt);
      const [before, after] = [await describeFor(tx, inner, deparseStatement(inner), described.paramTypes, current.snapshot), await tx.hot.describe(deparseStatement(rewrittenInner), bound.types)];
      checkSameTypes(before.fields, after.fields);
      sql = deparseStatement(p.plan.stmt);
    } else stats.hot++;
    if (tiered.kind === 'copy-out') {
      if (!tx.hot.copyOut) throw notSupported('non-select-in-string', 'COPY … TO STDOUT without a client connection');
      return { fields: [], rows: emptyRows(), raw: tx.hot.copyOut(sql, bound.params, bound.types), commandTag: () => '' };
    }
    const r = await tx.hot.query(sql, bound.params, bound.types);
    return result([], [], r.commandTag);
  }

  /**
   * DELETE / UPDATE / TRUNCATE / MERGE: exact when no row they could touch is cold (the
   * time range the WHERE clause bounds lies wholly at or above W), refused otherwise.
   */
  async function answerModify(tx: Transaction, parsed: ParsedStatement, tiered: TieredStatement, stmt: EngineStatement, session: SessionContext): Promise<EngineResult> {
    const deleted = parsed.stmt.DeleteStmt?.relation ?? (parsed.stmt.TruncateStmt?.relations?.length === 1 ? parsed.stmt.TruncateStmt.relations[0].RangeVar : undefined);
    if (deleted && tiered.refs.every((r) => r.rangeVar === deleted)) {
      const state = (await tierStates(tx, [tiered.refs[0].relation.table])).states.get(tiered.refs[0].relation.table);
      if (state?.rowSecurity) throw notSupported('row-level-security', `table "${tiered.refs[0].relation.table}" has row-level security, which the cold tier cannot apply`);
      const r = await executeTieredDelete(tx.hot, parsed.stmt, {
        relation: tiered.refs[0].relation,
        cold: opts.cold,
        coldDatabase: opts.coldDatabase,
        params: stmt.params,
        paramTypes: stmt.paramTypes,
        sql: parsed.text,
      });
      stats.split++;
      return result(r.fields ?? [], r.rows ?? [], r.commandTag);
    }
    const current = await readCurrent(tx, parsed.stmt, session, tiered);
    const described = await tx.hot.describe(parsed.text, stmt.paramTypes);
    const target = parsed.stmt.DeleteStmt ?? parsed.stmt.UpdateStmt;
    for (const ref of tiered.refs) {
      const state = current.states.get(ref.relation.table);
      if (!state) throw notSupported('unapplied-table', `table "${ref.relation.table}" has no tier state (is it applied?)`);
      if (state.w === NEG_INFINITY) continue;
      const direct = target && target.relation === ref.rangeVar;
      const bounds: PgNode[] = [];
      const predicates: TimePredicate[] = [];
      if (direct) {
        const scope = { relation: ref.relation, refName: ref.refName, soleFromItem: !(target.usingClause?.length || target.fromClause?.length) };
        for (const c of conjuncts(target.whereClause)) {
          const tp = timePredicateOf(scope, c, bounds);
          if (tp) predicates.push(tp);
        }
      }
      const values = await boundValues(tx, bounds, stmt, described.paramTypes);
      const range = predicates.map((tp) => rangeOf(tp, values)).reduce(intersectRanges, FULL_RANGE);
      if (!direct || !isEmptyRange(intersectRanges(range, belowRange(state.w)))) {
        throw notSupported(
          'modify-cold-rows',
          `${Object.keys(parsed.stmt)[0].replace(/Stmt$/, '').toUpperCase()} of rows of "${ref.relation.table}" that may be in the cold tier (before ${state.text})`,
          'Bound the statement by the time column to rows at or after the watermark.',
        );
      }
    }
    stats.hot++;
    const r = await tx.hot.query(parsed.text, stmt.params, described.paramTypes);
    return result([], [], r.commandTag);
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
   * Rows read page by page from PostgreSQL as the consumer iterates; the transaction ends
   * when iteration finishes, fails or is abandoned with return(). The consumer must iterate.
   */
  function streamed(fields: ResultField[], portal: PortalRows, finish: (ok: boolean) => Promise<void>, signal?: AbortSignal): EngineResult {
    let tag = '';
    let count = 0;
    return {
      fields,
      rows: (async function* () {
        let ok = false;
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
          ok = true;
        } finally {
          await portal.close().catch(() => undefined);
          await finish(ok);
        }
      })(),
      commandTag: () => tag,
    };
  }

  /** Raw frames (COPY TO): the transaction ends once they are all relayed. */
  function rawStreamed(raw: AsyncIterable<Buffer>, finish: (ok: boolean) => Promise<void>): AsyncIterable<Buffer> {
    return (async function* () {
      let ok = false;
      try {
        yield* raw;
        ok = true;
      } catch (err) {
        throw toSqlStateError(err);
      } finally {
        await finish(ok);
      }
    })();
  }

  function countRefusal(err: unknown): unknown {
    const e = toSqlStateError(err);
    if (e instanceof RefusedError) {
      stats.refused++;
      stats.refusals[e.construct] = (stats.refusals[e.construct] ?? 0) + 1;
    }
    return e;
  }

  return {
    stats,
    async describe(stmt, session, given) {
      const { hot, done, settings } = await sessionFor(given, session);
      let tx: Transaction | undefined;
      let ok = false;
      try {
        const statements = parseStatements(stmt.sql);
        const last = statements[statements.length - 1];
        if (last?.stmt?.ExplainStmt) return { paramTypes: stmt.paramTypes, fields: [QUERY_PLAN_FIELD] };
        tx = await begin(hot, settings);
        const described = last ? await describeFor(tx, expandViews(last.stmt, snapshot()), stmt.sql, stmt.paramTypes) : await hot.describe(stmt.sql, stmt.paramTypes);
        ok = true;
        return described;
      } catch (err) {
        throw toSqlStateError(err);
      } finally {
        // A describe changes nothing: a block of the engine's own is rolled back.
        if (tx?.own) await hot.query('ROLLBACK').catch(() => undefined);
        done(false);
      }
    },

    async execute(stmt, session, signal, given) {
      const statements = parseStatements(stmt.sql);
      if (statements.length === 0) return result([], [], '');
      const snap = snapshot();
      const { hot, done, settings } = await sessionFor(given, session);
      let tx: Transaction | undefined;
      const finish = async (ok: boolean) => {
        const t = tx;
        tx = undefined;
        let broken = true;
        try {
          await t?.end(ok);
          broken = false;
        } finally {
          done(broken);
        }
      };
      let handedOff = false;
      try {
        tx = await begin(hot, settings);
        let last: EngineResult | undefined;
        for (const [i, written] of statements.entries()) {
          signal?.throwIfAborted();
          // Views over tiered tables read as their definitions (the text stays the client's).
          const s = { ...written, stmt: expandViews(written.stmt, snap) };
          const isLast = i === statements.length - 1;
          if (s.stmt.VariableSetStmt) {
            if (routeSettingOf(s.stmt) !== undefined) throw notSupported('route-setting-in-string', 'SET strata.route inside a multi-statement string');
            await hot.query(s.text);
            const tz = await hot.query("SELECT current_setting('TimeZone')");
            tx.utc = UTC_ZONES.test(tz.rows[0][0] ?? '');
            last = result([], [], 'SET');
            continue;
          }
          const tiered = classifyTiered(s.stmt, snap);
          if (tiered?.kind === 'explain') {
            const lines = await explain(tx, s.stmt.ExplainStmt.query, { ...stmt, sql: s.text }, session);
            last = result([QUERY_PLAN_FIELD], lines.map((l) => [l]), 'EXPLAIN');
            continue;
          }
          if (tiered && tiered.kind !== 'select') {
            if (!isLast) throw notSupported('non-select-in-string', 'statements other than SELECT and SET before the last one of a string');
            const answer = tiered.kind === 'modify' ? await answerModify(tx, s, tiered, { ...stmt, sql: s.text }, session) : await answerRewritten(tx, s, tiered, { ...stmt, sql: s.text }, session);
            if (answer.raw) {
              handedOff = true;
              return { ...answer, raw: rawStreamed(answer.raw, finish) };
            }
            await finish(true);
            return answer;
          }
          if (!tiered && (statements.length > 1 || !s.stmt.SelectStmt)) {
            throw notSupported('non-select-in-string', 'statements other than SELECT and SET in a string with a tiered query');
          }
          const answer = await answerSelect(tx, s, { ...stmt, sql: s.text }, session);
          if (!isLast) {
            while ((await answer.portal.next()) !== null);
            await answer.portal.close();
            continue;
          }
          // The last statement streams: the transaction ends when its rows are consumed.
          handedOff = true;
          return streamed(answer.fields, answer.portal, finish, signal);
        }
        await finish(true);
        return last!;
      } catch (err) {
        if (!handedOff) await finish(false).catch(() => undefined);
        throw countRefusal(err);
      }
    },
  };
}

/** Settings that change how PostgreSQL reads or prints values (a pooled connection takes the session's). */
const SESSION_SETTINGS = ['TimeZone', 'DateStyle', 'IntervalStyle', 'extra_float_digits', 'search_path', 'bytea_output'];

/** For the engine's own connections: the session's settings, and its role, for this block only. */
async function applySessionSettings(hot: HotSession, session: SessionContext): Promise<void> {
  const pairs: Array<[string, string]> = [];
  for (const k of SESSION_SETTINGS) {
    const v = session.settings.get(k);
    if (v !== undefined) pairs.push([k, v]);
  }
  if (session.role) pairs.push(['role', session.role]);
  if (pairs.length === 0) return;
  await hot.query(
    `SELECT ${pairs.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, true)`).join(', ')}`,
    pairs.flat(),
  );
}

/** PostgreSQL's CURSOR_OPT_HOLD (DECLARE … WITH HOLD). */
const CURSOR_OPT_HOLD = 0x0020;

/** The query a rewritten statement reads through (its result columns must keep their types). */
function innerQuery(stmt: PgNode): PgNode {
  if (stmt.DeclareCursorStmt) return stmt.DeclareCursorStmt.query;
  if (stmt.CopyStmt) return stmt.CopyStmt.query;
  if (stmt.CreateTableAsStmt) return stmt.CreateTableAsStmt.query;
  if (stmt.InsertStmt) return stmt.InsertStmt.selectStmt;
  if (stmt.SelectStmt?.intoClause) {
    const { intoClause: _into, ...select } = stmt.SelectStmt;
    return { SelectStmt: select };
  }
  return stmt;
}

/** `COPY t [(cols)] TO STDOUT …` as `COPY (SELECT cols FROM t) TO STDOUT …`. */
function copyOfQuery(copy: PgNode): PgNode {
  const columns: string[] = (copy.attlist ?? []).map((a: PgNode) => a.String.sval);
  const list = columns.length > 0 ? columns.map(pgIdent).join(', ') : '*';
  const rel = copy.relation;
  const name = rel.schemaname ? `${pgIdent(rel.schemaname)}.${pgIdent(rel.relname)}` : pgIdent(rel.relname);
  const { relation: _relation, attlist: _attlist, ...rest } = copy;
  return { CopyStmt: { ...rest, query: { SelectStmt: selectOf(`SELECT ${list} FROM ${name}`) } } };
}

async function* emptyRowsGen(): AsyncGenerator<Array<string | null>> {}
function emptyRows(): AsyncIterable<Array<string | null>> {
  return emptyRowsGen();
}
