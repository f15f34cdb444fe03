import { parseDuration } from './duration';
import type { ColdPartitionBy, ColdSpec, HotSpec, RollupSpec, TieredTableInput, TieredTableSpec } from './tiered-table';

/**
 * Every default of a TieredTable, in one place. schema.ts copies the scalar ones into the
 * OpenAPI schema as `default:` so the API server fills in the same values kubectl users
 * see in `kubectl get -o yaml`.
 *
 * `cold.orderBy` has no constant default: it is `[timeColumn]`, the one column known to
 * exist and to bound every query. A label-first key such as `[app, host, time]` serves
 * per-series queries better, but the model cannot tell label columns from
 * high-cardinality text (message, trace_id), and a high-cardinality column leading the
 * sort key is worse than time alone. Users who know their labels say so.
 *
 * `cold.partitionBy` has none either: it follows the sort key and the retention
 * (defaultPartitionBy), so the OpenAPI schema leaves it out and the API server stores
 * what the user wrote.
 */
export const TIERED_TABLE_DEFAULTS = {
  schema: 'public',
  mode: 'hot-then-cold',
  hot: { chunkInterval: '1h', retention: '24h' },
  rollups: [],
  tiering: { every: '5m', batchRows: 100_000 },
  deletionPolicy: 'Retain',
} as const satisfies {
  schema: string;
  mode: TieredTableSpec['mode'];
  hot: Pick<HotSpec, 'chunkInterval' | 'retention'>;
  rollups: readonly RollupSpec[];
  tiering: TieredTableSpec['tiering'];
  deletionPolicy: TieredTableSpec['deletionPolicy'];
};

/**
 * `cold.partitionBy` when the spec leaves it out: months for a sort key that leads with
 * the time column and a retention of at least `monthsFrom` (or none), days otherwise.
 * Measured on bench/cold's cold rows at 10M rows (231 days; bench/cold/partitions.ts,
 * chDB, three runs):
 * - a time-first key (logs: timestamp, app) prunes a 5-minute read to one granule either
 *   way, but every read that spans the table pays per part: the latest 100 log lines
 *   26–28 ms in 232 day parts, 7–8 ms in 8 month parts (~0.09 ms a part); 7- and 30-day
 *   reads equal or faster by month;
 * - a label-first key (metrics: app, host, time) has only the partition to cut a short
 *   range inside each series: a 5-minute read reads 3–5 granules of one day part but 30–56
 *   of a month part, 6.4–7.9 → 8.9–12.7 ms, so those tables keep days;
 * - ClickHouse's TTL merges rewrite the partition whose rows expire, every few hours: 12
 *   expired hours of logs rewrote 8,640 rows (8 ms) of a day partition, 267,840 (85 ms) of
 *   a month one. Under a short retention a month is most of the table; at 90 days it is at
 *   most a third, and a read spanning 90 day partitions pays ~8 ms for them, as much as
 *   the whole top-N over month parts.
 * Changing it later needs a new table (crd.ts: immutable); applyTable keeps a registered
 * table's partitions when only this default moved (provision/registered-partitions.ts).
 */
export const COLD_PARTITION_DEFAULTS = { fine: 'day', coarse: 'month', monthsFrom: '90d' } as const satisfies {
  fine: ColdPartitionBy;
  coarse: ColdPartitionBy;
  monthsFrom: string;
};

export function defaultPartitionBy(timeColumn: string, cold: Pick<ColdSpec, 'orderBy' | 'retention'>): ColdPartitionBy {
  const { fine, coarse, monthsFrom } = COLD_PARTITION_DEFAULTS;
  if (cold.orderBy[0] !== timeColumn) return fine;
  if (cold.retention === undefined) return coarse;
  return retentionMs(cold.retention) >= parseDuration(monthsFrom) ? coarse : fine;
}

/** A retention the schema let through but that is no duration sorts as short: validate.ts reports it. */
function retentionMs(retention: string): number {
  try {
    return parseDuration(retention);
  } catch {
    return 0;
  }
}

/**
 * The fully defaulted spec. Pure: the result shares no object or array with the input,
 * and optional fields the user left out stay absent (never `undefined`), so specs
 * compare equal after a JSON round trip through the catalog.
 */
export function withDefaults(input: TieredTableInput): TieredTableSpec {
  const hotIn = input.hot ?? {};
  const coldIn = input.cold ?? {};
  const tieringIn = input.tiering ?? {};

  const hot: HotSpec = {
    chunkInterval: hotIn.chunkInterval ?? TIERED_TABLE_DEFAULTS.hot.chunkInterval,
    retention: hotIn.retention ?? TIERED_TABLE_DEFAULTS.hot.retention,
  };
  if (hotIn.compression !== undefined) hot.compression = { after: hotIn.compression.after };
  if (hotIn.indexes !== undefined) hot.indexes = hotIn.indexes.map((cols) => [...cols]);

  const orderBy = coldIn.orderBy !== undefined ? [...coldIn.orderBy] : [input.timeColumn];
  const cold: ColdSpec = {
    orderBy,
    partitionBy: coldIn.partitionBy ?? defaultPartitionBy(input.timeColumn, { orderBy, retention: coldIn.retention }),
  };
  if (coldIn.retention !== undefined) cold.retention = coldIn.retention;
  if (coldIn.cluster !== undefined) cold.cluster = coldIn.cluster;
  if (coldIn.indexes !== undefined) cold.indexes = coldIn.indexes.map((ix) => ({ ...ix, ...(ix.params ? { params: [...ix.params] } : {}) }));

  const spec: TieredTableSpec = {
    table: input.table,
    schema: input.schema ?? TIERED_TABLE_DEFAULTS.schema,
    timeColumn: input.timeColumn,
    columns: input.columns.map((c) => (c.notNull !== undefined ? { name: c.name, type: c.type, notNull: c.notNull } : { name: c.name, type: c.type })),
    mode: input.mode ?? TIERED_TABLE_DEFAULTS.mode,
    hot,
    cold,
    rollups: (input.rollups ?? TIERED_TABLE_DEFAULTS.rollups).map(copyRollup),
    tiering: {
      every: tieringIn.every ?? TIERED_TABLE_DEFAULTS.tiering.every,
      batchRows: tieringIn.batchRows ?? TIERED_TABLE_DEFAULTS.tiering.batchRows,
    },
    deletionPolicy: input.deletionPolicy ?? TIERED_TABLE_DEFAULTS.deletionPolicy,
  };
  // No default written in: an absent policy keeps its meaning (labels if the table has a
  // labels column) and keeps specs registered before the field existed unchanged.
  if (input.ingest !== undefined) spec.ingest = input.ingest.unknownFields !== undefined ? { unknownFields: input.ingest.unknownFields } : {};
  return spec;
}

function copyRollup(r: RollupSpec): RollupSpec {
  const aggregates: RollupSpec['aggregates'] = {};
  for (const [col, aggs] of Object.entries(r.aggregates)) aggregates[col] = [...aggs];
  const out: RollupSpec = { name: r.name, interval: r.interval, groupBy: [...r.groupBy], aggregates };
  if (r.retention !== undefined) out.retention = r.retention;
  return out;
}
