import { Client, Pool } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { datasetStream, METRICS_EVENTS_COLUMNS_SQL, postgresDdl, runTiering } from '@strata/core';
import type { CatalogSnapshot, Router, TierEngine } from '@strata/proxy';
import type { ProxyApi } from './proxy-api';
import { createTestDatabase, type TestDatabase } from '../../support/postgres';
import { loadDataset, metricsSpec, tieredFixture, tiererDeps, type TieredFixture } from '../../support/tiered-fixture';

/** The corpus watermarks (shared/corpus/README.md), in the order W can move: forward. */
export const CORPUS_WATERMARKS = ['2026-01-04T13:37:00Z', '2026-01-05T00:00:00Z'] as const;

/**
 * The differential test bed: a reference database where nothing is tiered and a
 * tiered metrics_events (PostgreSQL + ClickHouse engine behind its HTTP endpoint),
 * both holding the corpus dataset; the router and engine over the tiered one.
 */
export interface CorpusBed {
  reference: TestDatabase;
  tiered: TieredFixture;
  pool: Pool;
  snapshot: CatalogSnapshot;
  router: Router;
  engine: TierEngine;
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
    await c.query('ANALYZE metrics_events');
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
    await Promise.all([loadReference(reference.url), loadDataset(fx.hot, 'metrics_events', {}, fx.spec)]);
    await fx.hot.query('ANALYZE metrics_events');
    const snapshot = await api.loadCatalogSnapshot(fx.hot);
    const pool = new Pool({ connectionString: fx.pgUrl, max: 4 });
    const engine = api.createTierEngine({ hot: pool, cold: fx.cold, coldDatabase: fx.database, catalog: snapshot });
    return {
      reference,
      tiered: fx,
      pool,
      snapshot,
      router: api.createRouter(snapshot),
      engine,
      async tierTo(until: string) {
        await runTiering(
          tiererDeps(fx.pgUrl, fx.cold, fx.database),
          { table: fx.spec.table, until: new Date(until) },
        );
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
