import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import pino from 'pino';
import protobuf from 'protobufjs';
import { pgIdent, pgQualified } from '@strata/core';
import { Micros, tableModel, type TableModel } from '@strata/gateway';
import { GATEWAY_TEST_TOKEN, startGatewayFixture, type GatewayFixture } from '../../test/support/gateway-fixture';
import { repoPath } from '../../test/support/paths';
import { bufferEnv, testBufferConfig } from '../../test/support/buffer-fixture';
import { startNatsServer } from '../../test/support/nats-server';
import { runCli } from '../../test/support/cli';
import { startProxyFor } from '../../test/support/gateway-fixture';
import type { ProxyProcess } from '../../test/support/proxy-process';
import { cpuSeconds, pidsNamed } from './process-cpu';
import { httpPoster } from './http-post';

/**
 * bench/ingest: rows/s through the gateway against raw COPY of the same rows into the
 * same table, in the same run.
 *   1. /write/metrics (NDJSON bodies) → metrics_events   vs  COPY of those rows into metrics_events
 *   2. OTLP/HTTP protobuf gauges     → otel_metrics     vs  COPY of the rows they map to
 *   3. /write/metrics through the NATS JetStream buffer (a second gateway process with
 *      STRATA_GATEWAY_BUFFER and its in-process writers), timed until every row is in
 *      PostgreSQL  vs  raw COPY (BENCH_BUFFER_WRITERS=process: the writers as one `strata
 *      writer` process instead)
 *   4. end-to-end latency, direct and buffered: one-row requests, one at a time, each timed
 *      from the request until the row is visible through the proxy (`strata proxy`);
 *      p50/p99 of BENCH_LATENCY_PROBES (default 100)
 * The gateway runs as its own process (gateway/dist/main.js). Request bodies and COPY
 * text are built before the clock starts (client-side work for
 * both). The raw COPY sends the rows as one COPY per request-sized chunk over one
 * connection, the same chunking a client of the gateway uses. Each side runs ROUNDS
 * times on an emptied table; the best round counts. Last line: one JSON object; `ratio` =
 * /write/metrics ÷ raw COPY (target ≥ 0.8), `otlp_ratio` likewise for OTLP, `buffered_ratio`
 * for the buffered path.
 *
 * BENCH_CPU=1 also prints the CPU seconds each process used per round (process-cpu.ts).
 * BENCH_ONLY=buffered (or any of rest,otlp,buffered,latency, comma-separated) runs only those
 * parts; the JSON line then leaves the others out. Each comparison also reports the median
 * of its rounds' own ratios (`*median_ratio`), steadier than best-of on a busy machine.
 *
 *   make bench-ingest     (BENCH_ROWS=200000, BENCH_BATCH=5000, BENCH_CONCURRENCY=4, BENCH_ROUNDS=3)
 */
const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 5_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const T0 = Date.parse('2026-11-25T00:00:00Z');
const PARTS = ['rest', 'otlp', 'buffered', 'latency'] as const;
const ONLY = new Set((process.env.BENCH_ONLY ?? PARTS.join(',')).split(',').map((p) => p.trim()));
for (const p of ONLY) if (!(PARTS as readonly string[]).includes(p)) throw new Error(`BENCH_ONLY: unknown part ${p} (${PARTS.join(', ')})`);

type Row = Record<string, unknown>;

function metricRows(): Row[] {
  const rows: Row[] = new Array(ROWS);
  for (let i = 0; i < ROWS; i++) {
    rows[i] = { time: new Date(T0 + i * 10).toISOString(), app: `app-${i % 10}`, host: `host-${i % 30}`, labels: { region: i % 2 ? 'eu' : 'us', pod: `p-${i % 7}` }, value: (i % 1000) / 7, level: 'info' };
  }
  return rows;
}

function chunks<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

async function rawCopy(f: GatewayFixture, model: TableModel, batches: Buffer[]): Promise<void> {
  const sql = `COPY ${pgQualified(model.spec.schema, model.spec.table)} (${model.copyColumns.map(pgIdent).join(', ')}) FROM STDIN`;
  for (const b of batches) await pipeline(Readable.from([b]), f.pg.query(copyFrom(sql)));
}

/** BENCH_CLIENT=fetch sends with undici's fetch, as the bench did before http-post.ts. */
const poster = httpPoster(CONCURRENCY);

