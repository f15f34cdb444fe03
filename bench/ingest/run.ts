import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
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
 *   make bench-ingest     (BENCH_ROWS=200000, BENCH_BATCH=5000, BENCH_CONCURRENCY=4, BENCH_ROUNDS=3)
 */
const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 5_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const T0 = Date.parse('2026-11-25T00:00:00Z');

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

async function sendAll(url: string, bodies: Buffer[], contentType: string): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      const res = await fetch(url, { method: 'POST', body, headers: { authorization: `Bearer ${GATEWAY_TEST_TOKEN}`, 'content-type': contentType } });
      if (res.status >= 300) throw new Error(`gateway answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

async function count(f: GatewayFixture, table: string): Promise<number> {
  return Number((await f.pg.query(`SELECT count(*) AS n FROM ${pgIdent(table)}`)).rows[0].n);
}

async function compare(f: GatewayFixture, label: string, table: string, run: () => Promise<void>, copyBatches: Buffer[], model: TableModel): Promise<{ gateway: number; raw: number }> {
  let best = { gateway: 0, raw: 0 };
  for (let round = 1; round <= ROUNDS; round++) {
    await f.pg.query(`TRUNCATE ${pgIdent(table)}`);
    const rawSec = await timed(() => rawCopy(f, model, copyBatches));
    if (process.env.BENCH_DEBUG) console.log('raw done');
    if ((await count(f, table)) !== ROWS) throw new Error(`raw COPY stored a different row count`);
    await f.pg.query(`TRUNCATE ${pgIdent(table)}`);
    const gwSec = await timed(run);
    if ((await count(f, table)) !== ROWS) throw new Error(`${label} stored a different row count`);
    const r = { gateway: ROWS / gwSec, raw: ROWS / rawSec };
    console.log(`round ${round} ${label.padEnd(14)} ${fmt(r.gateway)} rows/s   raw COPY ${fmt(r.raw)} rows/s   ratio ${(r.gateway / r.raw).toFixed(2)}`);
    best = { gateway: Math.max(best.gateway, r.gateway), raw: Math.max(best.raw, r.raw) };
  }
  return best;
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
async function spawnGateway(f: GatewayFixture, extraEnv: Record<string, string> = {}): Promise<{ url: string; stop(): Promise<void> }> {
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
    const rest = await compare(f, '/write/metrics', 'metrics_events', () => sendAll(`${gw.url}/write/metrics`, ndjson, 'application/x-ndjson'), copyMetrics, metricsModel);

    const prom = await (await fetch(`${gw.url}/metrics`)).text();
    const flushSum = /strata_gateway_flush_seconds_sum\{store="postgresql",table="metrics_events"\} ([\d.e+-]+)/.exec(prom)?.[1];
    const flushCount = /strata_gateway_flush_seconds_count\{store="postgresql",table="metrics_events"\} (\d+)/.exec(prom)?.[1];
    console.log(`gateway COPY time for metrics_events: ${Number(flushSum).toFixed(2)} s in ${flushCount} flushes`);
    console.log('building OTLP request bodies…');
    const otlp = otlpBodies();
    console.log(`${otlp.bodies.length} OTLP bodies`);
    const copyOtel = chunks(otlp.rows, BATCH).map((c) => Buffer.from(c.map((r, i) => otelModel.encodeRow(r, i + 1)).join('')));
    const ot = await compare(f, 'OTLP/HTTP', 'otel_metrics', () => sendAll(`${gw.url}/v1/metrics`, otlp.bodies, 'application/x-protobuf'), copyOtel, otelModel);

    // 3. Through the buffer: acknowledged once in JetStream, timed until the writers stored every row.
    const nats = await startNatsServer();
    const bufferCfg = testBufferConfig(nats.url, 'bench_ingest', { ackWaitSeconds: 30 });
    const separateWriter = process.env.BENCH_BUFFER_WRITERS === 'process';
    const bgw = await spawnGateway(f, { ...bufferEnv(bufferCfg), ...(separateWriter ? { STRATA_GATEWAY_BUFFER_WRITERS: '0' } : {}) });
    const writer = separateWriter
      ? runCli(['writer'], { ...bufferEnv(bufferCfg), STRATA_PG_URL: f.db.url, STRATA_CLICKHOUSE_URL: f.ch.url, STRATA_CLICKHOUSE_DATABASE: f.coldDatabase, LOG_LEVEL: 'warn' })
      : undefined;
    let buffered: { gateway: number; raw: number };
    let latencies: { direct: Percentiles; buffered: Percentiles };
    let proxy: ProxyProcess | undefined;
    try {
      let acceptedSec = 0;
      buffered = await compare(
        f,
        'buffered',
        'metrics_events',
        async () => {
          acceptedSec = await timed(() => sendAll(`${bgw.url}/write/metrics`, ndjson, 'application/x-ndjson'));
          await untilCount(f, 'metrics_events', ROWS);
        },
        copyMetrics,
        metricsModel,
      );
      console.log(`buffered: last round's requests all acknowledged (in JetStream) after ${acceptedSec.toFixed(2)} s`);
      // 4. Latency from request to row visible through the proxy.
      proxy = await startProxyFor(f);
      latencies = { direct: await latency(gw.url, proxy, 'direct'), buffered: await latency(bgw.url, proxy, 'buffered') };
      for (const [k, v] of Object.entries(latencies)) console.log(`latency ${k.padEnd(8)} p50 ${v.p50.toFixed(1)} ms   p99 ${v.p99.toFixed(1)} ms`);
    } finally {
      await proxy?.stop();
      writer?.child.kill('SIGTERM');
      await writer?.exited;
      await bgw.stop();
      await nats.stop([bufferCfg.stream, bufferCfg.deadLetterStream]);
    }

    console.log(
      JSON.stringify({
        rows: ROWS,
        batch: BATCH,
        concurrency: CONCURRENCY,
        write_metrics_rows_per_s: Math.round(rest.gateway),
        raw_copy_rows_per_s: Math.round(rest.raw),
        ratio: Number((rest.gateway / rest.raw).toFixed(3)),
        otlp_rows_per_s: Math.round(ot.gateway),
        otlp_raw_copy_rows_per_s: Math.round(ot.raw),
        otlp_ratio: Number((ot.gateway / ot.raw).toFixed(3)),
        buffered_rows_per_s: Math.round(buffered.gateway),
        buffered_raw_copy_rows_per_s: Math.round(buffered.raw),
        buffered_ratio: Number((buffered.gateway / buffered.raw).toFixed(3)),
        latency_ms: {
          direct: { p50: round1(latencies.direct.p50), p99: round1(latencies.direct.p99) },
          buffered: { p50: round1(latencies.buffered.p50), p99: round1(latencies.buffered.p99) },
        },
      }),
    );
  } finally {
    await gw.stop();
    await f.close();
  }
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
