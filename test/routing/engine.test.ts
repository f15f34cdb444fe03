import { type Client, Pool } from 'pg';
import { chQualified, DATASET_START, runTiering, validateTieredTable } from '@strata/core';
import { createTierEngine, loadCatalogSnapshot, type TierEngine } from '../../proxy/src/engine';
import { createRouter } from '../../proxy/src/router';
import { SqlStateError, type SessionContext } from '../../proxy/src/engine/contract';
import { pgHotSession } from '../../proxy/src/engine/pg-hot-session';
import { compareOutcomes } from './corpus/compare';
import { createReferenceTable, loadDataset, metricsSpec, tieredFixture, tiererDeps, type TieredFixture } from '../support/tiered-fixture';
import { engineRows as rowsOf, startEngineBed, type EngineBed } from './differential-bed';

/**
 * The engine against real PostgreSQL and the real ClickHouse engine, on two days of the
 * corpus dataset tiered at the day boundary; a plain reference table in the same
 * database holds the same rows and answers the same statements directly.
 */
const DAY = 24 * 60;
const W = new Date(DATASET_START + DAY * 60_000).toISOString(); // 2026-01-02T00:00:00Z

function session(settings: Record<string, string> = {}): SessionContext {
  return { user: 'postgres', database: 'test', inTransaction: false, settings: new Map(Object.entries({ TimeZone: 'UTC', ...settings })) };
}

/** Same rows; float sums may differ in the last bits (summation order), as the corpus allows. */
function expectSameRows(actual: Array<Array<string | null>>, expected: Array<Array<string | null>>, typeOids: number[]): void {
  const fields = typeOids.map((typeOid, i) => ({ name: String(i), typeOid }));
  expect(compareOutcomes({ ok: true, fields, rows: expected }, { ok: true, fields, rows: actual }, true)).toBeUndefined();
}

