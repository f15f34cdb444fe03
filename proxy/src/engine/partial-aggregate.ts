import { pgIdent } from '@strata/core';
import type { PgNode } from '../router/sql-parser';
import { columnRefs, funcName, visit } from '../translate/ast';
import { columnKind, columnOf, isFloatKind, type ColumnScope } from '../translate/column-scope';
import { timeGranularity } from '../translate/time-granularity';
import { partialFilterOf, type PartialFilter } from './filtered-partials';
import { exactAggregate, type ExactPartialFn } from './exact-partials';
import { exprOf, replaceNode } from './sql-snippets';
import { groupsExactly, sameWhole, timeSplitOf, wholeAggregateOf, wholeInputs, wholeReplacementSql, type WholeColumn } from './whole-aggregate';
import { shippable } from './whole-pushdown';
import { splitReplacement, wholeSplitOf, type WholeSplit } from './whole-split';

/**
 * Partial aggregation across tiers, exact by construction. For a grouped SELECT over
 * one tiered table, ClickHouse groups the cold rows by every column the query's own
 * expressions read (time floored to a granularity on which those expressions are
 * constant, see translate/time-granularity.ts) and computes count/sum/min/max
 * partials; PostgreSQL then runs the query itself over hot rows UNION ALL those
 * partial rows, with each decomposable aggregate replaced by its combination
 * (count → sum of counts, avg → sum of sums / sum of counts). Every other expression,
 * GROUP BY key, FILTER, HAVING and ORDER BY is still PostgreSQL's, with PostgreSQL's
 * types, NULL rules and time zone. Aggregates that depend only on the set of values
 * (DISTINCT aggregates, bool_and/or, min/max of text) keep their column in the
 * grouping and run unchanged. Sums, averages and variances of integer and numeric(p,s)
 * columns have exact partials (exact-partials.ts). SELECT DISTINCT (and GROUP BY without
 * aggregates) is the same grouping with no aggregate: DISTINCT again over hot ∪ distinct
 * cold tuples is the same set. With `whole`, aggregates that do not merge (percentiles,
 * float stddev/variance, count(DISTINCT x)) are computed by ClickHouse over every row of
 * the group, hot rows shipped to it (whole-aggregate.ts) — only when ClickHouse's groups
 * are exactly the statement's. Window functions of a grouped SELECT see only its groups,
 * so they stay PostgreSQL's over the merged groups (partials only, no whole aggregates).
 * An aggregate's FILTER that ClickHouse evaluates exactly (`filterToClickHouse`) goes into
 * its partials instead (filtered-partials.ts): its columns then stay out of the grouping.
 * Anything else (windows over raw rows, …) makes the SELECT ineligible and the engine
 * falls back to raw rows.
 */

/** 'rows': count(*) with a filter (unfiltered, every partial row has ROWS_COLUMN). */
export type PartialFn = 'count' | 'sum' | 'min' | 'max' | 'rows' | ExactPartialFn;

export interface PartialColumn {
  name: string;
  fn: PartialFn;
  /** '' for 'rows'. */
  column: string;
  /** Only rows passing this aggregate FILTER count (computed with ClickHouse's -If combinators). */
  filter?: PartialFilter;
  /**
   * A float 'sum' that sum() shows: -0 when every value is -0, as PostgreSQL's (core's
   * pgFloatSumCh). An average's alone needs the plain sum (floatSumCh).
   */
  signedZero?: true;
}

export interface PartialShape {
  /** Non-time columns the cold rows are grouped by. */
  groupColumns: string[];
  /** µs the time column is floored to; 0n: exact instants; undefined: not grouped by time. */
  timeGranularity: bigint | undefined;
  partials: PartialColumn[];
  /** Aggregates ClickHouse computes whole per group (the hot rows shipped to it); empty: plain partials. */
  wholes: WholeColumn[];
  /** Whole aggregates grouped by a time bucket: groups past W's bucket are PostgreSQL's (whole-split.ts). */
  split?: WholeSplit;
}

