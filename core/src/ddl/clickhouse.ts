import type { ColdIndexSpec, RollupSpec, TieredTableSpec } from '../model/tiered-table';
import { parseDuration } from '../model/duration';
import { chIdent, chQualified } from './sql';
import { tieredColumns, type TieredColumn } from './column-types';
import { coldIndexDefinition } from './cold-indexes';
import { pgFloatSumCh } from './float-sum';

/**
 * Pure builders for the cold tier's DDL. Every cold row carries `_strata_gen`, the
 * tiering run that wrote it: a row is visible only when its run committed in
 * PostgreSQL (see core/tiering/visibility.ts), which is what makes a crashed or
 * retried run harmless.
 */

export const GEN_COLUMN = '_strata_gen';
export const ROLLUP_BUCKET_COLUMN = 'bucket';
export const ROLLUP_ROWS_COLUMN = '_rows';

export interface ColdTarget {
  database: string;
  /** ClickHouse cluster for ON CLUSTER DDL; from spec.cold.cluster. */
  cluster?: string;
  /**
   * The server builds column statistics on merges unless a table says otherwise
   * (ClickHouse's `auto_statistics_types`; apply asks the server): Strata's tables say so.
   */
  autoStatistics?: boolean;
}

/**
 * Off for Strata's tables (issue 14, item 5). ClickHouse 26's default (`basic, uniq_v2`)
 * makes every merge write statistics for every column, and each SELECT then loads them
 * for every part of the table — not only the parts its partition key selects — until a
 * cache refresh (every 5 minutes) takes them in: measured 42 ms of CPU for a top-N that
 * reads one granule of one part out of 231 day partitions, 6 ms without them. Pruning
 * here comes from the time partitions, the sort key and skip indexes; the statistics
 * would only order PREWHERE conditions and prune parts on other columns' ranges.
 */
export const NO_AUTO_STATISTICS_SETTING = "auto_statistics_types = ''";

function statisticsSettings(t: ColdTarget): string[] {
  return t.autoStatistics ? [NO_AUTO_STATISTICS_SETTING] : [];
}

/** For tables created before Strata turned them off: a metadata change, effective for the next SELECT. */
export function disableAutoStatisticsSql(table: string, t: ColdTarget): string {
  return `ALTER TABLE ${chQualified(t.database, table)}${onCluster(t)} MODIFY SETTING ${NO_AUTO_STATISTICS_SETTING}`;
}

export function rawTableName(spec: TieredTableSpec): string {
  return spec.table;
}

export function rollupTableName(spec: TieredTableSpec, rollup: RollupSpec): string {
  return `${rollupTablePrefix(spec)}${rollup.name}`;
}

/** What every rollup table name of the table starts with. */
export function rollupTablePrefix(spec: TieredTableSpec): string {
  return `${spec.table}__rollup_`;
}

export function createDatabaseSql(t: ColdTarget): string {
  return `CREATE DATABASE IF NOT EXISTS ${chIdent(t.database)}${onCluster(t)}`;
}

function onCluster(t: ColdTarget): string {
  return t.cluster ? ` ON CLUSTER ${chIdent(t.cluster)}` : '';
}

function engine(t: ColdTarget, table: string): string {
  if (!t.cluster) return 'MergeTree';
  // Replicated tables need Keeper paths unique per table; {shard}/{replica} are server macros.
  return `ReplicatedMergeTree('/clickhouse/tables/{shard}/${t.database}/${table}', '{replica}')`;
}

const PARTITION_EXPR: Record<TieredTableSpec['cold']['partitionBy'], (col: string) => string> = {
  hour: (c) => `toStartOfHour(${c})`,
  day: (c) => `toYYYYMMDD(${c})`,
  week: (c) => `toMonday(${c})`,
  month: (c) => `toYYYYMM(${c})`,
};

function ttlClause(timeCol: string, retention: string | undefined): string {
  if (!retention) return '';
  const seconds = Math.floor(parseDuration(retention) / 1000);
  return `\nTTL toDateTime(${timeCol}) + INTERVAL ${seconds} SECOND`;
}

function columnList(cols: TieredColumn[]): string[] {
  return cols.map((c) => `${chIdent(c.name)} ${c.chType}`);
}

