import { connect } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Pool } from 'pg';
import pino from 'pino';
import { createColdStore } from '@strata/core';
import { claimIds, ensureAppliedLedger, startGateway, sweepAppliedLedger } from '@strata/gateway';
import { GATEWAY_TEST_TOKEN, startGatewayFixture, type GatewayFixture } from '../support/gateway-fixture';
import { startTcpProxy } from '../support/gateway-tcp-proxy';
import { startNatsServer, type NatsTestServer } from '../support/nats-server';
import { metricValue, startTestWriter, testBufferConfig, waitFor } from '../support/buffer-fixture';

/**
 * `ingest.buffer: nats` against the real NATS JetStream server: requests acknowledged once
 * the stream stored them, writers applying them, a full stream answered with 429,
 * PostgreSQL and ClickHouse outages waited out, a batch PostgreSQL refuses set aside as a
 * dead letter, and two gateways with two writers evolving one table.
 */
let nats: NatsTestServer;
let f: GatewayFixture;
let nc: Awaited<ReturnType<typeof connect>>;
let jsm: JetStreamManager;
const streams: string[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  jsm = await jetstreamManager(nc);
  f = await startGatewayFixture('gw_buffer');
});

afterAll(async () => {
  await f?.close();
  await nc?.close();
  await nats?.stop(streams);
});

function buffer(name: string, more = {}) {
  const cfg = testBufferConfig(nats.url, name, more);
  streams.push(cfg.stream, cfg.deadLetterStream);
  return cfg;
}

const metricRows = (host: string, from: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({ time: new Date(Date.now() - i * 1000).toISOString(), app: 'buf', host, value: from + i }));

async function post(path: string, rows: unknown[]): Promise<Response> {
  return fetch(f.gateway.url + path, { method: 'POST', body: JSON.stringify(rows), headers: { ...f.auth, 'content-type': 'application/json' } });
}

async function hostRows(host: string): Promise<{ n: number; distinct: number; sum: number }> {
  const r = await f.pg.query<{ n: number; distinct: number; sum: number }>(
    'SELECT count(*)::int AS n, count(DISTINCT value)::int AS distinct, coalesce(sum(value), 0)::float8 AS sum FROM metrics_events WHERE host = $1',
    [host],
  );
  return r.rows[0];
}

test('an accepted request is in the stream, and the in-process writers apply it to PostgreSQL and ClickHouse', async () => {
  const cfg = buffer('happy');
  await f.restartGateway({ buffer: cfg });
  const res = await post('/write/metrics', metricRows('happy', 1, 50));
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ rows: 50 });
  const logs = await post('/write/logs', [
    { timestamp: new Date().toISOString(), app: 'buf', host: 'happy', message: 'one' },
    { timestamp: new Date().toISOString(), app: 'buf', host: 'happy', message: 'two' },
  ]);
  expect(logs.status).toBe(200);
  await waitFor('rows in PostgreSQL', async () => (await hostRows('happy')).n === 50);
  expect(await hostRows('happy')).toEqual({ n: 50, distinct: 50, sum: (50 * 51) / 2 });
  await waitFor('rows in ClickHouse', async () => {
    const r = await f.cold.query<{ n: string }>(`SELECT count() AS n FROM ${f.coldDatabase}.logs_events WHERE host = 'happy'`);
    return Number(r[0].n) === 2;
  });
  // Work-queue retention: an applied message is gone from the stream.
  await waitFor('the stream to drain', async () => (await jsm.streams.info(cfg.stream)).state.messages === 0);
  const text = await (await fetch(f.gateway.url + '/metrics')).text();
  expect(text).toMatch(/strata_buffer_published_messages_total\{store="postgresql"\} [1-9]/);
  expect(text).toMatch(/strata_buffer_rows_applied_total\{store="postgresql",table="metrics_events"\} 50/);
  const ready = await (await fetch(f.gateway.url + '/readyz')).json();
  expect(ready).toMatchObject({ status: 'ready', buffer: 'ok' });
});

