import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import {
  applyTable,
  createColdStore,
  ensurePartitions,
  getTierState,
  hotChecksum,
  coldChecksum,
  addChecksums,
  validateTieredTable,
  type Checksum,
  type ColdStore,
  type TiererDeps,
  type TieredTableSpec,
} from '@strata/core';
import { createTestDatabase } from './postgres';
import { startChdbHttpServer } from './cold-endpoint';
import { datasetStream, DATASET_START, type DatasetRange, METRICS_EVENTS_COLUMNS_SQL } from '@strata/core';

/** The seed's metrics_events as a TieredTable spec (1h chunks, 1m rollup). */
/** What runTiering needs over a test's stores: each run opens its own PostgreSQL connection, as the CLI does. */
export function tiererDeps(pgUrl: string, cold: ColdStore, database: string): TiererDeps {
  return {
    openHot: async () => {
      const c = new Client({ connectionString: pgUrl });
      await c.connect();
      return c;
    },
    cold,
    coldTarget: { database },
  };
}

export function metricsSpec(overrides: Record<string, unknown> = {}): TieredTableSpec {
  const r = validateTieredTable({
    table: 'metrics_events',
    timeColumn: 'time',
    columns: [
      { name: 'time', type: 'timestamptz' },
      { name: 'app', type: 'text' },
      { name: 'host', type: 'text' },
      { name: 'labels', type: 'jsonb' },
      { name: 'value', type: 'double precision' },
      { name: 'trace_id', type: 'text' },
      { name: 'level', type: 'text' },
    ],
    hot: { chunkInterval: '1h', retention: '24h' },
    cold: { orderBy: ['app', 'host', 'time'], partitionBy: 'day', retention: '3650d' },
    rollups: [{ name: '1m', interval: '1m', groupBy: ['app', 'host'], aggregates: { value: ['avg', 'min', 'max', 'sum', 'count'] } }],
    tiering: { every: '5m', batchRows: 20000 },
    ...overrides,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.spec;
}

export interface TieredFixture {
  pgUrl: string;
  chUrl: string;
  chDataDir: string;
  database: string;
  hot: Client;
  cold: ColdStore;
  spec: TieredTableSpec;
  restartClickHouse(): Promise<void>;
  stopClickHouse(): Promise<void>;
  close(): Promise<void>;
}

/** A fresh PostgreSQL database, a ClickHouse HTTP endpoint over chDB, and the table applied. */
export async function tieredFixture(spec = metricsSpec()): Promise<TieredFixture> {
  const db = await createTestDatabase('strata_tier');
  // Our own data directory, so ClickHouse can be stopped and restarted on the same data.
  const chDataDir = mkdtempSync(join(tmpdir(), 'strata-fixture-ch-'));
  let ch = await startChdbHttpServer({ dataDir: chDataDir });
  const database = 'strata_test';
  const hot = new Client({ connectionString: db.url });
  await hot.connect();
  let cold = await createColdStore({ kind: 'http', url: ch.url, database });
  await applyTable({ hot, cold, coldTarget: { database } }, spec, new Date(DATASET_START));
  const fx: TieredFixture = {
    pgUrl: db.url,
    chUrl: ch.url,
    chDataDir,
    database,
    hot,
    cold,
    spec,
    async stopClickHouse() {
      await ch.stop();
    },
    async restartClickHouse() {
      await ch.stop().catch(() => undefined);
      ch = await startChdbHttpServer({ dataDir: chDataDir });
      fx.chUrl = ch.url;
      await cold.close();
      cold = await createColdStore({ kind: 'http', url: ch.url, database });
      fx.cold = cold;
    },
    async close() {
      await hot.end().catch(() => undefined);
      await cold.close().catch(() => undefined);
      await ch.stop().catch(() => undefined);
      await db.drop().catch(() => undefined);
      rmSync(chDataDir, { recursive: true, force: true });
    },
  };
  return fx;
}

/** Loads dataset minutes into `relation` with COPY (partitions made first for native tables). */
export async function loadDataset(hot: Client, relation: string, range: DatasetRange = {}, spec?: TieredTableSpec): Promise<void> {
  if (spec) {
    const from = new Date(DATASET_START + (range.fromMinute ?? 0) * 60_000);
    const to = new Date(DATASET_START + (range.toMinute ?? 7 * 1440) * 60_000);
    await ensurePartitions(hot, spec, from, to);
  }
  const sink = hot.query(copyFrom(`COPY ${relation} (time, app, host, labels, value, trace_id, level) FROM STDIN`));
  await pipeline(datasetStream(range), sink);
}

export async function createReferenceTable(hot: Client, name = 'reference_rows'): Promise<string> {
  await hot.query(`CREATE TABLE ${name} (${METRICS_EVENTS_COLUMNS_SQL})`);
  return name;
}

/** Hot rows + visible cold rows, as one checksum. */
export async function tieredChecksum(fx: TieredFixture): Promise<{ total: Checksum; hot: Checksum; cold: Checksum }> {
  const state = (await getTierState(fx.hot, fx.spec.table))!;
  const hot = await hotChecksum(fx.hot, fx.spec);
  const cold = await coldChecksum(fx.cold, { database: fx.database }, fx.spec, state);
  return { total: addChecksums(hot, cold), hot, cold };
}