export function createRawTableSql(spec: TieredTableSpec, t: ColdTarget): string {
  const cols = tieredColumns(spec);
  const name = rawTableName(spec);
  const time = chIdent(spec.timeColumn);
  const nullableKey = cols.some((c) => spec.cold.orderBy.includes(c.name) && !c.notNull);
  const settings = [
    // A retried insert with the same insert_deduplication_token is dropped.
    'non_replicated_deduplication_window = 1000',
    ...(nullableKey ? ['allow_nullable_key = 1'] : []),
    ...statisticsSettings(t),
  ];
  return [
    `CREATE TABLE IF NOT EXISTS ${chQualified(t.database, name)}${onCluster(t)} (`,
    [
      ...columnList(cols),
      `${chIdent(GEN_COLUMN)} UInt64`,
      `INDEX ${chIdent(GEN_COLUMN + '_idx')} ${chIdent(GEN_COLUMN)} TYPE minmax GRANULARITY 1`,
      ...(spec.cold.indexes ?? []).map(coldIndexDefinition),
    ]
      .map((l) => '  ' + l)
      .join(',\n'),
    `) ENGINE = ${engine(t, name)}`,
    `PARTITION BY ${PARTITION_EXPR[spec.cold.partitionBy](time)}`,
    `ORDER BY (${spec.cold.orderBy.map(chIdent).join(', ')})` + ttlClause(time, spec.cold.retention),
    `SETTINGS ${settings.join(', ')}`,
  ].join('\n');
}

/** Columns of a rollup table, in order, with their ClickHouse types. */
export function rollupColumns(spec: TieredTableSpec, rollup: RollupSpec): Array<{ name: string; chType: string }> {
  const byName = new Map(tieredColumns(spec).map((c) => [c.name, c]));
  const out: Array<{ name: string; chType: string }> = [{ name: ROLLUP_BUCKET_COLUMN, chType: "DateTime64(6, 'UTC')" }];
  for (const g of rollup.groupBy) out.push({ name: g, chType: byName.get(g)!.chType });
  for (const [col, aggs] of Object.entries(rollup.aggregates)) {
    const c = byName.get(col)!;
    const nullableBase = c.chType.startsWith('Nullable(') ? c.chType : `Nullable(${c.chType})`;
    for (const a of partialsFor(aggs)) {
      if (a === 'sum') out.push({ name: `${col}__sum`, chType: 'Nullable(Float64)' });
      else if (a === 'count') out.push({ name: `${col}__count`, chType: 'UInt64' });
      else out.push({ name: `${col}__${a}`, chType: nullableBase });
    }
  }
  out.push({ name: ROLLUP_ROWS_COLUMN, chType: 'UInt64' }, { name: GEN_COLUMN, chType: 'UInt64' });
  return out;
}

/** avg is stored as its partials (sum, count) so buckets from different runs combine exactly. */
export function partialsFor(aggs: readonly string[]): Array<'sum' | 'count' | 'min' | 'max'> {
  const set = new Set<'sum' | 'count' | 'min' | 'max'>();
  for (const a of aggs) {
    if (a === 'avg') {
      set.add('sum');
      set.add('count');
    } else set.add(a as 'sum' | 'count' | 'min' | 'max');
  }
  return (['sum', 'count', 'min', 'max'] as const).filter((a) => set.has(a));
}

/**
 * Rollup tables are partitioned by month whatever the raw table's partitions: a rollup
 * holds a fraction of the raw rows, and a long-range read pays per part before it pays per
 * row — chDB, 1M rollup rows over 230 days (`sum(_rows)` with the bucket range and the
 * generation predicate, each table merged): 230 day parts 66–119 ms, 8 month parts 20–40.
 * Nothing reads a rollup by partition (retention is its TTL, a dead run's rows are
 * filtered by generation), so tables created before keep their day partitions and work as
 * they did. make bench-cold at 10M (5 runs, month then day partitions, the same data):
 * count-all's rollup statement 21.6 vs 68.8 ms, timegroup-1h-avg-all's 48.7 vs 122,
 * by-app-aggregates' 44.3 vs 116.5.
 */
const ROLLUP_PARTITIONS = 'month';

export function createRollupTableSql(spec: TieredTableSpec, rollup: RollupSpec, t: ColdTarget): string {
  const name = rollupTableName(spec, rollup);
  const cols = rollupColumns(spec, rollup);
  const bucket = chIdent(ROLLUP_BUCKET_COLUMN);
  return [
    `CREATE TABLE IF NOT EXISTS ${chQualified(t.database, name)}${onCluster(t)} (`,
    cols.map((c) => `  ${chIdent(c.name)} ${c.chType}`).join(',\n'),
    `) ENGINE = ${engine(t, name)}`,
    `PARTITION BY ${PARTITION_EXPR[ROLLUP_PARTITIONS](bucket)}`,
    `ORDER BY (${[...rollup.groupBy.map(chIdent), bucket].join(', ')})` +
      ttlClause(bucket, rollup.retention ?? spec.cold.retention),
    `SETTINGS ${['allow_nullable_key = 1', 'non_replicated_deduplication_window = 1000', ...statisticsSettings(t)].join(', ')}`,
  ].join('\n');
}

