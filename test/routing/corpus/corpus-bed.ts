import { Client, Pool } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { applyTable, datasetStream, DATASET_START, ensurePartitions, FULL_MINUTES, METRICS_EVENTS_COLUMNS_SQL, postgresDdl, runTiering, type TieredTableSpec } from '@strata/core';
import type { CatalogSnapshot, Router, TierEngine } from '@strata/proxy';
import type { ProxyApi } from './proxy-api';
import { createTestDatabase, type TestDatabase } from '../../support/postgres';
import { loadDataset, metricsSpec, tieredFixture, tiererDeps, type TieredFixture } from '../../support/tiered-fixture';
import { loadObservability, OBSERVABILITY_COLUMNS_SQL, observabilitySpec } from './observability-dataset';

/** The corpus watermarks (shared/corpus/README.md), in the order W can move: forward. */
export const CORPUS_WATERMARKS = ['2026-01-04T13:37:00Z', '2026-01-05T00:00:00Z'] as const;

/**
 * The differential test bed: a reference database where nothing is tiered and tiered
 * metrics_events and observability_events (PostgreSQL + ClickHouse engine behind its
 * HTTP endpoint), both holding the corpus datasets; the router and engine over the
 * tiered ones.
 */
export interface CorpusBed {
  reference: TestDatabase;
  tiered: TieredFixture;
  /** The second tiered table (examples/tieredtables.yaml's observability-events). */
  observability: TieredTableSpec;
  pool: Pool;
  /** The catalog as last read. */
  readonly snapshot: CatalogSnapshot;
  /** Routes on the current catalog. */
  router: Router;
  engine: TierEngine;
  /**
   * Re-reads the catalog, as the proxy does after view DDL and periodically: a view
   * created over a tiered table is read through the engine from then on.
   */
  refreshCatalog(): Promise<void>;
  /** Moves rows below `until` to the cold tier (W only moves forward). */
  tierTo(until: string): Promise<void>;
  close(): Promise<void>;
}

async function loadReference(url: string): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`CREATE TABLE metrics_events (${METRICS_EVENTS_COLUMNS_SQL})`);
    // The reference has no TimescaleDB either: the same time_bucket Strata installs.
    for (const s of postgresDdl.TIME_BUCKET_FUNCTIONS_SQL) await c.query(s);
    await pipeline(datasetStream(), c.query(copyFrom('COPY metrics_events (time, app, host, labels, value, trace_id, level) FROM STDIN')));
    await c.query(`CREATE TABLE observability_events (${OBSERVABILITY_COLUMNS_SQL})`);
    await loadObservability(c);
    await c.query('ANALYZE metrics_events');
    await c.query('ANALYZE observability_events');
  } finally {
    await c.end();
  }
}

export async function startCorpusBed(api: ProxyApi): Promise<CorpusBed> {
  await api.loadSqlParser();
  const reference = await createTestDatabase('strata_corpus_ref');
  let tiered: TieredFixture | undefined;
  try {
    tiered = await tieredFixture(metricsSpec());
    const fx = tiered;
    const observability = observabilitySpec();
    await applyTable({ hot: fx.hot, cold: fx.cold, coldTarget: { database: fx.database } }, observability, new Date(DATASET_START));
    await ensurePartitions(fx.hot, observability, new Date(DATASET_START), new Date(DATASET_START + FULL_MINUTES * 60_000));
    await Promise.all([loadReference(reference.url), (async () => {
      await loadDataset(fx.hot, 'metrics_events', {}, fx.spec);
      await loadObservability(fx.hot);
    })()]);
    await fx.hot.query('ANALYZE metrics_events');
    await fx.hot.query('ANALYZE observability_events');
    let snapshot = await api.loadCatalogSnapshot(fx.hot);
    let route = api.createRouter(snapshot);
    const pool = new Pool({ connectionString: fx.pgUrl, max: 4 });
    // Rollups read wherever they cover, whatever their density (rollup-density.ts), so the differential runs check rollup reads too.
    const engine = api.createTierEngine({ hot: pool, cold: fx.cold, coldDatabase: fx.database, catalog: () => snapshot, minRowsPerRollupRow: 0, rollupReads: true });
    return {
      reference,
      tiered: fx,
      observability,
      pool,
      get snapshot() {
        return snapshot;
      },
      router: (sql, session) => route(sql, session),
      engine,
      async refreshCatalog() {
        snapshot = await api.loadCatalogSnapshot(fx.hot);
        route = api.createRouter(snapshot);
      },
      async tierTo(until: string) {
        for (const table of [fx.spec.table, observability.table]) {
          await runTiering(tiererDeps(fx.pgUrl, fx.cold, fx.database), { table, until: new Date(until) });
        }
      },
      async close() {
        await pool.end().catch(() => undefined);
        await fx.close();
        await reference.drop();
      },
    };
  } catch (err) {
    await tiered?.close().catch(() => undefined);
    await reference.drop().catch(() => undefined);
    throw err;
  }
}
