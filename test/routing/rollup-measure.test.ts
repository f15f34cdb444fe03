import { measureSpec, medianRun, startMeasureBed, type MeasureBed } from '../support/measure-bed';

/**
 * A measurement, not part of the suite (STRATA_MEASURE_ROLLUP=1 runs it): a 30-day
 * dashboard at 1-hour buckets over ROWS rows (HOSTS hosts, evenly spread, 31 days, W
 * after the 30th), which the table's 1m rollup (by host) serves, through the proxy
 * three ways — rollup-served, the same statement with `SET strata.rollups = off` (raw
 * cold rows pre-aggregated by ClickHouse: the partial path), and PostgreSQL alone
 * holding every row. Prints the median of five runs of each; the rollup's gain over
 * raw rows is bounded by the raw rows per rollup row (ROWS / (30 × 1440 × HOSTS)).
 *
 *   STRATA_MEASURE_ROLLUP=1 ROWS=3000000 HOSTS=5 scripts/run-jest.sh test/routing/rollup-measure.test.ts
 */
const run = process.env.STRATA_MEASURE_ROLLUP === '1' ? describe : describe.skip;
const ROWS = Number(process.env.ROWS ?? 1_000_000);
const HOSTS = Number(process.env.HOSTS ?? 5);

const spec = measureSpec({ rollups: [{ name: '1m', interval: '1m', groupBy: ['host'], aggregates: { v: ['avg', 'min', 'max', 'sum', 'count'] } }] });

jest.setTimeout(3_600_000);

run('rollup-served dashboards, measured', () => {
  let bed: MeasureBed;

  beforeAll(async () => {
    bed = await startMeasureBed(spec, { rows: ROWS, days: 31, hosts: HOSTS, until: '2026-01-31T00:00:00Z' });
  });

  afterAll(() => bed?.close());

  it('prints the three timings', async () => {
    const sql = `SELECT time_bucket('1 hour', time) AS t, host, avg(v), max(v), count(*) FROM measure_events
                  WHERE time >= '2026-01-01 00:00+00' AND time < '2026-01-31 00:00+00' GROUP BY 1, 2 ORDER BY 1, 2`;
    const { client, fx } = bed;
    const plan = async () => (await client.query(`EXPLAIN ${sql}`)).rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(await plan()).toMatch(/plan class: rollup/);
    const rollup = await medianRun(client, sql);
    await client.query('SET strata.rollups = off');
    expect(await plan()).toMatch(/plan class: partials/);
    const raw = await medianRun(client, sql);
    await client.query('RESET strata.rollups');
    const pg = await medianRun(fx.hot, sql.replace('measure_events', 'measure_reference'));
    expect(rollup.rows.map((r) => [r[0], r[1], r[4]])).toEqual(pg.rows.map((r) => [r[0], r[1], r[4]]));
    process.stdout.write(
      `${JSON.stringify({ rows: ROWS, hosts: HOSTS, rollup_ms: rollup.ms, raw_partials_ms: raw.ms, postgres_ms: pg.ms, rollup_gain: +(raw.ms / rollup.ms).toFixed(2), speedup_vs_postgres: +(pg.ms / rollup.ms).toFixed(2) })}\n`,
    );
  });
});
