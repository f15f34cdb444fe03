import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { datasetStream, ensurePartitions, getTierState, listRegisteredTables, startTieringScheduler, type TierRunResult } from '@strata/core';
import { metricsSpec, tieredFixture, tiererDeps, type TieredFixture } from '../support/tiered-fixture';

/** The in-process scheduler of single-node mode: runs due tables, once per `tiering.every`. */
describe('tiering scheduler', () => {
  let fx: TieredFixture;
  const now = Math.floor(Date.now() / 60_000) * 60_000;
  const start = now - 48 * 3_600_000;

  beforeAll(async () => {
    fx = await tieredFixture(metricsSpec({ tiering: { every: '1h', batchRows: 20000 } }));
    await ensurePartitions(fx.hot, fx.spec, new Date(start), new Date(now));
    await pipeline(datasetStream({ start, toMinute: 48 * 60 }), fx.hot.query(copyFrom('COPY metrics_events (time, app, host, labels, value, trace_id, level) FROM STDIN')));
  });
  afterAll(async () => {
    await fx?.close();
  });

  test('a due table is tiered to now − retention; a second tick within `every` does nothing', async () => {
    const results: TierRunResult[] = [];
    const errors: string[] = [];
    const scheduler = startTieringScheduler({
      deps: tiererDeps(fx.pgUrl, fx.cold, fx.database),
      tables: () => listRegisteredTables(fx.hot),
      onResult: (r) => results.push(r),
      onError: (_t, e) => errors.push(e.message),
      tickMs: 3_600_000,
    });
    await scheduler.runDue();
    await scheduler.runDue();
    await scheduler.stop();
    expect(errors).toEqual([]);
    expect(results).toHaveLength(1);
    expect(results[0].rows).toBeGreaterThan(20 * 60 * 30);
    const state = (await getTierState(fx.hot, 'metrics_events'))!;
    // now − 24h, aligned down to the 1h chunk interval
    expect(state.watermark!.getTime()).toBe(Math.floor((now - 24 * 3_600_000) / 3_600_000) * 3_600_000);
  });
});
