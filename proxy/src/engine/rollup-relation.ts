import { chIdent, chQualified, clickhouseDdl, pgFloatSumCh } from '@strata/core';
import type { TieredRelation } from '../router/catalog-snapshot';
import type { TieredStatement } from '../router/tiered-statement';
import { SqlStateError } from './contract';

/**
 * A rollup read over the wire (router/rollup-relations.ts): its ClickHouse rows of the
 * statement's committed generations, combined per bucket and group (each tiering run
 * adds its own rows for the buckets it moved) — count and _rows summed, sums as PostgreSQL
 * sums floats (core/src/ddl/float-sum.ts: -0 for -0 alone), min of mins, max of maxes. Cold deletes do not reach rollups (they keep the aggregates of the
 * rows as they were moved), so only generations filter them. The result stands where
 * a cold table's name would, the rest of the cold read (bounds on `bucket`, pushed
 * conditions) applying over it.
 */
export function rollupRelationSource(rel: TieredRelation, generations: string, database: string): string {
  const bucket = chIdent(clickhouseDdl.ROLLUP_BUCKET_COLUMN);
  const groupBy = rel.rollupOf!.groupBy;
  const groups = groupBy.map(chIdent);
  const combined = rel.columns
    .filter((c) => c.name !== clickhouseDdl.ROLLUP_BUCKET_COLUMN && !groupBy.includes(c.name))
    .map((c) => {
      const col = chIdent(c.name);
      if (c.name.endsWith('__sum')) return `${pgFloatSumCh(col)} AS ${col}`;
      const fn = c.name === clickhouseDdl.ROLLUP_ROWS_COLUMN || c.name.endsWith('__count') ? 'sum' : c.name.endsWith('__min') ? 'min' : 'max';
      return `${fn}(${col}) AS ${col}`;
    });
  return (
    `(SELECT ${[bucket, ...groups, ...combined].join(', ')} FROM ${chQualified(database, rel.table)} ` +
    `WHERE ${generations} GROUP BY ${[bucket, ...groups].join(', ')})`
  );
}

/** Rollups are written by tiering runs only: a statement writing one is refused as PostgreSQL refuses writing a materialized view. */
export function refuseRollupWrites(tiered: TieredStatement | undefined): void {
  if (tiered?.kind !== 'modify') return;
  const rollup = tiered.refs.find((r) => r.relation.rollupOf);
  if (rollup) {
    throw new SqlStateError('42809', `cannot change rollup "${rollup.relation.table}"`, undefined, 'Rollups are built by tiering runs from the rows they move; they are read-only.');
  }
}
