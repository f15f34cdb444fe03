import type { Client } from 'pg';
import type { TieredFixture } from '../support/tiered-fixture';
import { compareOutcomes, type Outcome } from './corpus/compare';
import { explainText, topKColdRead } from './top-k-cold-read';
import { startDifferentialBed, textOutcome as outcome, tieredSpec, type DifferentialBed } from './differential-bed';

/**
 * Window functions and DISTINCT ON without every cold row (issue 14, item 1), through the
 * real proxy against PostgreSQL holding every row:
 * - top-k per partition (DISTINCT ON, and row_number/rank/dense_rank filtered by the
 *   enclosing SELECT): the cold read returns only candidates ranked ≤ k within the cold
 *   tier — ties in the order, NULL and non-ASCII partition keys, NULL order keys with
 *   NULLS FIRST/LAST, DESC, k = 1 and k > 1, k as `$1`, cold-only and W-spanning ranges,
 *   a REPEATABLE READ block, and what still reads raw rows (float order keys, an
 *   unpushed condition, another window);
 * - window functions over a grouped SELECT's groups, on merged partials.
 */
const TABLE = tieredSpec({
  table: 'window_events',
  timeColumn: 'time',
  columns: [
    { name: 'time', type: 'timestamptz' },
    { name: 'host', type: 'text' },
    { name: 'app', type: 'text' },
    { name: 'v', type: 'double precision' },
    { name: 'n', type: 'integer' },
    { name: 'ok', type: 'boolean' },
  ],
  hot: { chunkInterval: '1h', retention: '24h' },
  cold: { orderBy: ['host', 'time'], partitionBy: 'day' },
});

/**
 * Every 10 minutes over three days, each instant twice (copy 1 and 2) for every fourth
 * row: ties on time within a host. n repeats (ties) and is NULL every 7th row; v holds
 * the special floats; hosts include NULL and non-ASCII names.
 */
const ROWS = `SELECT t,
    (ARRAY['h1', 'h2', 'ß-ü', '日本', NULL])[1 + g.n % 5],
    (ARRAY['web', 'db', NULL])[1 + g.n % 3],
    CASE WHEN g.n % 6 = 0 THEN (ARRAY['NaN', 'Infinity', '-Infinity', '-0', '0', NULL])[1 + (g.n / 6) % 6]::float8 ELSE (g.n % 9)::float8 / 4 END,
    CASE WHEN g.n % 7 = 0 THEN NULL ELSE ((g.n * c) % 11)::int4 END,
    CASE WHEN g.n % 10 = 0 THEN NULL ELSE g.n % 2 = 0 END
  FROM generate_series(timestamptz '2026-01-01 00:00+00', timestamptz '2026-01-03 23:50+00', interval '10 minutes') WITH ORDINALITY g(t, n)
  CROSS JOIN generate_series(1, 2) c WHERE c = 1 OR g.n % 4 = 0`;
const W = '2026-01-03T00:00:00Z';
/** A late row: below W, yet in the hot table (the latest of its host in the cold range). */
const LATE = `SELECT timestamptz '2026-01-02 23:55+00', 'h2', 'db', 1e6::float8, 99, true`;

const PASSWORD = 'window-secret';

jest.setTimeout(60_000);