test("the stream's limit reaches the client as 429 with Retry-After; a writer makes room again", async () => {
  const cfg = buffer('full', { writers: false, maxMessages: 2 });
  await f.restartGateway({ buffer: cfg });
  expect((await post('/write/metrics', metricRows('full', 1, 5))).status).toBe(200);
  expect((await post('/write/metrics', metricRows('full', 6, 5))).status).toBe(200);
  const refused = await post('/write/metrics', metricRows('full', 11, 5));
  expect(refused.status).toBe(429);
  expect(refused.headers.get('retry-after')).toBe('1');
  expect(await refused.json()).toMatchObject({ error: 'WRITERS_BUSY' });
  const w = await startTestWriter(cfg, { pgUrl: f.db.url, cold: f.cold, coldDatabase: f.coldDatabase });
  try {
    await waitFor('the writer to apply the backlog', async () => (await hostRows('full')).n === 10);
    expect((await post('/write/metrics', metricRows('full', 11, 5))).status).toBe(200);
    await waitFor('the retried request', async () => (await hostRows('full')).n === 15);
    expect(await hostRows('full')).toEqual({ n: 15, distinct: 15, sum: (15 * 16) / 2 });
  } finally {
    await w.stop();
  }
});

test('with PostgreSQL unreachable the gateway keeps accepting; lag is measured; the writer catches up exactly once', async () => {
  const cfg = buffer('outage', { writers: false });
  await f.restartGateway({ buffer: cfg });
  const pgPort = Number(new URL(f.db.url).port || 5432);
  const path = await startTcpProxy('127.0.0.1', pgPort);
  const w = await startTestWriter(cfg, { pgUrl: path.via(f.db.url), cold: f.cold, coldDatabase: f.coldDatabase });
  try {
    path.cut();
    for (let i = 0; i < 5; i++) expect((await post('/write/metrics', metricRows('outage', i * 20 + 1, 20))).status).toBe(200);
    await waitFor('the writer to fail against the cut path', async () => (await metricValue(w.registry, 'strata_buffer_apply_failures_total')) > 0);
    await waitFor('lag to show', async () => (await metricValue(w.registry, 'strata_buffer_lag_messages')) > 0 && (await metricValue(w.registry, 'strata_buffer_lag_seconds')) > 0);
    expect((await hostRows('outage')).n).toBe(0);
    path.restore();
    await waitFor('the writer to catch up', async () => (await hostRows('outage')).n === 100);
    await waitFor('lag to clear', async () => (await metricValue(w.registry, 'strata_buffer_lag_messages')) === 0);
    expect(await hostRows('outage')).toEqual({ n: 100, distinct: 100, sum: (100 * 101) / 2 });
    expect(await metricValue(w.registry, 'strata_buffer_redeliveries_total')).toBeGreaterThan(0);
  } finally {
    await w.stop();
    await path.close();
  }
});

test('a batch PostgreSQL refuses goes to the dead-letter stream with its reason and does not hold up the rest', async () => {
  const cfg = buffer('poison', { writers: false });
  await f.restartGateway({ buffer: cfg });
  // Rows the gateway accepts and PostgreSQL refuses: a constraint the gateway does not know.
  await f.pg.query('ALTER TABLE metrics_events ADD CONSTRAINT buffer_poison CHECK (value < 1000000) NOT VALID');
  try {
    expect((await post('/write/metrics', metricRows('poison', 1, 10))).status).toBe(200);
    expect((await post('/write/metrics', metricRows('poison', 5_000_000, 3))).status).toBe(200);
    expect((await post('/write/metrics', metricRows('poison', 11, 10))).status).toBe(200);
    const w = await startTestWriter(cfg, { pgUrl: f.db.url, cold: f.cold, coldDatabase: f.coldDatabase });
    try {
      await waitFor('the good rows', async () => (await hostRows('poison')).n === 20);
      await waitFor('the dead letter', async () => (await jsm.streams.info(cfg.deadLetterStream)).state.messages === 1);
      expect(await hostRows('poison')).toEqual({ n: 20, distinct: 20, sum: (20 * 21) / 2 });
      const dead = await jsm.streams.getMessage(cfg.deadLetterStream, { seq: 1 });
      expect(dead!.subject).toBe(`${cfg.deadLetterPrefix}.postgresql.public.metrics_events`);
      expect(dead!.header.get('Strata-Dead-Reason')).toMatch(/SQLSTATE 23514/);
      expect(dead!.header.get('Strata-Rows')).toBe('3');
      expect(dead!.data.length).toBeGreaterThan(0);
      expect(await metricValue(w.registry, 'strata_buffer_dead_letters_total')).toBe(1);
      await waitFor('the stream to drain', async () => (await jsm.streams.info(cfg.stream)).state.messages === 0);
    } finally {
      await w.stop();
    }
  } finally {
    await f.pg.query('ALTER TABLE metrics_events DROP CONSTRAINT buffer_poison');
  }
});