export const ROWS_COLUMN = '_strata_n';

const AGGREGATES = new Set([
  'count', 'sum', 'avg', 'min', 'max', 'stddev', 'stddev_pop', 'stddev_samp', 'variance', 'var_pop', 'var_samp',
  'string_agg', 'array_agg', 'json_agg', 'jsonb_agg', 'json_object_agg', 'jsonb_object_agg', 'bool_and', 'bool_or',
  'every', 'bit_and', 'bit_or', 'bit_xor', 'percentile_cont', 'percentile_disc', 'mode', 'corr', 'covar_pop',
  'covar_samp', 'regr_avgx', 'regr_avgy', 'regr_count', 'regr_intercept', 'regr_r2', 'regr_slope', 'regr_sxx',
  'regr_sxy', 'regr_syy', 'xmlagg', 'range_agg', 'range_intersect_agg', 'any_value', 'first', 'last', 'histogram',
  'approx_count_distinct',
]);

/** Scalar functions that may be evaluated over grouped rows (deterministic, not aggregates). */
const SCALARS = new Set([
  'floor', 'ceil', 'ceiling', 'round', 'trunc', 'abs', 'sign', 'sqrt', 'power', 'pow', 'ln', 'log', 'exp', 'mod',
  'time_bucket', 'date_trunc', 'date_bin', 'date_part', 'extract', 'to_timestamp', 'to_char', 'timezone', 'lower',
  'upper', 'length', 'char_length', 'substr', 'substring', 'left', 'right', 'concat', 'concat_ws', 'replace',
  'split_part', 'btrim', 'ltrim', 'rtrim', 'jsonb_extract_path_text', 'jsonb_extract_path', 'jsonb_typeof', 'now',
  'make_interval', 'md5', 'starts_with', 'position', 'strpos', 'initcap', 'to_number',
]);

const MINMAX_PARTIAL_KINDS = new Set(['int2', 'int4', 'int8', 'numeric', 'float4', 'float8', 'timestamptz', 'timestamp', 'date']);

export class NotPartial extends Error {}

function isAggregateCall(f: PgNode): boolean {
  return Boolean(f.agg_star || f.agg_distinct || f.agg_within_group || f.agg_filter || f.agg_order) || AGGREGATES.has(funcName(f) ?? '');
}

/**
 * Rewrites `sel` (a SelectStmt's fields, FROM = the tiered table only) for partial
 * aggregation, in place; returns the shape of the cold partial rows. Throws NotPartial
 * (leaving `sel` untouched) when it is not eligible. `unpushed`: the WHERE conjuncts
 * that stay for PostgreSQL to evaluate over the combined rows.
 */
export function rewriteForPartials(
  sel: PgNode,
  scope: ColumnScope,
  unpushed: PgNode[],
  utc: boolean,
  whole = false,
  filterToClickHouse?: (c: PgNode) => string | undefined,
): PartialShape {
  // Whole aggregates first when allowed; without them the same SELECT may still have partials.
  for (const allowWhole of whole ? [true, false] : [false]) {
    const work = structuredClone(sel);
    try {
      const shape = rewrite(work, scope, structuredClone(unpushed), utc, allowWhole, filterToClickHouse);
      for (const k of Object.keys(sel)) delete sel[k];
      Object.assign(sel, work);
      return shape;
    } catch (err) {
      if (!(err instanceof NotPartial) || !allowWhole) throw err;
    }
  }
  throw new NotPartial();
}

/**
 * Table columns that aggregates left for PostgreSQL (set-valued ones, count(expr), a FILTER
 * not pushed) read over the rewritten statement's grouped rows, one value per row.
 */
