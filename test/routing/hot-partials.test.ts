import { sameAsReference, startDifferentialBed, tieredSpec, type DifferentialBed } from './differential-bed';
import { compareOutcomes, type Outcome } from './corpus/compare';

/**
 * Split partial reads with the hot rows aggregated by PostgreSQL while ClickHouse reads
 * (engine/hot-partials.ts), through the real proxy against PostgreSQL holding every row:
 * time buckets finer and coarser than the partials' cells, text keys of a nondeterministic
 * collation (grouped by bytes, so a statement grouping by bytes keeps 'h1' and 'H1'
 * apart), no GROUP BY, a GROUP BY on a constant over no rows, FILTER and HAVING, integer
 * and numeric sums, -0 and NaN, client parameters, late hot rows below W — and the cases
 * left as before (float keys, a subquery in WHERE, a READ ONLY block).
 */
const TABLE = tieredSpec({
  table: 'hot_partials_events',
  timeColumn: 'time',
  columns: [
    { name: 'time', type: 'timestamptz' },
    { name: 'host', type: 'text' },
    { name: 'v', type: 'double precision' },
    { name: 'n', type: 'integer' },
    { name: 'd', type: 'numeric(10,2)' },
  ],
  hot: { chunkInterval: '1h', retention: '24h' },
  cold: { orderBy: ['host', 'time'], partitionBy: 'day' },
});

const W = '2026-01-03T05:17:00Z';
const CI = `CREATE COLLATION IF NOT EXISTS ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false)`;

/** Every 10 minutes for three days; hosts differing by case; NULL, NaN and -0 now and then. */
const ROWS = `SELECT t, h,
    CASE WHEN k % 11 = 0 THEN NULL WHEN k % 17 = 0 THEN 'NaN'::float8 WHEN k % 5 = 0 THEN -0.0::float8 ELSE (k % 37) / 4.0 END,
    CASE WHEN k % 13 = 0 THEN NULL ELSE (k * 7919) % 2000000000 END,
    CASE WHEN k % 9 = 0 THEN NULL ELSE ((k * 31) % 100000) / 100.0 END
  FROM generate_series(timestamptz '2026-01-01 00:00+00', timestamptz '2026-01-03 23:50+00', interval '10 minutes') WITH ORDINALITY g(t, n),
    LATERAL unnest(ARRAY['h1', 'H1', 'h2']) WITH ORDINALITY AS u(h, i),
    LATERAL (SELECT (n * 3 + i)::int AS k) AS kk`;

/** Late rows: below W, in the hot table; host 'z' holds only -0. */
const LATE = `SELECT timestamptz '2026-01-02 23:59:59+00', 'z', -0.0::float8, 1, 1.00 UNION ALL SELECT timestamptz '2026-01-01 03:00+00', 'z', -0.0::float8, 2, 2.50
  UNION ALL SELECT timestamptz '2026-01-03 20:00+00', 'z', -0.0::float8, 3, NULL`;

const PASSWORD = 'hot-partials-secret';
const PRE_AGGREGATED = /PostgreSQL, while ClickHouse reads: INSERT INTO/;

jest.setTimeout(60_000);

