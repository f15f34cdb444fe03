import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import {
  applyTable,
  coldChecksum,
  createColdStore,
  datasetRowCount,
  datasetStream,
  getTierState,
  hotChecksum,
  addChecksums,
  runTiering,
  type ColdStore,
} from '@strata/core';
import { startTimescale } from '../support/timescale-endpoint';
import { embeddedColdStorePath } from '../support/cold-endpoint';
import { metricsSpec } from '../support/tiered-fixture';

/**
 * The hypertable path: PostgreSQL + TimescaleDB 2.23 (PGlite served over the wire;
 * TimescaleDB is not installable here as a server extension) with the ClickHouse
 * engine embedded in-process (chDB), the single-node mode's cold store.
 * PGlite serves one connection at a time, so each step opens and closes its own.
 */
describe('tiering a TimescaleDB hypertable into embedded ClickHouse', () => {
  let ts: Awaited<ReturnType<typeof startTimescale>>;
  let cold: ColdStore;
  const database = `tsdb_${process.pid}`;
  const spec = metricsSpec({ tiering: { every: '5m', batchRows: 3000 } });
  const DAY = { toMinute: 1440 };

  async function withClient<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    const c = new Client({ connectionString: ts.connectionString });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  }

  beforeAll(async () => {
    ts = await startTimescale({});
    cold = createColdStore({ kind: 'embedded', path: embeddedColdStorePath(), database });
  });
  afterAll(async () => {
    await cold?.close();
    await ts?.stop();
  });

  test('apply creates a hypertable with the chunk interval, and re-applying is a no-op', async () => {
    const first = await withClient((hot) => applyTable({ hot, cold, coldTarget: { database } }, spec));
    expect(first).toMatchObject({ action: 'created', flavor: 'timescaledb' });
    const again = await withClient((hot) => applyTable({ hot, cold, coldTarget: { database } }, spec));
    expect(again.action).toBe('unchanged');
    const ht = await withClient((c) =>
      c.query<{ interval: string }>(
        `SELECT d.time_interval::text AS interval FROM timescaledb_information.dimensions d WHERE d.hypertable_name = 'metrics_events'`,
      ),
    );
    expect(ht.rows[0].interval).toBe('01:00:00');
    const fn = await withClient((c) => c.query("SELECT 1 FROM pg_proc WHERE proname = 'time_bucket' AND prosrc LIKE '%date_bin%'"));
    expect(fn.rowCount).toBe(0); // the extension's own time_bucket, not Strata's SQL stand-in
  });

  test('one day of the dataset tiers to an unaligned W; chunks below W are dropped', async () => {
    await withClient(async (c) => {
      await pipeline(datasetStream(DAY), c.query(copyFrom('COPY metrics_events (time, app, host, labels, value, trace_id, level) FROM STDIN')));
      await c.query('CREATE TABLE reference_rows AS SELECT * FROM metrics_events');
    });
    const chunksBefore = await withClient((c) => c.query("SELECT show_chunks('metrics_events')"));
    expect(chunksBefore.rowCount).toBe(24);

    const result = await runTiering(
      {
        openHot: async () => {
          const c = new Client({ connectionString: ts.connectionString });
          await c.connect();
          return c;
        },
        cold,
        coldTarget: { database },
      },
      { table: 'metrics_events', until: new Date('2026-01-01T13:37:00Z') },
    );
    expect(result.rows).toBe((13 * 60 + 37) * 30);
    expect(result.droppedPartitions).toBe(13);

    await withClient(async (c) => {
      const chunks = await c.query("SELECT show_chunks('metrics_events')");
      expect(chunks.rowCount).toBe(11);
      const state = (await getTierState(c, 'metrics_events'))!;
      const total = addChecksums(await hotChecksum(c, spec), await coldChecksum(cold, { database }, spec, state));
      const reference = await hotChecksum(c, spec, 'reference_rows');
      expect(reference.rows).toBe(datasetRowCount(DAY));
      expect(total).toEqual(reference);
    });
  });

  test('adding a column reaches the hypertable and the cold table', async () => {
    const next = { ...spec, columns: [...spec.columns, { name: 'region', type: 'text' }] };
    const r = await withClient((hot) => applyTable({ hot, cold, coldTarget: { database } }, next));
    expect(r).toMatchObject({ action: 'updated', changes: ['column region added'] });
    const pgCols = await withClient((c) => c.query("SELECT 1 FROM information_schema.columns WHERE table_name = 'metrics_events' AND column_name = 'region'"));
    expect(pgCols.rowCount).toBe(1);
    const chCols = await cold.query<{ type: string }>(
      'SELECT type FROM system.columns WHERE database = {db:String} AND table = {t:String} AND name = {c:String}',
      { db: database, t: 'metrics_events', c: 'region' },
    );
    expect(chCols).toEqual([{ type: 'Nullable(String)' }]);
  });
});