async function sendAll(url: string, bodies: Buffer[], contentType: string): Promise<void> {
  let next = 0;
  const headers = { authorization: `Bearer ${GATEWAY_TEST_TOKEN}`, 'content-type': contentType };
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      if (process.env.BENCH_CLIENT === 'fetch') {
        const res = await fetch(url, { method: 'POST', body, headers });
        if (res.status >= 300) throw new Error(`gateway answered ${res.status}: ${await res.text()}`);
        await res.arrayBuffer();
        continue;
      }
      const res = await poster.post(url, body, headers);
      if (res.status >= 300) throw new Error(`gateway answered ${res.status}: ${res.text}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

async function count(f: GatewayFixture, table: string): Promise<number> {
  return Number((await f.pg.query(`SELECT count(*) AS n FROM ${pgIdent(table)}`)).rows[0].n);
}

interface Compared {
  gateway: number;
  raw: number;
  /** Median of the rounds' own ratios. */
  medianRatio: number;
}

/**
 * CPU seconds per process group while `fn` runs: the gateway process, the NATS server(s),
 * this database's PostgreSQL backends (the bench's own connection — the raw COPY, and the
 * row-count polls — apart as `bench_pg`), and this process.
 */
async function cpuDuring(f: GatewayFixture, gatewayPid: number, fn: () => Promise<void>): Promise<Record<string, number>> {
  const backends = async () => {
    const r = await f.pg.query<{ pid: number; own: boolean }>('SELECT pid, pid = pg_backend_pid() AS own FROM pg_stat_activity WHERE datname = current_database()');
    return { own: r.rows.filter((b) => b.own).map((b) => b.pid), others: r.rows.filter((b) => !b.own).map((b) => b.pid) };
  };
  const nats = pidsNamed('nats-server');
  const before = await backends();
  const per = (pids: number[]) => new Map(pids.map((p) => [p, cpuSeconds([p])]));
  const start = { gateway: cpuSeconds([gatewayPid]), nats: cpuSeconds(nats), pg: per(before.others), own: cpuSeconds(before.own), bench: process.cpuUsage() };
  await fn();
  const after = await backends();
  // A backend that connected during the run started from zero.
  const pgSeconds = after.others.reduce((n, p) => n + cpuSeconds([p]) - (start.pg.get(p) ?? 0), 0);
  const bench = process.cpuUsage(start.bench);
  return {
    gateway: cpuSeconds([gatewayPid]) - start.gateway,
    nats: cpuSeconds(nats) - start.nats,
    pg: pgSeconds,
    bench_pg: cpuSeconds(after.own) - start.own,
    bench: (bench.user + bench.system) / 1e6,
  };
}

function cpuLine(cpu: Record<string, number>): string {
  return Object.entries(cpu)
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(', ');
}

async function compare(f: GatewayFixture, label: string, table: string, run: () => Promise<void>, copyBatches: Buffer[], model: TableModel, gatewayPid: number): Promise<Compared> {
  let best = { gateway: 0, raw: 0 };
  const ratios: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    await f.pg.query(`TRUNCATE ${pgIdent(table)}`);
    let rawSec = 0;
    const rawCpu = await cpuDuring(f, gatewayPid, async () => {
      rawSec = await timed(() => rawCopy(f, model, copyBatches));
    });
    if (process.env.BENCH_DEBUG) console.log('raw done');
    if ((await count(f, table)) !== ROWS) throw new Error(`raw COPY stored a different row count`);
    await f.pg.query(`TRUNCATE ${pgIdent(table)}`);
    let gwSec = 0;
    const gwCpu = await cpuDuring(f, gatewayPid, async () => {
      gwSec = await timed(run);
    });
    if ((await count(f, table)) !== ROWS) throw new Error(`${label} stored a different row count`);
    const r = { gateway: ROWS / gwSec, raw: ROWS / rawSec };
    console.log(`round ${round} ${label.padEnd(14)} ${fmt(r.gateway)} rows/s   raw COPY ${fmt(r.raw)} rows/s   ratio ${(r.gateway / r.raw).toFixed(2)}`);
    if (process.env.BENCH_CPU) console.log(`  CPU s  raw COPY (${rawSec.toFixed(2)} s): ${cpuLine(rawCpu)}   ${label} (${gwSec.toFixed(2)} s): ${cpuLine(gwCpu)}`);
    best = { gateway: Math.max(best.gateway, r.gateway), raw: Math.max(best.raw, r.raw) };
    ratios.push(r.gateway / r.raw);
  }
  ratios.sort((a, b) => a - b);
  const mid = ratios.length >> 1;
  return { ...best, medianRatio: ratios.length % 2 ? ratios[mid] : (ratios[mid - 1] + ratios[mid]) / 2 };
}

function otlpBodies(): { bodies: Buffer[]; rows: Row[] } {
  const root = new protobuf.Root().loadSync(['opentelemetry/metrics.proto'].map((p) => repoPath('gateway', 'proto', p)));
  const Req = root.lookupType('opentelemetry.proto.metrics.v1.ExportMetricsServiceRequest');
  const resource = { attributes: [{ key: 'service.name', value: { stringValue: 'bench' } }] };
  const scope = { name: 'bench-meter', version: '1' };
  const bodies: Buffer[] = [];
  const rows: Row[] = [];
  for (let start = 0; start < ROWS; start += BATCH) {
    const dataPoints = [];
    for (let i = start; i < Math.min(ROWS, start + BATCH); i++) {
      const ms = T0 + i * 10;
      const attrs = { app: `app-${i % 10}`, host: `host-${i % 30}` };
      dataPoints.push({ timeUnixNano: String(BigInt(ms) * 1_000_000n), asDouble: (i % 1000) / 7, attributes: Object.entries(attrs).map(([key, v]) => ({ key, value: { stringValue: v } })) });
      rows.push({ time: new Micros(ms * 1000), service: 'bench', metric: 'cpu_usage', kind: 'gauge', unit: '1', value: (i % 1000) / 7, resource: { 'service.name': 'bench' }, scope, labels: attrs });
    }
    const msg = Req.fromObject({ resourceMetrics: [{ resource, scopeMetrics: [{ scope, metrics: [{ name: 'cpu_usage', unit: '1', gauge: { dataPoints } }] }] }] });
    bodies.push(Buffer.from(Req.encode(msg).finish()));
  }
  return { bodies, rows };
}

/**
 * The gateway under test runs as its own process (gateway/dist/main.js, as deployed), so
 * the load generator in this process does not share its event loop.
 */
async function spawnGateway(f: GatewayFixture, extraEnv: Record<string, string> = {}): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const nodeArgs = (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, repoPath('gateway', 'dist', 'main.js')], {
    env: {
      ...process.env,
      STRATA_PG_URL: f.db.url,
      STRATA_CLICKHOUSE_URL: f.ch.url,
      STRATA_CLICKHOUSE_DATABASE: f.coldDatabase,
      STRATA_GATEWAY_PORT: '0',
      STRATA_GATEWAY_GRPC_PORT: '0',
      STRATA_GATEWAY_TOKENS: GATEWAY_TEST_TOKEN,
      // The gateway's own batching defaults unless a run overrides them.
      ...(process.env.BENCH_FLUSH_ROWS ? { STRATA_GATEWAY_BATCH_ROWS: process.env.BENCH_FLUSH_ROWS } : {}),
      ...(process.env.BENCH_FLUSH_CONCURRENCY ? { STRATA_GATEWAY_FLUSH_CONCURRENCY: process.env.BENCH_FLUSH_CONCURRENCY } : {}),
      LOG_LEVEL: 'info',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const m = /"port":(\d+)/.exec(line);
      if (m && line.includes('gateway listening')) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function main(): Promise<void> {
  const f = await startGatewayFixture('bench_ingest', { logger: pino({ level: 'warn' }) });
  // The in-process gateway only provisioned the tables; the measured one is a process of its own.
  await f.gateway.close();
  const gw = await spawnGateway(f);
  try {
    const metricsModel = tableModel((await f.pg.query(`SELECT schema FROM strata.table_registry WHERE table_name = 'metrics_events'`)).rows[0].schema);
    const otelModel = tableModel((await f.pg.query(`SELECT schema FROM strata.table_registry WHERE table_name = 'otel_metrics'`)).rows[0].schema);

    const rows = metricRows();
    const ndjson = chunks(rows, BATCH).map((c) => Buffer.from(c.map((r) => JSON.stringify(r)).join('\n')));
    const copyMetrics = chunks(rows, BATCH).map((c) => Buffer.from(c.map((r, i) => metricsModel.encodeRow(r, i + 1)).join('')));
    console.log(`${ROWS} rows, ${BATCH} per request, ${CONCURRENCY} concurrent requests, best of ${ROUNDS}`);
    const result: Record<string, unknown> = { rows: ROWS, batch: BATCH, concurrency: CONCURRENCY };
    if (ONLY.has('rest')) {
      const rest = await compare(f, '/write/metrics', 'metrics_events', () => sendAll(`${gw.url}/write/metrics`, ndjson, 'application/x-ndjson'), copyMetrics, metricsModel, gw.pid);
      const prom = await (await fetch(`${gw.url}/metrics`)).text();
      const flush = histogramTotal(prom, 'strata_gateway_flush_seconds', '{store="postgresql",table="metrics_events"}');
      console.log(`gateway COPY time for metrics_events: ${flush.sum.toFixed(2)} s in ${flush.count} flushes`);
      Object.assign(result, resultFields('', 'write_metrics_rows_per_s', rest));
    }
    if (ONLY.has('otlp')) {
      console.log('building OTLP request bodies…');
      const otlp = otlpBodies();
      console.log(`${otlp.bodies.length} OTLP bodies`);
      const copyOtel = chunks(otlp.rows, BATCH).map((c) => Buffer.from(c.map((r, i) => otelModel.encodeRow(r, i + 1)).join('')));
      const ot = await compare(f, 'OTLP/HTTP', 'otel_metrics', () => sendAll(`${gw.url}/v1/metrics`, otlp.bodies, 'application/x-protobuf'), copyOtel, otelModel, gw.pid);
      Object.assign(result, resultFields('otlp_', 'otlp_rows_per_s', ot));
    }

    if (ONLY.has('buffered') || ONLY.has('latency')) {
      // 3. Through the buffer: acknowledged once in JetStream, timed until the writers stored every row.
      const nats = await startNatsServer();
      const bufferCfg = testBufferConfig(nats.url, 'bench_ingest', { ackWaitSeconds: 30 });
      const separateWriter = process.env.BENCH_BUFFER_WRITERS === 'process';
      const bgw = await spawnGateway(f, { ...bufferEnv(bufferCfg), ...(separateWriter ? { STRATA_GATEWAY_BUFFER_WRITERS: '0' } : {}) });
      const writer = separateWriter
        ? runCli(['writer'], { ...bufferEnv(bufferCfg), STRATA_PG_URL: f.db.url, STRATA_CLICKHOUSE_URL: f.ch.url, STRATA_CLICKHOUSE_DATABASE: f.coldDatabase, LOG_LEVEL: 'warn' })
        : undefined;
      let proxy: ProxyProcess | undefined;
      const nc = await connect({ servers: nats.url });
      const jsm = await jetstreamManager(nc);
      try {
        if (ONLY.has('buffered')) {
          let acceptedSec = 0;
          const buffered = await compare(
            f,
            'buffered',
            'metrics_events',
            async () => {
              acceptedSec = await timed(() => sendAll(`${bgw.url}/write/metrics`, ndjson, 'application/x-ndjson'));
              if (process.env.BENCH_BUFFERED_PROBE === 'count') await untilCount(f, 'metrics_events', ROWS);
              else await untilDrained(jsm, bufferCfg.stream);
            },
            copyMetrics,
            metricsModel,
            bgw.pid,
          );
          console.log(`buffered: last round's requests all acknowledged (in JetStream) after ${acceptedSec.toFixed(2)} s`);
          if (!separateWriter) {
            // Where the buffered rounds spent their time, from the gateway's own metrics (all rounds).
            const prom = await (await fetch(`${bgw.url}/metrics`)).text();
            const publish = histogramTotal(prom, 'strata_gateway_flush_seconds', '{store="postgresql",table="metrics_events"}');
            const apply = histogramTotal(prom, 'strata_buffer_apply_seconds', '{store="postgresql"}');
            console.log(`buffered: JetStream publishes ${publish.sum.toFixed(2)} s in ${publish.count} batches; writer transactions ${apply.sum.toFixed(2)} s in ${apply.count}`);
          }
          Object.assign(result, resultFields('buffered_', 'buffered_rows_per_s', buffered));
        }
        if (ONLY.has('latency')) {
          // 4. Latency from request to row visible through the proxy.
          proxy = await startProxyFor(f);
          const latencies = { direct: await latency(gw.url, proxy, 'direct'), buffered: await latency(bgw.url, proxy, 'buffered') };
          for (const [k, v] of Object.entries(latencies)) console.log(`latency ${k.padEnd(8)} p50 ${v.p50.toFixed(1)} ms   p99 ${v.p99.toFixed(1)} ms`);
          result.latency_ms = {
            direct: { p50: round1(latencies.direct.p50), p99: round1(latencies.direct.p99) },
            buffered: { p50: round1(latencies.buffered.p50), p99: round1(latencies.buffered.p99) },
          };
        }
      } finally {
        await proxy?.stop();
        await nc.close();
        writer?.child.kill('SIGTERM');
        await writer?.exited;
        await bgw.stop();
        await nats.stop([bufferCfg.stream, bufferCfg.deadLetterStream]);
      }
    }

    console.log(JSON.stringify(result));
  } finally {
    poster.close();
    await gw.stop();
    await f.close();
  }
}

