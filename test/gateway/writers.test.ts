import pino from 'pino';
import { GATEWAY_TEST_TOKEN, startGatewayFixture, type GatewayFixture } from '../support/gateway-fixture';
import { startTcpProxy, type TcpProxy } from '../support/gateway-tcp-proxy';

// Batching, atomicity per request, backpressure and store outages, against the real
// PostgreSQL and ClickHouse engine; outages are cut network paths (TCP forwarders).

const auth = { authorization: `Bearer ${GATEWAY_TEST_TOKEN}`, 'content-type': 'application/json' };

async function post(f: GatewayFixture, path: string, rows: unknown[]) {
  const res = await fetch(f.gateway.url + path, { method: 'POST', body: JSON.stringify(rows), headers: auth });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { message?: string; rows?: number } };
}

const metricRows = (tag: string, n: number, base = Date.parse('2026-11-25T05:00:00Z')) =>
  Array.from({ length: n }, (_, i) => ({ time: new Date(base + i * 1000).toISOString(), app: tag, host: `h${i % 3}`, value: i }));

describe('batching and atomicity', () => {
  let f: GatewayFixture;
  beforeAll(async () => {
    f = await startGatewayFixture('gw_writers', { batch: { maxDelayMs: 50, maxRows: 10_000 } });
  });
  afterAll(async () => f?.close());

  test('concurrent requests share COPY batches and every acknowledged row is stored once', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => post(f, '/write/metrics', metricRows(`batch-${i}`, 50))));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    const r = await f.pg.query(`SELECT app, count(*)::int n, sum(value)::int s FROM metrics_events WHERE app LIKE 'batch-%' GROUP BY app`);
    expect(r.rows).toHaveLength(20);
    for (const row of r.rows) expect(row).toMatchObject({ n: 50, s: (49 * 50) / 2 });
    const flushes = (await f.gateway.metrics.flushSeconds.get()).values.find((v) => v.metricName === 'strata_gateway_flush_seconds_count' && v.labels.table === 'metrics_events');
    expect(flushes!.value).toBeLessThan(20);
  });

  test('a request PostgreSQL refuses inside a shared batch fails alone; its batch-mates are written', async () => {
    const reg = await fetch(f.gateway.url + '/schema/register', {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ table: 'prices', timeColumn: 'time', mode: 'hot-only', columns: [{ name: 'time', type: 'timestamptz' }, { name: 'sym', type: 'text' }, { name: 'price', type: 'numeric(4,1)' }] }),
    });
    expect(reg.status).toBe(201);
    const t = '2026-11-25T05:00:00Z';
    const [a, bad, b] = await Promise.all([
      post(f, '/write/metrics?table=prices', [{ time: t, sym: 'A', price: '1.5' }, { time: t, sym: 'A', price: 2 }]),
      post(f, '/write/metrics?table=prices', [{ time: t, sym: 'BAD', price: '1.0' }, { time: t, sym: 'BAD', price: '123456.7' }]),
      post(f, '/write/metrics?table=prices', [{ time: t, sym: 'B', price: '999.9' }]),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/postgresql rejected the rows: SQLSTATE 22003/);
    const r = await f.pg.query(`SELECT sym, price::text FROM prices ORDER BY sym, price`);
    expect(r.rows).toEqual([
      { sym: 'A', price: '1.5' },
      { sym: 'A', price: '2.0' },
      { sym: 'B', price: '999.9' },
    ]);
  });

  test('a cold-only backfill spanning 150 day partitions is one accepted batch (no TOO_MANY_PARTS)', async () => {
    // ClickHouse refuses an INSERT into more than 100 partitions unless told otherwise.
    const day = 86_400_000;
    const base = Date.parse('2025-06-01T12:00:00Z');
    const logs = Array.from({ length: 150 }, (_, i) => ({ timestamp: new Date(base + i * day).toISOString(), app: 'backfill', host: `h${i % 3}`, message: `day ${i}` }));
    const res = await post(f, '/write/logs', logs);
    expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: { rows: 150 } });
    const rows = await f.cold.query<{ n: string; days: string; first: string; last: string }>(
      `SELECT count() AS n, uniqExact(toDate(timestamp)) AS days, toString(min(timestamp)) AS first, toString(max(timestamp)) AS last
       FROM ${f.coldDatabase}.logs_events WHERE app = 'backfill'`,
    );
    expect(rows).toEqual([{ n: '150', days: '150', first: expect.stringMatching(/^2025-06-01 12:00:00/), last: expect.stringMatching(/^2025-10-28 12:00:00/) }]);
  });
});

