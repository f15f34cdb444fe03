import { to as copyTo } from 'pg-copy-streams';
import { clickhouseDdl, runTiering, tieredColumns } from '@strata/core';
import { DATASET_START } from '@strata/core';
import { loadDataset, metricsSpec, tieredFixture, tiererDeps } from '../../test/support/tiered-fixture';

/**
 * bench/tiering: rows/s moved by the tierer (PostgreSQL 15 → ClickHouse engine over
 * the production HTTP client) against the raw pipeline on the same rows in the same
 * run: `COPY … TO STDOUT` streamed straight into a ClickHouse TabSeparated insert,
 * with no parsing, checksum, delete or commit. Also the bare extract rate (binary
 * COPY read and discarded). Last line: one JSON object; `ratio` = tierer / raw pipeline.
 *
 *   make bench-tiering            (BENCH_ROWS=1000000 by default)
 */
const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const MINUTES = Math.ceil(ROWS / 30);

async function main(): Promise<void> {
  const spec = metricsSpec({ rollups: [], tiering: { every: '5m', batchRows: 100_000 } });
  const fx = await tieredFixture(spec);
  try {
    console.log(`loading ${MINUTES * 30} rows into PostgreSQL…`);
    await loadDataset(fx.hot, 'public.metrics_events', { toMinute: MINUTES }, spec);
    await fx.hot.query('VACUUM ANALYZE metrics_events');
    const cols = tieredColumns(spec).map((c) => c.name);
    const list = cols.map((c) => `"${c}"`).join(', ');

    // Bare extract: binary COPY out, bytes discarded.
    let t0 = performance.now();
    let bytes = 0;
    for await (const chunk of fx.hot.query(copyTo(`COPY (SELECT ${list} FROM metrics_events) TO STDOUT (FORMAT binary)`)) as AsyncIterable<Buffer>) bytes += chunk.length;
    const extractSec = (performance.now() - t0) / 1000;
    const rows = MINUTES * 30;
    console.log(`extract only (binary COPY):  ${fmt(rows / extractSec)} rows/s  (${(bytes / 1e6).toFixed(0)} MB)`);

    // Raw pipeline: text COPY piped into a ClickHouse TSV insert of the same rows.
    await fx.cold.command(
      clickhouseDdl.createRawTableSql({ ...spec, table: 'bench_raw' }, { database: fx.database }),
    );
    t0 = performance.now();
    const text = fx.hot.query(copyTo(`COPY (SELECT ${list}, 0 FROM metrics_events) TO STDOUT`));
    await fx.cold.insertTsv({ table: `${fx.database}.bench_raw`, columns: [...cols, clickhouseDdl.GEN_COLUMN], data: text, settings: { date_time_input_format: 'best_effort' } });
    const rawSec = (performance.now() - t0) / 1000;
    const rawCount = await fx.cold.query<{ n: string }>(`SELECT count() AS n FROM ${fx.database}.bench_raw`);
    if (Number(rawCount[0].n) !== rows) throw new Error(`raw pipeline inserted ${rawCount[0].n} rows, expected ${rows}`);
    console.log(`raw pipeline (COPY → CH):    ${fmt(rows / rawSec)} rows/s`);

    // The tierer: delete-returning copy, conversion, checksum, verify, commit, drop.
    t0 = performance.now();
    const result = await runTiering(
      tiererDeps(fx.pgUrl, fx.cold, fx.database),
      { table: 'metrics_events', until: new Date(DATASET_START + MINUTES * 60_000) },
    );
    const tierSec = (performance.now() - t0) / 1000;
    if (result.rows !== rows) throw new Error(`tierer moved ${result.rows} rows, expected ${rows}`);
    console.log(`strata tier:                 ${fmt(rows / tierSec)} rows/s  (verify + commit + ${result.droppedPartitions} partitions dropped)`);

    const out = {
      bench: 'tiering',
      rows,
      extract_rows_per_s: Math.round(rows / extractSec),
      raw_pipeline_rows_per_s: Math.round(rows / rawSec),
      tier_rows_per_s: Math.round(rows / tierSec),
      ratio_vs_extract: round(rawSec > 0 ? extractSec / tierSec : 0),
      ratio: round(rawSec / tierSec),
    };
    console.log(JSON.stringify(out));
  } finally {
    await fx.close();
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const round = (n: number) => Math.round(n * 1000) / 1000;

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
