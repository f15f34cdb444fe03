import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { WRITER_STEPS } from '@strata/gateway';
import { createColdStore } from '@strata/core';
import { startAnswerDropper } from '../support/answer-dropping-proxy';
import { runCli } from '../support/cli';
import { startGatewayFixture, type GatewayFixture } from '../support/gateway-fixture';
import { startTcpProxy, type TcpProxy } from '../support/gateway-tcp-proxy';
import { startNatsServer, type NatsTestServer } from '../support/nats-server';
import { freePort } from '../support/ports';
import { bufferEnv, metricValue, startTestWriter, testBufferConfig, waitFor, type TestWriter } from '../support/buffer-fixture';

/**
 * Exactly once through the buffer: under a steady load of PostgreSQL (/write/metrics) and
 * ClickHouse (/write/logs) requests, a `strata writer` process is SIGKILLed at each point
 * of a batch — taken but not written, rows copied inside the open transaction, committed
 * but not acked, inserted into ClickHouse but not acked — while a second writer keeps
 * going (its PostgreSQL path cut while one of them dies) and receives the dead one's
 * messages when their ack wait runs out. Every
 * acknowledged row must then be stored exactly once (counted and summed), and nothing
 * that was not sent. And the window no protocol closes — the store committed, the answer
 * was lost on the way back — lands nothing twice either.
 */
let nats: NatsTestServer;
let f: GatewayFixture;
let steady: TestWriter | undefined;
let steadyPath: TcpProxy | undefined;
const streams: string[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  f = await startGatewayFixture('gw_buffer_crash');
});

afterAll(async () => {
  await steady?.stop();
  await steadyPath?.close();
  await f?.close();
  await nats?.stop(streams);
});

const HOST = 'crash';
const PG_ROWS = 100;
const CH_ROWS = 40;

interface Load {
  ackedPg: number[];
  ackedCh: number[];
  refused: number;
  stop(): Promise<void>;
}

