import { normalizePgType, type TieredTableSpec } from '@strata/core/model';
import { clickhouseDdl } from '@strata/core/ddl';
import type { TieredRelation } from './catalog-snapshot';

/**
 * Rollups readable over the wire: each rollup of a table that tiers to ClickHouse is a
 * read-only relation `<schema>.<table>__rollup_<name>` — the name of its ClickHouse table
 * — with one row per bucket and group: `bucket` (timestamptz, the start of the interval),
 * the groupBy columns, then per aggregated column `<col>__sum` (double precision),
 * `<col>__count` (bigint), `<col>__min` / `<col>__max` (the column's type) as the rollup
 * keeps them, and `_rows` (bigint, rows in the bucket). The engine reads it as a
 * cold-only relation whose rows are the rollup's committed generations combined
 * (engine/rollup-relation.ts); it has no PostgreSQL object of its own.
 */
export interface RollupOf {
  /** The tiered table the rollup is built from. */
  table: string;
  rollup: string;
  groupBy: string[];
}

export function rollupRelationName(table: string, rollup: string): string {
  return `${table}__rollup_${rollup}`;
}

export function rollupRelations(spec: TieredTableSpec): TieredRelation[] {
  // Rollups are built by tiering runs; cold-only tables have none to read.
  if (spec.mode !== 'hot-then-cold') return [];
  const column = (name: string, type: string) => {
    const t = normalizePgType(type);
    return { name, pgType: t.pgName, kind: t.kind };
  };
  const typeOf = (name: string) => spec.columns.find((c) => c.name === name)!.type;
  return spec.rollups.map((r) => ({
    schema: spec.schema,
    table: rollupRelationName(spec.table, r.name),
    timeColumn: 'bucket',
    mode: 'cold-only' as const,
    rollupOf: { table: spec.table, rollup: r.name, groupBy: [...r.groupBy] },
    columns: [
      column('bucket', 'timestamptz'),
      ...r.groupBy.map((g) => column(g, typeOf(g))),
      ...Object.entries(r.aggregates).flatMap(([col, aggs]) =>
        clickhouseDdl.partialsFor(aggs).map((a) => column(`${col}__${a}`, a === 'sum' ? 'double precision' : a === 'count' ? 'bigint' : typeOf(col))),
      ),
      column('_rows', 'bigint'),
    ],
  }));
}
