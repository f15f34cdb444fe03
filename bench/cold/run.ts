import { Client, Pool } from 'pg';
import pino from 'pino';
import { createColdStore } from '@strata/core';
import * as proxy from '@strata/proxy';
import { createTestDatabase } from '../../test/support/postgres';
import { tieredFixture } from '../../test/support/tiered-fixture';
import { compareOutcomes, type Outcome } from '../../test/routing/corpus/compare';
import { benchLayout, benchLogsSpec, benchMetricsSpec, benchPartitionBy, coldParts, loadBenchData } from './bench-data';
import { benchQueries, type BenchQuery } from './queries';

/**
 * bench/cold: dashboard and log queries over ≥ 10M rows, nearly all in the cold tier
 * (bench-data.ts), each timed three ways in the same run — through Strata's proxy (a
 * real PostgreSQL client over the wire, the engine in the client's session), on
 * PostgreSQL holding every row, and as hand-written ClickHouse SQL over the cold rows
 * (queries.ts: the engine's own speed here). Every answer through the proxy is checked
 * against PostgreSQL's before it is timed; a difference stops the bench.
 *
 *   make bench-cold                       (BENCH_COLD_ROWS=10000000 by default)
 *   BENCH_COLD_ROWS=300000 make bench-cold   a small run while developing
 *   BENCH_COLD_ONLY=name,name             only those queries
 *   BENCH_COLD_EXPLAIN=1                  print each query's EXPLAIN through the proxy (stderr)
 *   BENCH_COLD_ANALYZE=1                  print each query's EXPLAIN ANALYZE through the proxy after
 *                                         its timed runs (stderr): where the proxy's time goes
 *   BENCH_COLD_HOLD=1                     after the last line, keep the proxy, PostgreSQL and ClickHouse
 *                                         databases up (their URLs on stderr) until Ctrl-C: for a look with
 *                                         psql or a profiler at the loaded data
 *   BENCH_COLD_PARTITION=day|month|…      the raw cold tables' spec.cold.partitionBy, both tables
 *                                         (default: none given, the model's default — metrics'
 *                                         label-first sort key: day, logs' time-first one: month);
 *                                         rollup tables are monthly whatever it says
 *
 * Last line: one JSON object — `ratio` (median speed-up vs PostgreSQL), `worst` (the
 * lowest), `overhead` (median proxy time / hand-written ClickHouse time), `rollup_gain`
 * (the rollup-served query vs the same query with `SET strata.rollups = off`; null while
 * the engine plans no rollup read for it), each next to its ceiling measured in the same
 * run from the hand-written ClickHouse times — `ceiling_ratio` and `ceiling_worst`
 * (PostgreSQL time / hand-written time: median and lowest), `ceiling_rollup_gain` (the
 * hand-written raw statement / the hand-written rollup statement), `overhead_floor` (the
 * median of (hand-written ClickHouse + the same statement on PostgreSQL's hot tier alone) /
 * hand-written: the hand-written statement reads cold rows only, while Strata's answer also
 * needs PostgreSQL's own work on the hot rows, which on two shared cores runs beside
 * ClickHouse's, not free of it), `engine_overhead` (the
 * median of Strata's own ClickHouse statements run alone on the engine / the hand-written
 * ones, over the queries whose statements it can replay: what `overhead` is before the
 * proxy's round trips and PostgreSQL's share) — and the per-query rows. Also streams every
 * metrics row through the engine (in-process, a pool connection) and reports this
 * process's peak RSS meanwhile.
 */
const ROWS = Number(process.env.BENCH_COLD_ROWS ?? 10_000_000);
const RUNS = Number(process.env.BENCH_COLD_RUNS ?? 3);
const ONLY = process.env.BENCH_COLD_ONLY?.split(',').filter((s) => s !== '');
const PRINT_PLANS = process.env.BENCH_COLD_EXPLAIN === '1';
const PRINT_ANALYZED = process.env.BENCH_COLD_ANALYZE === '1';
const PARTITION_BY = benchPartitionBy(process.env.BENCH_COLD_PARTITION);
const HOLD = process.env.BENCH_COLD_HOLD === '1';
const PASSWORD = 'bench-secret';
/** The session setting that makes the engine read raw cold rows where a rollup could serve. */
const ROLLUPS_OFF_SQL = 'SET strata.rollups = off';

