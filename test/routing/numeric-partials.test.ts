import { runTiering } from '@strata/core';
import { tiererDeps } from '../support/tiered-fixture';
import { coldSqlOf, expectSameAnswer, startDifferentialBed, tieredSpec, type DifferentialBed } from './differential-bed';
import { explainText } from './top-k-cold-read';

/**
 * sum/avg/variances/standard deviations of numeric(p,s) columns as exact partials
 * (engine/exact-partials.ts), and their min/max as partials, through the real proxy
 * against PostgreSQL holding every row, every value compared as exact text (1.500 is not
 * 1.5, the last digit of an average counts): NULLs, negatives, ties, 0.000, values near
 * 10^p, one-row groups (sample variance NULL), all-NULL groups, non-ASCII group keys,
 * cold-only ranges and ranges spanning W, late hot rows below W, FILTER, a variance below
 * 10^-4 (integers too), and a NaN in a hot row (which the cold tier cannot hold). numeric(12,3) sums in Decimal128 and Σx² in
 * Decimal256; numeric(5,0) both in Decimal128; numeric(28,14) both in Decimal256 (Σx² at
 * the bound, 2·28 + 19 = 75 digits); numeric(30,10)'s Σx² would need 79 digits, so its
 * variances stay in PostgreSQL (raw rows) while its sums are partials.
 */
const TABLE = tieredSpec({
  table: 'numeric_events',
  timeColumn: 'time',
  columns: [
    { name: 'time', type: 'timestamptz' },
    { name: 'host', type: 'text' },
    { name: 'a', type: 'numeric(12,3)' },
    { name: 'b', type: 'numeric(5,0)' },
    { name: 'c', type: 'numeric(30,10)' },
    { name: 'd', type: 'numeric(28,14)' },
    { name: 'k', type: 'integer' },
  ],
  hot: { chunkInterval: '1h', retention: '24h' },
  cold: { orderBy: ['host', 'time'], partitionBy: 'day' },
  rollups: [{ name: '1d', interval: '1d', groupBy: ['host'], aggregates: { a: ['min', 'max'], d: ['min', 'max'] } }],
});

/**
 * Hosts h1, h2, 'ß-ü', '日本', NULL repeat a few values (ties, 0.000, negatives, NULLs) and
 * h1 the largest ones; 'solo' has one row (cold), 'none' only NULLs (in both tiers).
 */
const ROWS = `SELECT t,
    (ARRAY['h1', 'h2', 'ß-ü', '日本', NULL])[1 + n % 5],
    CASE WHEN n % 13 = 0 THEN NULL WHEN n % 5 = 0 THEN (ARRAY[999999999.999, -999999999.999, 999999999.998])[1 + n % 3]
         ELSE (ARRAY[1.5, 0.000, -2.25, 1.5, 0.001, 7, -0.125])[1 + (n * 3) % 7] END,
    CASE WHEN n % 11 = 0 THEN NULL WHEN n % 5 = 0 THEN (ARRAY[99999, -99999, 99998])[1 + n % 3] ELSE (n % 9) - 4 END,
    CASE WHEN n % 7 = 0 THEN NULL WHEN n % 5 = 0 THEN 99999999999999999999.9999999999 - (n % 3)
         ELSE (n % 17)::numeric / 3 - 2 END,
    CASE WHEN n % 6 = 0 THEN NULL WHEN n % 5 = 0 THEN (ARRAY[99999999999999.99999999999999, -99999999999999.99999999999998])[1 + n % 2]
         ELSE (n % 23)::numeric / 7 END,
    (n % 7)::int - 3
  FROM generate_series(timestamptz '2026-01-01 00:00+00', timestamptz '2026-01-03 23:50+00', interval '10 minutes') WITH ORDINALITY g(t, n)
  UNION ALL SELECT timestamptz '2026-01-01 03:03+00', 'solo', 12.345, 7, 0.0000000001, -0.00000000000001, 7
  UNION ALL SELECT t, 'none', NULL, NULL, NULL, NULL, NULL FROM unnest(ARRAY[timestamptz '2026-01-01 04:00+00', '2026-01-03 04:00+00']) t
  UNION ALL SELECT timestamptz '2026-01-02 00:00+00' + i * interval '5 seconds', 'flat', 0.000, (i = 1)::int, 0, 0, (i = 1)::int FROM generate_series(1, 20000) i`;