/**
 * An insert spans as many partitions as its rows do: a tiering run over a backlog of 150
 * days, or a gateway batch backfilling 150 days of a cold-only table, is 150 day
 * partitions, past ClickHouse's default limit of 100 per INSERT (TOO_MANY_PARTS). A
 * retried batch stays deduplicated: ClickHouse splits a block by partition the same way
 * each time and gives each part its own suffix of the insert_deduplication_token (one
 * entry of the table's window per partition). As insert settings (ColdStore.insertTsv),
 * and as a SETTINGS clause for an INSERT … SELECT.
 */
export const ANY_PARTITIONS_PER_INSERT_SETTINGS = { max_partitions_per_insert_block: 0 } as const;
export const ANY_PARTITIONS_PER_INSERT = Object.entries(ANY_PARTITIONS_PER_INSERT_SETTINGS)
  .map(([name, value]) => `${name} = ${value}`)
  .join(', ');

/**
 * Builds the rollup rows of one tiering run from the raw rows that run wrote.
 * Partials per run are combined at read time (sum of sums, min of mins, ...).
 */
export function insertRollupSql(spec: TieredTableSpec, rollup: RollupSpec, t: ColdTarget): string {
  const seconds = Math.floor(parseDuration(rollup.interval) / 1000);
  const select: string[] = [`toStartOfInterval(${chIdent(spec.timeColumn)}, INTERVAL ${seconds} SECOND) AS ${chIdent(ROLLUP_BUCKET_COLUMN)}`];
  for (const g of rollup.groupBy) select.push(chIdent(g));
  for (const [col, aggs] of Object.entries(rollup.aggregates)) {
    const c = chIdent(col);
    for (const a of partialsFor(aggs)) {
      if (a === 'sum') select.push(pgFloatSumCh(c));
      else select.push(`${a}(${c})`);
    }
  }
  select.push('count()', `{gen:UInt64}`);
  const groupBy = [chIdent(ROLLUP_BUCKET_COLUMN), ...rollup.groupBy.map(chIdent)];
  return (
    `INSERT INTO ${chQualified(t.database, rollupTableName(spec, rollup))} ` +
    `SELECT ${select.join(', ')} FROM ${chQualified(t.database, rawTableName(spec))} ` +
    `WHERE ${chIdent(GEN_COLUMN)} = {gen:UInt64} GROUP BY ${groupBy.join(', ')} ` +
    `SETTINGS ${ANY_PARTITIONS_PER_INSERT}`
  );
}

export function addColumnSql(spec: TieredTableSpec, column: TieredColumn, t: ColdTarget): string {
  // ClickHouse has AFTER but no BEFORE: keep the spec's column order, so the column
  // lands after its predecessor in the spec and ahead of the generation column.
  const names = spec.columns.map((c) => c.name);
  const at = names.indexOf(column.name);
  const position = at > 0 ? `AFTER ${chIdent(names[at - 1])}` : 'FIRST';
  return `ALTER TABLE ${chQualified(t.database, rawTableName(spec))}${onCluster(t)} ADD COLUMN IF NOT EXISTS ${chIdent(column.name)} ${column.chType} ${position}`;
}

export function addColdIndexSql(spec: TieredTableSpec, ix: ColdIndexSpec, t: ColdTarget): string {
  return `ALTER TABLE ${chQualified(t.database, rawTableName(spec))}${onCluster(t)} ADD ${coldIndexDefinition(ix).replace(/^INDEX /, 'INDEX IF NOT EXISTS ')}`;
}

export function dropColdIndexSql(spec: TieredTableSpec, name: string, t: ColdTarget): string {
  return `ALTER TABLE ${chQualified(t.database, rawTableName(spec))}${onCluster(t)} DROP INDEX IF EXISTS ${chIdent(name)}`;
}

/** Builds an index for the parts written before it existed (a mutation); parts written later have it already. */
export function materializeColdIndexSql(spec: TieredTableSpec, name: string, t: ColdTarget): string {
  return `ALTER TABLE ${chQualified(t.database, rawTableName(spec))}${onCluster(t)} MATERIALIZE INDEX ${chIdent(name)}`;
}

export function modifyTtlSql(spec: TieredTableSpec, t: ColdTarget): string {
  const table = chQualified(t.database, rawTableName(spec));
  if (!spec.cold.retention) return `ALTER TABLE ${table}${onCluster(t)} REMOVE TTL`;
  return `ALTER TABLE ${table}${onCluster(t)} MODIFY${ttlClause(chIdent(spec.timeColumn), spec.cold.retention).replace('\n', ' ')}`;
}

export function dropTableSql(database: string, table: string, t: ColdTarget): string {
  return `DROP TABLE IF EXISTS ${chQualified(database, table)}${onCluster(t)} SYNC`;
}
