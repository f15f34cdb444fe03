import type { TieredTableSpec } from '../model/tiered-table';
import * as ch from './clickhouse';
import * as pg from './postgres';
import { chIdent, chLiteral, pgIdent, pgLiteral } from './sql';

const spec: TieredTableSpec = {
  table: 'metrics_events',
  schema: 'public',
  timeColumn: 'time',
  columns: [
    { name: 'time', type: 'timestamptz' },
    { name: 'app', type: 'text' },
    { name: 'host', type: 'text' },
    { name: 'labels', type: 'jsonb' },
    { name: 'value', type: 'double precision' },
    { name: 'n', type: 'numeric(12,3)', notNull: true },
  ],
  mode: 'hot-then-cold',
  hot: { chunkInterval: '1h', retention: '24h', indexes: [['app', 'host']] },
  cold: { orderBy: ['app', 'host', 'time'], partitionBy: 'day', retention: '90d' },
  rollups: [{ name: '1m', interval: '1m', groupBy: ['app', 'host'], aggregates: { value: ['avg', 'min', 'max'] } }],
  tiering: { every: '5m', batchRows: 100000 },
  deletionPolicy: 'Retain',
};

describe('quoting', () => {
  test.each([
    [pgIdent('a"b'), '"a""b"'],
    [pgLiteral("it's"), "'it''s'"],
    [chIdent('a`b\\c'), '`a\\`b\\\\c`'],
    [chLiteral("it's \\ ok"), "'it\\'s \\\\ ok'"],
  ])('%s', (got, want) => expect(got).toBe(want));

  test('NUL bytes are refused', () => {
    expect(() => pgIdent('a\0b')).toThrow(/NUL/);
    expect(() => chLiteral('a\0b')).toThrow(/NUL/);
  });
});

describe('ClickHouse DDL', () => {
  const raw = ch.createRawTableSql(spec, { database: 'strata' });

  test('raw table: types, engine, partition, order, TTL, dedup window', () => {
    expect(raw).toContain('CREATE TABLE IF NOT EXISTS `strata`.`metrics_events` (');
    expect(raw).toContain("`time` DateTime64(6, 'UTC')");
    expect(raw).toContain('`app` LowCardinality(Nullable(String))');
    expect(raw).toContain('`labels` Nullable(String)');
    expect(raw).toContain('`value` Nullable(Float64)');
    expect(raw).toContain('`n` Decimal(12, 3)');
    expect(raw).toContain('`_strata_gen` UInt64');
    expect(raw).toContain(') ENGINE = MergeTree');
    expect(raw).toContain('PARTITION BY toYYYYMMDD(`time`)');
    expect(raw).toContain('ORDER BY (`app`, `host`, `time`)');
    expect(raw).toContain('TTL toDateTime(`time`) + INTERVAL 7776000 SECOND');
    expect(raw).toContain('non_replicated_deduplication_window = 1000, allow_nullable_key = 1');
  });

  test('cluster tables are replicated and created ON CLUSTER', () => {
    const sql = ch.createRawTableSql({ ...spec, cold: { ...spec.cold, cluster: 'obs' } }, { database: 'strata', cluster: 'obs' });
    expect(sql).toContain('ON CLUSTER `obs`');
    expect(sql).toContain("ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/strata/metrics_events', '{replica}')");
  });

  test('rollup keeps avg as sum+count partials per generation', () => {
    const cols = ch.rollupColumns(spec, spec.rollups[0]).map((c) => `${c.name} ${c.chType}`);
    expect(cols).toEqual([
      "bucket DateTime64(6, 'UTC')",
      'app LowCardinality(Nullable(String))',
      'host LowCardinality(Nullable(String))',
      'value__sum Nullable(Float64)',
      'value__count UInt64',
      'value__min Nullable(Float64)',
      'value__max Nullable(Float64)',
      '_rows UInt64',
      '_strata_gen UInt64',
    ]);
    const insert = ch.insertRollupSql(spec, spec.rollups[0], { database: 'strata' });
    expect(insert).toContain('toStartOfInterval(`time`, INTERVAL 60 SECOND) AS `bucket`');
    expect(insert).toContain('WHERE `_strata_gen` = {gen:UInt64}');
    expect(insert).toContain('INSERT INTO `strata`.`metrics_events__rollup_1m`');
  });

  test('schema evolution statements', () => {
    expect(ch.modifyTtlSql({ ...spec, cold: { ...spec.cold, retention: '30d' } }, { database: 'strata' })).toBe(
      'ALTER TABLE `strata`.`metrics_events` MODIFY TTL toDateTime(`time`) + INTERVAL 2592000 SECOND',
    );
    expect(ch.modifyTtlSql({ ...spec, cold: { ...spec.cold, retention: undefined } }, { database: 'strata' })).toBe('ALTER TABLE `strata`.`metrics_events` REMOVE TTL');
  });
});

