import type { Client } from 'pg';
import { type Outcome } from './corpus/compare';
import { startDifferentialBed, textOutcome, tieredSpec, type DifferentialBed } from './differential-bed';

/**
 * Aggregate FILTER clauses ClickHouse evaluates exactly go into the cold partials as -If
 * combinators (engine/filtered-partials.ts), so the condition's columns leave the cold
 * grouping; other FILTERs keep today's plan (their columns grouped, PostgreSQL filters).
 * Through the real proxy against PostgreSQL holding every row: a condition column with
 * NULLs (the condition NULL), NaN and ±Infinity values, empty groups, count(*)/count(x)/
 * sum/avg/min/max and integer partials with FILTER beside unfiltered aggregates, cold-only
 * ranges and ranges spanning W, late hot rows below W.
 */
const TABLE = tieredSpec({
  table: 'filter_events',
  timeColumn: 'time',
  columns: [
    { name: 'time', type: 'timestamptz' },
    { name: 'host', type: 'text' },
    { name: 'level', type: 'text' },
    { name: 'v', type: 'double precision' },
    { name: 'n', type: 'integer' },
    { name: 'b', type: 'bigint' },
  ],
  hot: { chunkInterval: '1h', retention: '24h' },
  cold: { orderBy: ['host', 'time'], partitionBy: 'day' },
});

/** level NULL on every 6th row, non-ASCII on some; v holds NaN, ±Infinity, -0 and NULLs. */
const ROWS = `SELECT t,
    (ARRAY['h1', 'h2', 'ß-ü', NULL])[1 + n % 4],
    (ARRAY['info', 'warn', 'error', 'info', 'érreur', NULL])[1 + (n * 5) % 6],
    CASE WHEN n % 7 = 0 THEN (ARRAY['NaN', 'Infinity', '-Infinity', '-0', NULL])[1 + (n / 7) % 5]::float8 ELSE (n % 9)::float8 / 4 - 1 END,
    CASE WHEN n % 11 = 0 THEN NULL ELSE (n % 13)::int4 - 6 END,
    CASE WHEN n % 10 = 0 THEN NULL ELSE 9223372036854775807 - (n % 3) END
  FROM generate_series(timestamptz '2026-01-01 00:00+00', timestamptz '2026-01-03 23:50+00', interval '10 minutes') WITH ORDINALITY g(t, n)`;
const W = '2026-01-03T00:00:00Z';
const LATE = `SELECT timestamptz '2026-01-01 05:05+00', 'h2', 'error', 'NaN'::float8, 100, 7::int8`;

jest.setTimeout(60_000);

