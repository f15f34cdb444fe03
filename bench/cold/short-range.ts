import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { Client, Pool, type PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { chQualified, createColdStore, datasetStream, ensurePartitions, METRICS_EVENTS_COLUMNS_SQL, postgresDdl, type ColdStore } from '@strata/core';
import * as proxy from '@strata/proxy';
import { createTestDatabase } from '../../test/support/postgres';
import { tieredFixture } from '../../test/support/tiered-fixture';
import { benchLayout, benchMetricsSpec, benchPartitionBy, coldParts, generateMetricsSql } from './bench-data';
import { benchQueries } from './queries';

/**
 * Where the time of a short-range query over cold data goes (issue 14, item 5): the two
 * bench-cold queries over minutes around W (`raw-latest-span`, `span-5m-last-2d`) run
 * through the engine many times, every PostgreSQL round trip and ClickHouse request timed
 * and labelled, next to PostgreSQL alone on the same rows and the ClickHouse statement
 * alone (with `EXPLAIN indexes = 1`: parts and granules it reads).
 *
 *   node .build/bench/cold/short-range.js
 *     SHORT_RANGE_ROWS   the bench size whose partitions to reproduce (default 10000000)
 *     SHORT_RANGE_EVERY  keep every n-th minute of the cold rows (default 10): the same
 *                        partitions and parts with fewer rows, so it loads in seconds
 *     SHORT_RANGE_RUNS   runs per query (default 20)
 *     SHORT_RANGE_PARTITION  the cold table's partitionBy (default: the model's, as
 *                        BENCH_COLD_PARTITION in run.ts)
 *     SHORT_RANGE_SMALL_ANSWER_BYTES  the engine's smallColdAnswerBytes (0: stage every
 *                        cold answer in a temporary table, as before it existed)
 *
 * PostgreSQL's reference holds the last three days in full (the queries read the last
 * two): an index scan's time hardly depends on the rows outside its range.
 */
const ROWS = Number(process.env.SHORT_RANGE_ROWS ?? 10_000_000);
const EVERY = Number(process.env.SHORT_RANGE_EVERY ?? 10);
const RUNS = Number(process.env.SHORT_RANGE_RUNS ?? 20);
const PARTITION_BY = benchPartitionBy(process.env.SHORT_RANGE_PARTITION);
const QUERIES = ['raw-latest-span', 'span-5m-last-2d'];

interface Step {
  label: string;
  ms: number;
  /** CPU the other side spent meanwhile (the PostgreSQL backend, the ClickHouse endpoint): robust on a busy machine. */
  cpuMs: number;
}

/** CPU time of every thread of `pid` so far, in ms (/proc/<pid>/task/<tid>/schedstat: ns on a CPU). */
function cpuMsOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
  return ns / 1e6;
}

/** The process listening on `port` (the ClickHouse endpoint's). */
function listenerPid(port: string): number | undefined {
  const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
  const m = /pid=(\d+)/.exec(out);
  return m ? Number(m[1]) : undefined;
}

