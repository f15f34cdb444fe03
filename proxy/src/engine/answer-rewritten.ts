import { pgIdent } from '@strata/core';
import { deparseStatement, type ParsedStatement, type PgNode } from '../router/sql-parser';
import type { TieredStatement } from '../router/tiered-statement';
import type { EngineResult, EngineStatement, SessionContext } from './contract';
import { SqlStateError } from './contract';
import { checkSameTypes } from './answer-select';
import { boundWith, countRoute, loadColdRows, prepareStatement } from './cold-rows';
import type { EngineContext } from './engine-context';
import { notSupported } from './errors';
import { fixedResult } from './results';
import { selectOf } from './sql-snippets';
import { describeStatement, readStatementTables } from './statement-tables';
import type { Transaction } from './transaction';

/** PostgreSQL's CURSOR_OPT_HOLD (DECLARE … WITH HOLD). */
const CURSOR_OPT_HOLD = 0x0020;

let nextCursorTemps = 1;

/**
 * DECLARE, COPY (…) TO STDOUT, CREATE TABLE AS / SELECT INTO / INSERT … SELECT: the
 * statement runs as written with each read of a tiered table replaced, after the query
 * it reads through is checked to keep PostgreSQL's column types.
 */
export async function answerRewritten(
  ctx: EngineContext,
  tx: Transaction,
  parsed: ParsedStatement,
  tiered: TieredStatement,
  stmt: EngineStatement,
  session: SessionContext,
): Promise<EngineResult> {
  let tree = parsed.stmt;
  if (tiered.kind === 'write-from-read' && tree.CreateTableAsStmt?.objtype === 'OBJECT_MATVIEW') {
    throw notSupported('materialized-view', 'a materialized view over a tiered table (its refresh would read the hot tier only)');
  }
  if (tiered.kind === 'declare' && tx.own && !(tree.DeclareCursorStmt.options & CURSOR_OPT_HOLD)) {
    throw new SqlStateError('25P01', 'DECLARE CURSOR can only be used in transaction blocks');
  }
  if (tiered.kind === 'copy-out' && tree.CopyStmt.relation) tree = copyOfQuery(tree.CopyStmt);
  const tables = await readStatementTables(ctx, tx, tree, session);
  const described = await describeStatement(ctx, tx, tree, deparseStatement(tree), stmt.paramTypes, tables.snapshot);
  const keep = tiered.kind === 'declare';
  // A cursor's tables live until the transaction ends: names of their own.
  const p = await prepareStatement(tx, tree, stmt, session, described.paramTypes, tables, keep ? `_strata_cursor${nextCursorTemps++}_` : undefined);
  let sql = deparseStatement(tree);
  let bound = boundWith(stmt, described.paramTypes, []);
  if (p.route !== 'hot' || p.plan.occurrences.some((o) => o.relation.mode === 'cold-only')) {
    countRoute(ctx, p);
    bound = boundWith(stmt, described.paramTypes, await loadColdRows(ctx, tx, p, keep, described.paramTypes.length));
    const inner = innerQuery(tree);
    const before = await describeStatement(ctx, tx, inner, deparseStatement(inner), described.paramTypes, tables.snapshot);
    const after = await tx.hot.describe(deparseStatement(innerQuery(p.plan.stmt)), bound.types);
    checkSameTypes(before.fields, after.fields);
    sql = deparseStatement(p.plan.stmt);
  } else ctx.stats.hot++;
  if (tiered.kind === 'copy-out') {
    if (!tx.hot.copyOut) throw notSupported('non-select-in-string', 'COPY … TO STDOUT without a client connection');
    return { ...fixedResult([], [], ''), raw: tx.hot.copyOut(sql, bound.params, bound.types) };
  }
  const r = await tx.hot.query(sql, bound.params, bound.types);
  return fixedResult([], [], r.commandTag);
}

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
