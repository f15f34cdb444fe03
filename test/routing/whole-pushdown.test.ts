import type { Client } from 'pg';
import type { TieredFixture } from '../support/tiered-fixture';
import { compareOutcomes, type Outcome } from './corpus/compare';
import { startDifferentialBed, textOutcome, tieredSpec, type DifferentialBed } from './differential-bed';

/**
 * What partials cannot merge, ClickHouse computes: exact integer sums, averages and
 * variances (partials), SELECT DISTINCT (distinct cold tuples), and percentiles, float
 * stddev/variance and count(DISTINCT x) computed whole per group over cold rows and the
 * hot rows shipped to ClickHouse — each through the real proxy against PostgreSQL
 * holding every row: NULLs, NaN and ±Infinity, ties, sums past 2^63, non-ASCII group
 * keys, empty groups, cold-only ranges and ranges spanning W, late hot rows below W, and
 * a REPEATABLE READ block that keeps its snapshot while hot rows are added.
 */
const TABLE = tieredSpec({
  table: 'whole_events',
  timeColumn: 'time',
  columns: [
    { name: 'time', type: 'timestamptz' },
    { name: 'host', type: 'text' },
    { name: 'region', type: 'text' },
    { name: 'v', type: 'double precision' },
    { name: 'r', type: 'real' },
    { name: 'n', type: 'integer' },
    { name: 'b', type: 'bigint' },
    { name: 's', type: 'smallint' },
  ],
  hot: { chunkInterval: '1h', retention: '24h' },
  cold: { orderBy: ['host', 'time'], partitionBy: 'day' },
});

/** h1's values hold every special float; the other hosts repeat a few numbers (ties). */
const ROWS = `SELECT t,
    (ARRAY['h1', 'h2', 'ß-ü', '日本', NULL])[1 + n % 5],
    'r' || (n % 7),
    CASE WHEN n % 5 = 0 THEN (ARRAY['NaN', '1.5', '-2.5', NULL, '7', '3', '3', 'Infinity', '-0', '0', '1e-300', '2'])[1 + (n * 7) % 12]::float8
         WHEN n % 13 = 0 THEN NULL ELSE (n % 9)::float8 / 4 END,
    ((n % 11)::real / 3),
    CASE WHEN n % 11 = 0 THEN NULL ELSE 2147483647 - (n % 5)::int4 END,
    CASE WHEN n % 17 = 0 THEN NULL ELSE 9223372036854775807 - (n % 3) END,
    (n % 200 - 100)::int2
  FROM generate_series(timestamptz '2026-01-01 00:00+00', timestamptz '2026-01-03 23:50+00', interval '10 minutes') WITH ORDINALITY g(t, n)`;
const W = '2026-01-03T00:00:00Z';
/** A late row: below W, yet in the hot table. */
const LATE = `SELECT timestamptz '2026-01-01 05:05+00', 'h2', 'r1', 1e6::float8, 1::real, 5, 5::int8, 5::int2`;

const PASSWORD = 'whole-secret';

jest.setTimeout(60_000);

