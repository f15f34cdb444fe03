import type { RollupReadPolicy } from './rollup-read-policy';
import { ROLLUP_CONTEXT_SQL, type RollupContext } from './rollup-reads';
import {
  pgIdent,
  pgTextArrayLiteral,
  pgQualified,
  READ_TIER_STATE_SQL,
  TIER_READ_LOCK_SHARED_SQL,
  UNAPPLIED_COLD_DELETES_SQL,
  tierStateFromRow,
  visibleGenerationsSql,
  type TieredTableSpec,
} from '@strata/core';
import { withCurrentSpecs, type CatalogSnapshot, type TieredRelation } from '../router/catalog-snapshot';
import { deparseStatement, type PgNode } from '../router/sql-parser';
import { findTieredRefs } from '../router/tiered-refs';
import type { TieredStatement } from '../router/tiered-statement';
import { instantFromEpochText, type Instant } from '../translate/instant';
import type { SessionContext } from './contract';
import { SqlStateError } from './contract';
import type { EngineContext } from './engine-context';
import { notSupported } from './errors';
import type { Described } from './pg-extended-query';
import { replaceNode, selectOf } from './sql-snippets';
import { coldDeletesFromRows, tombstoneFilterSql } from './tiered-delete';
import { runInOrder, type PipelinedStatement } from './hot-session';
import type { InlineColumn } from './inline-cold-rows';
import { withTextOrder, type ColumnCollation } from './text-order-columns';
import type { PartListings } from './part-listings';
import type { ColdSpans } from './cold-spans';
import type { Transaction } from './transaction';

/** A tiered table as this statement's snapshot has it. */
export interface TierStateRow {
  w: Instant;
  /** W as PostgreSQL prints it in the session (for messages). */
  text: string;
  /** ClickHouse condition: rows of visible generations that no pending delete removed. */
  visibility: string;
  /** The committed generations alone (visibility without cold deletes), for rollup rows. */
  generations: string;
  rowSecurity: boolean;
  /** The hot table's columns in PostgreSQL's order, read with the tier state (raw cold rows stand in for its rows). */
  hotColumns?: InlineColumn[];
}

/** The statement's tables as this transaction sees them: their tier states, and the catalog with their current specs. */
export interface StatementTables {
  snapshot: CatalogSnapshot;
  states: Map<string, TierStateRow>;
  /** When rollups are read (rollup-read-policy.ts); absent: never. */
  rollupPolicy?: RollupReadPolicy;
  /** PostgreSQL's description of the statement, when read in the same round trip (readStatementTables' `describe`). */
  described?: Described;
  /** What rollup reads depend on, read in the same round trip where a table has rollups (rollup-reads.ts). */
  rollupContext?: RollupContext;
  /** The cold tables' parts as the engine last listed them (part-listings.ts). */
  partListings?: PartListings;
  /** Where the raw tables' visible cold rows lie (cold-spans.ts). */
  coldSpans?: ColdSpans;
}

/** W, visibility and the registered spec of each table, in the statement's snapshot (core's READ_TIER_STATE_SQL). */
export async function readTierStates(tx: Transaction, tables: string[]): Promise<{ states: Map<string, TierStateRow>; specs: TieredTableSpec[] }> {
  const list = pgTextArrayLiteral(tables);
  const results = await runInOrder(tx.hot, [...tierReadLock(tx, list), { sql: READ_TIER_STATE_SQL, params: [list] }]);
  return tierStatesOf(results[results.length - 1].rows);
}

/**
 * READ COMMITTED: hold tiering commits off until this transaction ends, so the
 * statements after it (cold rows, then the rewritten statement) agree with this W.
 */
function tierReadLock(tx: Transaction, list: string): PipelinedStatement[] {
  return tx.readCommitted ? [{ sql: TIER_READ_LOCK_SHARED_SQL, params: [list] }] : [];
}

/**
 * The hot tables' columns in their order ($1: qualified names), for raw cold rows inlined
 * in their place, with their collations (text-order-columns.ts: which text PostgreSQL
 * orders as ClickHouse does, and which it compares as bytes).
 */
