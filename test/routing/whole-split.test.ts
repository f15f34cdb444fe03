import { runTiering } from '@strata/core';
import { tiererDeps } from '../support/tiered-fixture';
import { expectSameAnswer, sameAsReference, startDifferentialBed, textOutcome, tieredSpec, type DifferentialBed } from './differential-bed';
import { explainText, shippedSelectOf } from './top-k-cold-read';
import { SPLIT_AGGREGATES, splitBucketQueries } from './whole-split-queries';

/**
 * Whole aggregates grouped by a time bucket ship only the hot rows of the buckets that
 * reach below W (proxy/src/engine/whole-split.ts); PostgreSQL computes the later buckets
 * from its hot rows. Through the real proxy against PostgreSQL holding every row, exact
 * text: hourly, daily, date_bin, epoch-floor buckets and the time column itself, in UTC
 * and in America/New_York; W inside a bucket, then on an hour's and on a day's start;
 * late hot rows below W (in W's own bucket, in the one before, far back); ranges cold
 * only, ending at W, spanning W and hot only; empty buckets, NULL and NaN values, ties.
 */
const TABLE = tieredSpec({
  table: 'split_events',
  timeColumn: 'time',
  columns: [
    { name: 'time', type: 'timestamptz' },
    { name: 'host', type: 'text' },
    { name: 'v', type: 'double precision' },
    { name: 'n', type: 'integer' },
  ],
  hot: { chunkInterval: '1h', retention: '24h' },
  cold: { orderBy: ['host', 'time'], partitionBy: 'day' },
});

/** Every 7 minutes (buckets filled unevenly), two empty hours (one cold, one hot). */
const ROWS = `SELECT t, (ARRAY['h1', 'h2', 'ü-日本', NULL])[1 + n % 4],
    CASE WHEN n % 6 = 0 THEN (ARRAY['NaN', NULL, '1.5', 'Infinity', '0', '-2.25'])[1 + (n / 6) % 6]::float8 ELSE (n % 9)::float8 / 4 END,
    CASE WHEN n % 13 = 0 THEN NULL ELSE (n % 5)::int4 END
  FROM generate_series(timestamptz '2026-03-01 00:00+00', timestamptz '2026-03-04 23:55+00', interval '7 minutes') WITH ORDINALITY g(t, n)
  WHERE NOT (t >= '2026-03-02 03:00+00' AND t < '2026-03-02 05:00+00') AND NOT (t >= '2026-03-04 02:00+00' AND t < '2026-03-04 03:00+00')`;
/** Not on a bucket's start: W's hour holds cold rows (10:00–10:20) and hot ones. */
const W = '2026-03-03T10:20:00Z';
/** Late rows: below W yet in the hot table — in W's own hour, in the hour before, and a day back. */
const LATE = `VALUES (timestamptz '2026-03-03 10:10+00', 'h2', 1e6::float8, 7), (timestamptz '2026-03-03 09:59:59.999999+00', 'h1', -3::float8, 9),
    (timestamptz '2026-03-02 05:05+00', NULL, 'NaN'::float8, NULL)`;

jest.setTimeout(120_000);

