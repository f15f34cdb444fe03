import { chQualified, clickhouseDdl, createColdStore, DATASET_START, type ColdPartitionBy, type ColdStore } from '@strata/core';
import { startChdbHttpServer } from '../../test/support/cold-endpoint';
import { benchLayout, benchLogsSpec, benchMetricsSpec, benchPartitionBy, coldParts, generateLogsSql, generateMetricsSql, type BenchLayout } from './bench-data';
import { benchQueries } from './queries';

/**
 * What the raw cold tables' partitions cost ClickHouse alone (issue 14, item 5): bench/cold's
 * cold rows (metrics below W, every log row) loaded once per partitioning into one chDB
 * endpoint, parts merged, and each hand-written bench query (queries.ts; the rollup query
 * over raw rows) plus two 5-minute reads away from the newest part timed against each
 * layout in turn, run after run, so load drifts hit both alike. Per query: the median ms
 * and the parts and granules it reads (EXPLAIN indexes = 1); last, what one TTL merge of
 * the oldest partition rewrites. No PostgreSQL.
 *
 *   node .build/bench/cold/partitions.js
 *     PARTITIONS_ROWS  the bench size to reproduce (default 10000000: 231 days)
 *     PARTITIONS_RUNS  runs per query and layout (default 15)
 *     PARTITIONS_OF    the layouts, comma-separated (default day,month)
 */
const ROWS = Number(process.env.PARTITIONS_ROWS ?? 10_000_000);
const RUNS = Number(process.env.PARTITIONS_RUNS ?? 15);
const LAYOUTS = (process.env.PARTITIONS_OF ?? 'day,month').split(',').map((p) => benchPartitionBy(p)!);

interface Probe {
  name: string;
  /** The statement over database `db`. */
  sql(db: string): string;
}

/** The bench's hand-written statements, plus 5-minute raw reads in the middle of the cold range. */
function probes(layout: BenchLayout): Probe[] {
  const ch = (minute: number) => `toDateTime64('${layout.iso(minute).replace('T', ' ').replace('Z', '')}', 6, 'UTC')`;
  const mid = Math.floor((layout.minutes - layout.hotMinutes) / 2);
  const byName = (name: string) => (db: string) => {
    const q = benchQueries(layout, db).find((x) => x.name === name)!;
    return q.clickhouseRaw ?? q.clickhouse;
  };
  return [
    ...benchQueries(layout, 'db').map((q) => ({ name: q.name + (q.clickhouseRaw ? ' (raw rows)' : ''), sql: byName(q.name) })),
    {
      name: 'metrics-5m-mid',
      sql: (db) => `SELECT time, app, host, value FROM \`${db}\`.metrics_events WHERE time >= ${ch(mid)} AND time < ${ch(mid + 5)} ORDER BY time DESC, app, host LIMIT 20`,
    },
    {
      name: 'logs-5m-mid',
      sql: (db) => `SELECT timestamp, host, message FROM \`${db}\`.logs_events WHERE timestamp >= ${ch(mid)} AND timestamp < ${ch(mid + 5)} ORDER BY timestamp`,
    },
  ];
}

async function load(store: ColdStore, layout: BenchLayout, partitionBy: ColdPartitionBy): Promise<string> {
  const database = `parts_${partitionBy}`;
  const target = { database, autoStatistics: true };
  await store.command(clickhouseDdl.createDatabaseSql(target));
  const metrics = benchMetricsSpec(partitionBy);
  // Without a TTL until ttlMerge sets one: a part keeps the TTL it was written under.
  const { retention: _, ...logsCold } = benchLogsSpec(partitionBy).cold;
  const logs = { ...benchLogsSpec(partitionBy), cold: logsCold };
  for (const spec of [metrics, logs]) await store.command(clickhouseDdl.createRawTableSql(spec, target));
  await store.command(generateMetricsSql(chQualified(database, metrics.table), layout.minutes - layout.hotMinutes));
  await store.command(generateLogsSql(chQualified(database, logs.table), layout.logRows, layout.minutes));
  for (const spec of [metrics, logs]) await store.command(`OPTIMIZE TABLE ${chQualified(database, spec.table)} FINAL`);
  for (const p of await coldParts(store, database)) console.log(`${partitionBy}: ${p.table} ${p.parts} parts in ${p.partitions} partitions`);
  return database;
}

