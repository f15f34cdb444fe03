import {
  chQualified,
  coldDeleteFromRow,
  coldDeletesFilterSql,
  pgQualified,
  pgTextArrayLiteral,
  renderColdDeletePredicate,
  visibleGenerationsSql,
  ColdDeleteError,
  RECORD_COLD_DELETE_SQL,
  TIER_READ_LOCK_SHARED_SQL,
  UNAPPLIED_COLD_DELETES_SQL,
  type ColdDelete,
  type ColdStore,
} from '@strata/core';
import type { TieredRelation } from '../router/catalog-snapshot';
import { deparseStatement, type PgNode } from '../router/sql-parser';
import { conjuncts } from '../translate/ast';
import { ChParams } from '../translate/ch-params';
import { conditionToClickHouse } from '../translate/ch-condition';
import { columnKind, columnOf, type ColumnScope } from '../translate/column-scope';
import { instantFromEpochText, isoInstant, type Instant } from '../translate/instant';
import {
  FULL_RANGE,
  belowRange,
  intersectRanges,
  isEmptyRange,
  rangeOf,
  timePredicateOf,
  timePredicateToClickHouse,
  type TimePredicate,
} from '../translate/time-predicate';
import { SqlStateError, type ResultField } from './contract';
import { notSupported, toSqlStateError } from './errors';
import type { HotSession } from './hot-session';
import { evaluateTimeBounds } from './time-bounds';

/**
 * DELETE and TRUNCATE of a tiered table, in the client's own transaction.
 *
 * The hot part is the client's statement itself, run by PostgreSQL. The cold part is a
 * tombstone (core/catalog/cold-deletes.ts) inserted in the same transaction: it commits
 * or rolls back with the client's work, readers filter what it covers until the tierer
 * has applied it to ClickHouse, and it covers only generations committed when the
 * statement ran, so rows tiered later (which were hot then, and the statement's hot part
 * decided on) are never touched. The reported count is the hot rows PostgreSQL deleted
 * plus the cold rows the tombstone covers that no earlier tombstone did.
 *
 * Order, and why:
 * 1. The tier read lock in shared mode (catalog/tier-read-lock.ts): no tiering run commits
 *    until this transaction ends, so W and the committed generation read next stay
 *    current in a READ COMMITTED transaction — otherwise a run committing while the
 *    DELETE runs could move a matching row out of its reach and past the tombstone's
 *    generation.
 * 2. W, the committed generation; the time bounds evaluated by PostgreSQL (params,
 *    now() and the session time zone as the statement sees them).
 * 3. The WHERE translated exactly, or a refusal — unless the statement's range lies
 *    wholly at or above W, when PostgreSQL alone answers (RETURNING included).
 * 4. The statement on PostgreSQL: its own errors (privileges, types) come first.
 * 5. The tombstone. Its insert takes the table's row in strata.cold_delete_heads, so a
 *    concurrent delete of the same table waits (READ COMMITTED) or fails with 40001
 *    (REPEATABLE READ, SERIALIZABLE) as PostgreSQL does for a row two deletes reach.
 * 6. The cold count, against the tombstones this snapshot sees (a new one in READ
 *    COMMITTED, so a delete that waited in 5 does not count the other's rows again).
 */

export interface TieredDeleteContext {
  relation: TieredRelation;
  cold: ColdStore;
  coldDatabase: string;
  params: ReadonlyArray<string | null>;
  paramTypes: readonly number[];
  /** The statement's text as the client sent it (run on PostgreSQL); default: deparsed from the tree. */
  sql?: string;
}

export interface TieredDeleteResult {
  /** `DELETE n` (hot + cold rows) or `TRUNCATE TABLE`. */
  commandTag: string;
  /** With RETURNING (only ever answered by PostgreSQL alone): its columns and rows. */
  fields?: ResultField[];
  rows?: Array<Array<string | null>>;
}

/**
 * Runs `stmt` ({DeleteStmt} or {TruncateStmt} naming `ctx.relation`) inside the
 * transaction the caller has opened on `hot`; the caller commits or rolls back. Throws
 * SqlStateError: 0A000 for what cannot be done exactly, PostgreSQL's own errors as they
 * are, 58030 when ClickHouse fails.
 */
export async function executeTieredDelete(hot: HotSession, stmt: PgNode, ctx: TieredDeleteContext): Promise<TieredDeleteResult> {
  // Autocommit would commit the hot part and the tombstone apart: not atomic.
  if (hot.status() === 'I') throw new Error('executeTieredDelete runs inside a transaction the caller opened');
  try {
    return stmt?.TruncateStmt ? await truncate(hot, stmt, ctx) : await deleteRows(hot, stmt, ctx);
  } catch (err) {
    throw toSqlStateError(err);
  }
}

