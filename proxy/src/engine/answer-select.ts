import { chIdent } from '@strata/core';
import { deparseStatement, type ParsedStatement, type PgNode } from '../router/sql-parser';
import { isoInstant } from '../translate/instant';
import type { EngineStatement, ResultField, SessionContext } from './contract';
import { boundWith, countRoute, loadColdRows, prepareStatement, readsHotOnly } from './cold-rows';
import type { EngineContext } from './engine-context';
import { notSupported } from './errors';
import type { PortalRows } from './pg-extended-query';
import { coldQuery, coldRange, isEmptyRange, type OccurrencePlan } from './plan';
import { offsetCallsText } from './left-out-offsets';
import { rollupReadText } from './rollup-plan';
import { statementPlanClass } from './plan-class';
import { hotPartials, readPartialTableOnly } from './hot-partials';
import { describeStatement, readStatementTables } from './statement-tables';
import type { Transaction } from './transaction';
import { SCRATCH_DATABASE, shippedRowsSql } from './whole-pushdown';

let nextPortal = 1;

/** Refuses a rewritten query whose columns PostgreSQL types differently from the original's. */
export function checkSameTypes(original: ResultField[], rewritten: ResultField[]): void {
  const mismatch = rewritten.findIndex((f, i) => f.typeOid !== original[i]?.typeOid);
  if (mismatch >= 0 || rewritten.length !== original.length) throw notSupported('type-change', `column ${mismatch + 1} would change type`);
}

/**
 * A SELECT: described first (bound parameters, time bounds among them, get their types
 * from it), then run as written when it reads no cold row, else rewritten over both
 * tiers; its rows stay in PostgreSQL's portal until the consumer reads them.
 */
export async function answerSelect(
  ctx: EngineContext,
  tx: Transaction,
  parsed: ParsedStatement,
  stmt: EngineStatement,
  session: SessionContext,
): Promise<{ fields: ResultField[]; portal: PortalRows }> {
  const pageRows = ctx.opts.pageRows ?? 1000;
  // Inside the client's block the result's portal is named: it outlives Sync, so the
  // client may read it in pieces with other statements in between (as with PostgreSQL).
  const name = tx.own ? undefined : `_strata_portal_${nextPortal++}`;
  const tables = await readStatementTables(ctx, tx, parsed.stmt, session, undefined, { text: parsed.text, paramTypes: stmt.paramTypes });
  const described = tables.described ?? (await describeStatement(ctx, tx, parsed.stmt, parsed.text, stmt.paramTypes, tables.snapshot));
  const p = await prepareStatement(tx, parsed.stmt, stmt, session, described.paramTypes, tables);
  if (readsHotOnly(p)) {
    ctx.stats.hot++;
    return { fields: described.fields, portal: await tx.hot.openPortal(parsed.text, stmt.params, described.paramTypes, pageRows, name) };
  }
  if ((parsed.stmt.SelectStmt?.lockingClause?.length ?? 0) > 0) {
    throw notSupported('locking-clause', 'FOR UPDATE / FOR SHARE on rows of the cold tier (they cannot be locked)');
  }
  countRoute(ctx, p);
  const bound = boundWith(stmt, described.paramTypes, await loadColdRows(ctx, tx, p, false, described.paramTypes.length, true));
  const portal = await tx.hot.openPortal(deparseStatement(p.plan.stmt), bound.params, bound.types, pageRows, name);
  try {
    // PostgreSQL must have produced the original statement's types; otherwise refuse.
    checkSameTypes(described.fields, portal.fields);
  } catch (err) {
    await portal.close();
    throw err;
  }
  return { fields: described.fields, portal };
}

/** What EXPLAIN says the occurrence reads from the cold tier. */
function coldReadText(occ: OccurrencePlan): string {
  if (occ.shipHot?.above) {
    return 'whole aggregates per group, over cold rows and the hot rows of the time buckets reaching below W shipped to ClickHouse (later buckets: PostgreSQL over their hot rows),';
  }
  if (occ.shipHot) return 'whole aggregates per group, over cold rows and the hot rows of the range shipped to ClickHouse,';
  if (occ.rollupRead) return rollupReadText(occ.rollupRead);
  if (occ.mode === 'partial') return 'partial aggregates';
  const { topN, topK } = occ;
  if (topN) {
    const widened = topN.reach ? `, then through their ties and ${topN.reach} more (windows read past the cut)` : '';
    const counted = topN.offsets ? `, the rest counted (${offsetCallsText(topN.offsets)}: offset by the cold rows left out)` : '';
    return `the first ${topN.rows} raw rows (top-N)${widened}${counted}`;
  }
  if (topK?.ofTopN) return `the first ${topK.maxRank} raw rows of each partition (top-N whose windows read past the cut within partitions: rank ≤ ${topK.maxRank} within the cold tier)`;
  if (topK) return `the candidate raw rows of a top-k per partition (${topK.fn} ≤ ${topK.maxRank} within the cold tier)`;
  return 'raw rows';
}

/** EXPLAIN of a tiered statement: the route, W, and the SQL each tier is sent. */
export async function explainStatement(ctx: EngineContext, tx: Transaction, query: PgNode, stmt: EngineStatement, session: SessionContext): Promise<string[]> {
  const tables = await readStatementTables(ctx, tx, query, session);
  const { paramTypes } = await describeStatement(ctx, tx, query, deparseStatement(query), stmt.paramTypes, tables.snapshot);
  const p = await prepareStatement(tx, query, stmt, session, paramTypes, tables);
  const lines: string[] = [`Strata route: ${p.route}`, `Strata plan class: ${statementPlanClass(p)}`];
  for (const occ of p.plan.occurrences) {
    const state = p.states.get(occ.relation.table)!;
    const range = coldRange(occ, p.values, state.w);
    lines.push(
      `Tiered table ${occ.relation.schema}.${occ.relation.table} AS ${occ.refName}: watermark W = ${isoInstant(state.w)}; ` +
        `${coldReadText(occ)} from the cold tier`,
    );
    if (isEmptyRange(range)) {
      lines.push(`  ClickHouse: (not queried: ${occ.topN?.hotHolds ? `the hot tier holds the first ${occ.topN.rows} rows at or above W` : 'no cold rows in range'})`);
      continue;
    }
    const shipped = occ.shipHot && p.includeHot && occ.relation.mode !== 'cold-only' ? `${chIdent(SCRATCH_DATABASE)}.<the statement's hot rows>` : undefined;
    if (shipped) lines.push(`  Hot rows shipped: ${shippedRowsSql(occ)}`);
    // As loadColdRows runs it: the hot rows aggregated into the partial table while ClickHouse reads.
    const hot = !tx.noTempTables && p.includeHot ? hotPartials(occ, p.values, state.w, BigInt(Date.now()) * 1000n) : undefined;
    if (hot) {
      lines.push(`  PostgreSQL, while ClickHouse reads: ${hot}`);
      readPartialTableOnly(occ);
    }
    const q = coldQuery(occ, p.values, state.w, state.visibility, ctx.opts.coldDatabase, shipped);
    lines.push(`  ClickHouse: ${q.sql}`);
    const params = Object.entries(q.params).map(([k, v]) => `${k} = ${JSON.stringify(v)}`);
    if (params.length > 0) lines.push(`  ClickHouse parameters: ${params.join(', ')}`);
  }
  lines.push(`PostgreSQL: ${p.route === 'hot' ? deparseStatement(query) : deparseStatement(p.plan.stmt)}`);
  return lines;
}
