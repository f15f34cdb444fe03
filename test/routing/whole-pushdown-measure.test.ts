import { measureSpec, medianRun, startMeasureBed, type MeasureBed } from '../support/measure-bed';

/**
 * A measurement, not part of the suite (STRATA_MEASURE_WHOLE=1 runs it): per-host p95 and
 * stddev over ROWS rows, five sixths of them cold, through the proxy three ways — whole
 * pushdown (hot rows shipped), the same answer asked so that it is not pushed (raw cold
 * rows copied into PostgreSQL: percentile_cont(0.05) … ORDER BY v DESC is the same p95),
 * and PostgreSQL alone holding every row. Prints the median of five runs of each.
 *
 *   STRATA_MEASURE_WHOLE=1 ROWS=2000000 scripts/run-jest.sh test/routing/whole-pushdown-measure.test.ts
 */
const run = process.env.STRATA_MEASURE_WHOLE === '1' ? describe : describe.skip;
const ROWS = Number(process.env.ROWS ?? 1_000_000);

const spec = measureSpec();

jest.setTimeout(1_800_000);

run('whole pushdown, measured', () => {
  let bed: MeasureBed;

  beforeAll(async () => {
    // ROWS rows evenly over six days; W after the fifth.
    bed = await startMeasureBed(spec, { rows: ROWS, days: 6, hosts: 20, until: '2026-01-06T00:00:00Z' });
  });

  afterAll(() => bed?.close());

  it('prints the three timings', async () => {
    const { client, fx } = bed;
    const whole = `SELECT host, percentile_cont(0.95) WITHIN GROUP (ORDER BY v), stddev(v) FROM measure_events GROUP BY host ORDER BY host`;
    const raw = `SELECT host, percentile_cont(0.05) WITHIN GROUP (ORDER BY v DESC), stddev(v) FROM measure_events GROUP BY host ORDER BY host`;
    expect((await client.query(`EXPLAIN ${whole}`)).rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/plan class: whole/);
    expect((await client.query(`EXPLAIN ${raw}`)).rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/plan class: raw/);
    const a = await medianRun(client, whole);
    const b = await medianRun(client, raw);
    const c = await medianRun(fx.hot, whole.replace('measure_events', 'measure_reference'));
    expect(a.rows.map((r) => (r as unknown[])[1])).toEqual(c.rows.map((r) => (r as unknown[])[1]));
    process.stdout.write(`${JSON.stringify({ rows: ROWS, whole_ms: a.ms, raw_fallback_ms: b.ms, postgres_ms: c.ms, speedup_vs_postgres: +(c.ms / a.ms).toFixed(2), speedup_vs_raw: +(b.ms / a.ms).toFixed(2) })}\n`);
  });
});