describe('window functions and DISTINCT ON through the proxy', () => {
  let bed: DifferentialBed;
  let fx: TieredFixture;
  let client: Client;
  let ref: Client;

  const explain = (sql: string, values?: unknown[]) => explainText(client, sql, values);
  const coldRead = (sql: string, values?: unknown[]) => topKColdRead(client, fx.cold, sql, values);

  /** Through the proxy equals PostgreSQL over every row; `tolerant` for float sums (summation order). */
  async function expectSame(sql: string, opts: { values?: unknown[]; tolerant?: boolean } = {}): Promise<Outcome> {
    const actual = await outcome(client, sql, opts.values);
    const expected = await outcome(ref, sql.replace(/\bwindow_events\b/g, 'window_reference'), opts.values);
    expect(actual.ok).toBe(true);
    if (opts.tolerant) expect({ sql, diff: compareOutcomes(expected, actual, true) }).toEqual({ sql, diff: undefined });
    else expect({ sql, rows: actual }).toEqual({ sql, rows: expected });
    return actual;
  }

  beforeAll(async () => {
    bed = await startDifferentialBed(TABLE, {
      reference: 'window_reference', rows: ROWS, late: LATE,
      partitions: ['2026-01-01T00:00:00Z', '2026-01-05T00:00:00Z'], watermark: W, password: PASSWORD,
    });
    ({ fx, client, ref } = bed);
    const cold = await fx.cold.query<{ n: string }>(`SELECT count() AS n FROM ${fx.database}.window_events`);
    expect(Number(cold[0].n)).toBeGreaterThan(300);
  }, 180_000);

  afterAll(async () => {
    await bed?.close();
  });

  const LATEST = `SELECT DISTINCT ON (host) host, time, n FROM window_events`;

  it('DISTINCT ON reads only each partition\'s first cold rows (ties kept), cold-only and across W', async () => {
    // Cold-only: NULL and non-ASCII hosts are partitions too; ties on time (two rows at
    // one instant) are both candidates, so PostgreSQL picks among them as over every row.
    const coldOnly = `${LATEST} WHERE time < '2026-01-02 12:00+00' ORDER BY host, time DESC`;
    const r = await coldRead(coldOnly);
    expect(r.planClass).toBe('top-k');
    expect(r.rows).toBeGreaterThanOrEqual(5);
    expect(r.rows).toBeLessThanOrEqual(10);
    expect(r.inRange).toBeGreaterThan(200);
    await expectSame(`SELECT host, time FROM (${coldOnly}) s ORDER BY host NULLS FIRST`);
    // Spanning W, and the late hot row below W must win for its host.
    await expectSame(`SELECT host, time FROM (${LATEST} WHERE time < '2026-01-03 06:00+00' ORDER BY host, time DESC) s ORDER BY host`);
    await expectSame(`SELECT host, time FROM (${LATEST} WHERE time < '2026-01-02 23:59+00' AND app = 'db' ORDER BY host, time DESC) s ORDER BY host`);
    // Ties on an integer order key with NULLs: the max n per host, NULLS FIRST/LAST, ASC/DESC.
    for (const order of ['n DESC NULLS LAST', 'n DESC', 'n NULLS FIRST', 'n', 'n ASC NULLS LAST, time DESC']) {
      const sql = `SELECT DISTINCT ON (host) host, n FROM window_events WHERE time < '2026-01-02 18:00+00' ORDER BY host, ${order}`;
      expect((await coldRead(sql)).planClass).toBe('top-k');
      await expectSame(`SELECT * FROM (${sql}) s ORDER BY host`);
    }
    // LIMIT / OFFSET after DISTINCT ON cut the rows it picked.
    const limited = `SELECT host, time FROM window_events WHERE time < '2026-01-03 01:00+00' AND host IS NOT NULL ORDER BY host DESC, time DESC`;
    const limitedOn = limited.replace('SELECT host', 'SELECT DISTINCT ON (host) host') + ' LIMIT 2 OFFSET 1';
    expect((await coldRead(limitedOn)).planClass).toBe('top-k');
    await expectSame(limitedOn);
    // Two partition keys, one of them bool; DISTINCT ON keys in another order than ORDER BY's.
    await expectSame(`SELECT * FROM (SELECT DISTINCT ON (ok, host) host, ok, time FROM window_events WHERE time < '2026-01-03 03:00+00' ORDER BY host, ok, time) s ORDER BY 1, 2`);
  });

  it('row_number / rank / dense_rank filtered by the enclosing SELECT: candidates only, k = 1 and k > 1', async () => {
    const rowNumber = (k: string, where = `time < '2026-01-02 12:00+00'`) =>
      `SELECT host, time, v FROM (SELECT host, time, v, row_number() OVER (PARTITION BY host ORDER BY time DESC) AS rn FROM window_events WHERE ${where}) t WHERE ${k} ORDER BY host, time`;
    const r = await coldRead(rowNumber('rn <= 3'));
    expect(r.planClass).toBe('top-k');
    expect(r.rows).toBeLessThanOrEqual(5 * 4);
    expect(r.inRange).toBeGreaterThan(200);
    // Ties on time: rows 3 and 4 of a host may share an instant; compare what the order decides.
    await expectSame(`SELECT host, time FROM (${rowNumber('rn <= 3')}) s ORDER BY 1, 2`);
    await expectSame(`SELECT host, time FROM (${rowNumber('1 = rn')}) s ORDER BY 1, 2`);
    await expectSame(`SELECT host, time FROM (${rowNumber('rn < 4 AND t.rn >= 2', 'time < \'2026-01-03 04:00+00\'')}) s ORDER BY 1, 2`);
    await expectSame(`SELECT host, time FROM (${rowNumber('rn <= 2', `app <> 'web'`)}) s ORDER BY 1, 2`);
    // rank and dense_rank keep ties whole, so every row they return is determined.
    for (const [fn, order, k] of [
      ['rank', 'n DESC NULLS LAST', 'r <= 2'],
      ['rank', 'n NULLS FIRST, time', 'r < 3'],
      ['dense_rank', 'n DESC', 'r <= 3'],
      ['dense_rank', 'n ASC NULLS LAST', '2 >= r'],
    ] as const) {
      const sql = `SELECT host, app, n, time, r FROM (SELECT host, app, n, time, ${fn}() OVER (PARTITION BY host, app ORDER BY ${order}) AS r FROM window_events WHERE time >= '2026-01-01 06:00+00' AND time < '2026-01-03 05:00+00') s WHERE ${k} ORDER BY host, app, n, time, r`;
      expect({ sql, planClass: (await coldRead(sql)).planClass }).toEqual({ sql, planClass: 'top-k' });
      await expectSame(sql);
    }
    // Several ranking columns over the one window; the filter on rank is the one used.
    await expectSame(`SELECT * FROM (SELECT host, time, rank() OVER w1 AS a, dense_rank() OVER (PARTITION BY host ORDER BY time) AS b FROM window_events WINDOW w1 AS (PARTITION BY host ORDER BY time)) s WHERE b <= 2 ORDER BY 1, 2`);
    await expectSame(`SELECT * FROM (SELECT host, time, rank() OVER (PARTITION BY host ORDER BY time) AS a, dense_rank() OVER (PARTITION BY host ORDER BY time) AS b FROM window_events WHERE time < '2026-01-02') s WHERE b <= 2 ORDER BY 1, 2`);
    // The ranked SELECT as a CTE read once.
    const cte = `WITH ranked AS (SELECT host, time, app, row_number() OVER (PARTITION BY host, app ORDER BY time DESC NULLS LAST) AS rn FROM window_events WHERE time < '2026-01-03 02:00+00')
      SELECT host, app, time FROM ranked r WHERE r.rn <= 2 ORDER BY 1, 2, 3`;
    expect((await coldRead(cte)).planClass).toBe('top-k');
    await expectSame(cte);
    // k = 0 and no partition at all (one partition: the first rows overall).
    await expectSame(`SELECT * FROM (SELECT time, rank() OVER (ORDER BY time DESC) AS r FROM window_events) s WHERE r <= 0`);
    const whole = `SELECT * FROM (SELECT time, host, rank() OVER (ORDER BY time DESC) AS r FROM window_events WHERE time < '2026-01-02') s WHERE r <= 3 ORDER BY 1, 2`;
    expect((await coldRead(whole)).rows).toBeLessThanOrEqual(4);
    await expectSame(whole);
  });

  it('k as a bound parameter ($1), NULL included', async () => {
    const sql = `SELECT host, time FROM (SELECT host, time, rank() OVER (PARTITION BY host ORDER BY time DESC) AS rn FROM window_events WHERE time < $2) t WHERE rn <= $1 ORDER BY host, time`;
    for (const values of [[2, '2026-01-02 12:00+00'], [1, '2026-01-03 12:00+00'], [5, '2026-01-03 00:00+00'], [null, '2026-01-02 00:00+00']]) {
      expect((await coldRead(sql, values)).planClass).toBe('top-k');
      await expectSame(sql, { values });
    }
    const r = await coldRead(sql, [2, '2026-01-02 12:00+00']);
    expect(r.rows).toBeLessThanOrEqual(5 * 3);
  });

  it('float order keys: NaN above every number, -0 = 0, NULLs where asked (top-k and top-N)', async () => {
    for (const order of ['v', 'v DESC', 'v NULLS FIRST', 'v DESC NULLS LAST']) {
      const distinctOn = `SELECT host, v FROM (SELECT DISTINCT ON (host) host, v, time FROM window_events WHERE time < '2026-01-03 02:00+00' ORDER BY host, ${order}, time) s ORDER BY host`;
      const ranked = `SELECT host, v, time, r FROM (SELECT host, v, time, dense_rank() OVER (PARTITION BY host ORDER BY ${order}) AS r FROM window_events WHERE time < '2026-01-02 12:00+00') s WHERE r <= 3 ORDER BY host, r, time`;
      const topN = `SELECT time, host, v FROM window_events WHERE time < '2026-01-02 12:00+00' ORDER BY ${order}, time LIMIT 7`;
      for (const [sql, planClass] of [[distinctOn, 'top-k'], [ranked, 'top-k'], [topN, 'top-n']]) {
        const r = await coldRead(sql);
        expect({ sql, planClass: r.planClass }).toEqual({ sql, planClass });
        // dense_rank <= 3 over v's few distinct values keeps about a third of the rows.
        if (planClass === 'top-k') expect(r.rows).toBeLessThan(r.inRange / 2);
        await expectSame(sql);
      }
    }
  });

  it('reads raw rows where candidates would not be exact', async () => {
    const cases = [
      // A text order key of a collation that is not byte order (text-order.test.ts: those that are rank in ClickHouse).
      `SELECT DISTINCT ON (host) host, app FROM window_events WHERE time < '2026-01-02' ORDER BY host, app COLLATE "en-x-icu" DESC`,
      // A condition ClickHouse is not sent (ranks would count rows PostgreSQL drops).
      `SELECT * FROM (SELECT host, time, row_number() OVER (PARTITION BY host ORDER BY time DESC) AS rn FROM window_events WHERE time < '2026-01-02' AND host || 'x' = 'h1x') s WHERE rn = 1 ORDER BY host`,
      // Another window over the same rows would see only candidates.
      `SELECT * FROM (SELECT host, time, row_number() OVER (PARTITION BY host ORDER BY time DESC) AS rn, count(*) OVER (PARTITION BY host) AS c FROM window_events WHERE time < '2026-01-02') s WHERE rn = 1 ORDER BY host`,
      // The filter not an AND term (float partition keys: float-partition-top-k.test.ts).
      `SELECT * FROM (SELECT host, time, rank() OVER (PARTITION BY host ORDER BY time) AS rn FROM window_events WHERE time < '2026-01-02') s WHERE rn = 1 OR host = 'h1' ORDER BY host, time`,
      // A running sum over raw rows stays PostgreSQL's.
      `SELECT host, time, sum(n) OVER (PARTITION BY host ORDER BY time, n) FROM window_events WHERE time < '2026-01-01 06:00+00' ORDER BY host, time, 3`,
    ];
    for (const sql of cases) {
      expect({ sql, planClass: (await coldRead(sql)).planClass }).toEqual({ sql, planClass: 'raw' });
      await expectSame(sql);
    }
  });

  it('window functions over a grouped SELECT run on merged partials', async () => {
    const sql = `SELECT date_trunc('hour', time) AS h, count(*), sum(n), sum(sum(n)) OVER (ORDER BY date_trunc('hour', time)),
        lag(max(n)) OVER (ORDER BY date_trunc('hour', time)), rank() OVER (ORDER BY count(n) DESC, date_trunc('hour', time)),
        avg(count(*)) OVER (ORDER BY date_trunc('hour', time) ROWS BETWEEN 2 PRECEDING AND CURRENT ROW)
      FROM window_events WHERE time >= '2026-01-02 18:00+00' AND time < '2026-01-03 06:00+00' GROUP BY 1 ORDER BY 1`;
    expect(await explain(sql)).toMatch(/Strata plan class: partials/);
    await expectSame(sql);
    // Partitioned by a group key (NULL and non-ASCII hosts), a named window, float sums.
    const byHost = `SELECT host, date_trunc('day', time) AS d, sum(v) AS s, sum(sum(v)) OVER w, first_value(host) OVER (ORDER BY sum(n) DESC NULLS LAST, host),
        row_number() OVER (PARTITION BY host ORDER BY date_trunc('day', time) DESC)
      FROM window_events WHERE app = 'db' GROUP BY host, 2 WINDOW w AS (PARTITION BY host ORDER BY date_trunc('day', time)) ORDER BY host, d`;
    expect(await explain(byHost)).toMatch(/Strata plan class: partials/);
    await expectSame(byHost, { tolerant: true });
    await expectSame(`SELECT host, count(*), sum(count(*)) OVER (), count(*) * 1.0 / sum(count(*)) OVER () AS share FROM window_events WHERE time < '2026-01-02' GROUP BY host HAVING count(*) > 1 ORDER BY host`);
    // Frames the rewritten statement must keep as written: pgsql-deparser turned the first
    // into `… AND CURRENT ROW` (a running sum for a total) and the last into a syntax error
    // (proxy/src/router/window-frame.ts).
    const framed = `SELECT date_trunc('hour', time) AS h, sum(count(*)) OVER (ORDER BY date_trunc('hour', time) ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING),
        sum(sum(n)) OVER (ORDER BY date_trunc('hour', time) ROWS UNBOUNDED PRECEDING),
        max(count(*)) OVER (ORDER BY date_trunc('hour', time) RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING),
        min(max(n)) OVER (ORDER BY date_trunc('hour', time) GROUPS BETWEEN 1 FOLLOWING AND 2 FOLLOWING EXCLUDE TIES),
        sum(count(*)) OVER (ORDER BY date_trunc('hour', time) ROWS BETWEEN 3 PRECEDING AND 1 PRECEDING)
      FROM window_events WHERE time >= '2026-01-02 18:00+00' AND time < '2026-01-03 06:00+00' GROUP BY 1 ORDER BY 1`;
    expect(await explain(framed)).toMatch(/Strata plan class: partials/);
    await expectSame(framed);
    // A window referring to a named one: pgsql-deparser dropped the reference (and w's ORDER BY with it).
    const referring = `SELECT date_trunc('hour', time) AS h, sum(count(*)) OVER (w ROWS 1 PRECEDING), max(sum(n)) OVER (w2 ORDER BY date_trunc('hour', time))
      FROM window_events WHERE time >= '2026-01-02 18:00+00' AND time < '2026-01-03 06:00+00' GROUP BY 1
      WINDOW w AS (ORDER BY date_trunc('hour', time)), w2 AS (PARTITION BY date_trunc('hour', time) < '2026-01-03') ORDER BY 1`;
    expect(await explain(referring)).toMatch(/Strata plan class: partials/);
    await expectSame(referring);
  });

  it('in a READ ONLY block (candidates held as parameters) and through a cursor', async () => {
    const sql = `SELECT host, time FROM (${LATEST} WHERE time < '2026-01-03 01:00+00' ORDER BY host, time DESC) s ORDER BY host`;
    await client.query('BEGIN READ ONLY');
    try {
      await expectSame(sql);
      await client.query(`DECLARE latest CURSOR FOR ${sql}`);
      const fetched = await outcome(client, 'FETCH ALL FROM latest');
      const expected = await outcome(ref, sql.replace('window_events', 'window_reference'));
      expect(fetched.ok && fetched.rows).toEqual(expected.ok && expected.rows);
    } finally {
      await client.query('COMMIT');
    }
  });

  it('inside a REPEATABLE READ block the hot side of a top-k is the block\'s snapshot', async () => {
    // host and time only: rows tied on a host's latest instant differ in n.
    const sql = `SELECT host, time FROM (${LATEST} WHERE time < '2026-01-03 12:00+00' ORDER BY host, time DESC) s ORDER BY host`;
    expect(await explain(sql)).toMatch(/Strata plan class: top-k/);
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    try {
      const before = await expectSame(sql);
      const extra = `SELECT timestamptz '2026-01-03 11:00+00', 'h1', 'web', 1::float8, 1, true`;
      await ref.query(`INSERT INTO window_events ${extra}`);
      expect(await outcome(client, sql)).toEqual(before);
      await client.query('COMMIT');
      await ref.query(`INSERT INTO window_reference ${extra}`);
      await expectSame(sql);
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
    }
  });
});