const rawText = { getTypeParser: () => (v: string) => v };

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

// NaN for no value (BENCH_COLD_ONLY naming none of a summary's queries): JSON prints null.
const median = (xs: number[]) => (xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]);
const round = (x: number, digits = 2) => +x.toFixed(digits);

async function simpleQuery(client: Client, sql: string): Promise<Outcome & { ok: true }> {
  const r = await client.query({ text: sql, rowMode: 'array' });
  return { ok: true, fields: r.fields.map((f) => ({ name: f.name, typeOid: f.dataTypeID })), rows: r.rows as Array<Array<string | null>> };
}

async function connect(url: string): Promise<Client> {
  const c = new Client({ connectionString: url, types: rawText });
  await c.connect();
  await c.query("SET TimeZone = 'UTC'");
  return c;
}

/** EXPLAIN through the proxy: the route, the plan class and the ClickHouse statements Strata sends. */
async function explain(client: Client, sql: string): Promise<{ route: string; planClass: string; statements: Array<{ sql: string; params: Record<string, string> }> }> {
  const lines = (await simpleQuery(client, `EXPLAIN ${sql}`)).rows.map((r) => String(r[0]));
  if (PRINT_PLANS) process.stderr.write(`EXPLAIN ${sql}\n${lines.join('\n')}\n\n`);
  const field = (label: string) => lines.find((l) => l.startsWith(label))?.slice(label.length) ?? '?';
  const statements: Array<{ sql: string; params: Record<string, string> }> = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^ {2}ClickHouse: ((?:SELECT|WITH) .*)$/.exec(lines[i]);
    if (!m) continue;
    const params: Record<string, string> = {};
    const p = /^ {2}ClickHouse parameters: (.*)$/.exec(lines[i + 1] ?? '');
    if (p) for (const kv of p[1].split(/, (?=\w+ = )/)) params[kv.split(' = ')[0]] = JSON.parse(kv.slice(kv.indexOf(' = ') + 3));
    statements.push({ sql: m[1], params });
  }
  return { route: field('Strata route: '), planClass: field('Strata plan class: '), statements };
}

interface QueryResult {
  name: string;
  route: string;
  planClass: string;
  rows: number;
  postgresMs: number;
  strataMs: number;
  clickhouseMs: number;
  /** Strata's own ClickHouse statements (from its EXPLAIN) run directly; null where they cannot run alone. */
  strataClickhouseMs: number | null;
  speedup: number;
  overhead: number;
  /** The statement on PostgreSQL's hot tier alone (the tiered database directly: its tables hold the hot rows; 0 for a cold-only table). */
  hotMs: number;
  rollupsOffMs?: number;
  /** The rollup query's hand-written ClickHouse statement over raw cold rows (queries.ts `clickhouseRaw`). */
  clickhouseRawMs?: number;
}