/** Labels a statement the engine sends PostgreSQL by what it does. */
function labelOf(text: string, kind: string): string {
  const rules: Array<[RegExp, string]> = [
    [/^BEGIN/, 'BEGIN'],
    [/set_config/, 'session settings'],
    [/current_setting\('TimeZone'\), current_setting\('transaction_isolation'/, 'transaction settings'],
    [/tier_state/, 'tier state'],
    [/cold_deletes/, 'cold deletes'],
    [/extract\(epoch FROM/i, 'time bounds'],
    [/^CREATE TEMP TABLE _strata_describe/, 'describe stand-in'],
    [/^CREATE TEMP TABLE/, 'temp table'],
    [/^COPY/, 'COPY cold rows'],
    [/^(COMMIT|ROLLBACK)/, 'COMMIT'],
    [/^RESET ALL/, 'RESET ALL'],
  ];
  for (const [re, label] of rules) if (re.test(text)) return label;
  if (kind === 'describe') return 'describe';
  return /_strata_cold_/.test(text) ? 'rewritten statement' : `other: ${text.slice(0, 40)}`;
}

/** A pool whose one connection times each round trip (query sent → ReadyForQuery). */
function timingPool(pool: Pool, steps: Step[]): Pick<Pool, 'connect'> {
  const patched = new WeakSet<PoolClient>();
  return {
    connect: (async () => {
      const client = await pool.connect();
      if (patched.has(client)) return client;
      patched.add(client);
      const backend = Number((await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
      const pending: Array<{ label: string; t0: number; cpu0: number }> = [];
      const connection = (client as unknown as { connection: NodeJS.EventEmitter }).connection;
      connection.on('readyForQuery', () => {
        const p = pending.shift();
        if (p) steps.push({ label: p.label, ms: performance.now() - p.t0, cpuMs: cpuMsOf(backend) - p.cpu0 });
      });
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: (...args: unknown[]) => unknown }).query = (q: unknown, ...rest: unknown[]) => {
        const sub = q as { text?: string; values?: unknown; _text?: string } | string;
        const text = typeof sub === 'string' ? sub : String(sub.text ?? (sub as { copySql?: string }).copySql ?? '');
        const kind = typeof sub === 'object' && 'values' in sub && sub.values === undefined ? 'describe' : 'run';
        pending.push({ label: labelOf(text, kind), t0: performance.now(), cpu0: cpuMsOf(backend) });
        return query(q, ...rest);
      };
      return client;
    }) as Pool['connect'],
  };
}

/** The cold store with each streamed read timed: until ClickHouse's first bytes, and until its last. */
function timingStore(store: ColdStore, steps: Step[], endpointPid: number | undefined): ColdStore {
  return Object.assign(Object.create(store) as ColdStore, {
    async queryTsvStream(sql: string, params?: Record<string, string>) {
      const t0 = performance.now();
      const cpu0 = cpuMsOf(endpointPid);
      const stream = await store.queryTsvStream(sql, params);
      steps.push({ label: 'ClickHouse first bytes', ms: performance.now() - t0, cpuMs: cpuMsOf(endpointPid) - cpu0 });
      stream.once('end', () => steps.push({ label: 'ClickHouse last bytes', ms: performance.now() - t0, cpuMs: cpuMsOf(endpointPid) - cpu0 }));
      return stream;
    },
  });
}

const median = (xs: number[]) => (xs.length === 0 ? 0 : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]);

async function main(): Promise<void> {
  await proxy.loadSqlParser();
  const layout = benchLayout(ROWS);
  const fx = await tieredFixture(benchMetricsSpec(PARTITION_BY));
  const ref = await createTestDatabase('strata_short_ref');
  const refClient = new Client({ connectionString: ref.url });
  const pool = new Pool({ connectionString: fx.pgUrl, max: 1 });
  const store = createColdStore({ kind: 'http', url: fx.chUrl, database: fx.database, requestTimeoutMs: 900_000, maxRetries: 0 });
  try {
    await refClient.connect();
    const table = chQualified(fx.database, 'metrics_events');
    await store.command(generateMetricsSql(table, layout.minutes - layout.hotMinutes, EVERY));
    await store.command(`OPTIMIZE TABLE ${table} FINAL`);
    for (const p of await coldParts(store, fx.database)) console.log(`cold ${p.table}: ${p.parts} parts in ${p.partitions} partitions`);
    await ensurePartitions(fx.hot, fx.spec, new Date(layout.w), new Date(layout.end));
    await pipeline(datasetStream({ fromMinute: layout.minutes - layout.hotMinutes, toMinute: layout.minutes }), fx.hot.query(copyFrom('COPY metrics_events FROM STDIN')));
    await fx.hot.query(`UPDATE strata.tier_state SET watermark = $1, committed_gen = 1 WHERE table_name = 'metrics_events'`, [layout.w]);
    await fx.hot.query('VACUUM ANALYZE metrics_events');
    await refClient.query(`CREATE TABLE metrics_events (${METRICS_EVENTS_COLUMNS_SQL})`);
    for (const s of postgresDdl.TIME_BUCKET_FUNCTIONS_SQL) await refClient.query(s);
    await pipeline(datasetStream({ fromMinute: layout.minutes - 3 * 1440, toMinute: layout.minutes }), refClient.query(copyFrom('COPY metrics_events FROM STDIN')));
    await refClient.query('CREATE INDEX ON metrics_events (time)');
    await refClient.query('VACUUM ANALYZE metrics_events');

    const steps: Step[] = [];
    const snapshot = await proxy.loadCatalogSnapshot(fx.hot);
    // SHORT_RANGE_SMALL_ANSWER_BYTES=0: every cold answer staged in a temporary table (as before small-cold-answer.ts).
    const smallColdAnswerBytes = process.env.SHORT_RANGE_SMALL_ANSWER_BYTES === undefined ? undefined : Number(process.env.SHORT_RANGE_SMALL_ANSWER_BYTES);
    const cold = timingStore(store, steps, listenerPid(new URL(fx.chUrl).port));
    const engine = proxy.createTierEngine({ hot: timingPool(pool, steps), cold, coldDatabase: fx.database, catalog: snapshot, smallColdAnswerBytes });
    const session = { user: 'postgres', database: 'bench', inTransaction: false, settings: new Map([['TimeZone', 'UTC']]) };
    const run = async (sql: string) => {
      const r = await engine.execute({ sql, params: [], paramTypes: [] }, session);
      const rows: unknown[] = [];
      for await (const row of r.rows) rows.push(row);
      return rows;
    };
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) await store.queryTsv('SELECT 1');
    console.log(`ClickHouse round trip (SELECT 1 over HTTP): ${((performance.now() - t0) / 20).toFixed(2)} ms`);

    for (const q of benchQueries(layout, fx.database).filter((x) => QUERIES.includes(x.name))) {
      const explain = (await run(`EXPLAIN ${q.sql}`)) as string[][];
      const chLine = explain.findIndex((l) => l[0].startsWith('  ClickHouse: SELECT'));
      console.log(`\n== ${q.name}: ${explain[0][0]}, ${explain[1]?.[0]}`);
      for (let i = 0; i < 3; i++) await run(q.sql); // warm
      steps.length = 0;
      const totals: number[] = [];
      const ownCpu: number[] = [];
      const pg: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        let t = performance.now();
        const c0 = process.cpuUsage();
        await run(q.sql);
        totals.push(performance.now() - t);
        const c = process.cpuUsage(c0);
        ownCpu.push((c.user + c.system) / 1000);
        t = performance.now();
        await refClient.query(q.sql);
        pg.push(performance.now() - t);
      }
      const labels = [...new Set(steps.map((s) => s.label))];
      let accounted = 0;
      let accountedCpu = 0;
      for (const label of labels) {
        const per = steps.filter((s) => s.label === label);
        const wall = per.reduce((a, b) => a + b.ms, 0) / RUNS;
        const cpu = per.reduce((a, b) => a + b.cpuMs, 0) / RUNS;
        // The COPY overlaps ClickHouse's stream: wall time up to its first bytes, its CPU to the last.
        if (label !== 'ClickHouse last bytes') accounted += wall;
        if (label !== 'ClickHouse first bytes') accountedCpu += cpu;
        console.log(`  ${label.padEnd(24)} ${wall.toFixed(2).padStart(8)} ms wall ${cpu.toFixed(2).padStart(7)} ms CPU of the other side (${per.length / RUNS} per statement)`);
      }
      console.log(`  ${'engine total'.padEnd(24)} ${median(totals).toFixed(2).padStart(8)} ms wall (median); steps add up to ${accounted.toFixed(2)} ms wall, ${accountedCpu.toFixed(2)} ms CPU in PostgreSQL and ClickHouse; the engine's own CPU ${median(ownCpu).toFixed(2)} ms`);
      console.log(`  ${'PostgreSQL alone'.padEnd(24)} ${median(pg).toFixed(2).padStart(8)} ms (median)`);
      if (chLine >= 0) {
        const sql = explain[chLine][0].replace('  ClickHouse: ', '');
        const paramLine = explain[chLine + 1]?.[0] ?? '';
        const params: Record<string, string> = {};
        if (paramLine.startsWith('  ClickHouse parameters: ')) {
          for (const kv of paramLine.slice('  ClickHouse parameters: '.length).split(/, (?=\w+ = )/)) params[kv.split(' = ')[0]] = JSON.parse(kv.slice(kv.indexOf(' = ') + 3));
        }
        console.log(`  ClickHouse: ${sql}`);
        console.log(`  parameters: ${JSON.stringify(params)}`);
        const ch: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          const t = performance.now();
          await store.queryTsv(sql, params);
          ch.push(performance.now() - t);
        }
        console.log(`  ${'its ClickHouse statement'.padEnd(24)} ${median(ch).toFixed(2).padStart(8)} ms alone (median)`);
        const indexes = await store.queryTsv(`EXPLAIN indexes = 1 ${sql}`, params);
        for (const line of indexes.split('\n').filter((l) => /Parts|Granules|MinMax|Partition|PrimaryKey|Condition/.test(l))) console.log(`    ${line.trim()}`);
      }
    }
  } finally {
    await pool.end().catch(() => undefined);
    await store.close().catch(() => undefined);
    await refClient.end().catch(() => undefined);
    await ref.drop().catch(() => undefined);
    await fx.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
