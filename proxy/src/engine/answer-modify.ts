import type { ParsedStatement, PgNode } from '../router/sql-parser';
import type { TieredStatement } from '../router/tiered-statement';
import { conjuncts } from '../translate/ast';
import { NEG_INFINITY } from '../translate/instant';
import { FULL_RANGE, belowRange, intersectRanges, isEmptyRange, rangeOf, timePredicateOf, type TimePredicate } from '../translate/time-predicate';
import type { EngineResult, EngineStatement, SessionContext } from './contract';
import type { EngineContext } from './engine-context';
import { notSupported } from './errors';
import { fixedResult } from './results';
import { readStatementTables, readTierStates } from './statement-tables';
import { executeTieredDelete } from './tiered-delete';
import { evaluateTimeBounds } from './time-bounds';
import type { Transaction } from './transaction';

/**
 * DELETE / TRUNCATE of one tiered table reach both tiers (tiered-delete.ts). UPDATE /
 * MERGE, and statements modifying other tables while reading a tiered one, are exact when
 * no row they could touch is cold (the time range the WHERE clause bounds lies wholly at
 * or above W), refused otherwise.
 */
export async function answerModify(
  ctx: EngineContext,
  tx: Transaction,
  parsed: ParsedStatement,
  tiered: TieredStatement,
  stmt: EngineStatement,
  session: SessionContext,
): Promise<EngineResult> {
  const truncated = parsed.stmt.TruncateStmt?.relations;
  const deleted = parsed.stmt.DeleteStmt?.relation ?? (truncated?.length === 1 ? truncated[0].RangeVar : undefined);
  if (deleted && tiered.refs.every((r) => r.rangeVar === deleted)) {
    const relation = tiered.refs[0].relation;
    // DELETE refuses row-level security itself (tiered-delete.ts reads it with the tier
    // state); TRUNCATE is refused here, stricter than PostgreSQL, which ignores the policies.
    if (truncated) {
      const state = (await readTierStates(tx, [relation.table])).states.get(relation.table);
      if (state?.rowSecurity) throw notSupported('row-level-security', `table "${relation.table}" has row-level security, which the cold tier cannot apply`);
    }
    const r = await executeTieredDelete(tx.hot, parsed.stmt, {
      relation,
      cold: ctx.opts.cold,
      coldDatabase: ctx.opts.coldDatabase,
      params: stmt.params,
      paramTypes: stmt.paramTypes,
      sql: parsed.text,
    });
    ctx.stats.split++;
    return fixedResult(r.fields ?? [], r.rows ?? [], r.commandTag);
  }
  const tables = await readStatementTables(ctx, tx, parsed.stmt, session, tiered);
  const described = await tx.hot.describe(parsed.text, stmt.paramTypes);
  const target = parsed.stmt.DeleteStmt ?? parsed.stmt.UpdateStmt;
  for (const ref of tiered.refs) {
    const state = tables.states.get(ref.relation.table);
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
    const values = await evaluateTimeBounds(tx.hot, bounds, stmt.params, described.paramTypes);
    const range = predicates.map((tp) => rangeOf(tp, values)).reduce(intersectRanges, FULL_RANGE);
    if (!direct || !isEmptyRange(intersectRanges(range, belowRange(state.w)))) {
      throw notSupported(
        'modify-cold-rows',
        `${Object.keys(parsed.stmt)[0].replace(/Stmt$/, '').toUpperCase()} of rows of "${ref.relation.table}" that may be in the cold tier (before ${state.text})`,
        'Bound the statement by the time column to rows at or after the watermark.',
      );
    }
  }
  ctx.stats.hot++;
  const r = await tx.hot.query(parsed.text, stmt.params, described.paramTypes);
  return fixedResult([], [], r.commandTag);
}
