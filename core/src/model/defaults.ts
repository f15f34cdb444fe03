import type { ColdSpec, HotSpec, RollupSpec, TieredTableInput, TieredTableSpec } from './tiered-table';

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
 */
export const TIERED_TABLE_DEFAULTS = {
  schema: 'public',
  mode: 'hot-then-cold',
  hot: { chunkInterval: '1h', retention: '24h' },
  cold: { partitionBy: 'day' },
  rollups: [],
  tiering: { every: '5m', batchRows: 100_000 },
  deletionPolicy: 'Retain',
} as const satisfies {
  schema: string;
  mode: TieredTableSpec['mode'];
  hot: Pick<HotSpec, 'chunkInterval' | 'retention'>;
  cold: Pick<ColdSpec, 'partitionBy'>;
  rollups: readonly RollupSpec[];
  tiering: TieredTableSpec['tiering'];
  deletionPolicy: TieredTableSpec['deletionPolicy'];
};

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

  const cold: ColdSpec = {
    orderBy: coldIn.orderBy !== undefined ? [...coldIn.orderBy] : [input.timeColumn],
    partitionBy: coldIn.partitionBy ?? TIERED_TABLE_DEFAULTS.cold.partitionBy,
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
