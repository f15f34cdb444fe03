import { floatSumPartialCh } from '@strata/core';
import { deparseStatement, type PgNode } from '../router/sql-parser';
import type { TieredColumnInfo } from '../router/catalog-snapshot';
import { isFloatKind } from '../translate/column-scope';
import { exactSummandCh } from './exact-partials';
import { selectOf } from './sql-snippets';

/**
 * Partials of an aggregate with a FILTER whose condition ClickHouse evaluates exactly
 * (translate/ch-condition.ts, the WHERE pushdown's translation): ClickHouse computes them
 * with its -If combinators, so the condition's columns need not join the cold grouping
 * (measured: grouping errors-per-day by level as well cost ~25 of 70 ms of ClickHouse CPU).
 * -If counts a row only where the condition is true — NULL and false alike leave it out,
 * as FILTER does — and each hot row is its own partial, the value where the condition is
 * true (CASE WHEN, so NULL counts as false there too). A group with no row passing gives
 * what the unfiltered partial gives for an empty group: count 0, sum/min/max NULL
 * (ClickHouse's minIf/maxIf/sumIf over no row give a type's default, hence the guards).
 */
export interface PartialFilter {
  /** The condition as PostgreSQL text over the statement's own column references (hot rows). */
  pg: string;
  /** The same condition as ClickHouse SQL (parameters bound in the occurrence's ChParams). */
  ch: string;
  /** The table columns it reads (shipped with hot rows for whole aggregates). */
  columns: string[];
}

/** count(*) FILTER: rows passing, as a partial of its own ('rows'). */
export type FilteredFn = 'rows' | 'count' | 'sum' | 'min' | 'max' | 'esum' | 'esum2';

/** The filter's PostgreSQL text and ClickHouse translation, or undefined when it does not translate. */
export function partialFilterOf(condition: PgNode, columns: string[], toClickHouse: (c: PgNode) => string | undefined): PartialFilter | undefined {
  const ch = toClickHouse(condition);
  if (ch === undefined) return undefined;
  const sel = selectOf('SELECT 1');
  sel.targetList[0].ResTarget.val = structuredClone(condition);
  const pg = deparseStatement({ SelectStmt: sel }).replace(/^SELECT /, '');
  return { pg, ch, columns };
}

/**
 * The filtered partial's value on one hot row (`ref`: its column there) and per cold group
 * (`ch`: its ClickHouse column; of a float `column`, NaN ordered as PostgreSQL orders it, as
 * the unfiltered min/max partials do; exact sums as exact-partials.ts sums them).
 * Timestamps are made PostgreSQL-readable by the caller. A float sum keeps -0 only where
 * sum() shows it (`signedZero`, partial-aggregate.ts).
 */
export function filteredPartialExprs(
  { fn, signedZero }: { fn: FilteredFn; signedZero?: true },
  filter: PartialFilter,
  ref: string,
  ch: string,
  column: Pick<TieredColumnInfo, 'kind' | 'pgType'> | undefined,
): { hotExpr: string; chExpr: string } {
  const p = `(${filter.pg})`;
  const f = `(${filter.ch})`;
  const none = `countIf(${ch}, ${f}) = 0`;
  switch (fn) {
    case 'rows':
      return { hotExpr: `(CASE WHEN ${p} THEN 1 ELSE 0 END)::int8`, chExpr: `countIf(${f})` };
    case 'count':
      return { hotExpr: `(CASE WHEN ${p} AND ${ref} IS NOT NULL THEN 1 ELSE 0 END)::int8`, chExpr: `countIf(${ch}, ${f})` };
    case 'sum':
      return { hotExpr: `(CASE WHEN ${p} THEN ${ref}::float8 END)`, chExpr: floatSumPartialCh(signedZero, ch, f) };
    case 'esum':
      return { hotExpr: `(CASE WHEN ${p} THEN ${ref}::numeric END)`, chExpr: `if(${none}, NULL, sumIf(${exactSummandCh(fn, column!, ch)}, ${f}))` };
    case 'esum2':
      return {
        hotExpr: `(CASE WHEN ${p} THEN ${ref}::numeric * ${ref}::numeric END)`,
        chExpr: `if(${none}, NULL, sumIf(${exactSummandCh(fn, column!, ch)}, ${f}))`,
      };
    case 'min':
    case 'max': {
      const hotExpr = `(CASE WHEN ${p} THEN ${ref} END)`;
      if (!isFloatKind(column?.kind)) return { hotExpr, chExpr: `if(${none}, NULL, ${fn}If(${ch}, ${f}))` };
      // PostgreSQL orders NaN above every number: max is NaN if any passing value is, min only if all are.
      const nan = `countIf(isNaN(${ch}) AND ${f}) > 0`;
      const number = `NOT isNaN(${ch}) AND ${f}`;
      const chExpr =
        fn === 'max'
          ? `if(${nan}, nan, if(${none}, NULL, maxIf(${ch}, ${f})))`
          : `if(countIf(${number}) > 0, minIf(${ch}, ${number}), if(${nan}, nan, NULL))`;
      return { hotExpr, chExpr };
    }
  }
}