test('with ClickHouse unreachable the gateway keeps accepting logs; the writer inserts them once when it returns', async () => {
  const cfg = buffer('choutage', { writers: false });
  await f.restartGateway({ buffer: cfg });
  const chUrl = new URL(f.ch.url);
  const path = await startTcpProxy(chUrl.hostname, Number(chUrl.port));
  const cold = createColdStore({ kind: 'http', url: path.via(f.ch.url), database: f.coldDatabase, maxRetries: 0 });
  const w = await startTestWriter(cfg, { pgUrl: f.db.url, cold, coldDatabase: f.coldDatabase });
  const logCount = async () => Number((await f.cold.query<{ n: string }>(`SELECT count() AS n FROM ${f.coldDatabase}.logs_events WHERE host = 'choutage'`))[0].n);
  try {
    path.cut();
    for (let i = 0; i < 4; i++) {
      const rows = Array.from({ length: 10 }, (_, j) => ({ timestamp: new Date().toISOString(), app: 'buf', host: 'choutage', message: String(i * 10 + j) }));
      expect((await post('/write/logs', rows)).status).toBe(200);
    }
    await waitFor('the writer to fail against the cut path', async () => (await metricValue(w.registry, 'strata_buffer_apply_failures_total')) > 0);
    expect(await logCount()).toBe(0);
    path.restore();
    await waitFor('the writer to catch up', async () => (await logCount()) === 40);
    await waitFor('the stream to drain', async () => (await jsm.streams.info(cfg.stream)).state.messages === 0);
    const r = await f.cold.query<{ n: string; d: string }>(`SELECT count() AS n, uniqExact(message) AS d FROM ${f.coldDatabase}.logs_events WHERE host = 'choutage'`);
    expect(r[0]).toEqual({ n: '40', d: '40' });
  } finally {
    await w.stop();
    await cold.close();
    await path.close();
  }
});

test('two gateways and two writers on one stream: new columns added once, every row applied once', async () => {
  const cfg = buffer('shared');
  await f.restartGateway({ buffer: cfg });
  const second = await startGateway({
    pgUrl: f.db.url,
    cold: { kind: 'http', url: f.ch.url, database: f.coldDatabase, maxRetries: 0 },
    coldDatabase: f.coldDatabase,
    tokens: [GATEWAY_TEST_TOKEN],
    logger: pino({ level: 'silent' }),
    createBuiltinTables: false,
    buffer: cfg,
  });
  try {
    const spec = {
      table: 'buf_evo',
      timeColumn: 'time',
      columns: [
        { name: 'time', type: 'timestamptz' },
        { name: 'n', type: 'double precision' },
      ],
      ingest: { unknownFields: 'addColumns' },
    };
    const reg = await fetch(f.gateway.url + '/schema/register', { method: 'POST', body: JSON.stringify(spec), headers: { ...f.auth, 'content-type': 'application/json' } });
    expect(reg.status).toBe(201);
    // Both gateways, at once, send rows with fields the table does not have yet.
    const sends = [];
    for (let i = 0; i < 20; i++) {
      const url = (i % 2 ? second.url : f.gateway.url) + '/write/metrics?table=buf_evo';
      const rows = Array.from({ length: 5 }, (_, j) => ({ time: new Date().toISOString(), n: i * 5 + j + 1, zone: `z${i % 3}`, ...(i % 4 === 0 ? { rack: i } : {}) }));
      sends.push(fetch(url, { method: 'POST', body: JSON.stringify(rows), headers: { ...f.auth, 'content-type': 'application/json' } }).then((r) => r.status));
    }
    expect(await Promise.all(sends)).toEqual(Array(20).fill(200));
    const stored = async () =>
      (await f.pg.query<{ n: number; d: number; s: number; zones: number; racks: number }>(
        'SELECT count(*)::int AS n, count(DISTINCT n)::int AS d, sum(n)::float8 AS s, count(zone)::int AS zones, count(rack)::int AS racks FROM buf_evo',
      )).rows[0];
    await waitFor('every row', async () => (await stored()).n === 100);
    expect(await stored()).toEqual({ n: 100, d: 100, s: (100 * 101) / 2, zones: 100, racks: 25 });
    const cols = await f.pg.query<{ column_name: string }>(`SELECT column_name FROM information_schema.columns WHERE table_name = 'buf_evo' ORDER BY ordinal_position`);
    expect(cols.rows.map((c) => c.column_name)).toEqual(['time', 'n', 'zone', 'rack']);
    await waitFor('the stream to drain', async () => (await jsm.streams.info(cfg.stream)).state.messages === 0);
  } finally {
    await second.close();
  }
});

