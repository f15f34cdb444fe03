import { Client } from 'pg';
import { addChecksums, applyTable, coldChecksum, createColdStore, getTierState, hotChecksum, type ColdStore } from '@strata/core';
import { startChdbHttpServer } from '../support/cold-endpoint';
import { withClient } from '../support/postgres';
import { startScratchCluster, type ScratchCluster } from '../support/pg-cluster';
import { createReferenceTable, loadDataset, metricsSpec } from '../support/tiered-fixture';
import { runCli } from '../support/cli';

/**
 * PostgreSQL itself goes down mid-run (a real server, stopped the way a crash stops
 * it): the run fails with a clear error, nothing is lost or doubled, and once the server
 * is back the next run completes.
 */
jest.setTimeout(180_000);

describe('PostgreSQL stopped mid-run', () => {
  let pg: ScratchCluster;
  let ch: Awaited<ReturnType<typeof startChdbHttpServer>>;
  let cold: ColdStore;
  const spec = metricsSpec({ tiering: { every: '5m', batchRows: 2000 } });
  const database = 'strata_restart';

  const withHot = <T>(fn: (c: Client) => Promise<T>): Promise<T> => withClient(pg.url, fn);

  beforeAll(async () => {
    pg = await startScratchCluster();
    ch = await startChdbHttpServer({});
    cold = createColdStore({ kind: 'http', url: ch.url, database });
    await withHot(async (hot) => {
      await applyTable({ hot, cold, coldTarget: { database } }, spec, new Date('2026-01-01T00:00:00Z'));
      await loadDataset(hot, 'public.metrics_events', { toMinute: 1440 }, spec);
      const ref = await createReferenceTable(hot);
      await loadDataset(hot, ref, { toMinute: 1440 });
    });
  });
  afterAll(async () => {
    await cold?.close();
    await ch?.stop();
    pg?.destroy();
  });

  test('the run fails clearly; after a restart the next run completes exactly once', async () => {
    const env = { STRATA_PG_URL: pg.url, STRATA_CLICKHOUSE_URL: ch.url, STRATA_CLICKHOUSE_DATABASE: database };
    const args = ['tier', '--table', 'metrics_events', '--until', '2026-01-01T18:00:00Z'];
    const run = runCli(args, { ...env, STRATA_TEST_PAUSE_AT: 'copy-batch', STRATA_TEST_PAUSE_MS: '2000' });
    await run.paused;
    pg.stop('immediate');
    const failed = await run.exited;
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/PostgreSQL/);
    expect(failed.stderr).not.toMatch(/at .*\.js:\d+/); // a message, not a stack trace

    pg.start();
    const ok = await runCli(args, env).exited;
    expect(ok.stderr).toMatch(/done gen/);
    expect(ok.code).toBe(0);

    await withHot(async (hot) => {
      const state = (await getTierState(hot, 'metrics_events'))!;
      expect(state.watermark?.toISOString()).toBe('2026-01-01T18:00:00.000Z');
      const total = addChecksums(await hotChecksum(hot, spec), await coldChecksum(cold, { database }, spec, state));
      expect(total).toEqual(await hotChecksum(hot, spec, 'reference_rows'));
    });
  });
});