function readInAggregates(sel: PgNode, scope: ColumnScope): Set<string> {
  const read = new Set<string>();
  visit([sel.targetList, sel.havingClause, sel.sortClause, sel.distinctClause], (n) => {
    if (!n.FuncCall || !isAggregateCall(n.FuncCall)) return;
    const f = n.FuncCall;
    for (const ref of columnRefs([f.args, f.agg_filter, f.agg_order])) {
      const c = columnOf(scope, ref);
      if (c) read.add(c);
    }
    return false;
  });
  return read;
}

/** `SELECT DISTINCT …` (not DISTINCT ON): the parser's distinctClause is one empty node. */
function isPlainDistinct(sel: PgNode): boolean {
  const d = sel.distinctClause as PgNode[] | undefined;
  return d?.length === 1 && (d[0] === null || Object.keys(d[0]).length === 0);
}

function rewrite(
  sel: PgNode,
  scope: ColumnScope,
  unpushed: PgNode[],
  utc: boolean,
  allowWhole: boolean,
  filterToClickHouse: ((c: PgNode) => string | undefined) | undefined,
): PartialShape {
  if ((sel.fromClause ?? []).length !== 1 || (sel.op && sel.op !== 'SETOP_NONE') || sel.lockingClause) throw new NotPartial();
  // Window functions run after grouping, over the grouped rows alone: in a grouped SELECT
  // they stay PostgreSQL's, over groups merged from hot rows and cold partials exactly as
  // over every row. Whole aggregates are not combined with them (kept simple).
  let hasAggregate = false;
  let hasWindow = false;
  visit([sel.targetList, sel.havingClause, sel.sortClause, sel.windowClause], (n) => {
    if (n.FuncCall?.over) hasWindow = true;
    else if (n.FuncCall && isAggregateCall(n.FuncCall)) hasAggregate = true;
  });
  if (!hasAggregate && !(sel.groupClause?.length > 0) && !isPlainDistinct(sel)) throw new NotPartial();
  if ((hasWindow || sel.windowClause?.length) && allowWhole) throw new NotPartial();
  visit([sel.targetList, sel.whereClause, sel.havingClause, sel.sortClause, sel.groupClause, sel.distinctClause, sel.windowClause], (n) => {
    if (n.SubLink || n.GroupingSet || n.RangeFunction) throw new NotPartial();
    // `*` would expose the partial columns; a whole-row reference would see grouped rows.
    const fields = n.ColumnRef?.fields as PgNode[] | undefined;
    if (fields && (fields.some((f) => f.A_Star) || (fields.length === 1 && fields[0].String?.sval === scope.refName))) throw new NotPartial();
  });

  const partials: PartialColumn[] = [];
  const partialFor = (fn: PartialFn, column: string, filter?: PartialFilter, signedZero = false): string => {
    let p = partials.find((x) => x.fn === fn && x.column === column && x.filter?.pg === filter?.pg);
    if (!p) {
      p = { name: `_strata_${fn}_${partials.length}`, fn, column, ...(filter ? { filter } : {}) };
      partials.push(p);
    }
    if (signedZero) p.signedZero = true;
    return pgIdent(p.name);
  };
  // One translation per distinct condition (each binds its own ClickHouse parameters).
  const filters = new Map<string, PartialFilter | undefined>();
  const pushedFilter = (condition: PgNode | undefined): PartialFilter | undefined => {
    if (!condition || !filterToClickHouse) return undefined;
    const key = JSON.stringify(condition);
    const columns = [...new Set(columnRefs(condition).map((r) => columnOf(scope, r) ?? ''))];
    if (!filters.has(key)) filters.set(key, partialFilterOf(condition, columns, filterToClickHouse));
    return filters.get(key);
  };
  const wholes: WholeColumn[] = [];
  /** Where each whole aggregate stood, and the call itself (PostgreSQL's own for its side of a split). */
  const wholeSites: Array<{ node: PgNode; call: PgNode; w: WholeColumn }> = [];

  // Names PostgreSQL gives unnamed targets from the function called; keep them when
  // the call is rewritten into another shape (a subquery's columns are referenced by name).
  for (const t of sel.targetList ?? []) {
    const rt = t.ResTarget;
    if (rt && rt.name === undefined && rt.val?.FuncCall && isAggregateCall(rt.val.FuncCall)) rt.name = funcName(rt.val.FuncCall);
  }

  const rewriteAggregates = (root: PgNode): void =>
    visit(root, (n) => {
      if (!n.FuncCall) return;
      const f = n.FuncCall;
      const name = funcName(f) ?? '';
      if (f.over) {
        // A window function over grouped rows: PostgreSQL evaluates it; aggregates in its
        // arguments, FILTER, PARTITION BY or ORDER BY are rewritten like any other.
        rewriteAggregates([f.args, f.agg_filter, f.over]);
        return false;
      }
      if (!isAggregateCall(f)) {
        if (!SCALARS.has(name)) throw new NotPartial();
        return;
      }
      visit(f.args, (m) => {
        if (m.FuncCall && isAggregateCall(m.FuncCall)) throw new NotPartial();
      });
      const args = (f.args ?? []) as PgNode[];
      const filter = f.agg_filter;
      const whole = allowWhole ? wholeAggregateOf(f, name, scope) : undefined;
      if (whole) {
        let w = wholes.find((x) => sameWhole(x, whole));
        if (!w) wholes.push((w = { ...whole, name: `_strata_whole_${wholes.length}` }));
        wholeSites.push({ node: n, call: structuredClone(f), w });
        replaceNode(n, exprOf(wholeReplacementSql(w, pgIdent(w.name))));
        return false;
      }
      // Set-valued: the same answer from distinct values, so the columns join the grouping.
      if (f.agg_distinct || name === 'bool_and' || name === 'bool_or' || name === 'every') {
        if (f.agg_within_group) throw new NotPartial();
        return;
      }
      if (f.agg_within_group || f.agg_order) throw new NotPartial();
      const col = args.length === 1 && args[0].ColumnRef ? columnOf(scope, args[0].ColumnRef) : undefined;
      const kind = col ? columnKind(scope, col) : undefined;
      // Only the partials below take a filter; count(expr) and set-valued aggregates keep theirs.
      const pf = (col || f.agg_star) && (name !== 'min' && name !== 'max' || MINMAX_PARTIAL_KINDS.has(kind ?? '')) ? pushedFilter(filter) : undefined;
      const column = col ? scope.relation.columns.find((c) => c.name === col) : undefined;
      const exact = col && column ? exactAggregate(name, column, (fn) => partialFor(fn, col, pf)) : undefined;
      let replacement: PgNode;
      if (exact) {
        replacement = exact;
      } else if (name === 'count' && f.agg_star) {
        replacement = exprOf(`coalesce(sum(${pf ? partialFor('rows', '', pf) : pgIdent(ROWS_COLUMN)}), 0)::int8`);
      } else if (name === 'count' && args.length === 1) {
        if (col) replacement = exprOf(`coalesce(sum(${partialFor('count', col, pf)}), 0)::int8`);
        else {
          // count(expr): rows where expr is not null, expr evaluated on the grouped columns.
          replacement = exprOf(`coalesce(sum(${pgIdent(ROWS_COLUMN)}) FILTER (WHERE (NULL) IS NOT NULL), 0)::int8`);
          const agg = replacement.TypeCast.arg.CoalesceExpr.args[0].FuncCall;
          agg.agg_filter.NullTest.arg = args[0];
          if (filter) agg.agg_filter = { BoolExpr: { boolop: 'AND_EXPR', args: [agg.agg_filter, filter] } };
          replaceNode(n, replacement);
          return false;
        }
      } else if (name === 'sum' && col && kind === 'float8') {
        replacement = exprOf(`sum(${partialFor('sum', col, pf, true)})`);
      } else if (name === 'avg' && col && isFloatKind(kind)) {
        // PostgreSQL's own final function over (N, Sx): its Sx starts at +0 (never -0) and its
        // Sx / N has no underflow check, as the `/` operator has (a subnormal average).
        const n = `coalesce(sum(${partialFor('count', col, pf)}), 0)::float8`;
        replacement = exprOf(`float8_avg(ARRAY[${n}, coalesce(sum(${partialFor('sum', col, pf)}), 0) + 0, 0])`);
      } else if ((name === 'min' || name === 'max') && col && args.length === 1) {
        if (!kind || !MINMAX_PARTIAL_KINDS.has(kind)) return; // set-valued: grouped by the column
        replacement = exprOf(`${name}(${partialFor(name, col, pf)})`);
      } else {
        throw new NotPartial();
      }
      if (filter && !pf) {
        // On each aggregate of the combination (round(sum(…), s) takes none itself); not into the
        // filter just attached: a function call in it would get a filter in turn, endlessly.
        visit(replacement, (m) => {
          if (!m.FuncCall || !isAggregateCall(m.FuncCall)) return;
          m.FuncCall.agg_filter = structuredClone(filter);
          return false;
        });
      }
      replaceNode(n, replacement);
      return false;
    });

  rewriteAggregates(sel.targetList);
  rewriteAggregates(sel.havingClause);
  rewriteAggregates(sel.sortClause);
  rewriteAggregates(sel.windowClause);
  visit([sel.groupClause, sel.distinctClause, unpushed], (n) => {
    if (n.FuncCall && !isAggregateCall(n.FuncCall) && !SCALARS.has(funcName(n.FuncCall) ?? '')) throw new NotPartial();
  });

  const evaluated = [sel.targetList, sel.groupClause, sel.havingClause, sel.sortClause, sel.distinctClause, sel.windowClause, unpushed];
  // Text of a nondeterministic collation may be a group column too: ClickHouse groups it by
  // bytes, finer than PostgreSQL ('abc' and 'ABC' apart), and PostgreSQL regroups the
  // partial rows under the column's own collation (the union with the hot table carries
  // it), so a finer grouping only gives it more rows to combine. The same holds for
  // DISTINCT, and for count(DISTINCT) as a partial (x joins the grouping).
  const groupColumns = new Set<string>();
  for (const ref of columnRefs(evaluated)) {
    const c = columnOf(scope, ref);
    if (c && c !== scope.relation.timeColumn) groupColumns.add(c);
  }
  for (const p of partials) if (p.column === scope.relation.timeColumn && p.fn !== 'min' && p.fn !== 'max') throw new NotPartial();
  const granularity = timeGranularity(scope, evaluated, utc);
  if (wholes.length > 0) {
    // ClickHouse forms the statement's groups itself, from columns it can be shipped.
    const read = [...groupColumns, ...partials.flatMap((p) => [p.column, ...(p.filter?.columns ?? [])]), ...wholes.flatMap(wholeInputs)].filter((c) => c !== '');
    if (granularity !== undefined) read.push(scope.relation.timeColumn);
    if (!groupsExactly(sel, scope, [...groupColumns], granularity, utc, readInAggregates(sel, scope)) || !read.every((c) => shippable(columnKind(scope, c)))) {
      throw new NotPartial();
    }
  }
  // Instants and wall clocks: W is a literal of the time column's type to the bucket expression (whole-split.ts).
  const timeKind = columnKind(scope, scope.relation.timeColumn);
  const timeSplit = wholes.length > 0 && (timeKind === 'timestamptz' || timeKind === 'timestamp') ? timeSplitOf(sel, scope, utc) : undefined;
  const split = timeSplit && wholeSplitOf(timeSplit.bucket, timeSplit.cell, scope, [...new Set(wholes.flatMap(wholeInputs))]);
  if (split) for (const site of wholeSites) replaceNode(site.node, splitReplacement(site.call, site.w.name, split, scope));
  return {
    groupColumns: [...groupColumns],
    timeGranularity: granularity,
    partials,
    wholes,
    ...(split ? { split } : {}),
  };
}