const W = '2026-01-03T00:00:00Z';
/** A late row: below W, yet in the hot table. */
const LATE = `SELECT timestamptz '2026-01-01 05:05+00', 'h2', 0.333, -3, 1.0000000001, 2.5, 0`;

const PASSWORD = 'numeric-secret';
const SUMS = `sum(a), sum(b), sum(c), sum(d), avg(a), avg(b), avg(c), avg(d)`;
const VARIANCES = `var_samp(a), var_pop(b), variance(d), stddev(a), stddev_pop(b), stddev_samp(d), stddev_pop(a), var_samp(b)`;

jest.setTimeout(60_000);

describe('exact partials of numeric(p,s) columns through the proxy', () => {
  let bed: DifferentialBed;

  /** Same answer as PostgreSQL's, exact text; returns the proxy's EXPLAIN. */
  async function expectSame(sql: string): Promise<string> {
    await expectSameAnswer(bed, sql);
    return explainText(bed.client, sql);
  }

  beforeAll(async () => {
    bed = await startDifferentialBed(TABLE, {
      reference: 'numeric_reference', rows: ROWS, late: LATE,
      partitions: ['2026-01-01T00:00:00Z', '2026-01-05T00:00:00Z'], watermark: W, password: PASSWORD,
    });
    const cold = await bed.fx.cold.query<{ n: string }>(`SELECT count() AS n FROM ${bed.fx.database}.numeric_events`);
    expect(Number(cold[0].n)).toBeGreaterThan(200);
  }, 180_000);

  afterAll(async () => {
    await bed?.close();
  });

  it('sums and averages at the column\'s scale, cold rows read as Decimal partials', async () => {
    const sql = `SELECT host, ${SUMS}, count(*) FROM numeric_events GROUP BY host ORDER BY host`;
    const plan = await expectSame(sql);
    expect(plan).toMatch(/Strata plan class: partials/);
    // Decimal128 where 2^64 rows of p digits fit in 37 digits, Decimal256 beyond; never the raw column grouped.
    const cold = coldSqlOf(plan);
    expect(cold).toMatch(/sum\(toDecimal128\(`a`, 3\)\)[\s\S]*sum\(toDecimal128\(`b`, 0\)\)[\s\S]*sum\(toDecimal256\(`c`, 10\)\)/);
    expect(cold).not.toMatch(/GROUP BY .*`[abcd]`/);
    // h1's sums are past the column's precision (numeric(12,3) holds less than 10^9).
    const h1 = await bed.client.query({ text: `SELECT sum(a)::text FROM numeric_events WHERE host = 'h1'`, rowMode: 'array' });
    expect(Number(h1.rows[0][0])).toBeGreaterThan(1e10);
    // Ungrouped over cold rows and the late hot row.
    await expectSame(`SELECT ${SUMS} FROM numeric_events WHERE time < '2026-01-02'`);
    // Cold rows alone (the late hot row is at 05:05): ClickHouse's text trims trailing zeros, PostgreSQL's sum keeps them.
    await expectSame(`SELECT host, ${SUMS} FROM numeric_events WHERE time >= '2026-01-01 06:00+00' AND time < '2026-01-02' GROUP BY host ORDER BY host`);
    const r = await bed.client.query({ text: `SELECT sum(a)::text, sum(d)::text FROM numeric_events WHERE time >= '2026-01-01 06:00+00' AND time < '2026-01-02' AND a = 1.5`, rowMode: 'array' });
    expect(r.rows[0]).toEqual([expect.stringMatching(/^\d+\.000$/), expect.stringMatching(/\.\d{14}$/)]);
    await expectSame(`SELECT ${SUMS}, count(*) FROM numeric_events WHERE time < '2025-01-02'`);
    await expectSame(`SELECT date_trunc('hour', time) AS h, ${SUMS} FROM numeric_events WHERE time >= '2026-01-02 18:00+00' AND time < '2026-01-03 06:00+00' GROUP BY 1 HAVING sum(b) > -50000 ORDER BY 1`);
    await expectSame(`SELECT host, sum(a) FILTER (WHERE b > 0), avg(d) FILTER (WHERE host <> 'h1'), avg(a) FROM numeric_events WHERE time >= '2026-01-01 12:00+00' GROUP BY host ORDER BY host`);
  });

  it('variances and standard deviations digit for digit, one-row and all-NULL groups included', async () => {
    const sql = `SELECT host, ${VARIANCES}, count(*) FROM numeric_events GROUP BY host ORDER BY host`;
    const plan = await expectSame(sql);
    expect(plan).toMatch(/Strata plan class: partials/);
    const cold = coldSqlOf(plan);
    expect(cold).toMatch(/toDecimal256\(`a`, 3\) \* toDecimal256\(`a`, 3\)/);
    expect(cold).toMatch(/toDecimal128\(`b`, 0\) \* toDecimal128\(`b`, 0\)/);
    expect(cold).toMatch(/toDecimal256\(`d`, 14\) \* toDecimal256\(`d`, 14\)/);
    await expectSame(`SELECT ${VARIANCES} FROM numeric_events WHERE time < '2026-01-02'`);
    await expectSame(`SELECT host, ${VARIANCES} FROM numeric_events WHERE time >= '2026-01-01 06:00+00' AND time < '2026-01-02' GROUP BY host ORDER BY host`);
    await expectSame(`SELECT ${VARIANCES} FROM numeric_events WHERE time = '2026-01-01 00:10+00'`);
    await expectSame(`SELECT date_trunc('hour', time) AS h, ${VARIANCES} FROM numeric_events WHERE time >= '2026-01-02 20:00+00' AND time < '2026-01-03 04:00+00' GROUP BY 1 ORDER BY 1`);
    await expectSame(`SELECT host, stddev(a) FILTER (WHERE b < 0), var_pop(d) FILTER (WHERE a > 0) FROM numeric_events GROUP BY host ORDER BY host`);
    // A variance below 10^-4 has scale 24 (20,000 rows, one of them 1): its root needs 24 decimals, not numeric_div's 20 —
    // integers too (they share the square root).
    const flat = `SELECT host, var_pop(k), stddev_pop(k), stddev_samp(k), stddev_pop(b), stddev(k) FILTER (WHERE host = 'flat') FROM numeric_events WHERE host IN ('flat', 'h1') GROUP BY host ORDER BY host`;
    expect(await expectSame(flat)).toMatch(/Strata plan class: partials[\s\S]*toInt256\(`k`\)/);
  });

  it('numeric(30,10)\'s variance would need 79 digits: finished in PostgreSQL from raw rows, still exact', async () => {
    const sql = `SELECT host, var_samp(c), stddev(c), sum(c) FROM numeric_events GROUP BY host ORDER BY host`;
    expect(await expectSame(sql)).toMatch(/Strata plan class: raw/);
    expect(await expectSame(`SELECT host, sum(c), avg(c) FROM numeric_events GROUP BY host ORDER BY host`)).toMatch(/Strata plan class: partials/);
  });

  it('min and max as partials keep the column\'s scale', async () => {
    const sql = `SELECT host, min(a), max(a), min(b), max(c), min(d) FILTER (WHERE host <> 'h2'), max(a) FILTER (WHERE host = 'none') FROM numeric_events GROUP BY host ORDER BY host`;
    const plan = await expectSame(sql);
    const cold = coldSqlOf(plan);
    expect(cold).toMatch(/min\(`a`\)[\s\S]*max\(`a`\)/);
    expect(cold).not.toMatch(/GROUP BY .*`[abcd]`/);
    await expectSame(`SELECT min(a), max(a), max(d) FROM numeric_events WHERE time < '2026-01-02' AND a >= 0`);
    // A FILTER on a numeric column stays PostgreSQL's (the column joins the cold grouping): still the same.
    await expectSame(`SELECT host, min(d) FILTER (WHERE b > 0), max(b) FROM numeric_events WHERE time >= '2026-01-02 12:00+00' GROUP BY host ORDER BY host`);
    const r = await bed.client.query({ text: `SELECT min(a)::text FROM numeric_events WHERE time < '2026-01-02' AND a > 1`, rowMode: 'array' });
    expect(r.rows[0][0]).toBe('1.500');
    // Day buckets a rollup covers: its Decimal min/max, read back at the column's scale.
    const days = `SELECT date_bin('1 day', time, timestamptz '2026-01-01 00:00+00') AS day, host, min(a), max(a), max(d) FROM numeric_events GROUP BY 1, 2 ORDER BY 1, 2`;
    expect(await expectSame(days)).toMatch(/Strata plan class: rollup/);
  });

  it('a NaN in a hot row (kept only where the cold-range constraint is not yet validated) gives NaN, as PostgreSQL', async () => {
    // A table strata apply made refuses NaN at write time (the cold tier's Decimal has none) ...
    const constraint = 'numeric_events_a_cold_range';
    await expect(bed.ref.query(`INSERT INTO numeric_events VALUES ('2026-01-03 10:00+00', 'h2', 'NaN', 1, 1, 1, 1)`)).rejects.toMatchObject({ code: '23514', constraint });
    // ... but it adds the constraint NOT VALID to a table that had rows: such a row can still be in the hot tier.
    await bed.ref.query(`ALTER TABLE numeric_events DROP CONSTRAINT "${constraint}"`);
    for (const t of ['numeric_events', 'numeric_reference']) {
      await bed.ref.query(`INSERT INTO ${t} VALUES ('2026-01-03 10:00+00', 'h2', 'NaN', 1, 1, 1, 1), ('2026-01-03 10:10+00', 'nan', 'NaN', 1, 1, 1, 1)`);
    }
    const plan = await expectSame(`SELECT host, ${SUMS}, ${VARIANCES}, min(a), max(a) FROM numeric_events GROUP BY host ORDER BY host`);
    expect(plan).toMatch(/Strata plan class: partials/);
    await expectSame(`SELECT ${VARIANCES}, avg(a) FROM numeric_events WHERE time >= '2026-01-02'`);
  });

  it('a tiering run sets the NaN rows aside (strata.quarantine) and moves the rest; answers stay exact', async () => {
    const run = await runTiering(tiererDeps(bed.fx.pgUrl, bed.fx.cold, bed.fx.database), { table: 'numeric_events', until: new Date('2026-01-03T12:00:00Z') });
    expect(run).toMatchObject({ watermark: expect.stringMatching(/^2026-01-03T12:00:00/), quarantinedRows: 2 });
    const aside = await bed.ref.query(`SELECT row->>'a' AS a FROM strata.quarantine WHERE table_name = 'numeric_events'`);
    expect(aside.rows).toEqual([{ a: 'NaN' }, { a: 'NaN' }]);
    await bed.ref.query(`DELETE FROM numeric_reference WHERE a = 'NaN'`);
    const plan = await expectSame(`SELECT host, ${SUMS}, ${VARIANCES}, min(a), max(a) FROM numeric_events GROUP BY host ORDER BY host`);
    expect(plan).toMatch(/W = 2026-01-03T12:00:00/);
  });
});
