import type { Client } from 'pg';
import { METRICS_EVENTS_COLUMNS_SQL, runTiering } from '@strata/core';
import { metricsSpec, tiererDeps } from '../support/tiered-fixture';
import { compareOutcomes } from './corpus/compare';
import { startDifferentialBed, textOutcome as outcome, type DifferentialBed } from './differential-bed';

/**
 * "The latest rows" of a table whose cold sort key starts with its time column, through
 * the real proxy: the top-N ClickHouse reads part by part in order, skipping the parts
 * whose first key cannot reach the cut (read_in_order_use_virtual_row; engine/latest-parts.ts).
 * Over 40 day partitions, two tiering generations, ties at every cut (three hosts share
 * each instant), NULL values and a non-ASCII host: the answer is PostgreSQL's over every row.
 */
const START = Date.parse('2026-01-01T00:00:00Z');
const DAY = 86_400_000;
const W = new Date(START + 35 * DAY).toISOString();
// One instant an hour for 40 days, three hosts at each (ties); every 7th value NULL.
const ROWS = `SELECT timestamptz '2026-01-01 00:00+00' + h * interval '1 hour', 'api', NULL::jsonb, CASE WHEN (h + k) % 7 = 0 THEN NULL ELSE h * 10 + k END, NULL, NULL, (ARRAY['h1', 'h2', 'hôte'])[k]
                FROM generate_series(0, 40 * 24 - 1) AS h, generate_series(1, 3) AS k`;

describe('latest rows of a time-ordered cold table', () => {
  let bed: DifferentialBed;
  let client: Client;

  beforeAll(async () => {
    const spec = metricsSpec({ cold: { orderBy: ['time', 'app', 'host'], partitionBy: 'day', retention: '3650d' } });
    bed = await startDifferentialBed(spec, {
      reference: 'reference_rows', columns: `(${METRICS_EVENTS_COLUMNS_SQL})`, rows: `(time, app, labels, value, trace_id, level, host) ${ROWS}`,
      partitions: [new Date(START + 34 * DAY).toISOString(), new Date(START + 41 * DAY).toISOString()], watermark: new Date(START + 20 * DAY).toISOString(), password: 'latest',
    });
    await runTiering(tiererDeps(bed.fx.pgUrl, bed.fx.cold, bed.fx.database), { table: 'metrics_events', until: new Date(W) });
    client = bed.client;
  }, 120_000);
  afterAll(async () => bed?.close());

  const explain = async (sql: string) => (await client.query(`EXPLAIN ${sql}`)).rows.map((r) => r['QUERY PLAN']).join('\n');

  // Ties on time at every cut; host (text, finished in PostgreSQL) makes the order total.
  test.each([
    `SELECT time, host, value FROM metrics_events WHERE time < '${W}' ORDER BY time DESC, host LIMIT 7`,
    `SELECT time, host, value FROM metrics_events WHERE time < '${W}' ORDER BY time DESC, host LIMIT 7 OFFSET 2`,
    `SELECT * FROM metrics_events WHERE time < '${W}' ORDER BY time, host LIMIT 5 OFFSET 1`,
    `SELECT time, host, value FROM metrics_events WHERE time < '2026-01-25T00:00:00Z' AND host <> 'h2' ORDER BY time DESC, host DESC LIMIT 4`,
    'SELECT time, host, value FROM metrics_events ORDER BY time DESC, host LIMIT 10',
    `SELECT time, host, value FROM metrics_events WHERE time >= '2026-02-04T20:00:00Z' ORDER BY time, host LIMIT 9`,
  ])("%s: PostgreSQL's answer, the cold side read part by part in order", async (sql) => {
    const actual = await outcome(client, sql);
    const expected = await outcome(bed.ref, sql.replace(/metrics_events/g, 'reference_rows'));
    expect(actual.ok && actual.rows.length > 0).toBe(true);
    expect({ sql, diff: compareOutcomes(expected, actual, true) }).toEqual({ sql, diff: undefined });
    const plan = await explain(sql);
    expect(plan).toMatch(/top-N/);
    if (/ClickHouse: SELECT/.test(plan)) expect(plan).toContain('SETTINGS read_in_order_use_virtual_row = 1');
  });

  test("PostgreSQL's own error when the statement's description fails (described in the round trip that reads the tier states)", async () => {
    const bad = 'SELECT no_such_column FROM metrics_events ORDER BY time DESC LIMIT 3';
    await expect(client.query(bad)).rejects.toMatchObject({ code: '42703' });
    expect((await client.query('SELECT count(*)::int AS n FROM metrics_events')).rows).toEqual([{ n: 40 * 24 * 3 }]);
    await client.query('BEGIN');
    await expect(client.query(bad)).rejects.toMatchObject({ code: '42703' });
    await expect(client.query('SELECT 1 FROM metrics_events LIMIT 1')).rejects.toMatchObject({ code: '25P02' });
    await client.query('ROLLBACK');
    expect((await client.query(`SELECT count(*)::int AS n FROM metrics_events WHERE time < '${W}'`)).rows).toEqual([{ n: 35 * 24 * 3 }]);
  });

  test('a cut on another column leads no sort key: no virtual row', async () => {
    const plan = await explain(`SELECT time, value FROM metrics_events WHERE time < '${W}' ORDER BY value DESC LIMIT 3`);
    expect(plan).toMatch(/ClickHouse: SELECT/);
    expect(plan).not.toContain('read_in_order_use_virtual_row');
  });
});
