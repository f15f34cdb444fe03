import { ensurePartitions, getTierState, hotChecksum, runTiering, tableStatuses, clickhouseDdl, visibleGenerationsSql } from '@strata/core';
import { createReferenceTable, loadDataset, metricsSpec, tieredChecksum, tieredFixture, tiererDeps, type TieredFixture } from '../support/tiered-fixture';
import { datasetRowCount } from '@strata/core';

/**
 * The corpus dataset (302,400 rows) through a real PostgreSQL 15 (native partitions)
 * and the real ClickHouse engine behind the production HTTP client: after each move,
 * PostgreSQL's rows plus ClickHouse's visible rows are exactly the dataset.
 */
describe('tiering the corpus dataset', () => {
  let fx: TieredFixture;
  let reference: Awaited<ReturnType<typeof hotChecksum>>;

  beforeAll(async () => {
    fx = await tieredFixture();
    await loadDataset(fx.hot, 'public.metrics_events', {}, fx.spec);
    const ref = await createReferenceTable(fx.hot);
    await loadDataset(fx.hot, ref);
    reference = await hotChecksum(fx.hot, fx.spec, ref);
  });
  afterAll(async () => fx?.close());

  const tier = (until: string) =>
    runTiering(
      tiererDeps(fx.pgUrl, fx.cold, fx.database),
      { table: 'metrics_events', until: new Date(until) },
    );

  test('reference holds the whole dataset', () => {
    expect(reference.rows).toBe(datasetRowCount());
    expect(reference.rows).toBe(302_400);
  });

  test.each(['2026-01-04T13:37:00Z', '2026-01-05T00:00:00Z'])('tier to W = %s: hot ≥ W, cold < W, union = dataset', async (w) => {
    const result = await tier(w);
    expect(result.watermark).toBe(new Date(w).toISOString());
    const minutesBelow = (Date.parse(w) - Date.parse('2026-01-01T00:00:00Z')) / 60_000;
    const state = (await getTierState(fx.hot, 'metrics_events'))!;
    expect(state.watermark?.toISOString()).toBe(new Date(w).toISOString());
    expect(state.runningGen).toBeNull();

    const sums = await tieredChecksum(fx);
    expect(sums.cold.rows).toBe(minutesBelow * 30);
    expect(sums.hot.rows).toBe(302_400 - minutesBelow * 30);
    expect(sums.total).toEqual(reference);

    const hotMin = await fx.hot.query<{ t: Date }>('SELECT min(time) AS t FROM metrics_events');
    expect(hotMin.rows[0].t.getTime()).toBeGreaterThanOrEqual(Date.parse(w));
    const coldMax = await fx.cold.query<{ t: string }>(
      `SELECT toString(max(time)) AS t FROM strata_test.metrics_events WHERE ${visibleGenerationsSql(state)}`,
    );
    expect(Date.parse(coldMax[0].t.replace(' ', 'T') + 'Z')).toBeLessThan(Date.parse(w));
  });

  test('partitions wholly below W are gone; the one W cuts stays', async () => {
    const parts = await fx.hot.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'public.metrics_events'::regclass AND c.relname < 'metrics_events_p20260105'
          AND c.relname LIKE 'metrics_events_p%'`,
    );
    expect(Number(parts.rows[0].n)).toBe(0);
  });

  test('the 1m rollup agrees with the raw cold rows', async () => {
    const state = (await getTierState(fx.hot, 'metrics_events'))!;
    const raw = await fx.cold.query<{ n: string; s: number; mx: number }>(
      `SELECT count(value) AS n, sum(value) AS s, max(value) AS mx FROM strata_test.metrics_events WHERE ${visibleGenerationsSql(state)}`,
    );
    const rolled = await fx.cold.query<{ n: string; s: number; mx: number; buckets: string }>(
      `SELECT sum(value__count) AS n, sum(value__sum) AS s, max(value__max) AS mx, uniqExact(bucket) AS buckets FROM strata_test.metrics_events__rollup_1m WHERE ${visibleGenerationsSql(state)}`,
    );
    expect(rolled[0].n).toBe(raw[0].n);
    expect(rolled[0].s).toBeCloseTo(raw[0].s, 3);
    expect(rolled[0].mx).toBe(raw[0].mx);
    expect(Number(rolled[0].buckets)).toBe(4 * 1440);
  });

  test('a run with nothing to move commits an empty generation and changes nothing', async () => {
    const before = await tieredChecksum(fx);
    const r = await tier('2026-01-05T00:00:00Z');
    expect(r.rows).toBe(0);
    expect((await tieredChecksum(fx)).total).toEqual(before.total);
  });

  test('W never moves back', async () => {
    const r = await tier('2026-01-02T00:00:00Z');
    expect(r.watermark).toBe('2026-01-05T00:00:00.000Z');
  });

  test('status reports rows per tier and the watermark', async () => {
    const [s] = await tableStatuses(fx.hot, fx.cold, { database: fx.database });
    expect(s).toMatchObject({ table: 'metrics_events', mode: 'hot-then-cold', watermark: '2026-01-05T00:00:00.000Z', rowsHot: 3 * 1440 * 30, rowsCold: 4 * 1440 * 30 });
    expect(s.lastRun.error).toBeNull();
  });

  test('cold DDL carries engine, order and TTL from the spec', async () => {
    const t = await fx.cold.query<{ engine: string; sorting_key: string; partition_key: string; create_table_query: string }>(
      "SELECT engine, sorting_key, partition_key, create_table_query FROM system.tables WHERE database = 'strata_test' AND name = 'metrics_events'",
    );
    expect(t[0].engine).toBe('MergeTree');
    expect(t[0].sorting_key).toBe('app, host, time');
    expect(t[0].partition_key).toBe('toYYYYMMDD(time)');
    expect(t[0].create_table_query).toMatch(/TTL toDateTime\(time\) \+ toIntervalSecond\(315360000\)/);
    expect(clickhouseDdl.GEN_COLUMN).toBe('_strata_gen');
  });
});

/**
 * A late row older than cold.retention: ClickHouse's TTL drops such a row on insert, so
 * moving it could never verify and W would be stuck behind it forever. The run deletes
 * it instead, in its own transaction, and moves the rest.
 */
describe('rows past the cold retention', () => {
  let fx: TieredFixture;
  const DAY = 86_400_000;

  beforeAll(async () => {
    fx = await tieredFixture(metricsSpec({ cold: { orderBy: ['app', 'host', 'time'], partitionBy: 'day', retention: '30d' } }));
  });
  afterAll(async () => fx?.close());

  test('are deleted, not moved; the rest moves and verifies', async () => {
    const now = Date.now();
    await ensurePartitions(fx.hot, fx.spec, new Date(now - 45 * DAY), new Date(now));
    const at = (ms: number) => new Date(ms).toISOString();
    await fx.hot.query(
      `INSERT INTO metrics_events (time, app, host, value) VALUES ($1, 'api', 'expired', 1), ($2, 'api', 'kept', 2), ($3, 'api', 'hot', 3)`,
      [at(now - 40 * DAY), at(now - 3 * DAY), at(now - 60_000)],
    );
    const r = await runTiering(tiererDeps(fx.pgUrl, fx.cold, fx.database), { table: 'metrics_events' });
    expect(r).toMatchObject({ rows: 1, expiredRows: 1 });
    const state = (await getTierState(fx.hot, 'metrics_events'))!;
    const cold = await fx.cold.query<{ host: string }>(`SELECT host FROM strata_test.metrics_events WHERE ${visibleGenerationsSql(state)}`);
    expect(cold).toEqual([{ host: 'kept' }]);
    const hot = await fx.hot.query<{ host: string }>('SELECT host FROM metrics_events');
    expect(hot.rows).toEqual([{ host: 'hot' }]);
  });
});
