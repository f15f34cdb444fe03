import { applyTable, deleteTable, runTiering, DATASET_START } from '@strata/core';
import { loadDataset, metricsSpec, tieredFixture, tiererDeps, type TieredFixture } from '../support/tiered-fixture';
import { closeRollupBed, expectSameAnswer, startRollupProxy, startRollupReference, type RollupProxy, type RollupReference } from './rollup-proxy-bed';

/**
 * A table dropped (deletionPolicy Delete) and applied again while the proxy runs. What
 * the proxy learnt of the old table's rollup (where raw rows lie, which buckets hold NaN,
 * the span of its buckets: rollup-coverage.ts) is cached per set of committed
 * generations and never expires; it is not true of the new table. It is never used for
 * it because generations come from one sequence (strata.tier_gen_seq), not per table:
 * the new table's generation set is never the old one's. Every answer equals PostgreSQL's.
 */
const SPEC = metricsSpec({ deletionPolicy: 'Delete' });

/** The second table's rows: the hours before the first table's, NaN and ±Infinity in its buckets. */
const SECOND_ROWS = `INSERT INTO metrics_events (time, app, host, value, level) VALUES
  ('2025-12-31 20:00:00+00', 'api', 'h1', 1.5, 'info'),
  ('2025-12-31 20:00:30+00', 'api', 'h1', 'NaN', 'info'),
  ('2025-12-31 21:10:00+00', 'web', 'h2', 'Infinity', 'warn'),
  ('2025-12-31 23:59:59.5+00', 'web', NULL, -2.25, 'warn'),
  ('2026-01-01 02:00:00+00', 'zürich-ü', 'hôte', 7, 'info'),
  ('2026-01-01 02:01:00+00', 'api', 'h1', 'NaN', 'info'),
  ('2026-01-01 14:00:00+00', 'api', 'h1', 3, 'info')`;

const QUERIES = [
  `SELECT time_bucket('1 hour', time) AS t, app, max(value) AS max, min(value) AS min, count(*) AS n FROM metrics_events GROUP BY 1, 2 ORDER BY 1, 2`,
  `SELECT app, max(value) AS max, avg(value) AS avg, count(*) AS n FROM metrics_events GROUP BY 1 ORDER BY 1`,
  `SELECT count(*) AS n, max(value) AS max FROM metrics_events WHERE time >= '2025-12-31 00:00+00' AND time < '2026-01-01 12:00+00'`,
  `SELECT time_bucket('1 day', time) AS t, count(*) AS n FROM metrics_events WHERE time < '2026-01-01 12:00+00' GROUP BY 1 ORDER BY 1`,
];

jest.setTimeout(60_000);

describe('a table dropped and applied again while the proxy runs', () => {
  let fx: TieredFixture;
  let reference: RollupReference;
  let bed: RollupProxy;

  const deps = () => ({ hot: fx.hot, cold: fx.cold, coldTarget: { database: fx.database } });
  const tierUntil = (until: string) => runTiering(tiererDeps(fx.pgUrl, fx.cold, fx.database), { table: 'metrics_events', until: new Date(until) });

  beforeAll(async () => {
    fx = await tieredFixture(SPEC);
    reference = await startRollupReference('strata_rollup_recreate_ref', 1440);
    await loadDataset(fx.hot, 'metrics_events', { toMinute: 1440 }, fx.spec);
    expect((await tierUntil('2026-01-01T12:00:00Z')).gen).toBe('1');
    bed = await startRollupProxy(fx);
  }, 180_000);

  afterAll(() => closeRollupBed(bed, fx, reference));

  it('the first table: served by the rollup, same answers as PostgreSQL', async () => {
    for (const sql of QUERIES) await expectSameAnswer(reference.direct, bed.viaProxy, sql);
    expect(await bed.explain(QUERIES[0])).toMatch(/from rollup 1m/);
  });

  it('the second table, another generation: the first table’s coverage is not used', async () => {
    await deleteTable(deps(), SPEC);
    await applyTable(deps(), SPEC, new Date(DATASET_START));
    await fx.hot.query(SECOND_ROWS);
    await reference.direct.query('TRUNCATE metrics_events');
    await reference.direct.query(SECOND_ROWS);
    // The same run as the first table's, another generation.
    expect((await tierUntil('2026-01-01T12:00:00Z')).gen).toBe('2');
    for (const sql of QUERIES) await expectSameAnswer(reference.direct, bed.viaProxy, sql);
  });
});
