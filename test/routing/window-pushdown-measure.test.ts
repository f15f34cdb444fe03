import { measureSpec, medianRun, startMeasureBed, type MeasureBed } from '../support/measure-bed';

/**
 * A measurement, not part of the suite (STRATA_MEASURE_TOPK=1 runs it): the latest row per
 * host over ROWS rows, five sixths of them cold, through the proxy three ways — top-k
 * (only the cold candidates read), the same answer asked with a condition ClickHouse is
 * not sent (every cold row copied into PostgreSQL: the raw fallback), and PostgreSQL
 * alone holding every row; the same three ways for the largest values of a float column
 * (top-N), and for the first rows of a range with windows that look back and the latest
 * rows with their change (top-N with windows, engine/top-n-windows.ts). Prints the median of five runs of each.
 *
 *   STRATA_MEASURE_TOPK=1 ROWS=1000000 scripts/run-jest.sh test/routing/window-pushdown-measure.test.ts
 */
const run = process.env.STRATA_MEASURE_TOPK === '1' ? describe : describe.skip;
const ROWS = Number(process.env.ROWS ?? 1_000_000);

jest.setTimeout(1_800_000);

run('top-k per partition, measured', () => {
  let bed: MeasureBed;

  beforeAll(async () => {
    bed = await startMeasureBed(measureSpec(), { rows: ROWS, days: 6, hosts: 20, until: '2026-01-06T00:00:00Z' });
  });

  afterAll(() => bed?.close());

  it('prints the three timings', async () => {
    const { client, fx } = bed;
    const topK = `SELECT DISTINCT ON (host) host, time, v FROM measure_events WHERE time < '2026-01-05' ORDER BY host, time DESC`;
    // Every host is non-empty text: the same rows, but the condition stays in PostgreSQL.
    const raw = topK.replace(`WHERE`, `WHERE host || '' <> '' AND`);
    expect((await client.query(`EXPLAIN ${topK}`)).rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/plan class: top-k/);
    expect((await client.query(`EXPLAIN ${raw}`)).rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/plan class: raw/);
    const a = await medianRun(client, topK);
    const b = await medianRun(client, raw);
    const c = await medianRun(fx.hot, topK.replace('measure_events', 'measure_reference'));
    expect(a.rows).toEqual(c.rows);
    expect(b.rows).toEqual(c.rows);
    process.stdout.write(`${JSON.stringify({ rows: ROWS, top_k_ms: a.ms, raw_fallback_ms: b.ms, postgres_ms: c.ms, speedup_vs_postgres: +(c.ms / a.ms).toFixed(2), speedup_vs_raw: +(b.ms / a.ms).toFixed(2) })}\n`);
  });

  /** Through the proxy (top-N), with a condition ClickHouse is not sent (raw fallback), and on PostgreSQL alone. */
  async function printTopNThreeWays(label: string, topN: string): Promise<void> {
    const { client, fx } = bed;
    const raw = topN.replace(`WHERE`, `WHERE host || '' <> '' AND`);
    expect((await client.query(`EXPLAIN ${topN}`)).rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/plan class: top-n/);
    const a = await medianRun(client, topN);
    const b = await medianRun(client, raw);
    const c = await medianRun(fx.hot, topN.replace('measure_events', 'measure_reference'));
    expect(a.rows).toEqual(c.rows);
    process.stdout.write(`${JSON.stringify({ rows: ROWS, [`${label}_ms`]: a.ms, raw_fallback_ms: b.ms, postgres_ms: c.ms, speedup_vs_postgres: +(c.ms / a.ms).toFixed(2), speedup_vs_raw: +(b.ms / a.ms).toFixed(2) })}\n`);
  }

  it('prints the three timings of a top-N by a float column', async () => {
    await printTopNThreeWays('float_top_n', `SELECT time, host, v FROM measure_events WHERE time < '2026-01-05' ORDER BY v DESC, time LIMIT 10`);
  });

  it("prints the three timings of a top-N with windows that look back (each row's change, a moving average)", async () => {
    await printTopNThreeWays(
      'window_top_n',
      `SELECT time, host, v, v - lag(v) OVER (ORDER BY time, host) AS change, avg(v) OVER (ORDER BY time, host ROWS 9 PRECEDING) AS avg10
        FROM measure_events WHERE time >= '2026-01-02' ORDER BY time, host LIMIT 100`,
    );
  });

  it('prints the three timings of the latest rows with their change (a window ordered against the statement)', async () => {
    await printTopNThreeWays(
      'latest_with_change',
      `SELECT time, host, v, v - lag(v) OVER (ORDER BY time, host) AS change FROM measure_events WHERE time < '2026-01-05' ORDER BY time DESC, host DESC LIMIT 100`,
    );
  });
});