describe('whole-statement pushdown through the proxy', () => {
  let bed: DifferentialBed;
  let fx: TieredFixture;
  let client: Client;
  let ref: Client;

  const textRows = { getTypeParser: () => (v: string) => v };
  const outcome = (c: Client, sql: string): Promise<Outcome> => textOutcome(c, sql);

  async function explain(sql: string): Promise<string> {
    return (await client.query(`EXPLAIN ${sql}`)).rows.map((r) => r['QUERY PLAN']).join('\n');
  }

  /**
   * The statement through the proxy equals PostgreSQL's over every row. Exact unless
   * `tolerant` (float variance: PostgreSQL's own plans differ in the last bits). -0 and 0
   * are one value to both engines' sorts: which of the two a percentile lands on among
   * such ties depends on the order rows reach PostgreSQL's (unstable) sort, so the two
   * spellings compare equal.
   */
  async function expectSame(sql: string, opts: { tolerant?: boolean } = {}): Promise<Outcome> {
    const actual = await outcome(client, sql);
    const expected = await outcome(ref, sql.replace(/\bwhole_events\b/g, 'whole_reference'));
    if (opts.tolerant) expect({ sql, diff: compareOutcomes(expected, actual, /ORDER BY/i.test(sql)) }).toEqual({ sql, diff: undefined });
    else expect({ sql, rows: unsignedZeros(actual) }).toEqual({ sql, rows: unsignedZeros(expected) });
    return actual;
  }

  /**
   * Covariances are compared on their own scale: |Sxy| ≤ √(Sxx·Syy), and both engines'
   * rounding errors are last bits of that bound, not of Sxy. A near-zero covariance
   * differs between PostgreSQL's own row orders (one hour group's covar_pop: 0, -1.7e-17
   * or 1.0e-17 as its rows are sorted, in psql). Each block of eight regression columns
   * from `first` (see regression()) has covar_pop, covar_samp and regr_sxy replaced by
   * 1 + their correlation, then the float tolerance applies.
   */
  function asCorrelations(o: Outcome, firsts: number[]): Outcome {
    if (!o.ok) return o;
    const rows = o.rows.map((row) => {
      const out = [...row];
      for (const k of firsts) {
        const [n, sxx, syy] = [row[k + 2], row[k + 5], row[k + 6]].map(Number);
        const bound = Math.sqrt(sxx * syy);
        if (!(bound > 0) || !Number.isFinite(bound)) continue;
        for (const [i, by] of [[k, n], [k + 1, n - 1], [k + 7, 1]]) if (row[i] !== null && row[i] !== 'NaN') out[i] = String(1 + (Number(row[i]) * by) / bound);
      }
      return out;
    });
    return { ...o, rows };
  }

  async function expectSameRegression(sql: string, firsts: number[]): Promise<Outcome> {
    const actual = await outcome(client, sql);
    const expected = await outcome(ref, sql.replace(/\bwhole_events\b/g, 'whole_reference'));
    const diff = compareOutcomes(asCorrelations(expected, firsts), asCorrelations(actual, firsts), /ORDER BY/i.test(sql));
    expect({ sql, diff }).toEqual({ sql, diff: undefined });
    return actual;
  }

  function unsignedZeros(o: Outcome): Outcome {
    return o.ok ? { ...o, rows: o.rows.map((r) => r.map((v) => (v === '-0' ? '0' : v))) } : o;
  }

  beforeAll(async () => {
    bed = await startDifferentialBed(TABLE, {
      reference: 'whole_reference', rows: ROWS, late: LATE,
      partitions: ['2026-01-01T00:00:00Z', '2026-01-05T00:00:00Z'], watermark: W, password: PASSWORD,
    });
    ({ fx, client, ref } = bed);
    const cold = await fx.cold.query<{ n: string }>(`SELECT count() AS n FROM ${fx.database}.whole_events`);
    expect(Number(cold[0].n)).toBeGreaterThan(200);
  }, 180_000);

  afterAll(async () => {
    await bed?.close();
  });

  it('sums, averages and variances of integers as exact partials, with PostgreSQL\'s types (sums past 2^63 included)', async () => {
    const sql = `SELECT host, sum(n), sum(b), sum(s), avg(n), avg(b), avg(s), var_samp(n), var_pop(b), variance(s), var_samp(b) FILTER (WHERE region = 'r1'),
        count(*) FROM whole_events GROUP BY host ORDER BY host`;
    expect(await explain(sql)).toMatch(/Strata plan class: partials[\s\S]*toInt128[\s\S]*toInt256/);
    const r = await expectSame(sql);
    // The int8 sums are past 2^63: PostgreSQL's numeric, not a wrapped Int64.
    if (r.ok) expect(BigInt(r.rows[0][2]!)).toBeGreaterThan(2n ** 63n);
    await expectSame(`SELECT sum(b), avg(n), var_pop(n), var_samp(s) FROM whole_events WHERE time < '2026-01-02'`);
    await expectSame(`SELECT sum(b), avg(n), var_pop(n) FROM whole_events WHERE time < '2025-01-02'`);
    await expectSame(`SELECT date_trunc('hour', time) AS h, sum(n), avg(b) FROM whole_events WHERE time >= '2026-01-02 18:00+00' AND time < '2026-01-03 06:00+00' GROUP BY 1 HAVING sum(s) > -500 ORDER BY 1`);
  });

  it('standard deviations of integers as exact partials: the root at the variance\'s scale, digit for digit', async () => {
    const sql = `SELECT host, stddev(n), stddev_pop(b), stddev_samp(s), stddev(b) FILTER (WHERE region = 'r1'), var_pop(n), count(*) FROM whole_events GROUP BY host ORDER BY host`;
    expect(await explain(sql)).toMatch(/Strata plan class: partials[\s\S]*toInt256/);
    await expectSame(sql);
    // One row (samp NULL, pop 0), across W, cold only.
    await expectSame(`SELECT stddev(n), stddev_pop(n), stddev_samp(b) FROM whole_events WHERE time = '2026-01-01 00:10+00'`);
    await expectSame(`SELECT date_trunc('hour', time) AS h, stddev_samp(n), stddev_pop(s) FROM whole_events WHERE time >= '2026-01-02 18:00+00' AND time < '2026-01-03 06:00+00' GROUP BY 1 ORDER BY 1`);
    await expectSame(`SELECT stddev(b), stddev_pop(s) FROM whole_events WHERE time < '2026-01-02'`);
  });

  it('SELECT DISTINCT and GROUP BY without aggregates read distinct cold tuples', async () => {
    for (const sql of [
      `SELECT DISTINCT host FROM whole_events ORDER BY host`,
      `SELECT DISTINCT host, region FROM whole_events WHERE time >= '2026-01-02' ORDER BY 1, 2`,
      `SELECT DISTINCT lower(host) AS h, n % 3 AS k FROM whole_events ORDER BY 1, 2`,
      `SELECT host FROM whole_events GROUP BY host ORDER BY host DESC NULLS LAST`,
      `SELECT DISTINCT date_trunc('day', time) AS d FROM whole_events ORDER BY 1`,
    ]) {
      expect(await explain(sql)).toMatch(/Strata plan class: partials/);
      await expectSame(sql);
    }
  });

  const PERCENTILES = `SELECT host, percentile_cont(0.5) WITHIN GROUP (ORDER BY v) AS p50, percentile_disc(0.95) WITHIN GROUP (ORDER BY v) AS d95,
      percentile_cont(0.9) WITHIN GROUP (ORDER BY n) AS n90, percentile_disc(0) WITHIN GROUP (ORDER BY b) AS b0,
      percentile_cont(1) WITHIN GROUP (ORDER BY s) AS s100, percentile_disc(0.3) WITHIN GROUP (ORDER BY r) AS r30, count(DISTINCT region) AS regions, count(*)
    FROM whole_events`;

  it('percentiles and count(DISTINCT) computed whole over cold rows and the shipped hot rows (NaN, ±Infinity, NULL, ties, non-ASCII keys)', async () => {
    const sql = `${PERCENTILES} GROUP BY host ORDER BY host`;
    const plan = await explain(sql);
    expect(plan).toMatch(/Strata plan class: whole/);
    expect(plan).toMatch(/UNION ALL SELECT .* FROM `strata_scratch`/);
    await expectSame(sql);
    // Spanning W, a time bucket per group, HAVING and ORDER BY on a whole aggregate.
    await expectSame(
      `SELECT date_trunc('hour', time) AS h, percentile_cont(0.25) WITHIN GROUP (ORDER BY v) AS p, count(DISTINCT host) FROM whole_events
        WHERE time >= '2026-01-02 20:00+00' AND time < '2026-01-03 02:00+00' GROUP BY 1 HAVING percentile_disc(0.5) WITHIN GROUP (ORDER BY n) > 0 ORDER BY p DESC NULLS FIRST, h`,
    );
    await expectSame(
      `SELECT floor(extract(epoch from time)/21600)*21600 AS "time", region, percentile_disc(0.75) WITHIN GROUP (ORDER BY v), count(DISTINCT n) FROM whole_events
        WHERE host <> 'h2' GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    // Nothing in range: one row, NULL percentiles and a zero distinct count.
    await expectSame(`SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v), count(DISTINCT host), count(*) FROM whole_events WHERE time < '2025-01-01'`);
    // A group whose values are all NULL.
    await expectSame(`SELECT host, percentile_cont(0.5) WITHIN GROUP (ORDER BY v) FROM whole_events WHERE v IS NULL GROUP BY host ORDER BY host`);
  });

  it('count(DISTINCT) alone ships each distinct hot row once with its multiplicity: counts, count(*) and groups unchanged (NULL, NaN, -0, non-ASCII, ties)', async () => {
    const sql = `SELECT host, count(DISTINCT v) AS vs, count(DISTINCT r), count(DISTINCT region), count(DISTINCT b), count(*) FROM whole_events GROUP BY host ORDER BY host`;
    const plan = await explain(sql);
    expect(plan).toMatch(/Strata plan class: whole/);
    expect(plan).toMatch(/sum\(`_strata_row`\)[\s\S]*UNION ALL SELECT `_strata_row`, .* FROM `strata_scratch`/);
    await expectSame(sql);
    // Spanning W, HAVING on the row count; all rows ungrouped; only the rows whose v is NULL (PostgreSQL's NaN equals itself).
    await expectSame(`SELECT region, count(DISTINCT host), count(*) FROM whole_events WHERE time >= '2026-01-02 20:00+00' GROUP BY region HAVING count(*) > 3 ORDER BY 1`);
    await expectSame(`SELECT count(DISTINCT v), count(DISTINCT host), count(*) FROM whole_events WHERE time >= '2026-01-01 03:00+00'`);
    await expectSame(`SELECT host, count(DISTINCT s) FROM whole_events WHERE v IS NULL OR v <> v GROUP BY host ORDER BY host`);
  });

  it('a cold-only range ships only the late hot rows below W; a mostly-hot range is not shipped (raw rows, still exact)', async () => {
    const coldOnly = `${PERCENTILES} WHERE time < '2026-01-02' GROUP BY host ORDER BY host`;
    expect(await explain(coldOnly)).toMatch(/Strata plan class: whole/);
    await expectSame(coldOnly);
    const mostlyHot = `${PERCENTILES} WHERE time >= '2026-01-02 23:00+00' GROUP BY host ORDER BY host`;
    expect(await explain(mostlyHot)).toMatch(/Strata plan class: raw/);
    await expectSame(mostlyHot);
  });

  it('float stddev and variance computed whole (compared with the float sums\' relative tolerance), NaN and Infinity as PostgreSQL', async () => {
    const sql = `SELECT host, stddev(v), stddev_pop(v), var_samp(v), var_pop(r), variance(r), stddev_samp(r) FROM whole_events GROUP BY host ORDER BY host`;
    expect(await explain(sql)).toMatch(/Strata plan class: whole/);
    const r = await expectSame(sql, { tolerant: true });
    // h1 holds NaN and Infinity: NaN, as PostgreSQL says.
    if (r.ok) expect(r.rows.find((row) => row[0] === 'h1')?.slice(1, 4)).toEqual(['NaN', 'NaN', 'NaN']);
    await expectSame(`SELECT stddev(v), var_pop(v) FROM whole_events WHERE host = 'h2' AND time >= '2026-01-01 12:00+00'`, { tolerant: true });
    // One value: the sample variance is NULL, the population one 0.
    await expectSame(`SELECT var_samp(v), var_pop(v), stddev(v) FROM whole_events WHERE time = '2026-01-01 00:10+00'`);
  });

  it('covar_* and regr_* of two float columns computed whole, Y first, NULL pairs skipped, NaN and Infinity as PostgreSQL', async () => {
    /** The eight pushed aggregates of (y, x), in the order asCorrelations reads them. */
    const regression = (y: string, x: string) =>
      ['covar_pop', 'covar_samp', 'regr_count', 'regr_avgx', 'regr_avgy', 'regr_sxx', 'regr_syy', 'regr_sxy'].map((f) => `${f}(${y}, ${x})`).join(', ');
    const sql = `SELECT host, ${regression('v', 'r')}, ${regression('r', 'v')} FROM whole_events GROUP BY host ORDER BY host`;
    expect(await explain(sql)).toMatch(/Strata plan class: whole[\s\S]*covarPopStable/);
    const r = await expectSameRegression(sql, [1, 9]);
    // h1's v holds NaN and Infinity: NaN wherever v enters Sxx, Syy or Sxy, while r's own Sxx stays a number.
    const h1 = r.ok ? r.rows.find((row) => row[0] === 'h1')! : [];
    expect([h1[1], h1[2], h1[6], h1[7], h1[8], h1[14]]).toEqual(['NaN', 'NaN', expect.not.stringMatching(/NaN/), 'NaN', 'NaN', 'NaN']);
    // Cold only, ungrouped; hour buckets across W; no row at all (regr_count 0, the rest NULL).
    await expectSameRegression(`SELECT ${regression('v', 'r')} FROM whole_events WHERE time < '2026-01-02'`, [0]);
    const hours = `SELECT date_trunc('hour', time) AS h, ${regression('r', 'v')} FROM whole_events WHERE time >= '2026-01-02 18:00+00' AND time < '2026-01-03 06:00+00' GROUP BY 1 ORDER BY 1`;
    expect(await explain(hours)).toMatch(/Strata plan class: whole/);
    await expectSameRegression(hours, [1]);
    await expectSame(`SELECT ${regression('v', 'r')} FROM whole_events WHERE time < '2025-01-02'`);
    // One pair: covar_samp NULL, the sums 0; a constant x (Sxx = 0, covariances 0).
    await expectSame(`SELECT ${regression('v', 'r')} FROM whole_events WHERE time = '2026-01-01 00:10+00'`);
    await expectSameRegression(`SELECT host, ${regression('v', 'r')} FROM whole_events WHERE r = 2 GROUP BY host ORDER BY host`, [1]);
    // Integers as PostgreSQL's implicit float8 cast has them (b near 2^63: rounded alike).
    const ints = `SELECT host, ${regression('v', 'n')}, ${regression('b', 's')}, ${regression('s', 'n')} FROM whole_events GROUP BY host ORDER BY host`;
    expect(await explain(ints)).toMatch(/Strata plan class: whole/);
    await expectSameRegression(ints, [1, 9, 17]);
  });

  it('inside a REPEATABLE READ block the shipped hot rows are the block\'s snapshot', async () => {
    const sql = `SELECT host, percentile_disc(0.99) WITHIN GROUP (ORDER BY n), count(DISTINCT b) FROM whole_events GROUP BY host ORDER BY host`;
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    try {
      const before = await expectSame(sql);
      const extra = `SELECT timestamptz '2026-01-03 10:00+00', 'h2', 'r1', 0::float8, 0::real, 2147483647, 42::int8, 1::int2`;
      await ref.query(`INSERT INTO whole_events ${extra}`);
      expect(await outcome(client, sql)).toEqual(before);
      await client.query('COMMIT');
      await ref.query(`INSERT INTO whole_reference ${extra}`);
      await expectSame(sql);
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
    }
  });

  it('reads the shipped hot rows with the statement\'s bound parameters, and in READ ONLY blocks', async () => {
    const sql = `SELECT host, percentile_cont(0.75) WITHIN GROUP (ORDER BY v), count(DISTINCT n) FROM whole_events WHERE time >= $1 AND region <> $2 GROUP BY host ORDER BY host`;
    const values = ['2026-01-02 06:00+00', 'r3'];
    const through = await client.query({ text: sql, values, rowMode: 'array', types: textRows });
    const expected = await ref.query({ text: sql.replace('whole_events', 'whole_reference'), values, rowMode: 'array', types: textRows });
    expect(through.rows).toEqual(expected.rows);
    await client.query('BEGIN READ ONLY');
    try {
      await expectSame(`${PERCENTILES} WHERE time >= '2026-01-01 12:00+00' GROUP BY host ORDER BY host`);
    } finally {
      await client.query('COMMIT');
    }
  });

  it('leaves no shipped table behind', async () => {
    const left = await fx.cold.query<{ n: string }>(`SELECT count() AS n FROM system.tables WHERE database = 'strata_scratch'`);
    expect(left[0].n).toBe('0');
  });
});
