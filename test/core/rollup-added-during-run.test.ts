import { Client } from 'pg';
import { applyTable, DATASET_START, runTiering } from '@strata/core';
import { loadDataset, metricsSpec, tieredFixture, tiererDeps, type TieredFixture } from '../support/tiered-fixture';

/**
 * Exactly once for a rollup added while tiering runs (catalog/rollup-starts.ts): every
 * generation from the rollup's recorded start on is built with it, whichever of the apply
 * and a tiering run reaches the table's tier_state row first.
 */
jest.setTimeout(60_000);

describe('a rollup added while a tiering run starts', () => {
  let fx: TieredFixture;
  let blocker: Client;
  let applier: Client;

  beforeAll(async () => {
    fx = await tieredFixture(metricsSpec({ rollups: [] }));
    await loadDataset(fx.hot, 'metrics_events', { toMinute: 12 * 60 }, fx.spec);
    blocker = new Client({ connectionString: fx.pgUrl });
    applier = new Client({ connectionString: fx.pgUrl });
    await Promise.all([blocker.connect(), applier.connect()]);
  }, 120_000);

  afterAll(async () => {
    await blocker?.end().catch(() => undefined);
    await applier?.end().catch(() => undefined);
    await fx?.close();
  });

  const tierUntil = (until: string) => runTiering(tiererDeps(fx.pgUrl, fx.cold, fx.database), { table: 'metrics_events', until: new Date(until) });

  /** Sessions of this database waiting for a lock. */
  async function waitingForLocks(): Promise<number> {
    const r = await fx.hot.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    );
    return r.rows[0].n;
  }
  async function until(check: () => Promise<boolean>): Promise<void> {
    for (let i = 0; i < 500 && !(await check()); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await check()).toBe(true);
  }

  async function rollupRowsByGen(): Promise<Map<string, number>> {
    const r = await fx.cold.query<{ gen: string; n: string }>(
      `SELECT toString(_strata_gen) AS gen, toString(sum(_rows)) AS n FROM ${fx.database}.metrics_events__rollup_1m GROUP BY _strata_gen`,
    );
    return new Map(r.map((x) => [x.gen, Number(x.n)]));
  }

  it('a run that draws its generation after the apply builds the rollup; the start lies below it', async () => {
    await tierUntil('2026-01-01T02:00:00Z');
    // Hold the tier_state row, so the apply queues for it first and the run behind it.
    await blocker.query('BEGIN');
    await blocker.query("SELECT 1 FROM strata.tier_state WHERE table_name = 'metrics_events' FOR UPDATE");
    const applied = applyTable({ hot: applier, cold: fx.cold, coldTarget: { database: fx.database } }, metricsSpec(), new Date(DATASET_START));
    await until(async () => (await waitingForLocks()) === 1);
    const run = tierUntil('2026-01-01T06:00:00Z');
    await until(async () => (await waitingForLocks()) === 2);
    await blocker.query('COMMIT');
    expect((await applied).changes).toEqual([expect.stringMatching(/^rollup 1m added/)]);
    const moved = await run;

    const start = await fx.hot.query<{ gen: string }>("SELECT first_gen::text AS gen FROM strata.rollup_starts WHERE table_name = 'metrics_events' AND rollup = '1m'");
    expect(BigInt(start.rows[0].gen)).toBeLessThan(BigInt(moved.gen));
    expect(moved.rows).toBeGreaterThan(0);
    expect(await rollupRowsByGen()).toEqual(new Map([[moved.gen, moved.rows]]));
  });

  it('a rollup added back while a run holds the row: that run (below the start) is read raw, the next builds it', async () => {
    await applyTable({ hot: applier, cold: fx.cold, coldTarget: { database: fx.database } }, metricsSpec({ rollups: [] }), new Date(DATASET_START));
    // The run's generation transaction waits on the row, the apply behind it.
    await blocker.query('BEGIN');
    await blocker.query("SELECT 1 FROM strata.tier_state WHERE table_name = 'metrics_events' FOR UPDATE");
    const run = tierUntil('2026-01-01T08:00:00Z');
    await until(async () => (await waitingForLocks()) === 1);
    const applied = applyTable({ hot: applier, cold: fx.cold, coldTarget: { database: fx.database } }, metricsSpec(), new Date(DATASET_START));
    await until(async () => (await waitingForLocks()) === 2);
    await blocker.query('COMMIT');
    expect((await applied).changes).toEqual([expect.stringMatching(/^rollup 1m re-added/)]);
    const moved = await run;
    const start = await fx.hot.query<{ gen: string }>("SELECT first_gen::text AS gen FROM strata.rollup_starts WHERE table_name = 'metrics_events' AND rollup = '1m'");
    expect(BigInt(start.rows[0].gen)).toBeGreaterThan(BigInt(moved.gen));
    expect((await rollupRowsByGen()).has(moved.gen)).toBe(false);
    const next = await tierUntil('2026-01-01T10:00:00Z');
    expect((await rollupRowsByGen()).get(next.gen)).toBe(next.rows);
  });
});