/** Requests of unique ids, back to back, until stopped (and never past `maxMs`). */
function startLoad(maxMs: number): Load {
  const load: Load = { ackedPg: [], ackedCh: [], refused: 0, stop: async () => undefined };
  let next = 1;
  let running = true;
  const until = Date.now() + maxMs;
  const worker = async (store: 'pg' | 'ch') => {
    while (running && Date.now() < until) {
      const n = store === 'pg' ? PG_ROWS : CH_ROWS;
      const ids = Array.from({ length: n }, () => next++);
      const now = Date.now();
      const rows =
        store === 'pg'
          ? ids.map((id) => ({ time: new Date(now - (id % 3600) * 1000).toISOString(), app: 'crash', host: HOST, value: id }))
          : ids.map((id) => ({ timestamp: new Date(now).toISOString(), app: 'crash', host: HOST, message: String(id) }));
      const res = await fetch(f.gateway.url + (store === 'pg' ? '/write/metrics' : '/write/logs'), {
        method: 'POST',
        body: JSON.stringify(rows),
        headers: { ...f.auth, 'content-type': 'application/json' },
      });
      await res.arrayBuffer();
      if (res.status === 200) (store === 'pg' ? load.ackedPg : load.ackedCh).push(...ids);
      else load.refused++;
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const done = Promise.all([worker('pg'), worker('pg'), worker('ch')]);
  load.stop = async () => {
    running = false;
    await done;
  };
  return load;
}

/** Each id stored once, every acknowledged id stored, nothing stored that was not sent. */
function expectExactlyOnce(stored: number[], acked: number[], sentUpTo: number): void {
  const seen = new Set<number>();
  const duplicates: number[] = [];
  for (const v of stored) {
    if (seen.has(v)) duplicates.push(v);
    seen.add(v);
  }
  expect(duplicates).toEqual([]);
  const missing = acked.filter((id) => !seen.has(id));
  expect(missing).toEqual([]);
  expect(stored.filter((v) => !(Number.isInteger(v) && v >= 1 && v <= sentUpTo))).toEqual([]);
  // Checksum: the acknowledged ids' sum, as stored.
  const ackedSet = new Set(acked);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  expect(sum(stored.filter((v) => ackedSet.has(v)))).toBe(sum(acked));
}

test('a writer SIGKILLed at every point of a batch, under load: every acknowledged row lands exactly once', async () => {
  const cfg = testBufferConfig(nats.url, 'crash', { writers: false, ackWaitSeconds: 2, batchMessages: 8 });
  streams.push(cfg.stream, cfg.deadLetterStream);
  await f.restartGateway({ buffer: cfg });
  // The steady writer reaches PostgreSQL through a path the test cuts for one of the kills.
  steadyPath = await startTcpProxy('127.0.0.1', Number(new URL(f.db.url).port || 5432));
  const load = startLoad(60_000);
  const kills: string[] = [];
  try {
    steady = await startTestWriter(cfg, { pgUrl: steadyPath.via(f.db.url), cold: f.cold, coldDatabase: f.coldDatabase });
    for (const step of [WRITER_STEPS.fetched, WRITER_STEPS.written, WRITER_STEPS.committed, WRITER_STEPS.inserted]) {
      const run = runCli(['writer'], {
        ...bufferEnv(cfg),
        STRATA_PG_URL: f.db.url,
        STRATA_CLICKHOUSE_URL: f.ch.url,
        STRATA_CLICKHOUSE_DATABASE: f.coldDatabase,
        STRATA_TEST_PAUSE_AT: step,
        LOG_LEVEL: 'warn',
      });
      // Killed after COMMIT while the other writer cannot reach PostgreSQL: the batch comes back during the outage.
      if (step === WRITER_STEPS.committed) steadyPath.cut();
      let timer: NodeJS.Timeout | undefined;
      const paused = await Promise.race([run.paused.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 45_000)))]);
      clearTimeout(timer);
      run.child.kill('SIGKILL');
      const exit = await run.exited;
      expect({ step, paused, signal: exit.signal }).toEqual({ step, paused: true, signal: 'SIGKILL' });
      if (step === WRITER_STEPS.committed) {
        await new Promise((r) => setTimeout(r, 3000));
        steadyPath.restore();
      }
      kills.push(step);
    }
  } finally {
    steadyPath?.restore();
    await load.stop();
  }
  expect(kills).toHaveLength(4);
  expect(await metricValue(steady!.registry, 'strata_buffer_apply_failures_total')).toBeGreaterThan(0);
  expect(load.refused).toBe(0);
  expect(load.ackedPg.length).toBeGreaterThan(0);
  expect(load.ackedCh.length).toBeGreaterThan(0);

  // A writer process as deployed: its own /metrics, and SIGTERM finishes the batch in hand and exits 0.
  const metricsPort = await freePort();
  const deployed = runCli(['writer'], {
    ...bufferEnv(cfg),
    STRATA_PG_URL: f.db.url,
    STRATA_CLICKHOUSE_URL: f.ch.url,
    STRATA_CLICKHOUSE_DATABASE: f.coldDatabase,
    STRATA_WRITER_METRICS_PORT: String(metricsPort),
    LOG_LEVEL: 'warn',
  });
  let scraped = '';
  await waitFor('the writer process to serve /metrics', async () => {
    scraped = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text(), () => '');
    return scraped.includes('strata_buffer_lag_messages');
  });
  expect(scraped).toMatch(/strata_buffer_redeliveries_total/);
  deployed.child.kill('SIGTERM');
  expect((await deployed.exited).code).toBe(0);

  // The steady writer applies the rest, the killed one's messages included once their ack wait ran out.
  const nc = await connect({ servers: nats.url });
  try {
    const jsm = await jetstreamManager(nc);
    await waitFor('the stream to drain', async () => (await jsm.streams.info(cfg.stream)).state.messages === 0, 60_000);
  } finally {
    await nc.close();
  }
  const sentUpTo = Math.max(...load.ackedPg, ...load.ackedCh);
  const pgValues = (await f.pg.query<{ value: number }>('SELECT value FROM metrics_events WHERE host = $1', [HOST])).rows.map((r) => r.value);
  expectExactlyOnce(pgValues, load.ackedPg, sentUpTo);
  const chValues = (await f.cold.query<{ message: string }>(`SELECT message FROM ${f.coldDatabase}.logs_events WHERE host = '${HOST}'`)).map((r) => Number(r.message));
  expectExactlyOnce(chValues, load.ackedCh, sentUpTo);

  // The kill after COMMIT left messages the steady writer found already applied.
  expect(await metricValue(steady!.registry, 'strata_buffer_redeliveries_total')).toBeGreaterThan(0);
  const applied = await steady!.metrics.applied.get();
  const duplicates = applied.values.filter((v) => v.labels.outcome === 'duplicate').reduce((n, v) => n + v.value, 0);
  expect(duplicates).toBeGreaterThan(0);
}, 300_000);