/** What ClickHouse reads after every index, summed over the tables read: "2/231 parts, 30 granules". */
async function selected(store: ColdStore, sql: string): Promise<string> {
  let parts = 0;
  let total = 0;
  let granules = 0;
  let inRead = false;
  for (const line of (await store.queryTsv(`EXPLAIN indexes = 1 ${sql}`)).split('\n')) {
    if (line.includes('ReadFromMergeTree')) inRead = true;
    const read = /Parts: (\d+) \| Granules: (\d+)/.exec(line);
    if (read) [parts, granules] = [parts + Number(read[1]), granules + Number(read[2])];
    // The first index's "Parts: a/b" after a read: b is every active part of the table.
    const first = /Parts: \d+\/(\d+)/.exec(line);
    if (first && inRead) [total, inRead] = [total + Number(first[1]), false];
  }
  return `${parts}/${total} parts, ${granules} granules`;
}

/**
 * What a retention costs each layout in the background: ClickHouse's TTL merge rewrites the
 * partition holding the rows that expired. Last, as it deletes rows: the logs' first 12
 * hours expire (their TTL set so, now) and the oldest partition is merged.
 */
async function ttlMerge(store: ColdStore, db: string): Promise<string> {
  const table = chQualified(db, 'logs_events');
  const keepS = Math.floor((Date.now() - DATASET_START - 12 * 3_600_000) / 1000);
  await store.command(`ALTER TABLE ${table} MODIFY TTL toDateTime(timestamp) + INTERVAL ${keepS} SECOND SETTINGS materialize_ttl_after_modify = 0`);
  const sql = `SELECT partition_id AS id, sum(rows) AS rows FROM system.parts WHERE database = {db:String} AND table = 'logs_events' AND active GROUP BY id ORDER BY id LIMIT 1`;
  const [before] = await store.query<{ id: string; rows: string }>(sql, { db });
  const t0 = performance.now();
  await store.command(`OPTIMIZE TABLE ${table} PARTITION ID '${before.id}' FINAL`);
  const ms = performance.now() - t0;
  const [after] = await store.query<{ id: string; rows: string }>(sql, { db });
  return `the logs' first 12 h expired: their partition's TTL merge rewrote ${before.rows} rows to ${after.rows} in ${ms.toFixed(0)} ms`;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const layout = benchLayout(ROWS);
  const server = await startChdbHttpServer();
  const store = createColdStore({ kind: 'http', url: server.url, database: 'default', requestTimeoutMs: 900_000, maxRetries: 0 });
  try {
    const databases = new Map<ColdPartitionBy, string>();
    for (const p of LAYOUTS) databases.set(p, await load(store, layout, p));
    for (const probe of probes(layout)) {
      const ms = new Map<ColdPartitionBy, number[]>(LAYOUTS.map((p) => [p, []]));
      for (const db of databases.values()) await store.queryTsv(probe.sql(db)); // warm
      for (let i = 0; i < RUNS; i++) {
        for (const [p, db] of databases) {
          const t0 = performance.now();
          await store.queryTsv(probe.sql(db));
          ms.get(p)!.push(performance.now() - t0);
        }
      }
      const cells = [];
      for (const [p, db] of databases) cells.push(`${p} ${median(ms.get(p)!).toFixed(1).padStart(7)} ms (${await selected(store, probe.sql(db))})`);
      console.log(`${probe.name.padEnd(36)} ${cells.join('   ')}`);
    }
    for (const [p, db] of databases) console.log(`${p}: ${await ttlMerge(store, db)}`);
  } finally {
    await store.close().catch(() => undefined);
    await server.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