async function deleteRows(hot: HotSession, stmt: PgNode, ctx: TieredDeleteContext): Promise<TieredDeleteResult> {
  const d = stmt?.DeleteStmt;
  if (!d) throw new TypeError('executeTieredDelete: not a DELETE or TRUNCATE statement');
  const rel = ctx.relation;
  const name = `${rel.schema}.${rel.table}`;
  if (rel.mode === 'cold-only') throw notSupported('modify-cold-rows', `DELETE from cold-only table ${name}`);
  if ((d.usingClause ?? []).length > 0) throw notSupported('modify-cold-rows', `DELETE … USING on tiered table ${name}`);
  if (d.whereClause?.CurrentOfExpr) throw notSupported('modify-cold-rows', `DELETE … WHERE CURRENT OF on tiered table ${name}`);
  if (!d.relation?.inh) throw notSupported('modify-cold-rows', `DELETE FROM ONLY tiered table ${name}`);
  const sql = ctx.sql ?? deparseStatement(stmt);

  const state = await readState(hot, rel, 'DELETE');
  if (state.rowSecurity) throw notSupported('row-level-security', `DELETE on tiered table ${name}, which has row-level security: its policies cannot reach the cold tier`);
  const paramTypes = ctx.params.length > 0 ? (await hot.describe(sql, ctx.paramTypes)).paramTypes : [...ctx.paramTypes];

  // A condition on text of a nondeterministic collation ('abc' = 'ABC') has no exact cold form: refused below.
  const relation = { ...rel, columns: rel.columns.map((c) => (state.nondeterministic.includes(c.name) ? { ...c, nondeterministic: true } : c)) };
  const scope: ColumnScope = { relation, refName: d.relation.alias?.aliasname ?? d.relation.relname, soleFromItem: true };
  const timePredicates: TimePredicate[] = [];
  const bounds: PgNode[] = [];
  const others: PgNode[] = [];
  for (const c of conjuncts(d.whereClause)) {
    const tp = timePredicateOf(scope, c, bounds);
    if (tp) timePredicates.push(tp);
    else others.push(c);
  }
  const values = await evaluateTimeBounds(hot, bounds, ctx.params, paramTypes);
  const range = intersectRanges(
    timePredicates.map((p) => rangeOf(p, values)).reduce(intersectRanges, FULL_RANGE),
    belowRange(state.w),
  );
  if (state.committedGen === 0n || isEmptyRange(range)) {
    // Provably no cold row: PostgreSQL's answer is the whole answer.
    const r = await hot.query(sql, ctx.params, paramTypes);
    return d.returningList ? { commandTag: r.commandTag, fields: r.fields, rows: r.rows } : { commandTag: r.commandTag };
  }
  const coldPart = `rows before W = ${isoInstant(state.w)}`;
  if (d.returningList) throw notSupported('modify-cold-rows', `DELETE … RETURNING on tiered table ${name} reaching its cold ${coldPart}`);
  const params = new ChParams('d');
  const conditions = timePredicates.map((p) => timePredicateToClickHouse(p, values, rel.timeColumn, params));
  for (const c of others) {
    const ch = conditionToClickHouse(scope, withParamValues(scope, c, ctx.params), params);
    if (ch === undefined) {
      throw notSupported('modify-cold-rows', `DELETE on tiered table ${name} with a condition Strata cannot evaluate exactly on its cold ${coldPart}`);
    }
    conditions.push(ch);
  }
  const predicate = conditions.length > 0 ? conditions.join(' AND ') : '1';
  // What readers and the tierer accept (never store what they would refuse).
  try {
    renderColdDeletePredicate({ predicate, params: params.values });
  } catch (err) {
    if (!(err instanceof ColdDeleteError)) throw err;
    throw notSupported('modify-cold-rows', `DELETE on tiered table ${name} with a condition Strata cannot record for its cold ${coldPart}`);
  }

  const hotResult = await hot.query(sql, ctx.params, paramTypes);
  const hotRows = Number(/^DELETE (\d+)$/.exec(hotResult.commandTag)?.[1] ?? 0);
  const id = await recordColdDelete(hot, rel.table, predicate, params.values, state.committedGen);
  const earlier = (await readColdDeletes(hot, [rel.table])).get(rel.table)?.filter((t) => t.id !== id) ?? [];
  const where = [
    timePredicateToClickHouse({ kind: 'cmp', op: '<', bound: 0 }, [state.w], rel.timeColumn, params),
    state.visibility,
    coldDeletesFilterSql(earlier),
    `(${predicate})`,
  ];
  const counted = await ctx.cold.query<{ n: string }>(
    `SELECT count() AS n FROM ${chQualified(ctx.coldDatabase, rel.table)} WHERE ${where.join(' AND ')}`,
    params.values,
  );
  const coldRows = Number(counted[0]?.n ?? 0);
  return { commandTag: `DELETE ${hotRows + coldRows}` };
}