test('the answer to a PostgreSQL COMMIT or a ClickHouse INSERT lost on the way back: the batch is not applied again', async () => {
  const cfg = testBufferConfig(nats.url, 'lost', { writers: false, ackWaitSeconds: 2 });
  streams.push(cfg.stream, cfg.deadLetterStream);
  await f.restartGateway({ buffer: cfg });
  const ch = new URL(f.ch.url);
  const pgDrop = await startAnswerDropper('postgres', '127.0.0.1', Number(new URL(f.db.url).port || 5432));
  const chDrop = await startAnswerDropper('clickhouse-http', ch.hostname, Number(ch.port));
  const cold = createColdStore({ kind: 'http', url: chDrop.via(f.ch.url), database: f.coldDatabase, maxRetries: 0 });
  const w = await startTestWriter(cfg, { pgUrl: pgDrop.via(f.db.url), cold, coldDatabase: f.coldDatabase });
  try {
    pgDrop.arm();
    chDrop.arm();
    const send = (path: string, rows: unknown[]) =>
      fetch(f.gateway.url + path, { method: 'POST', body: JSON.stringify(rows), headers: { ...f.auth, 'content-type': 'application/json' } }).then((r) => r.status);
    for (let i = 0; i < 3; i++) {
      expect(await send('/write/metrics', Array.from({ length: 10 }, (_, j) => ({ time: new Date().toISOString(), app: 'lost', host: 'lost', value: i * 10 + j + 1 })))).toBe(200);
      expect(await send('/write/logs', Array.from({ length: 10 }, (_, j) => ({ timestamp: new Date().toISOString(), app: 'lost', host: 'lost', message: String(i * 10 + j + 1) })))).toBe(200);
    }
    const nc = await connect({ servers: nats.url });
    try {
      const jsm = await jetstreamManager(nc);
      await waitFor('the stream to drain', async () => (await jsm.streams.info(cfg.stream)).state.messages === 0, 30_000);
    } finally {
      await nc.close();
    }
    expect({ pg: pgDrop.dropped, ch: chDrop.dropped }).toEqual({ pg: 1, ch: 1 });
    const pgValues = (await f.pg.query<{ value: number }>("SELECT value FROM metrics_events WHERE host = 'lost'")).rows.map((r) => r.value);
    const ids = Array.from({ length: 30 }, (_, i) => i + 1);
    expectExactlyOnce(pgValues, ids, 30);
    const chValues = (await f.cold.query<{ message: string }>(`SELECT message FROM ${f.coldDatabase}.logs_events WHERE host = 'lost'`)).map((r) => Number(r.message));
    expectExactlyOnce(chValues, ids, 30);
    // PostgreSQL: the batch came back and the ledger skipped it.
    const applied = await w.metrics.applied.get();
    expect(applied.values.filter((v) => v.labels.outcome === 'duplicate').reduce((n, v) => n + v.value, 0)).toBeGreaterThan(0);
  } finally {
    await w.stop();
    await cold.close();
    await pgDrop.close();
    await chDrop.close();
  }
});
