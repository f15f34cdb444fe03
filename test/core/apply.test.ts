import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { applyTable, ApplyRefusedError, clickhouseDdl, createColdStore, deleteTable, getRegisteredTable, validateTieredTable, type ColdStore, type TieredTableInput } from '@strata/core';
import { createTestDatabase } from '../support/postgres';
import { startChdbHttpServer } from '../support/cold-endpoint';
import { metricsSpec } from '../support/tiered-fixture';
import { runCli } from '../support/cli';

/** `strata apply` on native PostgreSQL 15 + the ClickHouse engine over HTTP. */
describe('apply', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let ch: Awaited<ReturnType<typeof startChdbHttpServer>>;
  let hot: Client;
  let cold: ColdStore;
  const coldTarget = { database: 'apply_test' };
  const dir = mkdtempSync(join(tmpdir(), 'strata-apply-'));

  beforeAll(async () => {
    db = await createTestDatabase('strata_apply');
    ch = await startChdbHttpServer({});
    hot = new Client({ connectionString: db.url });
    await hot.connect();
    cold = createColdStore({ kind: 'http', url: ch.url, database: coldTarget.database });
  });
  afterAll(async () => {
    await hot?.end();
    await cold?.close();
    await ch?.stop();
    await db?.drop();
  });

  const cli = (args: string[]) =>
    runCli(args, { STRATA_PG_URL: db.url, STRATA_CLICKHOUSE_URL: ch.url, STRATA_CLICKHOUSE_DATABASE: coldTarget.database }).exited;

  test('a file with one bad spec creates nothing and names the field', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      `apiVersion: strata.dev/v1alpha1
kind: TieredTable
metadata: { name: good }
spec:
  table: good_table
  timeColumn: time
  columns: [{ name: time, type: timestamptz }, { name: v, type: double precision }]
---
apiVersion: strata.dev/v1alpha1
kind: TieredTable
metadata: { name: bad }
spec:
  table: bad_table
  timeColumn: time
  columns: [{ name: time, type: timestamptz }, { name: host, type: text }]
  cold: { orderBy: [hots, time] }
`,
    );
    const r = await cli(['apply', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/spec\.cold\.orderBy\[0\]/);
    expect(r.stderr).toMatch(/hots/);
    const t = await hot.query("SELECT to_regclass('public.good_table') AS t");
    expect(t.rows[0].t).toBeNull();
  });

  test('apply via the CLI creates both tiers; re-applying is a no-op', async () => {
    const file = join(dir, 'metrics.yaml');
    writeFileSync(
      file,
      `apiVersion: strata.dev/v1alpha1
kind: TieredTable
metadata: { name: metrics-events }
spec:
  table: metrics_events
  timeColumn: time
  columns:
    - { name: time, type: timestamptz }
    - { name: app, type: text }
    - { name: host, type: text }
    - { name: labels, type: jsonb }
    - { name: value, type: double precision }
  hot: { chunkInterval: 1h, retention: 24h }
  cold: { orderBy: [app, host, time], partitionBy: day, retention: 90d }
  rollups:
    - { name: 1m, interval: 1m, groupBy: [app, host], aggregates: { value: [avg, min, max, sum, count] } }
`,
    );
    const first = await cli(['apply', '-f', file]);
    expect(first.stderr).toBe('');
    expect(first.stdout).toMatch(/metrics_events: created/);
    const again = await cli(['apply', '-f', file]);
    expect(again.stdout).toMatch(/metrics_events: unchanged/);

    const parent = await hot.query<{ strategy: string }>("SELECT partstrat AS strategy FROM pg_partitioned_table WHERE partrelid = 'public.metrics_events'::regclass");
    expect(parent.rows[0].strategy).toBe('r');
    const parts = await hot.query<{ n: string }>("SELECT count(*)::text AS n FROM pg_inherits WHERE inhparent = 'public.metrics_events'::regclass");
    expect(Number(parts.rows[0].n)).toBeGreaterThan(24); // hot window + a day ahead + default
    const bucket = await hot.query<{ b: Date }>("SELECT time_bucket('300.000s', timestamptz '2026-01-04 12:03:10+00') AS b");
    expect(bucket.rows[0].b.toISOString()).toBe('2026-01-04T12:00:00.000Z');

    const tables = await cold.query<{ name: string; engine: string }>(
      "SELECT name, engine FROM system.tables WHERE database = 'apply_test' ORDER BY name",
    );
    expect(tables).toEqual([
      { name: 'metrics_events', engine: 'MergeTree' },
      { name: 'metrics_events__rollup_1m', engine: 'MergeTree' },
      { name: 'metrics_events_visible', engine: 'View' }, // what direct ClickHouse readers read
    ]);
    const reg = await getRegisteredTable(hot, 'metrics_events');
    expect(reg?.spec.cold.retention).toBe('90d');
  });

  test('adding a column and changing retention reach both tiers', async () => {
    const base = metricsSpec();
    const spec = { ...base, columns: base.columns.filter((c) => ['time', 'app', 'host', 'labels', 'value'].includes(c.name)), cold: { ...base.cold, retention: '90d' } };
    spec.rollups = [{ name: '1m', interval: '1m', groupBy: ['app', 'host'], aggregates: { value: ['avg', 'min', 'max', 'sum', 'count'] } }];
    const next = { ...spec, columns: [...spec.columns, { name: 'trace_id', type: 'text' }], cold: { ...spec.cold, retention: '30d' } };
    const r = await applyTable({ hot, cold, coldTarget }, next);
    expect(r.action).toBe('updated');
    expect(r.changes).toEqual(expect.arrayContaining(['column trace_id added', 'cold retention 30d']));
    const pgCol = await hot.query("SELECT data_type FROM information_schema.columns WHERE table_name = 'metrics_events' AND column_name = 'trace_id'");
    expect(pgCol.rows).toEqual([{ data_type: 'text' }]);
    const chTable = await cold.query<{ q: string }>("SELECT create_table_query AS q FROM system.tables WHERE database = 'apply_test' AND name = 'metrics_events'");
    expect(chTable[0].q).toMatch(/`?trace_id`? Nullable\(String\)/);
    expect(chTable[0].q).toMatch(/toIntervalSecond\(2592000\)/);
    expect((await applyTable({ hot, cold, coldTarget }, next)).action).toBe('unchanged');
  });

  test("cold tables build no column statistics of ClickHouse's own, new ones and those applied before (each query loaded them for every part)", async () => {
    const spec = (await getRegisteredTable(hot, 'metrics_events'))!.spec;
    const statsAfterMerge = async (table: string) => {
      for (let i = 0; i < 2; i++) {
        await cold.command(`INSERT INTO apply_test.${table} (time, _strata_gen) SELECT toDateTime64('2026-01-01 00:00:00', 6, 'UTC') + toIntervalDay(number), 1 FROM numbers(3)`);
      }
      await cold.command(`OPTIMIZE TABLE apply_test.${table} FINAL`);
      const r = await cold.query<{ s: string[] }>(
        "SELECT DISTINCT statistics AS s FROM system.parts_columns WHERE database = 'apply_test' AND table = {t:String} AND active AND level > 0",
        { t: table },
      );
      return r.map((x) => x.s);
    };
    expect(await statsAfterMerge('metrics_events')).toEqual([[]]);
    // A rollup table as apply created it before: ClickHouse's default builds statistics on merges.
    const rollup = clickhouseDdl.rollupTableName(spec, spec.rollups[0]);
    const rollupPartsWithStats = async () => {
      await cold.command(`TRUNCATE TABLE apply_test.${rollup}`);
      for (let i = 0; i < 2; i++) await cold.command(`INSERT INTO apply_test.${rollup} (bucket) VALUES ('2026-01-01 00:00:00')`);
      await cold.command(`OPTIMIZE TABLE apply_test.${rollup} FINAL`);
      const r = await cold.query<{ n: string }>(
        "SELECT count() AS n FROM system.parts_columns WHERE database = 'apply_test' AND table = {t:String} AND active AND notEmpty(statistics)",
        { t: rollup },
      );
      return Number(r[0].n);
    };
    await cold.command(clickhouseDdl.dropTableSql('apply_test', rollup, coldTarget));
    await cold.command(clickhouseDdl.createRollupTableSql(spec, spec.rollups[0], coldTarget));
    expect(await rollupPartsWithStats()).toBeGreaterThan(0);

    const r = await applyTable({ hot, cold, coldTarget }, spec);
    expect(r.action).toBe('updated');
    expect(r.changes).toEqual([expect.stringMatching(/automatic column statistics off/)]);
    expect(await rollupPartsWithStats()).toBe(0);
    expect((await applyTable({ hot, cold, coldTarget }, spec)).action).toBe('unchanged');
    await cold.command('TRUNCATE TABLE apply_test.metrics_events');
    await cold.command(`TRUNCATE TABLE apply_test.${rollup}`);
  });

  test('a rollup removed and added back: its table stays, the apply says so and records where it starts; Delete drops it', async () => {
    const withRollup = metricsSpec({ table: 'readd_events' });
    const without = metricsSpec({ table: 'readd_events', rollups: [] });
    const deps = { hot, cold, coldTarget };
    const starts = async () =>
      (await hot.query<{ rollup: string; gen: string }>("SELECT rollup, first_gen::text AS gen FROM strata.rollup_starts WHERE table_name = 'readd_events'")).rows;
    const tables = async () =>
      (await cold.query<{ name: string }>("SELECT name FROM system.tables WHERE database = 'apply_test' AND startsWith(name, 'readd_events') ORDER BY name")).map((t) => t.name);

    expect((await applyTable(deps, withRollup)).action).toBe('created');
    expect(await starts()).toEqual([]); // built by every run of the table
    expect((await applyTable(deps, without)).changes).toEqual([
      'rollup 1m removed: no longer built; its ClickHouse table is kept (deletionPolicy Delete drops it with the table)',
    ]);
    expect(await tables()).toContain('readd_events__rollup_1m');
    const readded = await applyTable(deps, withRollup);
    expect(readded.changes).toEqual([expect.stringMatching(/^rollup 1m re-added: .*table from before is kept, and rows moved before now are read raw$/)]);
    const [first] = await starts();
    expect(first.rollup).toBe('1m');
    // Added back again later: a later start.
    await applyTable(deps, without);
    await applyTable(deps, withRollup);
    expect(BigInt((await starts())[0].gen)).toBeGreaterThan(BigInt(first.gen));

    // Retain keeps both tiers; the table applied again finds the rollup's table left over.
    await applyTable(deps, without);
    await deleteTable(deps, { ...without, deletionPolicy: 'Retain' });
    const again = await applyTable(deps, withRollup);
    expect(again.action).toBe('created');
    expect(again.changes).toContain('rollup 1m: its ClickHouse table from before is kept, and rows moved before now are read raw');
    expect((await starts()).map((s) => s.rollup)).toEqual(['1m']);

    // Delete drops the rollup tables of rollups no longer in the spec too.
    await applyTable(deps, without);
    await deleteTable(deps, { ...without, deletionPolicy: 'Delete' });
    expect(await tables()).toEqual([]);
  });

  test('incompatible changes are refused with the reason, and nothing changes', async () => {
    const current = (await getRegisteredTable(hot, 'metrics_events'))!.spec;
    const bad = {
      ...current,
      columns: current.columns.filter((c) => c.name !== 'labels').map((c) => (c.name === 'value' ? { ...c, type: 'bigint' } : c)),
      cold: { ...current.cold, orderBy: ['time'] },
    };
    const err = await applyTable({ hot, cold, coldTarget }, bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplyRefusedError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/removing column "labels"/);
    expect(msg).toMatch(/column "value" cannot change type/);
    expect(msg).toMatch(/spec\.cold\.orderBy cannot change/);
    expect((await getRegisteredTable(hot, 'metrics_events'))!.spec).toEqual(current);
  });

  test('partitions left out: months for a time-first sort key, days for a label-first one; a registered table keeps its own when the default moves', async () => {
    const deps = { hot, cold, coldTarget };
    const spec = (table: string, coldIn: TieredTableInput['cold']) => {
      const r = validateTieredTable({
        table,
        timeColumn: 'ts',
        mode: 'cold-only',
        columns: [
          { name: 'ts', type: 'timestamptz' },
          { name: 'host', type: 'text' },
        ],
        cold: coldIn,
      });
      if (!r.ok) throw new Error(JSON.stringify(r.errors));
      return r.spec;
    };
    const partitionKey = async (table: string) =>
      (await cold.query<{ k: string }>("SELECT partition_key AS k FROM system.tables WHERE database = 'apply_test' AND name = {t:String}", { t: table }))[0].k;

    expect((await applyTable(deps, spec('new_events', {}))).action).toBe('created');
    expect(await partitionKey('new_events')).toBe('toYYYYMM(ts)');
    expect((await applyTable(deps, spec('label_events', { orderBy: ['host', 'ts'] }))).action).toBe('created');
    expect(await partitionKey('label_events')).toBe('toYYYYMMDD(ts)');

    // Registered while every default was 'day', applied again after the upgrade without the field.
    expect((await applyTable(deps, spec('old_events', { partitionBy: 'day' }))).action).toBe('created');
    expect((await applyTable(deps, spec('old_events', {}))).action).toBe('unchanged');
    const longer = await applyTable(deps, spec('old_events', { retention: '400d' }));
    expect(longer).toMatchObject({ action: 'updated', changes: ['cold retention 400d'] });
    expect(await partitionKey('old_events')).toBe('toYYYYMMDD(ts)');
    expect((await getRegisteredTable(hot, 'old_events'))!.spec.cold).toEqual({ orderBy: ['ts'], partitionBy: 'day', retention: '400d' });
    const asked = await applyTable(deps, spec('old_events', { partitionBy: 'hour', retention: '400d' })).catch((e: unknown) => e);
    expect(asked).toBeInstanceOf(ApplyRefusedError);
    expect((asked as Error).message).toMatch(/spec\.cold\.partitionBy cannot change \("day" → "hour"\)/);
  });
});
