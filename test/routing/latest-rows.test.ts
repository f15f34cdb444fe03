import { Client, Pool } from 'pg';
import { ensurePartitions, runTiering } from '@strata/core';
import { createTierEngine, loadCatalogSnapshot, type TierEngine } from '../../proxy/src/engine';
import { loadSqlParser } from '../../proxy/src/router';
import type { SessionContext } from '../../proxy/src/engine/contract';
import { compareOutcomes } from './corpus/compare';
import { createReferenceTable, metricsSpec, tieredFixture, tiererDeps, type TieredFixture } from '../support/tiered-fixture';

/**
 * "The latest rows" of a table whose cold sort key starts with its time column: the top-N
 * ClickHouse reads part by part in order, skipping the parts whose first key cannot reach
 * the cut (read_in_order_use_virtual_row; engine/top-n.ts). Over 40 day partitions, two
 * tiering generations, ties at every cut (three hosts share each instant), NULL values
 * and a non-ASCII host: the answer is PostgreSQL's over every row.
 */
const START = Date.parse('2026-01-01T00:00:00Z');
const DAY = 86_400_000;
const W = new Date(START + 35 * DAY).toISOString();
const session: SessionContext = { user: 'postgres', database: 'test', inTransaction: false, settings: new Map([['TimeZone', 'UTC']]) };

describe('latest rows of a time-ordered cold table', () => {
  let fx: TieredFixture;
  let pool: Pool;
  let ref: Client;
  let engine: TierEngine;

  beforeAll(async () => {
    await loadSqlParser();
    fx = await tieredFixture(metricsSpec({ cold: { orderBy: ['time', 'app', 'host'], partitionBy: 'day', retention: '3650d' } }));
    await ensurePartitions(fx.hot, fx.spec, new Date(START + 34 * DAY), new Date(START + 41 * DAY));
    // One instant an hour for 40 days, three hosts at each (ties); every 7th value NULL.
    const rows = `SELECT $1::timestamptz + h * interval '1 hour', 'api', (ARRAY['h1', 'h2', 'hôte'])[k], CASE WHEN (h + k) % 7 = 0 THEN NULL ELSE h * 10 + k END
                    FROM generate_series(0, 40 * 24 - 1) AS h, generate_series(1, 3) AS k`;
    await fx.hot.query(`INSERT INTO metrics_events (time, app, host, value) ${rows}`, [new Date(START).toISOString()]);
    await createReferenceTable(fx.hot);
    await fx.hot.query('INSERT INTO reference_rows SELECT * FROM metrics_events');
    for (const until of [START + 20 * DAY, Date.parse(W)]) await runTiering(tiererDeps(fx.pgUrl, fx.cold, fx.database), { table: 'metrics_events', until: new Date(until) });
    pool = new Pool({ connectionString: fx.pgUrl, max: 2 });
    engine = createTierEngine({ hot: pool, cold: fx.cold, coldDatabase: fx.database, catalog: await loadCatalogSnapshot(fx.hot) });
    ref = new Client({ connectionString: fx.pgUrl, types: { getTypeParser: () => (v: string) => v } });
    await ref.connect();
    await ref.query("SET TimeZone = 'UTC'");
  }, 120_000);

  afterAll(async () => {
    await ref?.end();
    await pool?.end();
    await fx?.close();
  });

  async function run(sql: string): Promise<{ fields: Array<{ name: string; typeOid: number }>; rows: Array<Array<string | null>> }> {
    const r = await engine.execute({ sql, params: [], paramTypes: [] }, session);
    const rows: Array<Array<string | null>> = [];
    for await (const row of r.rows) rows.push(row);
    return { fields: r.fields.map((f) => ({ name: f.name, typeOid: f.typeOid })), rows };
  }

  // Ties on time at every cut; host (text, finished in PostgreSQL) makes the order total.
  test.each([
    `SELECT time, host, value FROM metrics_events WHERE time < '${W}' ORDER BY time DESC, host LIMIT 7`,
    `SELECT time, host, value FROM metrics_events WHERE time < '${W}' ORDER BY time DESC, host LIMIT 7 OFFSET 2`,
    `SELECT * FROM metrics_events WHERE time < '${W}' ORDER BY time, host LIMIT 5 OFFSET 1`,
    `SELECT time, host, value FROM metrics_events WHERE time < '2026-01-25T00:00:00Z' AND host <> 'h2' ORDER BY time DESC, host DESC LIMIT 4`,
    'SELECT time, host, value FROM metrics_events ORDER BY time DESC, host LIMIT 10',
    `SELECT time, host, value FROM metrics_events WHERE time >= '2026-02-04T20:00:00Z' ORDER BY time, host LIMIT 9`,
  ])('%s: PostgreSQL\'s answer, the cold side read part by part in order', async (sql) => {
    const got = await run(sql);
    const expected = await ref.query({ text: sql.replace(/metrics_events/g, 'reference_rows'), rowMode: 'array' });
    expect(compareOutcomes({ ok: true, fields: got.fields, rows: expected.rows }, { ok: true, ...got }, true)).toBeUndefined();
    expect(got.rows.length).toBeGreaterThan(0);
    const explain = (await run(`EXPLAIN ${sql}`)).rows.map((r) => r[0]).join('\n');
    expect(explain).toMatch(/top-N/);
    if (/ClickHouse: SELECT/.test(explain)) expect(explain).toContain('SETTINGS read_in_order_use_virtual_row = 1');
  });

  test('a cut on another column leads no sort key: no virtual row', async () => {
    const explain = (await run(`EXPLAIN SELECT time, value FROM metrics_events WHERE time < '${W}' ORDER BY value DESC LIMIT 3`)).rows.map((r) => r[0]).join('\n');
    expect(explain).toMatch(/ClickHouse: SELECT/);
    expect(explain).not.toContain('read_in_order_use_virtual_row');
  });
});