/**
 * Every request was acknowledged, so every batch is in the work-queue stream; the writers
 * ack a message only after its rows committed, and an acked message leaves the stream. So
 * an empty stream means every row is in PostgreSQL (compare() then counts them). Asking
 * JetStream keeps the wait off PostgreSQL: the count(*) probe (BENCH_BUFFERED_PROBE=count)
 * scanned the growing table every 10 ms on the cores the writers' COPY needs.
 */
async function untilDrained(jsm: JetStreamManager, stream: string): Promise<void> {
  for (let i = 0; i < 30_000; i++) {
    if ((await jsm.streams.info(stream)).state.messages === 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`stream ${stream} did not drain`);
}

async function untilCount(f: GatewayFixture, table: string, n: number): Promise<void> {
  for (let i = 0; i < 30_000; i++) {
    if ((await count(f, table)) >= n) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${table} did not reach ${n} rows`);
}

interface Percentiles {
  p50: number;
  p99: number;
}

/** One-row requests one at a time; each timed until a query through the proxy sees its row. */
async function latency(url: string, proxy: ProxyProcess, label: string): Promise<Percentiles> {
  const probes = Number(process.env.BENCH_LATENCY_PROBES ?? 100);
  const ms: number[] = [];
  for (let i = 0; i < probes; i++) {
    const host = `latency-${label}-${i}`;
    const started = performance.now();
    const res = await fetch(`${url}/write/metrics`, {
      method: 'POST',
      body: JSON.stringify([{ time: new Date().toISOString(), app: 'latency', host, value: i }]),
      headers: { authorization: `Bearer ${GATEWAY_TEST_TOKEN}`, 'content-type': 'application/json' },
    });
    if (res.status !== 200) throw new Error(`gateway answered ${res.status}`);
    await res.arrayBuffer();
    for (let polls = 0; ; polls++) {
      const r = await proxy.query<{ n: string }>(`SELECT count(*) AS n FROM metrics_events WHERE time > now() - interval '1 hour' AND host = $1`, [host]);
      if (Number(r.rows[0].n) > 0) break;
      if (polls > 20_000) throw new Error(`row ${host} never became visible`);
    }
    ms.push(performance.now() - started);
  }
  ms.sort((a, b) => a - b);
  const at = (q: number) => ms[Math.min(ms.length - 1, Math.ceil(q * ms.length) - 1)];
  return { p50: at(0.5), p99: at(0.99) };
}

/** A comparison's fields in the JSON line: `<prefix>ratio` is best ÷ best, as before; `<prefix>median_ratio` the rounds' median. */
function resultFields(prefix: string, rowsName: string, c: Compared): Record<string, number> {
  return {
    [rowsName]: Math.round(c.gateway),
    [`${prefix}raw_copy_rows_per_s`]: Math.round(c.raw),
    [`${prefix}ratio`]: Number((c.gateway / c.raw).toFixed(3)),
    [`${prefix}median_ratio`]: Number(c.medianRatio.toFixed(3)),
  };
}

/** A Prometheus histogram's _sum and _count for one label set, from the text exposition. */
function histogramTotal(prom: string, name: string, labels: string): { sum: number; count: number } {
  const value = (suffix: string) => {
    const line = prom.split('\n').find((l) => l.startsWith(`${name}_${suffix}${labels} `));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
  };
  return { sum: value('sum'), count: value('count') };
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US').padStart(9);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