test('with JetStream unreachable a request is not acknowledged: 503 with Retry-After, and accepted again once it is back', async () => {
  const natsUrl = new URL(nats.url);
  const path = await startTcpProxy(natsUrl.hostname, Number(natsUrl.port));
  const cfg = buffer('natsdown', { url: `nats://127.0.0.1:${path.port}`, publishTimeoutMs: 1000 });
  await f.restartGateway({ buffer: cfg });
  try {
    path.cut();
    const refused = await post('/write/metrics', metricRows('natsdown', 1, 5));
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await (await fetch(f.gateway.url + '/readyz')).json()) as { buffer: string }).buffer).toBe('unavailable');
    path.restore();
    // The client reconnects on its own (every 500 ms).
    let status = 0;
    await waitFor('JetStream to take requests again', async () => {
      status = (await post('/write/metrics', metricRows('natsdown', 1, 5))).status;
      return status === 200;
    });
    // The refused request was not acknowledged; the client may still have delivered it after reconnecting.
    await waitFor('the rows', async () => (await hostRows('natsdown')).n >= 5);
    expect([5, 10]).toContain((await hostRows('natsdown')).n);
  } finally {
    await f.restartGateway({});
    await path.close();
  }
});

test('a request larger than one NATS message is stored as several and lands whole', async () => {
  const cfg = buffer('big');
  await f.restartGateway({ buffer: cfg, batch: { maxRows: 100_000 } });
  const rows = metricRows('big', 1, 20_000).map((r) => ({ ...r, app: 'x'.repeat(200) }));
  const res = await post('/write/metrics', rows);
  expect(res.status).toBe(200);
  const published = await metricValue(f.gateway.metrics.registry, 'strata_buffer_published_messages_total');
  // ~4.5 MB of COPY text against the server's 1 MiB max_payload.
  expect(published).toBeGreaterThanOrEqual(4);
  await waitFor('every row', async () => (await hostRows('big')).n === 20_000);
  expect(await hostRows('big')).toEqual({ n: 20_000, distinct: 20_000, sum: (20_000 * 20_001) / 2 });
});

test('a cold-only backfill spanning 150 day partitions is applied by the writer (no TOO_MANY_PARTS)', async () => {
  const cfg = buffer('backfill');
  await f.restartGateway({ buffer: cfg });
  const base = Date.parse('2025-06-01T12:00:00Z');
  const logs = Array.from({ length: 150 }, (_, i) => ({ timestamp: new Date(base + i * 86_400_000).toISOString(), app: 'buf', host: 'backfill', message: `day ${i}` }));
  expect((await post('/write/logs', logs)).status).toBe(200);
  const landed = async () => (await f.cold.query<{ n: string; days: string }>(`SELECT count() AS n, uniqExact(toDate(timestamp)) AS days FROM ${f.coldDatabase}.logs_events WHERE host = 'backfill'`))[0];
  await waitFor('the backfill in ClickHouse', async () => Number((await landed()).n) === 150);
  expect(await landed()).toEqual({ n: '150', days: '150' });
});

test('the applied-id ledger keeps what JetStream could still redeliver and sweeps the rest', async () => {
  const pool = new Pool({ connectionString: f.db.url, max: 1 });
  try {
    await ensureAppliedLedger(pool);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const fresh = await claimIds(client, 'SWEEP', [
        { id: 'b', seq: 2 },
        { id: 'a', seq: 1 },
        { id: 'c', seq: 3 },
      ]);
      expect([...fresh].sort()).toEqual(['a', 'b', 'c']);
      expect([...(await claimIds(client, 'SWEEP', [{ id: 'a', seq: 1 }, { id: 'd', seq: 4 }]))]).toEqual(['d']);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    // Below the ack floor, but younger than the grace period: kept.
    expect(await sweepAppliedLedger(pool, 'SWEEP', 2, 3600)).toBe(0);
    await pool.query("UPDATE strata.ingest_applied SET applied_at = now() - interval '2 hours' WHERE stream = 'SWEEP'");
    // Another stream's ack floor says nothing about this one; this one's floor at 2 frees a and b only.
    expect(await sweepAppliedLedger(pool, 'OTHER', 10, 3600)).toBe(0);
    expect(await sweepAppliedLedger(pool, 'SWEEP', 2, 3600)).toBe(2);
    const left = await pool.query<{ msg_id: string }>("SELECT msg_id FROM strata.ingest_applied WHERE stream = 'SWEEP' ORDER BY msg_id");
    expect(left.rows.map((r) => r.msg_id)).toEqual(['c', 'd']);
  } finally {
    await pool.end();
  }
});
