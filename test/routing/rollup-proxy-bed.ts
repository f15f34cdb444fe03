import { Client, Pool } from 'pg';
import { datasetStream, postgresDdl, METRICS_EVENTS_COLUMNS_SQL } from '@strata/core';
import { metricsSpec, type TieredFixture } from '../support/tiered-fixture';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { resolveProxyConfig } from '../../proxy/src/config';
import { startProxy } from '../../proxy/src/proxy-server';
import { createTierEngine, loadCatalogSnapshot } from '../../proxy/src/engine';
import { createRouter, loadSqlParser } from '../../proxy/src/router';
import { createTestDatabase } from '../support/postgres';
import { compareOutcomes } from './corpus/compare';
import { errorOutcome, RAW_TEXT, simpleQuery } from './corpus/runners';

/** metrics_events with the 1m rollup (app, host; every aggregate) and a 1h rollup (app; sum and count only). */
export const TWO_ROLLUPS_SPEC = metricsSpec({
  rollups: [
    { name: '1m', interval: '1m', groupBy: ['app', 'host'], aggregates: { value: ['avg', 'min', 'max', 'sum', 'count'] } },
    { name: '1h', interval: '1h', groupBy: ['app'], aggregates: { value: ['sum', 'count'] } },
  ],
});

export interface RollupReference {
  /** A client of the reference database (values as PostgreSQL's text). */
  direct: Client;
  /** The reference database's URL. */
  url: string;
  drop(): Promise<void>;
}

/**
 * What rollup tests compare against: PostgreSQL holding every row, in a database of its
 * own: metrics_events with the dataset's first `minutes`, and time_bucket.
 */
export async function startRollupReference(name: string, minutes: number): Promise<RollupReference> {
  const db = await createTestDatabase(name);
  const direct = new Client({ connectionString: db.url, types: RAW_TEXT });
  await direct.connect();
  await direct.query(`CREATE TABLE metrics_events (${METRICS_EVENTS_COLUMNS_SQL})`);
  for (const s of postgresDdl.TIME_BUCKET_FUNCTIONS_SQL) await direct.query(s);
  await pipeline(datasetStream({ toMinute: minutes }), direct.query(copyFrom('COPY metrics_events (time, app, host, labels, value, trace_id, level) FROM STDIN')));
  return {
    direct,
    url: db.url,
    async drop() {
      await direct.end().catch(() => undefined);
      await db.drop();
    },
  };
}

/** The proxy's answer to `sql` is the reference's (in order when the statement orders). */
export async function expectSameAnswer(direct: Client, viaProxy: Client, sql: string): Promise<void> {
  const expected = await simpleQuery(direct, sql).catch(errorOutcome);
  const actual = await simpleQuery(viaProxy, sql).catch(errorOutcome);
  expect(expected.ok).toBe(true);
  expect(compareOutcomes(expected, actual, /ORDER BY/i.test(sql))).toBeUndefined();
}

export interface RollupProxy {
  /** A client of the proxy (values as PostgreSQL's text). */
  viaProxy: Client;
  /** Where the proxy listens, and its user's password (for a client of the test's own). */
  port: number;
  password: string;
  /** EXPLAIN's lines, joined. */
  explain(sql: string): Promise<string>;
  close(): Promise<void>;
}

const PASSWORD = 'rollup-secret';

/**
 * The real proxy over the fixture's catalog as it is now, reading rollups wherever they
 * cover (test data is as dense as its rollups: rollup-density.ts would skip them) and by
 * default (no rollupReads option, no SET).
 */
export async function startRollupProxy(fx: TieredFixture): Promise<RollupProxy> {
  await loadSqlParser();
  const snapshot = await loadCatalogSnapshot(fx.hot);
  const pool = new Pool({ connectionString: fx.pgUrl, max: 2 });
  const engine = createTierEngine({ hot: pool, cold: fx.cold, coldDatabase: fx.database, catalog: () => snapshot, minRowsPerRollupRow: 0 });
  const route = createRouter(snapshot);
  const config = resolveProxyConfig({ listen: '127.0.0.1:0', backendUrl: fx.pgUrl, users: { postgres: PASSWORD } });
  const proxy = await startProxy(config, { router: (sql, session) => route(sql, session), engine });
  const viaProxy = new Client({ connectionString: `postgres://postgres:${PASSWORD}@${proxy.host}:${proxy.port}${new URL(fx.pgUrl).pathname}`, types: RAW_TEXT });
  await viaProxy.connect();
  return {
    viaProxy,
    port: proxy.port,
    password: PASSWORD,
    async explain(sql) {
      const r = await viaProxy.query({ text: `EXPLAIN ${sql}`, rowMode: 'array' });
      return (r.rows as string[][]).map((row) => row[0]).join('\n');
    },
    async close() {
      await viaProxy.end().catch(() => undefined);
      await proxy.close();
      await pool.end();
    },
  };
}

/** Ends what a rollup test started (any of them may be missing: beforeAll failed part-way). */
export async function closeRollupBed(bed: RollupProxy | undefined, fx: TieredFixture | undefined, reference: RollupReference | undefined): Promise<void> {
  await bed?.close();
  await fx?.close();
  await reference?.drop();
}