describe('tier-aware engine', () => {
  let bed: EngineBed;
  let fx: TieredFixture;
  let pool: Pool;
  let engine: TierEngine;
  let ref: Client;

  const tier = (until: string) =>
    runTiering(
      tiererDeps(fx.pgUrl, fx.cold, fx.database),
      { table: 'metrics_events', until: new Date(until) },
    );

  /** The same statement on the reference table, as text rows. */
  async function reference(sql: string, params: unknown[] = [], timeZone = 'UTC'): Promise<Array<Array<string | null>>> {
    await ref.query(`SET TimeZone = '${timeZone}'`);
    const r = await ref.query({ text: sql.replace(/metrics_events/g, 'reference_rows'), values: params, rowMode: 'array' });
    return r.rows as Array<Array<string | null>>;
  }

  /** A cold-only table (no PostgreSQL table) applied with these columns. */
  async function applyColdOnly(table: string, columns: Array<{ name: string; type: string }>): Promise<void> {
    const spec = validateTieredTable({ table, mode: 'cold-only', timeColumn: 'time', columns, cold: { orderBy: ['time'] } });
    if (!spec.ok) throw new Error(JSON.stringify(spec.errors));
    const { applyTable } = await import('@strata/core');
    await applyTable({ hot: fx.hot, cold: fx.cold, coldTarget: { database: fx.database } }, spec.spec);
  }

  /** An engine over the catalog as it is now (with tables applied by the test). */
  async function engineOverCatalog(): Promise<TierEngine> {
    return createTierEngine({ hot: pool, cold: fx.cold, coldDatabase: fx.database, catalog: await loadCatalogSnapshot(fx.hot) });
  }

  async function viaEngine(sql: string, params: Array<string | null> = [], s = session(), paramTypes: number[] = []) {
    const r = await engine.execute({ sql, params, paramTypes }, s);
    return { fields: r.fields, rows: await rowsOf(r), tag: r.commandTag() };
  }

  beforeAll(async () => {
    fx = await tieredFixture(metricsSpec());
    await loadDataset(fx.hot, 'metrics_events', { toMinute: 2 * DAY }, fx.spec);
    await createReferenceTable(fx.hot);
    await loadDataset(fx.hot, 'reference_rows', { toMinute: 2 * DAY });
    await fx.hot.query(`CREATE FUNCTION public.time_bucket(w interval, ts timestamptz) RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$ SELECT date_bin(w, ts, TIMESTAMPTZ '2000-01-03') $$`).catch(() => undefined);
    await tier(W);
    bed = await startEngineBed(fx, { poolSize: 3 });
    ({ pool, engine, ref } = bed);
  }, 120_000);

  afterAll(async () => bed?.close());

  it('answers with the rows, names and type OIDs PostgreSQL gives', async () => {
    const sql = `SELECT app, count(*) AS n, avg(value) AS mean, min(time) AS first FROM metrics_events
                 WHERE time >= '2026-01-01T20:00:00Z' AND time < '2026-01-02T04:00:00Z' GROUP BY app ORDER BY app`;
    const r = await viaEngine(sql);
    expect(r.fields.map((f) => [f.name, f.typeOid])).toEqual([['app', 25], ['n', 20], ['mean', 701], ['first', 1184]]);
    // app is a table column: PostgreSQL names its table and attribute number.
    expect(r.fields[0].tableOid).toBeGreaterThan(0);
    expect(r.fields[0].columnAttr).toBe(2);
    expectSameRows(r.rows, await reference(sql), [25, 20, 701, 1184]);
    expect(r.tag).toBe('SELECT 3');
  });

  it('takes the time range from bind parameters (extended protocol), typed or not', async () => {
    const sql = 'SELECT count(*), sum(value) FROM metrics_events WHERE time >= $1 AND time < $2';
    const params = ['2026-01-01T23:00:00Z', '2026-01-02T01:00:00Z'];
    const expected = await reference(sql, params);
    expectSameRows((await viaEngine(sql, params)).rows, expected, [20, 701]);
    expectSameRows((await viaEngine(sql, params, session(), [1184, 1184])).rows, expected, [20, 701]);
    const before = engine.stats.split;
    await viaEngine(sql, params);
    expect(engine.stats.split).toBe(before + 1);
  });

  it('runs a multi-statement string (SET then a tiered SELECT) in one go', async () => {
    const sql = `SET TIMEZONE TO 'America/New_York'; SELECT date_trunc('day', time) AS d, count(*) FROM metrics_events WHERE time < '2026-01-02T12:00:00Z' GROUP BY 1 ORDER BY 1`;
    const r = await viaEngine(sql, [], session({ TimeZone: 'UTC' }));
    expect(r.rows).toEqual(await reference(sql.split('; ')[1], [], 'America/New_York'));
    // The SET applied to that string only: the engine's pooled sessions are unchanged.
    const noTimeZone: SessionContext = { ...session(), settings: new Map() };
    const after = await viaEngine(`SELECT date_trunc('day', time) AS d FROM metrics_events WHERE time < '2026-01-01T00:01:00Z' LIMIT 1`, [], noTimeZone);
    expect(after.rows).toEqual([['2026-01-01 00:00:00+00']]);
  });

  it('streams results page by page and ends the transaction when the consumer stops early', async () => {
    const small = new Pool({ connectionString: fx.pgUrl, max: 1 });
    const paged = createTierEngine({ hot: small, cold: fx.cold, coldDatabase: fx.database, catalog: await loadCatalogSnapshot(fx.hot), pageRows: 7 });
    try {
      const sql = `SELECT time, host, value FROM metrics_events WHERE time >= '2026-01-01T23:58:00Z' AND time < '2026-01-02T00:02:00Z' ORDER BY time, host, value`;
      const all = await paged.execute({ sql, params: [], paramTypes: [] }, session());
      const rows = await rowsOf(all);
      expect(rows).toHaveLength(4 * 30);
      expect(all.commandTag()).toBe('SELECT 120');
      expectSameRows(rows, await reference(sql), [1184, 25, 701]);
      // Stop after three rows: the only connection must come back to the pool.
      const partial = await paged.execute({ sql, params: [], paramTypes: [] }, session());
      let n = 0;
      for await (const row of partial.rows) {
        void row;
        if (++n === 3) break;
      }
      expect(small.idleCount).toBe(1);
      const count = 'SELECT count(*) FROM metrics_events';
      expect(await rowsOf(await paged.execute({ sql: count, params: [], paramTypes: [] }, session()))).toEqual(await reference(count));
    } finally {
      await small.end();
    }
  });

  it('evaluates now() - interval bounds in the statement\'s own transaction', async () => {
    const sql = `SELECT count(*), max(value) FROM metrics_events WHERE time > now() - interval '10000 days' AND time <= now()`;
    const explained = await viaEngine(`EXPLAIN ${sql}`);
    expect(explained.rows[0][0]).toBe('Strata route: split');
    expectSameRows((await viaEngine(sql)).rows, await reference(sql), [20, 701]);
    const recent = `SELECT count(*) FROM metrics_events WHERE time > now() - interval '1 hour'`;
    expect((await viaEngine(`EXPLAIN ${recent}`)).rows[0][0]).toBe('Strata route: hot');
  });

  it('describes statements as PostgreSQL does, without running them', async () => {
    const d = await engine.describe({ sql: 'SELECT host, max(value) FROM metrics_events WHERE time > $1 GROUP BY host', paramTypes: [] }, session());
    expect(d.paramTypes).toEqual([1184]);
    expect(d.fields.map((f) => [f.name, f.typeOid])).toEqual([['host', 25], ['max', 701]]);
  });

  it('evaluates bounds in the session time zone and buckets in it', async () => {
    const sql = `SELECT date_trunc('day', time) AS d, count(*) FROM metrics_events WHERE time >= '2026-01-01' AND time < '2026-01-02 12:00' GROUP BY 1 ORDER BY 1`;
    const r = await viaEngine(sql, [], session({ TimeZone: 'America/New_York' }));
    expect(r.rows).toEqual(await reference(sql, [], 'America/New_York'));
    expect(r.rows[0][0]).toMatch(/-05$/);
  });

  it('EXPLAIN shows the route, W and the SQL sent to each tier', async () => {
    const r = await viaEngine(`EXPLAIN SELECT count(*) FROM metrics_events WHERE time BETWEEN '2026-01-01T12:00:00Z' AND '2026-01-02T12:00:00Z'`);
    const text = r.rows.map((x) => x[0]).join('\n');
    expect(r.fields.map((f) => [f.name, f.typeOid])).toEqual([['QUERY PLAN', 25]]);
    expect(text).toMatch(/^Strata route: split/);
    expect(text).toContain('W = 2026-01-02T00:00:00.000000Z');
    expect(text).toMatch(/ClickHouse: (WITH .* )?SELECT .*count\(\).* FROM `strata_test`.`metrics_events` WHERE .*`_strata_gen` <= \d+/);
    expect(text).toContain('ClickHouse parameters: ');
    expect(text).toMatch(/PostgreSQL: SELECT/);
    const hot = await viaEngine(`EXPLAIN SELECT count(*) FROM metrics_events WHERE time >= '2026-01-02T06:00:00Z'`);
    expect(hot.rows[0][0]).toBe('Strata route: hot');
  });

  it("SET strata.route = 'cold' answers from the cold tier alone; 'hot' is PostgreSQL's", async () => {
    const sql = 'SELECT count(*) FROM metrics_events';
    expect((await viaEngine(sql)).rows).toEqual([[String(2 * DAY * 30)]]);
    expect((await viaEngine(sql, [], session({ 'strata.route': 'cold' }))).rows).toEqual([[String(DAY * 30)]]);
    const router = createRouter(await loadCatalogSnapshot(fx.hot));
    expect(router(sql, session({ 'strata.route': 'hot' }))).toEqual({ target: 'postgres' });
  });

  it('counts late rows (below W, still in PostgreSQL) exactly once', async () => {
    const late = `INSERT INTO %T (time, app, host, value) VALUES ('2026-01-01T10:00:30Z', 'late', 'h0', 1.5), ('2026-01-01T11:00:30Z', 'late', 'h1', 2.5)`;
    await fx.hot.query(late.replace('%T', 'metrics_events'));
    await fx.hot.query(late.replace('%T', 'reference_rows'));
    const sql = `SELECT app, count(*), sum(value) FROM metrics_events WHERE time < '2026-01-01T12:00:00Z' GROUP BY app ORDER BY app`;
    const r = await viaEngine(sql);
    expectSameRows(r.rows, await reference(sql), [25, 20, 701]);
    expect(r.rows.find((x) => x[0] === 'late')).toEqual(['late', '2', '4']);
  });

  it('reports PostgreSQL errors with their SQLSTATE', async () => {
    await expect(viaEngine("SELECT count(*) / 0 FROM metrics_events WHERE time < '2026-01-01T01:00:00Z'")).rejects.toMatchObject({
      sqlState: '22012',
    });
    await expect(viaEngine('SELECT nope FROM metrics_events')).rejects.toBeInstanceOf(SqlStateError);
  });

  it('keeps every answer exact while a tiering run moves W', async () => {
    const total = String(2 * DAY * 30 + 2);
    const sql = 'SELECT count(*) FROM metrics_events';
    const moving = tier(new Date(DATASET_START + (DAY + 12 * 60) * 60_000).toISOString());
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) answers.push(String((await viaEngine(sql)).rows[0][0]));
    await moving;
    answers.push(String((await viaEngine(sql)).rows[0][0]));
    expect(answers).toEqual(answers.map(() => total));
  });

  it('orders NaN as PostgreSQL does in cold min/max partials', async () => {
    const nan = `INSERT INTO %T (time, app, host, value) VALUES ('2026-01-01T05:00:30Z', 'nan', 'h0', 'NaN'), ('2026-01-01T05:00:40Z', 'nan', 'h0', 7)`;
    await fx.hot.query(nan.replace('%T', 'metrics_events'));
    await fx.hot.query(nan.replace('%T', 'reference_rows'));
    // The next run sweeps the late rows into ClickHouse.
    await tier(new Date(DATASET_START + (DAY + 13 * 60) * 60_000).toISOString());
    const sql = `SELECT app, min(value), max(value), count(*) FROM metrics_events WHERE time < '2026-01-01T12:00:00Z' GROUP BY app ORDER BY app`;
    const explained = await viaEngine(`EXPLAIN ${sql}`);
    expect(explained.rows[0][0]).toBe('Strata route: cold');
    const r = await viaEngine(sql);
    expectSameRows(r.rows, await reference(sql), [25, 701, 701, 20]);
    expect(r.rows.find((x) => x[0] === 'nan')).toEqual(['nan', '7', 'NaN', '2']);
  });

  it('reads cold-only tables (no PostgreSQL table) from ClickHouse', async () => {
    await applyColdOnly('app_logs', [
      { name: 'time', type: 'timestamptz' },
      { name: 'msg', type: 'text' },
    ]);
    await fx.cold.insertTsv({
      table: chQualified(fx.database, 'app_logs'),
      columns: ['time', 'msg', '_strata_gen'],
      data: Buffer.from('2026-01-01 00:00:01.000000\thello\t0\n2026-01-01 00:00:02.500000\tworld\t0\n'),
    });
    const cold = await engineOverCatalog();
    const r = await cold.execute({ sql: 'SELECT time, msg FROM app_logs ORDER BY time DESC', params: [], paramTypes: [] }, session());
    expect(r.fields.map((f) => [f.name, f.typeOid])).toEqual([['time', 1184], ['msg', 25]]);
    expect(await rowsOf(r)).toEqual([['2026-01-01 00:00:02.5+00', 'world'], ['2026-01-01 00:00:01+00', 'hello']]);
    // Described (extended protocol: Parse, Describe) without a PostgreSQL table to describe against.
    const d = await cold.describe({ sql: 'SELECT msg, count(*) AS n FROM app_logs WHERE time > $1 GROUP BY msg', paramTypes: [] }, session());
    expect(d.paramTypes).toEqual([1184]);
    expect(d.fields.map((f) => [f.name, f.typeOid])).toEqual([['msg', 25], ['n', 20]]);
    // Bind parameters beside time bounds, typed by that description (the time predicate
    // leaves the statement PostgreSQL runs: its parameters must still bind).
    for (const [sql, params] of [
      ['SELECT msg FROM app_logs WHERE msg = $1 AND time >= $2 AND time < $3', ['world', '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z']],
      ["SELECT msg FROM app_logs WHERE msg = $1 AND time >= '2026-01-01T00:00:00Z' AND time < '2026-01-02T00:00:00Z'", ['world']],
    ] as const) {
      const bound = await cold.execute({ sql, params: [...params], paramTypes: [] }, session());
      expect(await rowsOf(bound)).toEqual([['world']]);
    }
  });
  it('describes a cold-only table with the types and modifiers a PostgreSQL table of its columns has', async () => {
    await applyColdOnly('coded_logs', [
      { name: 'time', type: 'timestamptz' },
      { name: 'code', type: 'varchar(12)' },
      { name: 'amount', type: 'numeric(8,2)' },
      { name: 'msg', type: 'text' },
    ]);
    await fx.hot.query('CREATE TABLE coded_reference (time timestamptz, code varchar(12), amount numeric(8,2), msg text)');
    const expected = (await fx.hot.query('SELECT code, amount, msg, time FROM coded_reference')).fields.map((f) => [f.name, f.dataTypeID, f.dataTypeModifier]);
    const cold = await engineOverCatalog();
    const sql = 'SELECT code, amount, msg, time FROM coded_logs WHERE time > $1';
    const described = await cold.describe({ sql, paramTypes: [] }, session());
    expect(described.paramTypes).toEqual([1184]);
    expect(described.fields.map((f) => [f.name, f.typeOid, f.typeModifier])).toEqual(expected);
    const r = await cold.execute({ sql, params: ['2026-01-01T00:00:00Z'], paramTypes: [] }, session());
    expect(r.fields.map((f) => [f.name, f.typeOid, f.typeModifier])).toEqual(expected);
    expect(await rowsOf(r)).toEqual([]);
    // In a READ ONLY block too (which cannot create a table to describe against).
    const client = await pool.connect();
    try {
      await client.query('BEGIN READ ONLY');
      const inBlock = await cold.describe({ sql, paramTypes: [] }, { ...session(), inTransaction: true }, pgHotSession(client, true));
      expect(inBlock.fields.map((f) => [f.name, f.typeOid, f.typeModifier])).toEqual(expected);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
    // PostgreSQL's own errors about the statement still come first.
    await expect(cold.describe({ sql: 'SELECT nope FROM coded_logs', paramTypes: [] }, session())).rejects.toMatchObject({ sqlState: '42703' });
  });

  it('answers a session that is a PostgreSQL role (delegated auth) only for tables that role may read', async () => {
    const role = `strata_reader_${process.pid}`;
    await fx.hot.query(`CREATE ROLE ${role} NOLOGIN`);
    try {
      const asRole: SessionContext = { ...session(), user: role, role };
      const sql = `SELECT count(*) FROM metrics_events WHERE time >= '2026-01-01' AND time < '2026-01-03'`;
      await expect(viaEngine(sql, [], asRole)).rejects.toMatchObject({ sqlState: '42501', message: 'permission denied for table metrics_events' });
      await fx.hot.query(`GRANT SELECT ON metrics_events TO ${role}`);
      expect((await viaEngine(sql, [], asRole)).rows).toEqual((await viaEngine(sql)).rows);
    } finally {
      await fx.hot.query(`DROP OWNED BY ${role}`);
      await fx.hot.query(`DROP ROLE ${role}`);
    }
  });
});