describe('whole aggregates split at W by their time bucket', () => {
  let bed: DifferentialBed;

  const explain = (sql: string) => explainText(bed.client, sql);

  /** The hot rows the plan ships (its EXPLAIN's shipment, run on PostgreSQL): all of them, and those at or past `w`. */
  async function shippedRows(plan: string, w: string): Promise<{ all: number; fromW: number }> {
    const r = await bed.ref.query(`SELECT count(*)::int AS "all", (count(*) FILTER (WHERE time >= '${w}'))::int AS "fromW" FROM (${shippedSelectOf(plan)}) AS s`);
    return r.rows[0];
  }

  /** On both sessions: the proxy's and PostgreSQL's alone. */
  async function setTimeZone(zone: string): Promise<void> {
    for (const c of [bed.client, bed.ref]) await c.query(`SET TimeZone = '${zone}'`);
  }

  beforeAll(async () => {
    bed = await startDifferentialBed(TABLE, { reference: 'split_reference', rows: ROWS, late: LATE, partitions: ['2026-03-01T00:00:00Z', '2026-03-06T00:00:00Z'], watermark: W, password: 'split-secret' });
  }, 180_000);

  afterAll(async () => {
    await bed?.close();
  });

  const AGGREGATES = SPLIT_AGGREGATES;
  /** Exact answers: percentiles, distinct counts and integer partials only. */
  const exactQueries = (range: string) => [
    ...splitBucketQueries('split_events', range, `timestamptz '2026-01-01 00:00+00'`),
    // HAVING and ORDER BY on whole aggregates; only NULL values; an empty answer.
    `SELECT date_trunc('hour', time) AS h, count(DISTINCT n) AS k FROM split_events WHERE ${range} GROUP BY 1
       HAVING percentile_cont(0.5) WITHIN GROUP (ORDER BY v) IS NOT NULL OR count(DISTINCT host) > 2 ORDER BY k DESC, h`,
    `SELECT date_trunc('hour', time), percentile_cont(0.5) WITHIN GROUP (ORDER BY v), count(DISTINCT v), count(*) FROM split_events WHERE (${range}) AND v IS NULL GROUP BY 1 ORDER BY 1`,
    `SELECT date_trunc('hour', time), percentile_cont(0.5) WITHIN GROUP (ORDER BY v), count(DISTINCT host) FROM split_events WHERE (${range}) AND n = 12345 GROUP BY 1`,
    // Constant on minute cells, yet one group for all of them: not a bucket (ClickHouse would group by minute).
    `SELECT floor(extract(minute from time) / 60) * 60 AS m, percentile_disc(0.5) WITHIN GROUP (ORDER BY n), count(DISTINCT host) FROM split_events WHERE ${range} GROUP BY 1`,
  ];
  const RANGES = {
    spanning: `time >= '2026-03-02 00:00+00' AND time < '2026-03-03 14:00+00'`,
    coldOnly: `time >= '2026-03-01 12:00+00' AND time < '2026-03-03 00:00+00'`,
    toW: `time >= '2026-03-01 00:00+00' AND time < '${W}'`,
    hotOnly: `time >= '2026-03-03 12:00+00'`,
    all: 'true',
  };

  async function expectAllSame(): Promise<void> {
    for (const range of Object.values(RANGES)) for (const sql of exactQueries(range)) await expectSameAnswer(bed, sql);
    // Float spreads: ClickHouse's stable sums equal PostgreSQL's up to the last bits.
    for (const range of [RANGES.spanning, RANGES.all]) {
      await sameAsReference(bed, `SELECT date_trunc('hour', time) AS h, stddev(v), var_pop(v), count(DISTINCT host), sum(n) FROM split_events WHERE ${range} AND v < 'Infinity' GROUP BY 1 ORDER BY 1`, { someRows: true });
    }
  }

  it('ships only the hot rows of W\'s bucket and the late rows; PostgreSQL computes the later buckets (W inside an hour)', async () => {
    const sql = exactQueries(RANGES.spanning)[0];
    const plan = await explain(sql);
    expect(plan).toMatch(/Strata plan class: whole/);
    expect(plan).toMatch(/time buckets reaching below W/);
    expect(plan).toContain(`Hot rows shipped: SELECT`);
    // IS binds looser than >: (B(time) > B(W⁻)) IS NOT TRUE.
    expect(plan).toMatch(/Hot rows shipped[\s\S]*date_trunc\('hour', "time"\) > date_trunc\('hour', '2026-03-03 10:19:59\.999999\+00'::timestamptz\) IS NOT TRUE/);
    expect(plan).toMatch(/PostgreSQL: [\s\S]*COALESCE\(min\(_strata_whole_0\), percentile_cont\(0\.95\) WITHIN GROUP \(ORDER BY _strata_raw_0\)\)/);
    // PostgreSQL's later hours, computed while ClickHouse reads (hot-partials.ts hotWholesSql), grouped as the statement groups.
    expect(plan).toMatch(/PostgreSQL, while ClickHouse reads: INSERT INTO [\s\S]*percentile_cont\(0\.95\) WITHIN GROUP \(ORDER BY _strata_raw_0\)[\s\S]*date_trunc\('hour', "time"\) > date_trunc\('hour', '2026-03-03 10:19:59\.999999\+00'::timestamptz\)[\s\S]*GROUP BY\s+date_trunc\('hour', "time"\)\s+HAVING/);
    expect(plan).toMatch(/PostgreSQL: [\s\S]*WHERE\s+false\s+UNION/);
    // Shipped: W's hour from W on (10:20–10:59, a row every 7 minutes) and the three late rows,
    // not the range's 31 hot rows.
    const hotOfRange = await bed.ref.query(`SELECT count(*)::int AS n FROM split_events WHERE ${RANGES.spanning} AND time >= '${W}'`);
    expect(hotOfRange.rows[0].n).toBeGreaterThan(25);
    expect(await shippedRows(plan, W)).toEqual({ all: 6 + 3, fromW: 6 });
    await expectAllSame();
  });

  it('in America/New_York: daily and hourly buckets in the session\'s zone, epoch buckets whole', async () => {
    await setTimeZone('America/New_York');
    try {
      await expectAllSame();
      const daily = `SELECT date_bin('1 day', time, timestamptz '2026-01-01 00:00+00') AS d, ${AGGREGATES} FROM split_events WHERE ${RANGES.spanning} GROUP BY 1 ORDER BY 1`;
      expect(await explain(daily)).toMatch(/Strata plan class: whole[\s\S]*Hot rows shipped: [\s\S]*IS NOT TRUE/);
      await expectSameAnswer(bed, daily);
    } finally {
      await setTimeZone('UTC');
    }
  });

  it('W on an hour\'s start ships none of the hot hour; on a day\'s start none of the hot day', async () => {
    for (const until of ['2026-03-03T12:00:00Z', '2026-03-04T00:00:00Z']) {
      await runTiering(tiererDeps(bed.fx.pgUrl, bed.fx.cold, bed.fx.database), { table: 'split_events', until: new Date(until) });
      for (const bucket of [`date_trunc('hour', time)`, `date_trunc('day', time)`]) {
        const sql = `SELECT ${bucket} AS b, ${AGGREGATES} FROM split_events WHERE time >= '2026-03-02 00:00+00' GROUP BY 1 ORDER BY 1`;
        const plan = await explain(sql);
        expect(plan).toMatch(/Strata plan class: whole/);
        // A day's start is an hour's too: nothing at or past W ships, for either bucket.
        if (bucket.includes('hour') || until.endsWith('00:00:00Z')) expect((await shippedRows(plan, until)).fromW).toBe(0);
        await expectSameAnswer(bed, sql);
      }
      await expectAllSame();
      await setTimeZone('America/New_York');
      try {
        for (const sql of exactQueries(RANGES.spanning).slice(0, 3)) await expectSameAnswer(bed, sql);
      } finally {
        await setTimeZone('UTC');
      }
    }
  });

  it('splits with the statement\'s bound parameters, and in a READ ONLY block (cold rows as array parameters)', async () => {
    const sql = `SELECT date_trunc('hour', time) AS h, ${AGGREGATES} FROM split_events WHERE time >= $1 AND time < $2 AND host <> 'h1' GROUP BY 1 ORDER BY 1`;
    const values = ['2026-03-02 12:00+00', '2026-03-04 18:00+00'];
    expect(await explainText(bed.client, sql, values)).toMatch(/Strata plan class: whole[\s\S]*Hot rows shipped: [\s\S]*IS NOT TRUE/);
    const through = await textOutcome(bed.client, sql, values);
    expect(through.ok && through.rows.length).toBeGreaterThan(30);
    expect(through).toEqual(await textOutcome(bed.ref, sql.replace('split_events', 'split_reference'), values));
    await bed.client.query('BEGIN READ ONLY');
    try {
      for (const q of exactQueries(RANGES.spanning).slice(0, 2)) await expectSameAnswer(bed, q);
    } finally {
      await bed.client.query('COMMIT');
    }
  });

  it('ships a large shipment through a table, a small one inline (3,000 late rows)', async () => {
    // Past MAX_INLINE_SHIPPED_BYTES (64 KiB): the shipment no longer travels inside the cold query.
    const late = `SELECT timestamptz '2026-03-03 09:00+00' + g * interval '1 ms', 'late-' || (g % 17), (g % 11)::float8 / 8, g % 7 FROM generate_series(1, 3000) AS g`;
    await bed.client.query(`INSERT INTO split_events ${late}`);
    await bed.ref.query(`INSERT INTO split_reference ${late}`);
    const sql = exactQueries(RANGES.spanning)[0];
    const plan = await explain(sql);
    expect((await shippedRows(plan, W)).all).toBeGreaterThanOrEqual(3000);
    for (const range of [RANGES.spanning, RANGES.all]) for (const q of exactQueries(range).slice(0, 5)) await expectSameAnswer(bed, q);
  });

  it('groups PostgreSQL\'s later buckets as the statement does: float keys (-0 and 0, NaN), NULL keys, text keys', async () => {
    // Hot rows past W's bucket, each key value in several rows and spread over hours.
    const rows = `SELECT timestamptz '2026-03-04 20:00+00' + (g % 3) * interval '1 hour' + g * interval '1 s',
        (ARRAY['h1', 'H1', NULL, 'ü-日本'])[1 + g % 4], (ARRAY['-0', '0', 'NaN', NULL, '2.5'])[1 + g % 5]::float8, g % 4
      FROM generate_series(1, 60) AS g`;
    await bed.client.query(`INSERT INTO split_events ${rows}`);
    await bed.ref.query(`INSERT INTO split_reference ${rows}`);
    // A group of -0 and 0 shows either (PostgreSQL's own answer varies with the row it meets first): shown as v + 0.
    const byFloat = `SELECT date_trunc('hour', time) AS h, v + 0 AS v, count(*), percentile_disc(0.5) WITHIN GROUP (ORDER BY n), count(DISTINCT host) FROM split_events WHERE time >= '2026-03-03 00:00+00' GROUP BY 1, split_events.v ORDER BY 1, 2`;
    const byText = `SELECT host, date_trunc('hour', time) AS h, percentile_cont(0.5) WITHIN GROUP (ORDER BY v), count(DISTINCT v), sum(n) FROM split_events WHERE time >= '2026-03-03 00:00+00' GROUP BY 2, 1 ORDER BY 2, 1`;
    for (const sql of [byFloat, byText]) {
      expect(await explain(sql)).toMatch(/Strata plan class: whole[\s\S]*PostgreSQL, while ClickHouse reads: INSERT/);
      await expectSameAnswer(bed, sql);
    }
  });

  it('answers the same inside a block, through a view and through a cursor (PostgreSQL\'s later buckets computed while ClickHouse reads)', async () => {
    const sql = exactQueries(`time >= '2026-03-02 00:00+00' AND time < '2026-03-05 00:00+00'`)[1];
    expect(await explain(sql)).toMatch(/PostgreSQL, while ClickHouse reads: INSERT/);
    const expected = await textOutcome(bed.ref, sql.replace('split_events', 'split_reference'));
    expect(expected.ok && expected.rows.length).toBeGreaterThan(10);
    await bed.client.query('BEGIN');
    try {
      expect(await textOutcome(bed.client, sql)).toEqual(expected);
      await bed.client.query(`CREATE VIEW split_view AS SELECT * FROM split_events`);
      expect(await textOutcome(bed.client, sql.replace('split_events', 'split_view'))).toEqual(expected);
      await bed.client.query(`DECLARE split_cursor CURSOR FOR ${sql}`);
      expect(await textOutcome(bed.client, 'FETCH ALL FROM split_cursor')).toEqual(expected);
    } finally {
      await bed.client.query('ROLLBACK');
    }
  });

  it('leaves no shipped table behind', async () => {
    const left = await bed.fx.cold.query<{ n: string }>(`SELECT count() AS n FROM system.tables WHERE database = 'strata_scratch'`);
    expect(left[0].n).toBe('0');
  });
});
