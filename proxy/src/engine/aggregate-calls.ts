import type { PgNode } from '../router/sql-parser';

/**
 * Whether a SELECT list or ORDER BY calls an aggregate (or a window function) or holds a
 * subquery: what a raw-row cut (top-N, top-k) cannot answer as written.
 */
export function readsAggregateOrWindow(node: PgNode): boolean {
  let found = false;
  const visit = (n: PgNode): void => {
    if (found || n === null || typeof n !== 'object') return;
    if (Array.isArray(n)) return n.forEach(visit);
    if (n.FuncCall && (n.FuncCall.over || n.FuncCall.agg_star || n.FuncCall.agg_distinct || AGGREGATES.has(lastName(n.FuncCall.funcname)))) {
      found = true;
      return;
    }
    if (n.SubLink) {
      found = true;
      return;
    }
    for (const v of Object.values(n)) visit(v);
  };
  visit(node);
  return found;
}

function lastName(names: PgNode[] | undefined): string {
  const last = names?.[names.length - 1];
  return String(last?.String?.sval ?? '').toLowerCase();
}

/** Aggregates a target list could name without GROUP BY (one row: no top-N); with OVER, window aggregates (top-n-windows.ts). */
export const AGGREGATES = new Set([
  'count', 'sum', 'avg', 'min', 'max', 'stddev', 'stddev_pop', 'stddev_samp', 'variance', 'var_pop', 'var_samp',
  'percentile_cont', 'percentile_disc', 'mode', 'array_agg', 'string_agg', 'json_agg', 'jsonb_agg', 'bool_and', 'bool_or', 'every',
  'bit_and', 'bit_or', 'json_object_agg', 'jsonb_object_agg', 'corr', 'covar_pop', 'covar_samp', 'regr_slope', 'xmlagg',
]);