describe('PostgreSQL DDL', () => {
  test('native: a range-partitioned table with NOT NULL time', () => {
    const sql = pg.createTableSql(spec, 'native');
    expect(sql).toContain('CREATE TABLE IF NOT EXISTS "public"."metrics_events" (');
    expect(sql).toContain('"time" timestamp with time zone NOT NULL');
    expect(sql).toContain('"n" numeric(12,3) NOT NULL');
    expect(sql).toMatch(/\) PARTITION BY RANGE \("time"\)$/);
  });

  test('timescaledb: a hypertable with the chunk interval', () => {
    expect(pg.createTableSql(spec, 'timescaledb')).not.toContain('PARTITION BY');
    expect(pg.createHypertableSql(spec)).toBe(
      `SELECT create_hypertable('"public"."metrics_events"', 'time', chunk_time_interval => INTERVAL '3600 seconds', if_not_exists => TRUE)`,
    );
  });

  test('timescaledb compression: segmented by the cold order, policy replaced, removed when unset', () => {
    expect(pg.compressionSql({ ...spec, hot: { ...spec.hot, compression: { after: '6h' } } })).toEqual([
      `ALTER TABLE "public"."metrics_events" SET (timescaledb.compress, timescaledb.compress_orderby = '"time" DESC', timescaledb.compress_segmentby = '"app", "host"')`,
      `SELECT remove_compression_policy('"public"."metrics_events"', if_exists => TRUE)`,
      `SELECT add_compression_policy('"public"."metrics_events"', compress_after => INTERVAL '21600 seconds')`,
    ]);
    expect(pg.compressionSql({ ...spec, hot: { ...spec.hot, compression: undefined } })).toEqual([
      `SELECT remove_compression_policy('"public"."metrics_events"', if_exists => TRUE)`,
    ]);
  });

  test('indexes', () => {
    expect(pg.createIndexesSql(spec, 'native')).toEqual([
      'CREATE INDEX IF NOT EXISTS "metrics_events_time_idx" ON "public"."metrics_events" ("time" DESC)',
      'CREATE INDEX IF NOT EXISTS "metrics_events_app_host_idx" ON "public"."metrics_events" ("app", "host", "time" DESC)',
    ]);
    expect(pg.createIndexesSql(spec, 'timescaledb')).toHaveLength(1);
  });

  test('partitions are chunk-aligned and named by their start', () => {
    const parts = pg.partitionsCovering(spec, new Date('2026-01-01T00:30:00Z'), new Date('2026-01-01T02:00:00Z'));
    expect(parts.map((p) => [p.name, p.from.toISOString(), p.to.toISOString()])).toEqual([
      ['metrics_events_p20260101_000000', '2026-01-01T00:00:00.000Z', '2026-01-01T01:00:00.000Z'],
      ['metrics_events_p20260101_010000', '2026-01-01T01:00:00.000Z', '2026-01-01T02:00:00.000Z'],
    ]);
    expect(pg.createPartitionSql(spec, parts[0])).toBe(
      `CREATE TABLE IF NOT EXISTS "public"."metrics_events_p20260101_000000" PARTITION OF "public"."metrics_events" FOR VALUES FROM ('2026-01-01T00:00:00.000Z') TO ('2026-01-01T01:00:00.000Z')`,
    );
  });

  test('long names stay within 63 bytes and unique', () => {
    const long = 'x'.repeat(60);
    const a = pg.shortName(long, '_p20260101_000000');
    const b = pg.shortName(long, '_p20260101_010000');
    expect(Buffer.byteLength(a)).toBeLessThanOrEqual(63);
    expect(a).not.toBe(b);
  });
});
