import { createHash } from 'node:crypto';
import type { TieredTableSpec } from '../model/tiered-table';
import { parseDuration } from '../model/duration';
import { pgIdent, pgLiteral, pgQualified } from './sql';
import { tieredColumns, type TieredColumn } from './column-types';

/**
 * Pure builders for the hot tier's DDL: a TimescaleDB hypertable where the extension
 * exists, native range partitions (made ahead, with a default partition so an insert
 * never fails for want of one) where it does not.
 */

export type HotFlavor = 'timescaledb' | 'native';

export function createSchemaSql(spec: TieredTableSpec): string {
  return `CREATE SCHEMA IF NOT EXISTS ${pgIdent(spec.schema)}`;
}

export function hotTable(spec: TieredTableSpec): string {
  return pgQualified(spec.schema, spec.table);
}

function columnDef(c: TieredColumn): string {
  return `${pgIdent(c.name)} ${c.pgType}${c.notNull ? ' NOT NULL' : ''}`;
}

export function createTableSql(spec: TieredTableSpec, flavor: HotFlavor): string {
  const cols = tieredColumns(spec).map((c) => '  ' + columnDef(c));
  const partition = flavor === 'native' ? ` PARTITION BY RANGE (${pgIdent(spec.timeColumn)})` : '';
  return `CREATE TABLE IF NOT EXISTS ${hotTable(spec)} (\n${cols.join(',\n')}\n)${partition}`;
}

export function createHypertableSql(spec: TieredTableSpec): string {
  const seconds = Math.floor(parseDuration(spec.hot.chunkInterval) / 1000);
  return (
    `SELECT create_hypertable(${pgLiteral(`${pgIdent(spec.schema)}.${pgIdent(spec.table)}`)}, ` +
    `${pgLiteral(spec.timeColumn)}, chunk_time_interval => INTERVAL ${pgLiteral(`${seconds} seconds`)}, ` +
    `if_not_exists => TRUE)`
  );
}

/**
 * TimescaleDB native compression (hot.compression) and its policy. Chunks are
 * segmented by the cold order's leading dimensions and ordered by time, the layout the
 * tierer's range scans and dashboards' per-series reads favour. Only with the extension.
 */
export function compressionSql(spec: TieredTableSpec): string[] {
  const table = pgLiteral(`${pgIdent(spec.schema)}.${pgIdent(spec.table)}`);
  const removePolicy = `SELECT remove_compression_policy(${table}, if_exists => TRUE)`;
  if (!spec.hot.compression) return [removePolicy];
  const segmentBy = spec.cold.orderBy.filter((c) => c !== spec.timeColumn).map(pgIdent).join(', ');
  const options = [
    'timescaledb.compress',
    `timescaledb.compress_orderby = ${pgLiteral(`${pgIdent(spec.timeColumn)} DESC`)}`,
    ...(segmentBy ? [`timescaledb.compress_segmentby = ${pgLiteral(segmentBy)}`] : []),
  ];
  const seconds = Math.floor(parseDuration(spec.hot.compression.after) / 1000);
  return [
    `ALTER TABLE ${hotTable(spec)} SET (${options.join(', ')})`,
    removePolicy,
    `SELECT add_compression_policy(${table}, compress_after => INTERVAL ${pgLiteral(`${seconds} seconds`)})`,
  ];
}

/** Index names are derived, so re-applying finds them (IF NOT EXISTS). */
export function createIndexesSql(spec: TieredTableSpec, flavor: HotFlavor): string[] {
  const out: string[] = [];
  const time = pgIdent(spec.timeColumn);
  // create_hypertable already makes the (time DESC) index.
  if (flavor === 'native') out.push(`CREATE INDEX IF NOT EXISTS ${pgIdent(shortName(spec.table, '_time_idx'))} ON ${hotTable(spec)} (${time} DESC)`);
  for (const cols of spec.hot.indexes ?? []) {
    const name = shortName(spec.table, `_${cols.join('_')}_idx`);
    out.push(`CREATE INDEX IF NOT EXISTS ${pgIdent(name)} ON ${hotTable(spec)} (${cols.map(pgIdent).join(', ')}, ${time} DESC)`);
  }
  return out;
}

