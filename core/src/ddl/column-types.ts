import type { ColumnSpec, TieredTableSpec } from '../model/tiered-table';
import { normalizePgType, type PgType } from '../model/pg-types';

/**
 * One column as both tiers see it. The ClickHouse type is chosen so that every value
 * PostgreSQL can hold in the column round-trips exactly:
 * - timestamptz → DateTime64(6,'UTC'): microseconds, like PostgreSQL.
 * - jsonb → String holding PostgreSQL's canonical jsonb text. Neither ClickHouse `JSON`
 *   nor `Map(String,String)` reproduces jsonb exactly: Map flattens nested values and
 *   numbers to strings, JSON re-serialises numbers and key order. Queries still filter
 *   and group on it with JSONExtract*(), and the proxy can return the exact text
 *   PostgreSQL would have returned.
 * - nullable columns are Nullable(...) so NULL stays NULL (never '' or 0).
 */
export interface TieredColumn {
  name: string;
  pg: PgType;
  /** PostgreSQL type as written in DDL, e.g. `double precision`, `numeric(12,3)`. */
  pgType: string;
  /** ClickHouse type including Nullable/LowCardinality wrappers. */
  chType: string;
  notNull: boolean;
}

export function tieredColumns(spec: TieredTableSpec): TieredColumn[] {
  return spec.columns.map((c) => tieredColumn(spec, c));
}

function tieredColumn(spec: TieredTableSpec, c: ColumnSpec): TieredColumn {
  const pg = normalizePgType(c.type);
  const notNull = c.notNull === true || c.name === spec.timeColumn;
  let base = chBaseType(pg);
  // Sort-key strings are few and repeated (app, host, level): dictionary-encode them.
  const lowCardinality = (pg.kind === 'text' || pg.kind === 'varchar') && spec.cold.orderBy.includes(c.name);
  if (!notNull) base = `Nullable(${base})`;
  if (lowCardinality) base = `LowCardinality(${base})`;
  return { name: c.name, pg, pgType: pg.pgName, chType: base, notNull };
}

export function chBaseType(pg: PgType): string {
  switch (pg.kind) {
    case 'timestamptz':
    case 'timestamp':
      return "DateTime64(6, 'UTC')";
    case 'text':
    case 'varchar':
    case 'jsonb':
      return 'String';
    case 'float8':
      return 'Float64';
    case 'float4':
      return 'Float32';
    case 'int8':
      return 'Int64';
    case 'int4':
      return 'Int32';
    case 'int2':
      return 'Int16';
    case 'bool':
      return 'Bool';
    case 'numeric':
      return `Decimal(${pg.precision}, ${pg.scale ?? 0})`;
    case 'date':
      return 'Date32';
    case 'uuid':
      return 'UUID';
  }
}