describe('aggregate FILTER as ClickHouse -If partials', () => {
  let bed: DifferentialBed;
  let client: Client;

  const explain = async (sql: string) => (await client.query(`EXPLAIN ${sql}`)).rows.map((r) => r['QUERY PLAN']).join('\n');

  async function expectSame(sql: string, values?: unknown[]): Promise<Outcome> {
    const actual = await textOutcome(client, sql, values);
    const expected = await textOutcome(bed.ref, sql.replace(/\bfilter_events\b/g, 'filter_reference'), values);
    expect(actual.ok).toBe(true);
    expect({ sql, outcome: actual }).toEqual({ sql, outcome: expected });
    return actual;
  }

  /** The ClickHouse statement's GROUP BY (empty when it has none). */
  const coldGroupBy = (plan: string) => /ClickHouse: .*?( GROUP BY .*?)?( HAVING|$)/m.exec(plan)?.[1] ?? '';

  beforeAll(async () => {
    bed = await startDifferentialBed(TABLE, {
      reference: 'filter_reference', rows: ROWS, late: LATE,
      partitions: ['2026-01-01T00:00:00Z', '2026-01-05T00:00:00Z'], watermark: W, password: 'filter-secret',
    });
    client = bed.client;
    const cold = await bed.fx.cold.query<{ n: string }>(`SELECT count() AS n FROM ${bed.fx.database}.filter_events`);
    expect(Number(cold[0].n)).toBeGreaterThan(200);
  }, 180_000);

  afterAll(async () => bed?.close());

  const ALL = `count(*) FILTER (WHERE level = 'error') AS errors, count(v) FILTER (WHERE level = 'error') AS error_values,
      sum(v) FILTER (WHERE level IN ('warn', 'érreur')) AS s, avg(v) FILTER (WHERE level <> 'info') AS a,
      min(v) FILTER (WHERE level = 'warn') AS lo, max(v) FILTER (WHERE level = 'warn') AS hi,
      sum(n) FILTER (WHERE level = 'error') AS ns, avg(b) FILTER (WHERE level = 'error') AS ba, var_pop(n) FILTER (WHERE level IS NULL) AS nv,
      min(n) FILTER (WHERE v > 0) AS nlo, max(b) FILTER (WHERE v > 0) AS bhi, min(time) FILTER (WHERE level = 'error') AS first_error,
      count(*) AS total, sum(v) AS all_sum, max(v) AS all_max`;

  test.each([
    ['every range', ''],
    ['a cold-only range', `WHERE time < '2026-01-02 12:00+00'`],
    ['a range spanning W', `WHERE time >= '2026-01-02 20:00+00' AND time < '2026-01-03 04:00+00'`],
    ['a hot-only range', `WHERE time >= '2026-01-03 10:00+00'`],
  ])('count/sum/avg/min/max and integer partials with FILTER beside unfiltered ones, %s', async (_name, where) => {
    const sql = `SELECT host, ${ALL} FROM filter_events ${where} GROUP BY host ORDER BY host NULLS FIRST`;
    const plan = await explain(sql);
    expect(plan).toMatch(where.includes('10:00') ? /Strata plan class: hot/ : /Strata plan class: partials/);
    if (/ClickHouse: SELECT/.test(plan)) {
      expect(plan).toMatch(/countIf\(/);
      expect(coldGroupBy(plan)).not.toMatch(/level|`v`/);
    }
    await expectSame(sql);
  });

  test('the errors-per-day statement groups its cold partials by day alone', async () => {
    const sql = `SELECT date_trunc('day', time) AS day, count(*) FILTER (WHERE level = 'error') AS errors, count(*) AS total FROM filter_events GROUP BY 1 ORDER BY 1`;
    const plan = await explain(sql);
    expect(plan).toMatch(/countIf\(\(`level` = /);
    expect(coldGroupBy(plan)).not.toMatch(/level/);
    await expectSame(sql);
  });

  test('conditions that are NULL on some rows, NaN compared, NOT over NULL, OR', async () => {
    for (const sql of [
      `SELECT host, count(*) FILTER (WHERE level IS NULL), count(*) FILTER (WHERE NOT (level = 'info')), count(*) FILTER (WHERE level IS NOT NULL) FROM filter_events GROUP BY 1 ORDER BY 1 NULLS LAST`,
      `SELECT count(*) FILTER (WHERE v > 1), count(*) FILTER (WHERE v >= 2), max(v) FILTER (WHERE v <> 1), min(v) FILTER (WHERE v < 0 OR level = 'warn') FROM filter_events`,
      `SELECT level, count(*) FILTER (WHERE n > 0 AND b IS NULL), sum(b) FILTER (WHERE n IN (1, 2, 3)), avg(v) FILTER (WHERE n BETWEEN -2 AND 2) FROM filter_events WHERE time < '${W}' GROUP BY level ORDER BY level`,
    ]) {
      expect(coldGroupBy(await explain(sql))).not.toMatch(/`n`|`b`|`v`/);
      await expectSame(sql);
    }
  });

  test('groups where no row passes: count 0 and NULL sums, averages, minima and maxima', async () => {
    for (const where of ['', `WHERE time < '2026-01-02'`, `WHERE time < '2025-01-01'`]) {
      await expectSame(
        `SELECT host, count(*) FILTER (WHERE level = 'nope'), count(v) FILTER (WHERE level = 'nope'), sum(v) FILTER (WHERE level = 'nope'), avg(v) FILTER (WHERE level = 'nope'),
           min(v) FILTER (WHERE level = 'nope'), max(n) FILTER (WHERE level = 'nope'), sum(n) FILTER (WHERE level = 'nope'), min(time) FILTER (WHERE level = 'nope'), count(*)
         FROM filter_events ${where} GROUP BY host ORDER BY host`,
      );
      await expectSame(`SELECT count(*) FILTER (WHERE level = 'nope'), min(v) FILTER (WHERE level = 'nope'), sum(b) FILTER (WHERE level = 'error') FROM filter_events ${where}`);
    }
  });

  test('a FILTER ClickHouse cannot evaluate exactly keeps its columns grouped (beside a pushed one)', async () => {
    const sql = `SELECT host, count(*) FILTER (WHERE length(level) > 4) AS long_levels, count(*) FILTER (WHERE level = 'error') AS errors, sum(v) FILTER (WHERE v::text = '1.25'), count(*) FILTER (WHERE v >= 'Infinity') FROM filter_events GROUP BY host ORDER BY host`;
    const plan = await explain(sql);
    expect(coldGroupBy(plan)).toMatch(/level/);
    expect(plan).toMatch(/countIf\(/);
    await expectSame(sql);
  });

  test('beside whole aggregates the filtered partials are computed over cold rows and the shipped hot rows', async () => {
    for (const where of [`WHERE time < '2026-01-02'`, `WHERE time >= '2026-01-01 12:00+00' AND time < '2026-01-03 06:00+00'`]) {
      const sql = `SELECT host, percentile_disc(0.5) WITHIN GROUP (ORDER BY n) AS p, count(*) FILTER (WHERE level = 'error') AS e, sum(v) FILTER (WHERE level = 'warn'),
          min(b) FILTER (WHERE level IS NULL), count(v) FILTER (WHERE level = 'nope') FROM filter_events ${where} GROUP BY host ORDER BY host`;
      const plan = await explain(sql);
      expect(plan).toMatch(/Strata plan class: whole/);
      expect(coldGroupBy(plan)).not.toMatch(/level/);
      await expectSame(sql);
    }
  });

  test('HAVING, ORDER BY, windows and parameters over filtered aggregates', async () => {
    await expectSame(
      `SELECT host, count(*) FILTER (WHERE level = 'error') AS e FROM filter_events GROUP BY host HAVING count(*) FILTER (WHERE level = 'error') > 10 ORDER BY max(v) FILTER (WHERE level = 'error') DESC, host`,
    );
    await expectSame(
      `SELECT date_trunc('hour', time) AS h, sum(count(*) FILTER (WHERE level = 'warn')) OVER (ORDER BY date_trunc('hour', time)) FROM filter_events WHERE time >= '2026-01-02 20:00+00' GROUP BY 1 ORDER BY 1`,
    );
    await expectSame(`SELECT host, count(*) FILTER (WHERE level = $1), sum(v) FILTER (WHERE n > $2) FROM filter_events GROUP BY host ORDER BY host`, ['error', 2]);
    // A pushed filter beside an aggregate that makes the statement read raw rows.
    await expectSame(`SELECT host, count(*) FILTER (WHERE level = 'error'), string_agg(level, ',' ORDER BY time) FROM filter_events WHERE time < '2026-01-01 06:00+00' GROUP BY host ORDER BY host`);
  });
});
