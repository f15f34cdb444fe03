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
import { withClient as withUrlClient } from '../support/postgres';
import { startTimescale } from '../support/timescale-endpoint';
import { embeddedColdStorePath } from '../support/cold-endpoint';
import { metricsSpec, tiererDeps } from '../support/tiered-fixture';

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
  const spec = metricsSpec({ tiering: { every: '5m', batchRows: 3000 }, hot: { chunkInterval: '1h', retention: '24h', compression: { after: '6h' } } });
  const DAY = { toMinute: 1440 };

  const withClient = <T>(fn: (c: Client) => Promise<T>): Promise<T> => withUrlClient(ts.connectionString, fn);

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
    const settings = await withClient((c) =>
      c.query<{ attname: string; segmentby_column_index: number | null; orderby_column_index: number | null }>(
        "SELECT attname, segmentby_column_index, orderby_column_index FROM timescaledb_information.compression_settings WHERE hypertable_name = 'metrics_events' ORDER BY attname",
      ),
    );
    expect(settings.rows).toEqual([
      { attname: 'app', segmentby_column_index: 1, orderby_column_index: null },
      { attname: 'host', segmentby_column_index: 2, orderby_column_index: null },
      { attname: 'time', segmentby_column_index: null, orderby_column_index: 1 },
    ]);
    const policy = await withClient((c) =>
      c.query<{ after: string }>(
        "SELECT config->>'compress_after' AS after FROM timescaledb_information.jobs WHERE proc_name = 'policy_compression' AND hypertable_name = 'metrics_events'",
      ),
    );
    expect(policy.rows).toEqual([{ after: '06:00:00' }]);
  });

  test('one day of the dataset tiers to an unaligned W; chunks below W are dropped', async () => {
    await withClient(async (c) => {
      await pipeline(datasetStream(DAY), c.query(copyFrom('COPY metrics_events (time, app, host, labels, value, trace_id, level) FROM STDIN')));
      await c.query('CREATE TABLE reference_rows AS SELECT * FROM metrics_events');
    });
    const chunksBefore = await withClient((c) => c.query("SELECT show_chunks('metrics_events')"));
    expect(chunksBefore.rowCount).toBe(24);
    // What the compression policy would have done by now: the tierer must move rows
    // out of compressed chunks as exactly as out of plain ones.
    const compressed = await withClient((c) =>
      c.query("SELECT compress_chunk(ch) FROM show_chunks('metrics_events', older_than => TIMESTAMPTZ '2026-01-01T08:00:00Z') ch"),
    );
    expect(compressed.rowCount).toBe(8);

    const result = await runTiering(
      tiererDeps(ts.connectionString, cold, database),
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

  test('values the cold tier cannot hold: refused by the hypertable; a hypertable from before the constraint gets it NOT VALID, and runs set its rows aside', async () => {
    const refused = await withClient((c) =>
      c.query("INSERT INTO metrics_events (time, app, host, value) VALUES ('1850-01-01 00:00:00+00', 'api', 'old', 1)").then(
        () => null,
        (err: { code?: string; message: string }) => err,
      ),
    );
    expect(refused).toMatchObject({ code: '23514' });
    expect(refused!.message).toMatch(/1900-01-01 00:00:00\+00 <= time < 2255-01-01 00:00:00\+00/);

    // What a hypertable applied by an earlier strata looks like, compressed chunks and all.
    await withClient(async (c) => {
      await c.query('ALTER TABLE metrics_events DROP CONSTRAINT metrics_events_time_cold_range');
      await c.query("INSERT INTO metrics_events (time, app, host, value) VALUES ('1850-01-01 00:00:00+00', 'api', 'old', 1)");
    });
    const next = { ...spec, columns: [...spec.columns, { name: 'region', type: 'text' }] };
    const r = await withClient((hot) => applyTable({ hot, cold, coldTarget: { database } }, next));
    expect(r.action).toBe('updated');
    expect(r.changes.join('\n')).toMatch(/time: constraint metrics_events_time_cold_range .* NOT VALID/);
    const again = await withClient((c) =>
      c.query("INSERT INTO metrics_events (time, app, host, value) VALUES ('infinity', 'api', 'inf', 1)").then(
        () => null,
        (err: { code?: string }) => err,
      ),
    );
    expect(again).toMatchObject({ code: '23514' });

    const before = await withClient((c) => c.query<{ n: string }>('SELECT count(*)::text AS n FROM metrics_events'));
    const run = await runTiering(tiererDeps(ts.connectionString, cold, database), { table: 'metrics_events', until: new Date('2026-01-01T14:00:00Z') });
    expect(run.quarantinedRows).toBe(1);
    const q = await withClient((c) => c.query<{ host: string }>("SELECT row->>'host' AS host FROM strata.quarantine WHERE table_name = 'metrics_events'"));
    expect(q.rows).toEqual([{ host: 'old' }]);
    const after = await withClient((c) => c.query<{ n: string }>('SELECT count(*)::text AS n FROM metrics_events'));
    expect(Number(after.rows[0].n)).toBe(Number(before.rows[0].n) - 1 - run.rows);
  });
});