describe('backpressure', () => {
  let f: GatewayFixture;
  beforeAll(async () => {
    f = await startGatewayFixture('gw_backpressure', { batch: { maxDelayMs: 300, maxRows: 10_000, maxPendingRows: 10, retryAfterSeconds: 2 } });
  });
  afterAll(async () => f?.close());

  test('429 with Retry-After while the writers hold more than maxPendingRows; the held request still commits', async () => {
    const first = post(f, '/write/metrics', metricRows('bp-1', 8));
    await new Promise((r) => setTimeout(r, 50));
    const second = await post(f, '/write/metrics', metricRows('bp-2', 5));
    expect(second.status).toBe(429);
    expect(second.retryAfter).toBe('2');
    expect((await first).status).toBe(200);
    const r = await f.pg.query(`SELECT app, count(*)::int n FROM metrics_events WHERE app LIKE 'bp-%' GROUP BY app`);
    expect(r.rows).toEqual([{ app: 'bp-1', n: 8 }]);
  });
});

describe('store outages', () => {
  let f: GatewayFixture;
  let pgPath: TcpProxy;
  let chPath: TcpProxy;
  beforeAll(async () => {
    // The fixture's own gateway talks to the stores directly; restart it behind forwarders.
    f = await startGatewayFixture('gw_outage');
    pgPath = await startTcpProxy('127.0.0.1', Number(new URL(f.db.url).port || 5432));
    chPath = await startTcpProxy('127.0.0.1', f.ch.port);
    await f.restartGateway({
      pgUrl: pgPath.via(f.db.url),
      cold: { kind: 'http', url: chPath.via(f.ch.url), database: f.coldDatabase, maxRetries: 0, requestTimeoutMs: 2000 },
      batch: { maxDelayMs: 5 },
      logger: pino({ level: 'silent' }),
    });
  });
  afterAll(async () => {
    await f?.close();
    await pgPath?.close();
    await chPath?.close();
  });

  test('PostgreSQL unreachable: 503 with Retry-After; every acknowledged request is stored whole, the others whole or not at all', async () => {
    const outcomes = new Map<string, number>();
    let stop = false;
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        const tag = `pgout-${i}`;
        const res = await post(f, '/write/metrics', metricRows(tag, 20)).catch(() => ({ status: 0, retryAfter: null, body: {} }));
        outcomes.set(tag, res.status);
        if (res.status === 503) expect(res.retryAfter).toBe('1');
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    pgPath.cut();
    await new Promise((r) => setTimeout(r, 500));
    const during = await post(f, '/write/metrics', metricRows('pgout-during', 5));
    expect(during.status).toBe(503);
    expect(during.body.message).toMatch(/postgresql is unavailable; nothing from this request was written/);
    pgPath.restore();
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await writer;
    const after = await post(f, '/write/metrics', metricRows('pgout-after', 5));
    expect(after.status).toBe(200);

    const counts = new Map((await f.pg.query(`SELECT app, count(*)::int n FROM metrics_events WHERE app LIKE 'pgout-%' GROUP BY app`)).rows.map((r) => [r.app as string, r.n as number]));
    const acked = [...outcomes].filter(([, s]) => s === 200).map(([t]) => t);
    expect(acked.length).toBeGreaterThan(2);
    expect([...outcomes.values()]).toContain(503);
    for (const tag of acked) expect([tag, counts.get(tag)]).toEqual([tag, 20]);
    for (const [tag, s] of outcomes) if (s !== 200) expect([0, 20]).toContain(counts.get(tag) ?? 0);
    expect(counts.get('pgout-during')).toBeUndefined();
    expect(counts.get('pgout-after')).toBe(5);
  });

  test('ClickHouse unreachable: /write/logs answers 503 and /readyz reports it; after it returns, writes succeed', async () => {
    const logs = (tag: string) => [{ timestamp: '2026-11-25T05:00:00Z', app: tag, message: 'm' }];
    expect((await post(f, '/write/logs', logs('chout-before'))).status).toBe(200);
    chPath.cut();
    const during = await post(f, '/write/logs', logs('chout-during'));
    expect(during.status).toBe(503);
    expect(during.body.message).toMatch(/clickhouse is unavailable/);
    const ready = await fetch(f.gateway.url + '/readyz');
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ clickhouse: 'unavailable', postgresql: 'ok' });
    chPath.restore();
    expect((await post(f, '/write/logs', logs('chout-after'))).status).toBe(200);
    const rows = await f.cold.query(`SELECT app, count() n FROM strata.logs_events WHERE app LIKE 'chout-%' GROUP BY app ORDER BY app`);
    expect(rows).toEqual([
      { app: 'chout-after', n: '1' },
      { app: 'chout-before', n: '1' },
    ]);
  });
});

describe('configuration', () => {
  test('refuses to start without a token unless explicitly insecure', async () => {
    const { startGateway } = await import('@strata/gateway');
    await expect(startGateway({ pgUrl: 'postgres://127.0.0.1:1/x', cold: { kind: 'http', url: 'http://127.0.0.1:1', database: 'x' } })).rejects.toThrow(/no bearer token configured/);
  });
});
