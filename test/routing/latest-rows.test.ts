import type { Client } from 'pg';
import { METRICS_EVENTS_COLUMNS_SQL, runTiering } from '@strata/core';
import { metricsSpec, tiererDeps } from '../support/tiered-fixture';
import { compareOutcomes } from './corpus/compare';
import { proxyOver, startDifferentialBed, textOutcome as outcome, type DifferentialBed } from './differential-bed';

/**
 * "The latest rows" of a table whose cold sort key starts with its time column, through
 * the real proxy: the top-N ClickHouse reads part by part in order, skipping the parts
 * whose first key cannot reach the cut (read_in_order_use_virtual_row; engine/latest-parts.ts).
 * Over 40 day partitions, two tiering generations, ties at every cut (three hosts share
 * each instant), NULL values and a non-ASCII host: the answer is PostgreSQL's over every row.
 * Without a narrow lower bound the cold read is also bounded by part metadata
 * (engine/latest-parts-bound.ts): the partitions it reads, and the cases where metadata
 * counts rows the statement does not see and the proxy must read again without the bound.
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
      // Each bound by the statement's own subquery over system.parts, which ClickHouse's
      // EXPLAIN evaluates below; the proxy's listing of the parts is the last describe's.
      proxyConfig: { partListingMs: 0 },
    });
    await runTiering(tiererDeps(bed.fx.pgUrl, bed.fx.cold, bed.fx.database), { table: 'metrics_events', until: new Date(W) });
    client = bed.client;
  }, 120_000);
  afterAll(async () => bed?.close());

  const explain = async (sql: string, via = client) => (await via.query(`EXPLAIN ${sql}`)).rows.map((r) => r['QUERY PLAN']).join('\n');

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

  /**
   * The bounded cold read (engine/latest-parts-bound.ts) as EXPLAIN prints it, run in
   * ClickHouse: the parts its partition pruning keeps of all the table's (ClickHouse's
   * EXPLAIN evaluates the bound's scalar subquery), and the rows it returns — fewer than
   * the top-N's n + m and the proxy must read again without the bound.
   */
  async function boundedRead(sql: string, via = client): Promise<{ parts: { read: number; of: number }; rows: number }> {
    const plan = await explain(sql, via);
    const chSql = /ClickHouse: (SELECT .*)/.exec(plan)![1];
    // The statement's subquery, or a literal B the proxy computed from its listing.
    if (via === client) expect(chSql).toContain('system.parts');
    else expect(chSql).toMatch(/ WHERE `time` (>=|<) \{p\d+_\d+:DateTime64\(6, 'UTC'\)\} AND /);
    const params: Record<string, string> = {};
    for (const [, name, value] of (/ClickHouse parameters: (.*)/.exec(plan)?.[1] ?? '').matchAll(/(\w+) = ("(?:[^"\\]|\\.)*")/g)) params[name] = JSON.parse(value);
    const text = await bed.fx.cold.queryTsv(`EXPLAIN indexes = 1 ${chSql}`, params);
    const [, read, of] = /Parts: (\d+)\/(\d+)/.exec(text.replace(/\\n/g, '\n'))!;
    const rows = (await bed.fx.cold.queryTsv(chSql, params)).split('\n').filter((l) => l !== '').length;
    return { parts: { read: Number(read), of: Number(of) }, rows };
  }

  const sameAnswer = async (sql: string, via = client) => {
    const actual = await outcome(via, sql);
    const expected = await outcome(bed.ref, sql.replace(/metrics_events/g, 'reference_rows'));
    expect(actual.ok && actual.rows.length > 0).toBe(true);
    expect({ sql, diff: compareOutcomes(expected, actual, true) }).toEqual({ sql, diff: undefined });
  };

  // 35 cold day partitions of 72 rows (24 instants, three hosts each); hot rows from W on.
  const COLD_DAY_34 = '2026-02-04T00:00:00Z';
  describe('the lower bound from part metadata (latest-parts-bound.ts)', () => {
    test.each([
      ['the newest partition alone', `SELECT time, host, value FROM metrics_events WHERE time < '${W}' ORDER BY time DESC, host LIMIT 30`, 1],
      ['the newest partition holds fewer than n rows: two', `SELECT time, host, value FROM metrics_events WHERE time < '${W}' ORDER BY time DESC, host LIMIT 100`, 2],
      ['OFFSET counts: n + m rows', `SELECT time, host, value FROM metrics_events WHERE time < '${W}' ORDER BY time DESC, host LIMIT 50 OFFSET 100`, 3],
      ['ties at B: the cut falls on the partition\'s first instant', `SELECT time, host, value FROM metrics_events WHERE time < '${W}' ORDER BY time DESC, host LIMIT 71`, 1],
      ['every row of the newest partition', `SELECT time, host, value FROM metrics_events WHERE time < '${W}' ORDER BY time DESC, host LIMIT 72`, 1],
      ['a wide lower bound', `SELECT time, host, value FROM metrics_events WHERE time >= '2026-01-10T00:00:00Z' AND time < '${W}' ORDER BY time DESC, host LIMIT 5`, 1],
      ['ASC: the oldest partition alone', 'SELECT time, host, value FROM metrics_events ORDER BY time, host LIMIT 10 OFFSET 3', 1],
    ])('%s: PostgreSQL\'s answer, %s partition(s) read', async (_name, sql, partitions) => {
      await sameAnswer(sql);
      expect((await boundedRead(sql)).parts).toEqual({ read: partitions, of: 35 });
    });

    test('hot rows newer than every cold row: the cold cut still reads the newest cold partitions only', async () => {
      const sql = 'SELECT time, host, value FROM metrics_events ORDER BY time DESC, host LIMIT 20 OFFSET 400';
      await sameAnswer(sql);
      // 420 rows: hot ones come first in the answer, but the cold read needs its own first 420.
      expect((await boundedRead(sql)).parts).toEqual({ read: 6, of: 35 });
    });

    test('a narrow range prunes by itself: no bound', async () => {
      const plan = await explain(`SELECT time, host FROM metrics_events WHERE time >= '${COLD_DAY_34}' AND time < '${W}' ORDER BY time DESC LIMIT 5`);
      expect(plan).toMatch(/ClickHouse: SELECT/);
      expect(plan).not.toContain('system.parts');
    });

    test('a WHERE that drops most of the newest rows: the bounded read comes back short, read again without the bound', async () => {
      const sql = `SELECT time, host, value FROM metrics_events WHERE time < '${W}' AND value < 100 ORDER BY time DESC, host LIMIT 5`;
      expect(await boundedRead(sql)).toEqual({ parts: { read: 1, of: 35 }, rows: 0 });
      await sameAnswer(sql);
    });

    test('rows of an uncommitted generation in the newest partition: counted by metadata, not read, read again without the bound', async () => {
      // 500 rows of a run that never committed, in the last hour of the newest cold day.
      await bed.fx.cold.command(
        `INSERT INTO \`${bed.fx.database}\`.metrics_events (time, app, host, value, _strata_gen)
         SELECT toDateTime64('2026-02-04 23:00:00', 6, 'UTC') + toIntervalSecond(number), 'api', 'ghost', number, 999 FROM numbers(500)`,
      );
      const sql = `SELECT time, host, value FROM metrics_events WHERE time < '${W}' ORDER BY time DESC, host LIMIT 40`;
      expect(await boundedRead(sql)).toEqual({ parts: { read: 2, of: 36 }, rows: 3 });
      await sameAnswer(sql);
      // Enough visible rows at or above that part's first instant: the bound stands.
      const few = `SELECT time, host, value FROM metrics_events WHERE time < '${W}' ORDER BY time DESC, host LIMIT 3`;
      expect(await boundedRead(few)).toEqual({ parts: { read: 2, of: 36 }, rows: 3 });
      await sameAnswer(few);
    });

    test('cold deletes in the newest partition: rows metadata counts are gone, the bounded read comes back short and is not used', async () => {
      const del = `DELETE FROM metrics_events WHERE time >= '2026-02-04T18:00:00Z' AND time < '${W}'`;
      await client.query(del);
      await bed.ref.query(del.replace('metrics_events', 'reference_rows'));
      // Hours 0–17 of day 34 remain visible; the bound (the uncommitted part's first instant, 23:00) now holds none.
      const few = `SELECT time, host, value FROM metrics_events WHERE time < '${W}' ORDER BY time DESC, host LIMIT 3`;
      expect((await boundedRead(few)).rows).toBe(0);
      await sameAnswer(few);
      await sameAnswer(`SELECT time, host, value FROM metrics_events WHERE time < '${W}' ORDER BY time DESC, host LIMIT 60`);
    });
  });

  /**
   * A second proxy over the same databases, with the default listing (engine/part-listings.ts):
   * after the table's first top-N its parts are listed in the background, and B is
   * computed from the listing and sent as a literal. Run last: the rows by now include the
   * uncommitted run's part and the pending cold deletes above, which metadata counts.
   */
  describe("the bound from the proxy's listing of the parts (part-listings.ts)", () => {
    let listing: { close(): Promise<void> };
    let viaListing: Client;

    beforeAll(async () => {
      ({ proxy: listing, client: viaListing } = await proxyOver(bed.fx, 'listing'));
    });
    afterAll(async () => {
      await viaListing?.end();
      await listing?.close();
    });

    const cases = [
      `SELECT time, host, value FROM metrics_events WHERE time < '${W}' ORDER BY time DESC, host LIMIT 30`,
      `SELECT time, host, value FROM metrics_events WHERE time < '${W}' ORDER BY time DESC, host LIMIT 50 OFFSET 100`,
      `SELECT time, host, value FROM metrics_events WHERE time < '${W}' ORDER BY time DESC, host LIMIT 3`,
      `SELECT time, host, value FROM metrics_events WHERE time >= '2026-01-10T00:00:00Z' AND time < '${W}' ORDER BY time DESC, host LIMIT 5`,
      'SELECT time, host, value FROM metrics_events ORDER BY time, host LIMIT 10 OFFSET 3',
    ];

    test("the first top-N is bounded by its subquery; once the parts are listed, by a literal B that reads the subquery's parts and rows", async () => {
      expect(await explain(cases[0], viaListing)).toContain('system.parts');
      // Listed behind that statement, off its path.
      const deadline = Date.now() + 10_000;
      while ((await explain(cases[0], viaListing)).includes('system.parts')) {
        if (Date.now() > deadline) throw new Error('the parts were not listed within 10 s');
        await new Promise((r) => setTimeout(r, 50));
      }
      for (const sql of cases) {
        expect({ sql, read: await boundedRead(sql, viaListing) }).toEqual({ sql, read: await boundedRead(sql) });
        await sameAnswer(sql, viaListing);
      }
    });

    test('a bound that would prune no part in range is not sent', async () => {
      for (const sql of [
        'SELECT time, host, value FROM metrics_events ORDER BY time DESC, host LIMIT 5000',
        'SELECT time, host, value FROM metrics_events ORDER BY time, host LIMIT 3100 OFFSET 7',
      ]) {
        const plan = await explain(sql, viaListing);
        expect(plan).toMatch(/ClickHouse: SELECT /);
        expect(plan).not.toMatch(/`time` (>=|<) \{p/);
        expect(plan).not.toContain('system.parts');
        await sameAnswer(sql, viaListing);
      }
    });
  });

  test('a cut on another column leads no sort key: no virtual row', async () => {
    const plan = await explain(`SELECT time, value FROM metrics_events WHERE time < '${W}' ORDER BY value DESC LIMIT 3`);
    expect(plan).toMatch(/ClickHouse: SELECT/);
    expect(plan).not.toContain('read_in_order_use_virtual_row');
  });
});
