import { pgIdent, pgQualified } from '@strata/core';
import { deparseStatement } from '../router/sql-parser';
import { andOf } from '../translate/ast';
import { isoInstant, NEG_INFINITY, POS_INFINITY, type Instant } from '../translate/instant';
import type { HotSession } from './hot-session';
import type { OccurrencePlan } from './plan';
import { exprOf, selectOf } from './sql-snippets';

/**
 * "The latest n rows" answered by the hot tier alone. A top-N (top-n.ts) whose first
 * order key is the time column, descending, ranks every row at or above W before every
 * cold row: committed generations hold rows below W only, and cold times are never NULL.
 * So when the hot tier holds n + m rows that meet the statement's WHERE at or above W,
 * they (with any hot row ranked before them) are the first n + m over both tiers, and
 * ClickHouse need not be asked — the rewritten statement reads no cold row and PostgreSQL
 * orders and cuts the hot rows as it would all of them. Rows this count leaves out (late
 * rows below W, a NULL time) only make it answer "not enough": then ClickHouse is read as
 * before.
 *
 * One count in the client's transaction and snapshot, with its parameters, cut at n + m
 * rows (PostgreSQL stops there): a round trip, against the ClickHouse statement it saves
 * (bench raw-latest-span: 8–13 ms) when a dashboard asks for the latest rows of a range
 * that reaches the present.
 */
export function hotTopNApplies(occ: OccurrencePlan, includeHot: boolean): boolean {
  const first = occ.topN?.keys[0];
  const rel = occ.relation;
  const timeKind = rel.columns.find((c) => c.name === rel.timeColumn)?.kind;
  // Windows reading past the cut need rows past the hot tier's n + m, and calls offset
  // by the cold rows left out their measure: ClickHouse is read.
  if (occ.topN?.reach !== undefined || occ.topN?.offsets) return false;
  // timestamptz only: W is an instant, compared as one.
  return includeHot && rel.mode !== 'cold-only' && first?.column === rel.timeColumn && first.direction === 'DESC' && timeKind === 'timestamptz';
}

/** Whether the hot tier alone holds the occurrence's first n + m rows (see above). */
export async function hotHoldsTopN(
  hot: HotSession,
  occ: OccurrencePlan,
  w: Instant,
  params: ReadonlyArray<string | null>,
  paramTypes: readonly number[],
): Promise<boolean> {
  const topN = occ.topN!;
  if (w <= NEG_INFINITY || w >= POS_INFINITY) return false;
  const rel = occ.relation;
  const alias = pgIdent(occ.refName);
  const rows = selectOf(`SELECT FROM ${pgQualified(rel.schema, rel.table)} AS ${alias} LIMIT ${topN.rows}`);
  const atOrAboveW = exprOf(`${alias}.${pgIdent(rel.timeColumn)} >= '${isoInstant(w)}'::timestamptz`);
  rows.whereClause = andOf([...(topN.where ? [structuredClone(topN.where)] : []), atOrAboveW]);
  const sql = `SELECT count(*)::text FROM (${deparseStatement({ SelectStmt: rows })}) AS hot`;
  const r = await hot.query(sql, params, paramTypes);
  return BigInt(r.rows[0][0] ?? '0') >= topN.rows;
}
