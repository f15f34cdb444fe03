import { applyTable, runTiering, DATASET_START } from '@strata/core';
import { loadDataset, metricsSpec, tieredFixture, tiererDeps, type TieredFixture } from '../support/tiered-fixture';
import { closeRollupBed, expectSameAnswer, startRollupProxy, startRollupReference, type RollupProxy, type RollupReference } from './rollup-proxy-bed';

/**
 * A rollup removed from the spec and added back later (issue 14): its ClickHouse table
 * outlives the removal (a removed rollup is only no longer built), so it holds rows of
 * the generations before the removal and none of those tiered while it was absent. The
 * proxy must read those generations raw: every answer equals PostgreSQL holding all rows.
 *
 * Runs: gen A (with 1m) to 08:00, gen B (without) to 16:00, 1m re-added, gen C to the
 * next day 04:00; then 1m removed and re-added with no run between, gen D to 12:00.
 */
const WITH_1M = metricsSpec();
const WITHOUT_1M = metricsSpec({ rollups: [] });

/** NULL host and value, NaN, ±Infinity and non-ASCII text in each run's range. */
const EXTRA_ROWS = `INSERT INTO metrics_events (time, app, host, value, level) VALUES
  ('2026-01-01 03:02:31.5+00', 'api', NULL, 5.5, 'info'),
  ('2026-01-01 03:02:45+00', 'api', NULL, NULL, 'info'),
  ('2026-01-01 11:15:07+00', 'web', 'h1', 'NaN', 'info'),
  ('2026-01-01 12:20:00+00', 'db', 'h2', 'Infinity', 'info'),
  ('2026-01-01 13:40:10+00', 'zürich-ü', 'hôte', -7.25, 'warn'),
  ('2026-01-01 20:07:09.999+00', 'web', NULL, 1e10, 'warn'),
  ('2026-01-02 06:05:05+00', 'zürich-ü', NULL, 2.25, 'warn')`;

const AGGS = 'avg(value) AS avg, min(value) AS min, max(value) AS max, sum(value) AS sum, count(*) AS n, count(value) AS nv';

jest.setTimeout(60_000);

describe('a rollup removed and added back does not hide the rows tiered meanwhile', () => {
  let fx: TieredFixture;
  let reference: RollupReference;
  let bed: RollupProxy;
  /** The run after the first re-add: it built the rollup, but the second re-add came after it. */
  let genC: bigint;

  const deps = () => ({ hot: fx.hot, cold: fx.cold, coldTarget: { database: fx.database } });
  const tierUntil = (until: string) => runTiering(tiererDeps(fx.pgUrl, fx.cold, fx.database), { table: 'metrics_events', until: new Date(until) });

  beforeAll(async () => {
    fx = await tieredFixture(WITH_1M);
    reference = await startRollupReference('strata_rollup_readd_ref', 2 * 1440);
    await loadDataset(fx.hot, 'metrics_events', { toMinute: 2 * 1440 }, fx.spec);
    for (const c of [reference.direct, fx.hot]) await c.query(EXTRA_ROWS);

    const now = new Date(DATASET_START);
    await tierUntil('2026-01-01T08:00:00Z');
    await applyTable(deps(), WITHOUT_1M, now);
    await tierUntil('2026-01-01T16:00:00Z');
    const readded = await applyTable(deps(), WITH_1M, now);
    expect(readded.changes.join('\n')).toMatch(/rollup 1m re-added: .* rows moved before now are read raw/);
    genC = BigInt((await tierUntil('2026-01-02T04:00:00Z')).gen);
    // Removed and added back with no run between: the run after builds it again.
    await applyTable(deps(), WITHOUT_1M, now);
    await applyTable(deps(), WITH_1M, now);
    await tierUntil('2026-01-02T12:00:00Z');

    bed = await startRollupProxy(fx);
  }, 180_000);

  afterAll(() => closeRollupBed(bed, fx, reference));

  const explain = (sql: string): Promise<string> => bed.explain(sql);
  const expectSame = (sql: string): Promise<void> => expectSameAnswer(reference.direct, bed.viaProxy, sql);

  it.each([
    ['cold only, every run', `time >= '2026-01-01 00:00+00' AND time < '2026-01-02 12:00+00'`],
    ['the runs without the rollup and after it came back', `time >= '2026-01-01 10:00+00' AND time < '2026-01-02 06:00+00'`],
    ['spanning W', `time >= '2026-01-01 15:00:17+00' AND time <= '2026-01-02 20:00+00'`],
  ])('%s: served by the rollup, same answer as PostgreSQL', async (_name, range) => {
    for (const sql of [
      `SELECT time_bucket('1 hour', time) AS t, app, host, ${AGGS} FROM metrics_events WHERE ${range} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 NULLS FIRST`,
      `SELECT app, ${AGGS} FROM metrics_events WHERE ${range} GROUP BY 1 ORDER BY 1`,
      `SELECT time_bucket('1 day', time) AS t, count(*) AS n, sum(value) AS sum FROM metrics_events WHERE ${range} GROUP BY 1 ORDER BY 1`,
    ]) {
      await expectSame(sql);
      expect(await explain(sql)).toMatch('from rollup 1m (');
    }
  });

  it('EXPLAIN: the generations before the rollup came back the last time are read raw', async () => {
    const sql = `SELECT time_bucket('1 hour', time) AS t, count(*) FROM metrics_events WHERE time >= '2026-01-01 00:00+00' AND time < '2026-01-02 12:00+00' GROUP BY 1 ORDER BY 1`;
    const below = /generations below (\d+) read raw/.exec(await explain(sql));
    expect(below).not.toBeNull();
    expect(BigInt(below![1])).toBeGreaterThan(genC);
    await expectSame(sql);
  });
});