/** Keeps derived names within PostgreSQL's 63-byte identifiers, unique by hash when cut. */
export function shortName(base: string, suffix: string): string {
  const name = base + suffix;
  if (Buffer.byteLength(name) <= 63) return name;
  const hash = createHash('sha1').update(name).digest('hex').slice(0, 8);
  return base.slice(0, 63 - suffix.length - 9) + '_' + hash + suffix;
}

export interface PartitionRange {
  name: string;
  from: Date;
  to: Date;
}

export function partitionName(spec: TieredTableSpec, from: Date): string {
  const stamp = from.toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);
  return shortName(spec.table, `_p${stamp}`);
}

export function defaultPartitionName(spec: TieredTableSpec): string {
  return shortName(spec.table, '_default');
}

/** The chunk-aligned partitions covering [from, to). Alignment is to the Unix epoch. */
export function partitionsCovering(spec: TieredTableSpec, from: Date, to: Date): PartitionRange[] {
  const width = parseDuration(spec.hot.chunkInterval);
  const out: PartitionRange[] = [];
  for (let t = Math.floor(from.getTime() / width) * width; t < to.getTime(); t += width) {
    const start = new Date(t);
    out.push({ name: partitionName(spec, start), from: start, to: new Date(t + width) });
  }
  return out;
}

export function createPartitionSql(spec: TieredTableSpec, p: PartitionRange): string {
  return (
    `CREATE TABLE IF NOT EXISTS ${pgQualified(spec.schema, p.name)} PARTITION OF ${hotTable(spec)} ` +
    `FOR VALUES FROM (${pgLiteral(p.from.toISOString())}) TO (${pgLiteral(p.to.toISOString())})`
  );
}

export function createDefaultPartitionSql(spec: TieredTableSpec): string {
  return `CREATE TABLE IF NOT EXISTS ${pgQualified(spec.schema, defaultPartitionName(spec))} PARTITION OF ${hotTable(spec)} DEFAULT`;
}

export function addColumnSql(spec: TieredTableSpec, c: TieredColumn): string {
  return `ALTER TABLE ${hotTable(spec)} ADD COLUMN IF NOT EXISTS ${columnDef(c)}`;
}

/**
 * TimescaleDB's time_bucket for fixed-width buckets, for databases without the
 * extension: same default origin (Monday 2000-01-03), so dashboards written for
 * TimescaleDB bucket identically. Month-based widths are refused by date_bin.
 */
export const TIME_BUCKET_FUNCTIONS_SQL = [
  `CREATE OR REPLACE FUNCTION public.time_bucket(bucket_width interval, ts timestamptz) RETURNS timestamptz
   LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
   AS $$ SELECT date_bin(bucket_width, ts, TIMESTAMPTZ '2000-01-03 00:00:00+00') $$`,
  `CREATE OR REPLACE FUNCTION public.time_bucket(bucket_width interval, ts timestamp) RETURNS timestamp
   LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
   AS $$ SELECT date_bin(bucket_width, ts, TIMESTAMP '2000-01-03 00:00:00') $$`,
  `CREATE OR REPLACE FUNCTION public.time_bucket(bucket_width interval, ts timestamptz, origin timestamptz) RETURNS timestamptz
   LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
   AS $$ SELECT date_bin(bucket_width, ts, origin) $$`,
];

export function dropTableSql(spec: TieredTableSpec): string {
  return `DROP TABLE IF EXISTS ${hotTable(spec)} CASCADE`;
}

export function setChunkIntervalSql(spec: TieredTableSpec): string {
  const seconds = Math.floor(parseDuration(spec.hot.chunkInterval) / 1000);
  return `SELECT set_chunk_time_interval(${pgLiteral(`${pgIdent(spec.schema)}.${pgIdent(spec.table)}`)}, INTERVAL ${pgLiteral(`${seconds} seconds`)})`;
}