const HOT_COLUMNS_SQL = `SELECT u.t, a.attname::text, format_type(a.atttypid, a.atttypmod), co.collprovider::text, co.collcollate, co.collisdeterministic::text, co.collctype
   FROM unnest($1::text[]) WITH ORDINALITY AS u (t, n) JOIN pg_catalog.pg_attribute a ON a.attrelid = to_regclass(u.t)
   LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
  WHERE a.attnum > 0 AND NOT a.attisdropped ORDER BY u.n, a.attnum`;

function tierStatesOf(rows: ReadonlyArray<ReadonlyArray<string | null>>): { states: Map<string, TierStateRow>; specs: TieredTableSpec[] } {
  const states = new Map<string, TierStateRow>();
  const specs: TieredTableSpec[] = [];
  for (const row of rows) {
    const s = tierStateFromRow(row);
    const generations = visibleGenerationsSql(s);
    states.set(s.table, { w: instantFromEpochText(s.watermarkEpoch), text: s.watermarkText, visibility: generations, generations, rowSecurity: s.rowSecurity });
    specs.push(s.spec);
  }
  return { states, specs };
}

/**
 * The tiered tables `query` reads (or `known`'s), as this transaction sees them: tier
 * states with pending cold deletes folded into visibility, current specs. Refuses tables
 * with row-level security, and cold-only tables the session's role may not read.
 */
export async function readStatementTables(
  ctx: EngineContext,
  tx: Transaction,
  query: PgNode,
  session: SessionContext,
  known?: TieredStatement,
  describe?: { text: string; paramTypes: number[] },
): Promise<StatementTables> {
  const cached = ctx.snapshot();
  const refs = known?.refs ?? findTieredRefs(query, cached);
  // Tables with a PostgreSQL table are checked by PostgreSQL itself (the statement runs
  // as the client's role); cold-only tables have none, so their privilege is checked here.
  // A rollup read over the wire is read with its table's privilege and tier state.
  const baseOf = (rel: TieredRelation) => (rel.rollupOf ? { ...rel, table: rel.rollupOf.table } : rel);
  if (session.role) await checkCanRead(tx, session.role, refs.filter((r) => r.relation.mode === 'cold-only').map((r) => baseOf(r.relation)));
  const tables = [...new Set(refs.map((r) => baseOf(r.relation).table))];
  const hotTables = new Map(refs.filter((r) => r.relation.mode !== 'cold-only' && !r.relation.rollupOf).map((r) => [pgQualified(r.relation.schema, r.relation.table), r.relation.table]));
  const list = pgTextArrayLiteral(tables);
  // One round trip: the tier states, the cold rows a DELETE / TRUNCATE removed that
  // ClickHouse has not dropped yet (tiered-delete.ts), the hot tables' column order.
  // A statement reading no cold-only table is described as written (describeStatement),
  // first: PostgreSQL's own errors come before the engine's.
  const describeFirst: PipelinedStatement[] =
    describe && !refs.some((r) => r.relation.mode === 'cold-only') ? [{ sql: describe.text, paramTypes: describe.paramTypes, describeOnly: true }] : [];
  const withRollups = [...new Set(refs.filter((r) => !r.relation.rollupOf && (r.relation.rollups?.length ?? 0) > 0).map((r) => r.relation.table))];
  const results = await runInOrder(tx.hot, [
    ...describeFirst,
    ...tierReadLock(tx, list),
    { sql: READ_TIER_STATE_SQL, params: [list] },
    { sql: UNAPPLIED_COLD_DELETES_SQL, params: [list] },
    { sql: HOT_COLUMNS_SQL, params: [pgTextArrayLiteral([...hotTables.keys()])] },
    ...(withRollups.length > 0 ? [{ sql: ROLLUP_CONTEXT_SQL, params: [pgTextArrayLiteral(withRollups)] }] : []),
  ]);
  const rollupContext = withRollups.length > 0 ? { tables: withRollups, row: results.pop()!.rows[0] } : undefined;
  const [stateRows, deleteRows, columnRows] = results.slice(-3).map((r) => r.rows);
  const { states, specs } = tierStatesOf(stateRows);
  const deletes = coldDeletesFromRows(deleteRows, tables);
  const collations = new Map<string, Map<string, ColumnCollation>>();
  for (const [qualified, name, pgType, provider, locale, deterministic, ctype] of columnRows) {
    const table = hotTables.get(qualified!)!;
    const state = states.get(table);
    if (state) (state.hotColumns ??= []).push({ name: name!, pgType: pgType! });
    if (!collations.has(table)) collations.set(table, new Map());
    collations.get(table)!.set(name!, { provider, locale, ctype, deterministic: deterministic === null ? null : deterministic === 'true' });
  }
  for (const [table, state] of states) {
    if (state.rowSecurity) throw notSupported('row-level-security', `table "${table}" has row-level security, which the cold tier cannot apply`);
    const d = deletes.get(table) ?? [];
    if (d.length > 0) state.visibility = `${state.visibility} AND ${tombstoneFilterSql(d)}`;
  }
  // Its rows are not reached by cold deletes: its generations alone.
  for (const { relation } of refs) {
    const base = relation.rollupOf && states.get(relation.rollupOf.table);
    if (base) states.set(relation.table, { ...base, visibility: base.generations, hotColumns: undefined });
  }
  const described = describeFirst.length > 0 ? { paramTypes: results[0].paramTypes ?? [], fields: results[0].fields } : undefined;
  return { snapshot: withTextOrder(withCurrentSpecs(cached, specs), collations), states, rollupPolicy: ctx.rollupPolicy, partListings: ctx.partListings, coldSpans: ctx.coldSpans, ...(described ? { described } : {}), ...(rollupContext ? { rollupContext } : {}) };
}