async function truncate(hot: HotSession, stmt: PgNode, ctx: TieredDeleteContext): Promise<TieredDeleteResult> {
  const t = stmt.TruncateStmt;
  const rel = ctx.relation;
  const name = `${rel.schema}.${rel.table}`;
  if (rel.mode === 'cold-only') throw notSupported('modify-cold-rows', `TRUNCATE of cold-only table ${name}`);
  const relations = (t.relations ?? []) as PgNode[];
  if (relations.length !== 1) throw notSupported('modify-cold-rows', `TRUNCATE of tiered table ${name} together with other tables`);
  if (!relations[0].RangeVar?.inh) throw notSupported('modify-cold-rows', `TRUNCATE ONLY of tiered table ${name}`);
  const sql = ctx.sql ?? deparseStatement(stmt);
  // TRUNCATE ignores row-level security in PostgreSQL too.
  const state = await readState(hot, rel, 'TRUNCATE');
  const r = await hot.query(sql, ctx.params, ctx.paramTypes);
  if (state.committedGen > 0n) await recordColdDelete(hot, rel.table, '1', {}, state.committedGen);
  return { commandTag: r.commandTag };
}

interface DeleteState {
  w: Instant;
  committedGen: bigint;
  visibility: string;
  rowSecurity: boolean;
  /** Columns of a nondeterministic collation: their equality is not byte equality (column-scope.ts equalsAsBytes). */
  nondeterministic: string[];
}

/**
 * Takes the tier read lock and reads the table's state. The role's privilege is checked
 * here, before anything is refused or run, so a role that may not delete gets
 * PostgreSQL's 42501 rather than a refusal; PostgreSQL checks it again on the statement.
 */
async function readState(hot: HotSession, rel: TieredRelation, privilege: 'DELETE' | 'TRUNCATE'): Promise<DeleteState> {
  await hot.query(TIER_READ_LOCK_SHARED_SQL, [pgTextArrayLiteral([rel.table])]);
  const r = await hot.query(
    `SELECT extract(epoch FROM s.watermark)::text, s.committed_gen::text, array_to_string(s.excluded_gens, ','),
            coalesce((SELECT c.relrowsecurity FROM pg_catalog.pg_class c WHERE c.oid = to_regclass($2)), false)::text,
            coalesce(has_table_privilege(to_regclass($2), $3), true)::text,
            (SELECT json_agg(a.attname::text)::text FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
              WHERE a.attrelid = to_regclass($2) AND a.attnum > 0 AND NOT a.attisdropped AND NOT co.collisdeterministic)
       FROM strata.tier_state s WHERE s.table_name = $1`,
    [rel.table, pgQualified(rel.schema, rel.table), privilege],
  );
  if (r.rows.length === 0) throw notSupported('unapplied-table', `table "${rel.table}" has no tier state (is it applied?)`);
  const [w, gen, excluded, rls, allowed, nondeterministic] = r.rows[0];
  if (allowed !== 'true') throw new SqlStateError('42501', `permission denied for table ${rel.table}`);
  const committedGen = BigInt(gen!);
  const excludedGens = excluded ? excluded.split(',').map((g) => BigInt(g)) : [];
  return { w: instantFromEpochText(w!), committedGen, visibility: visibleGenerationsSql({ committedGen, excludedGens }), rowSecurity: rls === 'true', nondeterministic: nondeterministic ? (JSON.parse(nondeterministic) as string[]) : [] };
}

async function recordColdDelete(hot: HotSession, table: string, predicate: string, params: ChParams['values'], maxGen: bigint): Promise<string> {
  const r = await hot.query(RECORD_COLD_DELETE_SQL, [table, predicate, JSON.stringify(params), maxGen.toString()]);
  return r.rows[0][0]!;
}

const NUMERIC_KINDS = new Set(['float8', 'float4', 'int8', 'int4', 'int2']);