describe('split partial reads with the hot rows aggregated while ClickHouse reads', () => {
  let bed: DifferentialBed;

  beforeAll(async () => {
    bed = await startDifferentialBed(TABLE, {
      reference: 'hot_partials_reference',
      setup: [CI],
      collations: { host: 'ci' },
      rows: ROWS,
      late: LATE,
      partitions: ['2026-01-01T00:00:00Z', '2026-01-05T00:00:00Z'],
      watermark: W,
      password: PASSWORD,
    });
  }, 180_000);

  afterAll(async () => {
    await bed?.close();
  });

  async function expectPreAggregated(sql: string, pre: boolean): Promise<void> {
    const plan = await sameAsReference(bed, sql, { referenceAnswers: true });
    expect({ sql, preAggregated: PRE_AGGREGATED.test(plan), split: /Strata route: split/.test(plan) }).toEqual({ sql, preAggregated: pre, split: true });
  }

  it('answers as PostgreSQL alone with the hot rows pre-aggregated', async () => {
    for (const sql of [
      `SELECT time_bucket('1 hour', time) AS b, host COLLATE "C" AS h, count(*), count(v), sum(v), avg(v), min(v), max(v) FROM hot_partials_events GROUP BY 1, 2 ORDER BY 1, 2`,
      `SELECT date_trunc('day', time) AS b, host COLLATE "C" AS h, sum(n), avg(n), min(n), max(n), sum(d), avg(d), min(d), max(d) FROM hot_partials_events GROUP BY 1, 2 ORDER BY 1, 2`,
      `SELECT floor(extract(epoch from time) / 900) * 900 AS b, count(*), max(time), min(time) FROM hot_partials_events WHERE time >= '2026-01-02 12:00+00' GROUP BY 1 ORDER BY 1`,
      // Grouped by the time itself (no flooring), and by the case-folding collation's groups.
      `SELECT time, count(*), sum(v) FROM hot_partials_events WHERE time >= '2026-01-03 04:00+00' GROUP BY time ORDER BY time`,
      `SELECT lower(host) AS h, count(*), sum(n) FROM hot_partials_events GROUP BY lower(host) ORDER BY 1`,
      `SELECT count(*), sum(v), avg(d), max(n) FROM hot_partials_events WHERE time > '2026-01-02 20:00+00'`,
      `SELECT host COLLATE "C" AS h, count(*) FILTER (WHERE v > 3), sum(v) FILTER (WHERE v > 3), max(d) FILTER (WHERE n > 1000) FROM hot_partials_events GROUP BY 1 HAVING count(*) > 10 ORDER BY 1`,
      // -0 alone (host z) sums to -0; NaN wins max.
      `SELECT host COLLATE "C" AS h, sum(v), max(v), min(v) FROM hot_partials_events GROUP BY 1 ORDER BY 1`,
      `SELECT stddev(n), variance(d), var_pop(n) FROM hot_partials_events WHERE host = 'h2'`,
    ]) {
      await expectPreAggregated(sql, true);
    }
  });

  it('groups nothing from an empty hot side: a constant GROUP BY over no rows has no group', async () => {
    const sql = `SELECT 'x' AS k, count(*), max(v) FROM hot_partials_events WHERE n = -5 GROUP BY 1`;
    const plan = await sameAsReference(bed, sql);
    expect(PRE_AGGREGATED.test(plan)).toBe(true);
    expect((await bed.client.query(sql)).rows).toEqual([]);
  });

  it('binds the client parameters in the hot aggregation', async () => {
    const sql = `SELECT time_bucket('2 hours', time) AS b, sum(n), count(*), max(v) FROM hot_partials_events WHERE time >= $1 AND host = $2 GROUP BY 1 ORDER BY 1`;
    const params = ['2026-01-02 06:00+00', 'h2'];
    const outcome = async (c: typeof bed.client, text: string): Promise<Outcome> => {
      const r = await c.query({ text, values: params, rowMode: 'array' });
      return { ok: true, fields: r.fields.map((f) => ({ name: f.name, typeOid: f.dataTypeID })), rows: (r.rows as unknown[][]).map((row) => row.map((v) => (v === null ? null : v instanceof Date ? v.toISOString() : String(v)))) };
    };
    const actual = await outcome(bed.client, sql);
    const expected = await outcome(bed.ref, sql.replace('hot_partials_events', bed.reference));
    expect(actual.ok && actual.rows.length).toBeGreaterThan(0);
    expect(compareOutcomes(expected, actual, true)).toBeUndefined();
  });

  it('hashes the hot rows with enable_sort off for that statement alone: the client\'s setting is as it was', async () => {
    const sql = `SELECT time_bucket('1 hour', time) AS b, host COLLATE "C" AS h, count(*), sum(v) FROM hot_partials_events GROUP BY 1, 2 ORDER BY 1, 2`;
    const enableSort = async () => (await bed.client.query('SHOW enable_sort')).rows[0].enable_sort as string;
    await bed.client.query('BEGIN');
    try {
      for (const v of ['off', 'on', 'off']) {
        await bed.client.query(`SET LOCAL enable_sort = ${v}`);
        await expectPreAggregated(sql, true);
        expect({ v, after: await enableSort() }).toEqual({ v, after: v });
      }
    } finally {
      await bed.client.query('ROLLBACK');
    }
    expect(await enableSort()).toBe('on');
    await bed.client.query('SET enable_sort = off');
    try {
      await expectPreAggregated(sql, true);
      expect(await enableSort()).toBe('off');
    } finally {
      await bed.client.query('RESET enable_sort');
    }
  });

  it('leaves float keys, subqueries in WHERE and READ ONLY blocks as they were', async () => {
    for (const sql of [
      `SELECT v, count(*) FROM hot_partials_events WHERE v < 2 GROUP BY v ORDER BY v`,
      `SELECT d, count(*) FROM hot_partials_events WHERE d < 3 GROUP BY d ORDER BY d`,
      `SELECT host COLLATE "C" AS h, count(*) FROM hot_partials_events WHERE n IN (SELECT generate_series(1, 100000)) GROUP BY 1 ORDER BY 1`,
    ]) {
      await expectPreAggregated(sql, false);
    }
    await bed.client.query('BEGIN READ ONLY');
    try {
      const sql = `SELECT time_bucket('1 hour', time) AS b, count(*), sum(v) FROM hot_partials_events GROUP BY 1 ORDER BY 1`;
      const plan = await sameAsReference(bed, sql, { referenceAnswers: true });
      expect(PRE_AGGREGATED.test(plan)).toBe(false);
    } finally {
      await bed.client.query('COMMIT');
    }
  });
});
