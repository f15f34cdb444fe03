import { getTierState, runTiering, visibleGenerationsSql } from '@strata/core';
import { metricsSpec, tieredFixture, tiererDeps, type TieredFixture } from '../support/tiered-fixture';

/**
 * A hot backlog spanning more days than ClickHouse lets one INSERT touch partitions
 * (`max_partitions_per_insert_block`, 100 by default) moves in one run: e.g. tiering
 * switched on over a table that gathered 150 days, or a tierer that was down for months.
 * With day partitions, each of the run's raw and rollup inserts spans 150 of them.
 */
describe('a tiering run over a backlog of 150 day partitions', () => {
  let fx: TieredFixture;
  const DAYS = 150;
  const start = Date.parse('2026-01-01T00:00:00Z');
  const DAY = 86_400_000;

  beforeAll(async () => {
    fx = await tieredFixture(metricsSpec());
  });
  afterAll(async () => fx?.close());

  test('moves every row once, with its rollup buckets, in one generation', async () => {
    // Below every hot partition: the rows sit in the default partition until the run moves them.
    await fx.hot.query(
      `INSERT INTO metrics_events (time, app, host, value)
       SELECT $1::timestamptz + d * interval '1 day' + interval '90 minutes', 'api', CASE WHEN d % 7 = 0 THEN NULL ELSE 'h' || d % 3 END, d
         FROM generate_series(0, $2::int - 1) AS d`,
      [new Date(start).toISOString(), DAYS],
    );
    const r = await runTiering(tiererDeps(fx.pgUrl, fx.cold, fx.database), { table: 'metrics_events', until: new Date(start + DAYS * DAY) });
    expect(r.rows).toBe(DAYS);
    const state = (await getTierState(fx.hot, 'metrics_events'))!;
    const visible = visibleGenerationsSql(state);
    const raw = await fx.cold.query<{ n: string; days: string; s: number }>(
      `SELECT count() AS n, uniqExact(toDate(time)) AS days, sum(value) AS s FROM strata_test.metrics_events WHERE ${visible}`,
    );
    expect(raw[0]).toEqual({ n: String(DAYS), days: String(DAYS), s: (DAYS * (DAYS - 1)) / 2 });
    const rolled = await fx.cold.query<{ n: string; buckets: string }>(
      `SELECT sum(_rows) AS n, uniqExact(bucket) AS buckets FROM strata_test.metrics_events__rollup_1m WHERE ${visible}`,
    );
    expect(rolled[0]).toEqual({ n: String(DAYS), buckets: String(DAYS) });
    const hot = await fx.hot.query<{ n: string }>('SELECT count(*)::text AS n FROM metrics_events');
    expect(hot.rows[0].n).toBe('0');
  });

  test('a batch re-sent with its token (a lost response) is dropped in every one of its partitions', async () => {
    const rows = Array.from({ length: DAYS }, (_, d) => `${new Date(start + d * DAY).toISOString().replace('T', ' ').replace('Z', '')}\tresent\t${d}\t999`).join('\n');
    const batch = { table: 'strata_test.metrics_events', columns: ['time', 'app', 'value', '_strata_gen'], data: Buffer.from(`${rows}\n`), dedupToken: 'metrics_events:999:run:0', settings: { max_partitions_per_insert_block: 0 } };
    await fx.cold.insertTsv(batch);
    await fx.cold.insertTsv(batch);
    const n = await fx.cold.query<{ n: string; days: string }>("SELECT count() AS n, uniqExact(toDate(time)) AS days FROM strata_test.metrics_events WHERE app = 'resent'");
    expect(n[0]).toEqual({ n: String(DAYS), days: String(DAYS) });
  });
});
