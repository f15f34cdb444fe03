import type { Prepared } from './cold-rows';
import { coldRange, isEmptyRange, type OccurrencePlan } from './plan';

/**
 * The plan class of a tiered statement: how much of the cold tier's work ClickHouse does.
 * Best first — `hot` (no cold row read), `whole` (ClickHouse answers the statement, or
 * the occurrence's whole subtree), `rollup` (read from a rollup table), `top-n` (the
 * first n + m cold rows), `top-k` (the cold candidates of a top-k per partition: rows
 * ranked ≤ k within the cold tier), `partials` (pre-aggregated cold groups), `raw` (every cold
 * row in range copied into PostgreSQL: the bounded last resort). EXPLAIN prints it;
 * `make explain-corpus` counts it.
 */
export const PLAN_CLASSES = ['hot', 'whole', 'rollup', 'top-n', 'top-k', 'partials', 'raw'] as const;
export type PlanClass = (typeof PLAN_CLASSES)[number];

/**
 * The class of one occurrence that reads cold rows, as the plan decided it. The one
 * place that maps plan fields to a class: new plan shapes (whole-statement pushdown,
 * rollups) add their case here.
 */
export function planClassOf(occ: OccurrencePlan): Exclude<PlanClass, 'hot'> {
  if (occ.shipHot) return 'whole';
  if (occ.rollupRead) return 'rollup';
  if (occ.mode === 'partial') return 'partials';
  if (occ.topN) return 'top-n';
  if (occ.topK) return 'top-k';
  return 'raw';
}

/**
 * The statement's class: `hot` when it reads no cold row, else the worst class among the
 * occurrences that do (one raw occurrence makes the statement a raw-row fallback).
 */
export function statementPlanClass(p: Pick<Prepared, 'plan' | 'values' | 'states'>): PlanClass {
  let worst: PlanClass = 'hot';
  for (const occ of p.plan.occurrences) {
    if (isEmptyRange(coldRange(occ, p.values, p.states.get(occ.relation.table)!.w))) continue;
    const c = planClassOf(occ);
    if (PLAN_CLASSES.indexOf(c) > PLAN_CLASSES.indexOf(worst)) worst = c;
  }
  return worst;
}