/**
 * A copy of the condition with each bind parameter compared with a column replaced by
 * its value, as the constant conditionToClickHouse reads: a string for text and jsonb
 * operands, a number for numeric columns. PostgreSQL has already accepted the
 * statement with the parameter's type (the describe), so the value means what a literal
 * of it would. A NULL, or a parameter anywhere else, stays a parameter: the condition
 * does not translate and the statement is refused.
 */
function withParamValues(scope: ColumnScope, n: PgNode, params: ReadonlyArray<string | null>): PgNode {
  const tree = structuredClone(n);
  const valueOf = (p: PgNode, kind: 'text' | 'number'): PgNode => {
    const v = p?.ParamRef ? params[p.ParamRef.number - 1] : undefined;
    if (v === undefined || v === null) return p;
    if (kind === 'text') return { A_Const: { sval: { sval: v } } };
    return /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(v) ? { A_Const: { fval: { fval: v } } } : p;
  };
  const kindOf = (operand: PgNode): 'text' | 'number' | undefined => {
    if (operand?.ColumnRef) {
      const col = columnOf(scope, operand.ColumnRef);
      const k = col === undefined ? undefined : columnKind(scope, col);
      if (k === 'text' || k === 'varchar' || k === 'jsonb') return 'text';
      return k !== undefined && NUMERIC_KINDS.has(k) ? 'number' : undefined;
    }
    if (operand?.A_Expr?.kind === 'AEXPR_OP') return 'text'; // labels->>'k'
    return undefined;
  };
  const walk = (x: PgNode): void => {
    if (x === null || typeof x !== 'object') return;
    if (Array.isArray(x)) return x.forEach(walk);
    const e = x.A_Expr;
    if (e) {
      const lk = kindOf(e.lexpr);
      const rk = kindOf(e.rexpr);
      if (e.rexpr?.List?.items && lk) e.rexpr.List.items = (e.rexpr.List.items as PgNode[]).map((i) => valueOf(i, lk));
      else {
        if (lk && e.rexpr?.ParamRef) e.rexpr = valueOf(e.rexpr, lk);
        if (rk && e.lexpr?.ParamRef) e.lexpr = valueOf(e.lexpr, rk);
      }
      // The key of `->>`, the document of `@>`.
      const op = (e.name as PgNode[] | undefined)?.at(-1)?.String?.sval;
      if (e.rexpr?.ParamRef && (op === '->>' || op === '@>')) e.rexpr = valueOf(e.rexpr, 'text');
    }
    for (const v of Object.values(x)) walk(v);
  };
  walk(tree);
  return tree;
}

/**
 * Unapplied tombstones of `tables` as this session's snapshot sees them, per table (every
 * table given has an entry). Read next to the tier state, in the same transaction.
 * Throws SqlStateError XX000 when a tombstone is malformed (written around the proxy):
 * its rows cannot be filtered, and reading them would show deleted rows.
 */
export async function readColdDeletes(hot: HotSession, tables: readonly string[]): Promise<Map<string, ColdDelete[]>> {
  if (tables.length === 0) return coldDeletesFromRows([], tables);
  const r = await hot.query(UNAPPLIED_COLD_DELETES_SQL, [pgTextArrayLiteral(tables)]);
  return coldDeletesFromRows(r.rows, tables);
}

/** The rows of core's UNAPPLIED_COLD_DELETES_SQL for `tables`, checked, per table (as readColdDeletes). */
export function coldDeletesFromRows(rows: ReadonlyArray<ReadonlyArray<string | null>>, tables: readonly string[]): Map<string, ColdDelete[]> {
  const out = new Map<string, ColdDelete[]>(tables.map((t) => [t, []]));
  for (const row of rows) {
    const d = coldDeleteFromRow(row);
    try {
      renderColdDeletePredicate(d);
    } catch (err) {
      if (!(err instanceof ColdDeleteError)) throw err;
      throw new SqlStateError('XX000', `strata.cold_deletes row ${d.id} of table "${d.table}" is malformed: ${err.message}`, undefined, undefined, {
        cause: err,
      });
    }
    out.get(d.table)?.push(d);
  }
  return out;
}

/**
 * The ClickHouse condition keeping cold rows that none of `deletes` removed: AND it into
 * a cold read's visibility (`${visibility} AND ${tombstoneFilterSql(deletes)}`). `1`
 * when there are none. Values are inlined as CAST literals, no parameters.
 */
export function tombstoneFilterSql(deletes: readonly ColdDelete[]): string {
  return coldDeletesFilterSql(deletes);
}