async function checkCanRead(tx: Transaction, role: string, relations: TieredRelation[]): Promise<void> {
  if (relations.length === 0) return;
  const names = relations.map((r) => `${pgIdent(r.schema)}.${pgIdent(r.table)}`);
  const r = await tx.hot.query("SELECT name, has_table_privilege($1, name, 'SELECT')::text FROM unnest($2::text[]) AS name", [role, pgTextArrayLiteral(names)]);
  const denied = r.rows.find((row) => row[1] !== 'true');
  if (denied) throw new SqlStateError('42501', `permission denied for table ${relations[names.indexOf(denied[0]!)].table}`);
}

/**
 * Describes a statement as PostgreSQL does. Cold-only tables have no PostgreSQL table:
 * each read of one is described over an empty stand-in, a subquery of typed NULLs with
 * its columns as the registry has them in this snapshot, so PostgreSQL itself gives the
 * parameter and result types (type modifiers too: `NULL::varchar(20)` keeps its 20). A
 * subquery is also what the statement reads when it runs (plan.ts derivedTable), and it
 * costs no catalog work: a temporary table created and dropped around the describe cost
 * two round trips more and 2.5–7 ms a statement in bench/cold (issue 14, overhead).
 * `current`: the catalog already read in this transaction, if any.
 */
export async function describeStatement(ctx: EngineContext, tx: Transaction, query: PgNode, text: string, paramTypes: number[], current?: CatalogSnapshot): Promise<Described> {
  const coldOnly = findTieredRefs(query, current ?? ctx.snapshot()).filter((r) => r.relation.mode === 'cold-only');
  if (coldOnly.length === 0) return tx.hot.describe(text, paramTypes);
  if (!current) {
    const tables = [...new Set(coldOnly.map((r) => r.relation.table))];
    const specs = await tx.hot.query('SELECT schema::text FROM strata.table_registry WHERE table_name = ANY($1::text[])', [pgTextArrayLiteral(tables)]);
    current = withCurrentSpecs(
      ctx.snapshot(),
      specs.rows.map((r) => JSON.parse(r[0]!) as TieredTableSpec),
    );
  }
  const tree = structuredClone(query);
  for (const ref of findTieredRefs(tree, current)) {
    if (ref.relation.mode !== 'cold-only') continue;
    const typedNulls = ref.relation.columns.map((c) => `NULL::${c.pgType} AS ${pgIdent(c.name)}`);
    const standIn = selectOf(`SELECT ${typedNulls.join(', ')} WHERE false`);
    replaceNode(ref.node, { RangeSubselect: { subquery: { SelectStmt: standIn }, alias: ref.rangeVar.alias ?? { aliasname: ref.rangeVar.relname } } });
  }
  return tx.hot.describe(deparseStatement(tree), paramTypes);
}