async function main(): Promise<void> {
  await proxy.loadSqlParser();
  const layout = benchLayout(ROWS);
  const fx = await tieredFixture(benchMetricsSpec(PARTITION_BY));
  const logsSpec = benchLogsSpec(PARTITION_BY);
  const ref = await createTestDatabase('strata_bench_ref');
  const refClient = await connect(ref.url);
  const pool = new Pool({ connectionString: fx.pgUrl, max: 2 });
  const stores: Array<{ close(): Promise<void> }> = [];
  const clients: Client[] = [];
  let running: proxy.RunningProxy | undefined;
  let peakRss = 0;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  try {
    const total = layout.minutes * 30;
    console.log(`loading ${total} metrics rows and ${layout.logRows} log rows: PostgreSQL reference (all rows), ClickHouse (cold), PostgreSQL (last day hot)…`);
    const t = performance.now();
    // Long statements on a busy machine: a store that waits, and never re-sends (a
    // re-sent INSERT … SELECT after a client-side timeout would insert twice).
    const patient = createColdStore({ kind: 'http', url: fx.chUrl, database: fx.database, requestTimeoutMs: 900_000, maxRetries: 0 });
    stores.push(patient);
    await loadBenchData(fx, refClient, patient, layout, logsSpec);
    console.log(`loaded in ${((performance.now() - t) / 1000).toFixed(1)} s; W = ${layout.w}`);
    for (const p of await coldParts(patient, fx.database)) console.log(`cold ${p.table}: ${p.parts} parts in ${p.partitions} partitions`);

    let snapshot = await proxy.loadCatalogSnapshot(fx.hot);
    // Queries are idempotent: retries allowed; the 10M-row stream needs more than 30 s.
    const engineStore = createColdStore({ kind: 'http', url: fx.chUrl, database: fx.database, requestTimeoutMs: 900_000 });
    stores.push(engineStore);
    const engine = proxy.createTierEngine({ cold: engineStore, coldDatabase: fx.database, catalog: () => snapshot });
    const config = proxy.resolveProxyConfig({ listen: '127.0.0.1:0', backendUrl: fx.pgUrl, users: { postgres: PASSWORD } });
    running = await proxy.startProxy(config, {
      router: proxy.createRouter(snapshot),
      engine,
      logger: pino({ level: 'warn' }),
      refreshCatalog: async () => {
        snapshot = await proxy.loadCatalogSnapshot(fx.hot);
      },
    });
    const proxyUrl = `postgres://postgres:${PASSWORD}@${running.host}:${running.port}${new URL(fx.pgUrl).pathname}`;
    const viaProxy = await connect(proxyUrl);
    // Rollup reads are on by default (engine/rollup-read-policy.ts): the comparison runs in a session that turns them off.
    const rollupsOff = await connect(proxyUrl);
    clients.push(viaProxy, rollupsOff);
    await rollupsOff.query(ROLLUPS_OFF_SQL);

    const queries = benchQueries(layout, fx.database).filter((q) => !ONLY || ONLY.includes(q.name));
    const hotAlone = await connect(fx.pgUrl);
    clients.push(hotAlone);
    const all: QueryResult[] = [];
    for (const q of queries) all.push(await benchQuery(q, { viaProxy, rollupsOff, refClient, hotAlone, engineStore }));
    // The summary is over the fifteen (queries.ts: `extra`).
    const results = all.filter((r) => !queries.find((q) => q.name === r.name)?.extra);

    const stream = await streamAll(pool, engineStore, fx.database, snapshot, total, () => peakRss, (v) => (peakRss = v));
    const rollupQuery = results.find((r) => queries.find((q) => q.name === r.name)?.rollup);
    const rollupGain = rollupQuery?.rollupsOffMs !== undefined ? round(rollupQuery.rollupsOffMs / Math.max(rollupQuery.strataMs, 0.1)) : null;
    const ceilingRollupGain = rollupQuery?.clickhouseRawMs !== undefined ? round(rollupQuery.clickhouseRawMs / Math.max(rollupQuery.clickhouseMs, 0.1)) : null;
    const clickhouseSpeedups = results.map((r) => round(r.postgresMs / Math.max(r.clickhouseMs, 0.1)));
    console.log(
      JSON.stringify({
        bench: 'cold',
        rows: total,
        coldRows: (layout.minutes - layout.hotMinutes) * 30,
        logRows: layout.logRows,
        partitionBy: { metrics_events: fx.spec.cold.partitionBy, logs_events: logsSpec.cold.partitionBy },
        runs: RUNS,
        queries: all,
        medianClickHouseSpeedupVsPostgres: median(clickhouseSpeedups),
        ...stream,
        ratio: median(results.map((r) => r.speedup)),
        ceiling_ratio: median(clickhouseSpeedups),
        worst: Math.min(...results.map((r) => r.speedup)),
        ceiling_worst: Math.min(...clickhouseSpeedups),
        overhead: median(results.map((r) => r.overhead)),
        overhead_floor: round(median(results.map((r) => (r.clickhouseMs + r.hotMs) / Math.max(r.clickhouseMs, 0.1)))),
        engine_overhead: round(median(results.filter((r) => r.strataClickhouseMs).map((r) => r.strataClickhouseMs! / Math.max(r.clickhouseMs, 0.1)))),
        rollup_gain: rollupGain,
        ceiling_rollup_gain: ceilingRollupGain,
      }),
    );
    if (HOLD) {
      console.error(`holding until Ctrl-C — proxy: ${proxyUrl.replace(PASSWORD, '<password>')}, PostgreSQL (hot): ${fx.pgUrl}, PostgreSQL (all rows): ${ref.url}, ClickHouse: ${fx.chUrl} database ${fx.database}`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
  } finally {
    clearInterval(rssTimer);
    for (const c of clients) await c.end().catch(() => undefined);
    await running?.close().catch(() => undefined);
    for (const st of stores) await st.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
    await refClient.end().catch(() => undefined);
    await ref.drop().catch(() => undefined);
    await fx.close();
  }
}

/**
 * The statement on PostgreSQL's hot tier alone; 0 for a cold-only table, which has no
 * PostgreSQL table (42P01): there is no hot work to do.
 */
async function hotTierMs(hotAlone: Client, sql: string): Promise<number> {
  try {
    return (await timed(() => hotAlone.query(sql))).ms;
  } catch (err) {
    if ((err as { code?: string }).code === '42P01') return 0;
    throw err;
  }
}

/**
 * One query: checked against PostgreSQL, then timed RUNS times each way. PostgreSQL's runs
 * come first, as a block: each scans the reference database's rows (up to 5 s at 10M), and
 * what runs right after such a scan is slowed (its caches and shared buffers evicted:
 * distinct-hosts-per-app through the proxy 566 ms there, 346 ms after the hand-written
 * ClickHouse statement). Until 2026-12-08 the three ways rotated through their places in
 * one loop, which put the proxy right after PostgreSQL's scan in two of three runs and the
 * hand-written statement in none — the proxy's median was always such a run, which
 * inflated `overhead`. Now the proxy and the hand-written statement each run once untimed
 * after PostgreSQL's block (the same warm-up for both, as PostgreSQL's own correctness run
 * warms it), then RUNS times alternating, neither after a scan of another way.
 */
async function benchQuery(
  q: BenchQuery,
  c: { viaProxy: Client; rollupsOff: Client; refClient: Client; hotAlone: Client; engineStore: ReturnType<typeof createColdStore> },
): Promise<QueryResult> {
  const plan = await explain(c.viaProxy, q.sql);
  const expected = await simpleQuery(c.refClient, q.sql);
  const actual = await simpleQuery(c.viaProxy, q.sql);
  const diff = compareOutcomes(expected, actual, /ORDER BY/i.test(q.sql));
  if (diff) throw new Error(`${q.name}: the answer through the proxy differs from PostgreSQL's: ${diff}`);
  // Rollups off only where the engine reads a rollup: otherwise there is nothing to compare.
  const offToo = q.rollup === true && plan.planClass === 'rollup';
  if (offToo) {
    const off = await simpleQuery(c.rollupsOff, q.sql);
    const offDiff = compareOutcomes(expected, off, true);
    if (offDiff) throw new Error(`${q.name} with rollups off: the answer differs from PostgreSQL's: ${offDiff}`);
  }
  const pg: number[] = [];
  const st: number[] = [];
  const ch: number[] = [];
  const sch: number[] = [];
  const off: number[] = [];
  const chRaw: number[] = [];
  const hot: number[] = [];
  for (let i = 0; i < RUNS; i++) pg.push((await timed(() => c.refClient.query(q.sql))).ms);
  await c.viaProxy.query(q.sql);
  await c.engineStore.queryTsv(q.clickhouse);
  for (let i = 0; i < RUNS; i++) {
    // Each of the two first in turn.
    const ways = [
      async () => st.push((await timed(() => c.viaProxy.query(q.sql))).ms),
      async () => ch.push((await timed(() => c.engineStore.queryTsv(q.clickhouse))).ms),
    ];
    for (let k = 0; k < ways.length; k++) await ways[(i + k) % ways.length]();
    // Statements whose EXPLAIN shows a placeholder (hot rows shipped along) cannot run alone.
    if (sch.length === i) {
      const own = await timed(async () => {
        for (const s of plan.statements) await c.engineStore.queryTsv(s.sql, s.params);
      }).catch(() => undefined);
      if (own) sch.push(own.ms);
    }
    hot.push(await hotTierMs(c.hotAlone, q.sql));
    if (offToo) off.push((await timed(() => c.rollupsOff.query(q.sql))).ms);
    if (q.clickhouseRaw) chRaw.push((await timed(() => c.engineStore.queryTsv(q.clickhouseRaw!))).ms);
  }
  if (PRINT_ANALYZED) {
    const lines = (await simpleQuery(c.viaProxy, `EXPLAIN ANALYZE ${q.sql}`)).rows.map((r) => String(r[0]));
    process.stderr.write(`EXPLAIN ANALYZE ${q.sql}\n${lines.join('\n')}\n\n`);
  }
  const r: QueryResult = {
    name: q.name,
    route: plan.route,
    planClass: plan.planClass,
    rows: expected.ok ? expected.rows.length : 0,
    postgresMs: round(median(pg), 1),
    strataMs: round(median(st), 1),
    clickhouseMs: round(median(ch), 1),
    strataClickhouseMs: sch.length === RUNS ? round(median(sch), 1) : null,
    speedup: round(median(pg) / median(st)),
    overhead: round(median(st) / Math.max(median(ch), 0.1)),
    hotMs: round(median(hot), 1),
    ...(offToo ? { rollupsOffMs: round(median(off), 1) } : {}),
    ...(q.clickhouseRaw ? { clickhouseRawMs: round(median(chRaw), 1) } : {}),
  };
  console.log(
    `${r.name.padEnd(24)} ${r.route.padEnd(5)} ${r.planClass.padEnd(8)} postgres ${String(r.postgresMs).padStart(8)} ms   strata ${String(r.strataMs).padStart(8)} ms   ` +
      `clickhouse hand-written ${String(r.clickhouseMs).padStart(7)} ms (strata's statements ${r.strataClickhouseMs} ms; postgres hot tier alone ${r.hotMs} ms)   speed-up ${r.speedup}×   overhead ${r.overhead}×` +
      (r.rollupsOffMs !== undefined ? `   rollups off ${r.rollupsOffMs} ms` : '') +
      (r.clickhouseRawMs !== undefined ? `   clickhouse hand-written raw ${r.clickhouseRawMs} ms` : ''),
  );
  return r;
}

/** Every metrics row streamed through the engine (in-process): the proxy's memory must stay bounded. */
async function streamAll(
  pool: Pool,
  cold: ReturnType<typeof createColdStore>,
  database: string,
  snapshot: proxy.CatalogSnapshot,
  expected: number,
  peak: () => number,
  resetPeak: (v: number) => void,
): Promise<Record<string, number>> {
  const engine = proxy.createTierEngine({ hot: pool, cold, coldDatabase: database, catalog: snapshot });
  const session = { user: 'postgres', database: 'bench', inTransaction: false, settings: new Map([['TimeZone', 'UTC']]) };
  const rssBefore = process.memoryUsage().rss;
  resetPeak(rssBefore);
  const t = performance.now();
  const streamed = await engine.execute({ sql: 'SELECT time, host, value FROM metrics_events', params: [], paramTypes: [] }, session);
  let rows = 0;
  for await (const row of streamed.rows) {
    void row;
    rows++;
  }
  const seconds = (performance.now() - t) / 1000;
  if (rows !== expected) throw new Error(`streamed ${rows} rows, expected ${expected}`);
  console.log(`stream all rows           ${rows} rows in ${seconds.toFixed(1)} s; process RSS ${Math.round(rssBefore / 1e6)} MB before, ${Math.round(peak() / 1e6)} MB peak`);
  return { streamRows: rows, streamSeconds: round(seconds, 1), streamRssBeforeMb: Math.round(rssBefore / 1e6), streamPeakRssMb: Math.round(peak() / 1e6) };
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
