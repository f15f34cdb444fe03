import { gzipSync } from 'node:zlib';
import { compress as zstdCompress } from '@mongodb-js/zstd';
import { startGatewayFixture, startProxyFor, type GatewayFixture } from '../support/gateway-fixture';
import type { ProxyProcess } from '../support/proxy-process';

// Plain HTTP to the seed's endpoints; the rows are checked in PostgreSQL / ClickHouse, then
// read back through `strata proxy` (PostgreSQL wire) as a dashboard would.
let f: GatewayFixture;
let proxy: ProxyProcess;
beforeAll(async () => {
  f = await startGatewayFixture('gw_seed');
  // A short catalog refresh: the table /schema/register creates is routed soon after.
  proxy = await startProxyFor(f, { catalogRefreshMs: 200 });
});
afterAll(async () => {
  await proxy?.stop();
  await f?.close();
});

async function post(path: string, body: string | Buffer, headers: Record<string, string> = {}) {
  const res = await fetch(f.gateway.url + path, { method: 'POST', body, headers: { ...f.auth, 'content-type': 'application/json', ...headers } });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers };
}

async function hotRows(where: string) {
  const r = await f.pg.query(`SELECT time, app, host, labels, value, trace_id, level FROM public.metrics_events WHERE ${where} ORDER BY time`);
  return r.rows;
}

describe('POST /write/metrics', () => {
  test('a JSON array lands in the hot table with the values sent; unknown fields go to labels', async () => {
    const rows = [
      { time: '2026-11-25T10:00:00.123456Z', app: 'api', host: 'h1', value: 1.5, labels: { region: 'eu' }, level: 'info' },
      { time: '2026-11-25T10:00:01Z', app: 'api', host: 'h2', value: -2, trace_id: 'abc', pod: 'p-1' },
    ];
    const res = await post('/write/metrics', JSON.stringify(rows));
    expect(res).toMatchObject({ status: 200, body: { rows: 2 } });
    const stored = await hotRows(`app = 'api'`);
    expect(stored).toHaveLength(2);
    expect(stored[0]).toMatchObject({ app: 'api', host: 'h1', value: 1.5, labels: { region: 'eu' }, level: 'info', trace_id: null });
    expect((await f.pg.query(`SELECT to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') t FROM metrics_events WHERE host = 'h1'`)).rows[0].t).toBe('2026-11-25 10:00:00.123456');
    expect(stored[1]).toMatchObject({ host: 'h2', value: -2, trace_id: 'abc', labels: { pod: 'p-1' } });

    const viaProxy = await proxy.query(
      `SELECT time, to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS t, app, host, labels, value, trace_id, level
         FROM metrics_events WHERE app = $1 AND time >= $2 AND time < $3 ORDER BY time`,
      ['api', '2026-11-25T10:00:00Z', '2026-11-25T10:01:00Z'],
    );
    expect(viaProxy.rows).toEqual([
      { time: new Date('2026-11-25T10:00:00.123Z'), t: '2026-11-25 10:00:00.123456', app: 'api', host: 'h1', labels: { region: 'eu' }, value: 1.5, trace_id: null, level: 'info' },
      { time: new Date('2026-11-25T10:00:01Z'), t: '2026-11-25 10:00:01.000000', app: 'api', host: 'h2', labels: { pod: 'p-1' }, value: -2, trace_id: 'abc', level: null },
    ]);
  });

  test('NDJSON, gzip and zstd bodies', async () => {
    const nd = [1, 2, 3].map((i) => JSON.stringify({ time: `2026-11-25T11:00:0${i}Z`, app: 'nd', host: 'h', value: i })).join('\n') + '\n';
    expect((await post('/write/metrics', nd, { 'content-type': 'application/x-ndjson' })).status).toBe(200);
    expect((await post('/write/metrics', gzipSync(nd.replace(/"nd"/g, '"gz"')), { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' })).status).toBe(200);
    const z = await zstdCompress(Buffer.from(nd.replace(/"nd"/g, '"zs"')));
    expect((await post('/write/metrics', z, { 'content-type': 'application/x-ndjson', 'content-encoding': 'zstd' })).status).toBe(200);
    const counts = await f.pg.query(`SELECT app, count(*)::int n, sum(value) s FROM metrics_events WHERE app IN ('nd','gz','zs') GROUP BY app ORDER BY app`);
    expect(counts.rows).toEqual([
      { app: 'gz', n: 3, s: 6 },
      { app: 'nd', n: 3, s: 6 },
      { app: 'zs', n: 3, s: 6 },
    ]);
  });

  test.each([
    ['malformed JSON', '[{"time": "2026-11-25T12:00:00Z", "app": "bad1",', {}, 400, /malformed JSON/],
    ['a wrong type', JSON.stringify([{ time: '2026-11-25T12:00:00Z', app: 'bad2', value: 1 }, { time: '2026-11-25T12:00:01Z', app: 'bad2', value: 'high' }]), {}, 400, /row 2: column value: expected a number, got string/],
    ['a missing time', JSON.stringify([{ app: 'bad3', value: 1 }]), {}, 400, /row 1: column time is required/],
    ['a bad timestamp', JSON.stringify([{ time: '2026-02-31T00:00:00Z', app: 'bad4' }]), {}, 400, /row 1: column time: not a timestamp/],
    ['malformed NDJSON', '{"time":"2026-11-25T12:00:00Z","app":"bad5"}\n{"time":', { 'content-type': 'application/x-ndjson' }, 400, /NDJSON line 2/],
    ['bad gzip', 'not gzip', { 'content-encoding': 'gzip' }, 400, /not valid gzip/],
    ['unknown encoding', '[]', { 'content-encoding': 'br' }, 415, /Content-Encoding "br"/],
  ])('%s → 4xx naming it, nothing written', async (_name, body, headers, status, message) => {
    const res = await post('/write/metrics', body, headers as Record<string, string>);
    expect(res.status).toBe(status);
    expect(String(res.body.message)).toMatch(message);
    expect(await hotRows(`app LIKE 'bad%'`)).toEqual([]);
  });

  test('bad or missing token → 401; unknown table → 404', async () => {
    const row = JSON.stringify([{ time: '2026-11-25T12:00:00Z', app: 'badtoken' }]);
    expect((await post('/write/metrics', row, { authorization: 'Bearer wrong-token-wrong-token' })).status).toBe(401);
    const res = await fetch(f.gateway.url + '/write/metrics', { method: 'POST', body: row, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    const missing = await post('/write/metrics?table=no_such_table', row);
    expect(missing.status).toBe(404);
    expect(String(missing.body.message)).toMatch(/no_such_table/);
    expect(await hotRows(`app = 'badtoken'`)).toEqual([]);
  });
});

describe('POST /write/logs', () => {
  test('rows go straight to the cold-only ClickHouse table, visible to tier-aware reads', async () => {
    const rows = [
      { timestamp: '2026-11-25T10:00:00.5Z', app: 'web', host: 'h1', message: 'hello\tworld\nline2', trace_id: 't1', user: 'u1' },
      { timestamp: 1764064800, app: 'web', host: 'h2', message: 'second', labels: { k: 'v' } },
    ];
    const res = await post('/write/logs', rows.map((r) => JSON.stringify(r)).join('\n'), { 'content-type': 'application/x-ndjson' });
    expect(res).toMatchObject({ status: 200, body: { rows: 2 } });
    const stored = await f.cold.query<Record<string, unknown>>(
      `SELECT toString(timestamp) ts, app, host, message, trace_id, labels FROM strata.logs_events WHERE app = 'web' AND _strata_gen <= 0 ORDER BY timestamp`,
    );
    expect(stored).toEqual([
      { ts: '2025-11-25 10:00:00.000000', app: 'web', host: 'h2', message: 'second', trace_id: null, labels: '{"k": "v"}' },
      { ts: '2026-11-25 10:00:00.500000', app: 'web', host: 'h1', message: 'hello\tworld\nline2', trace_id: 't1', labels: '{"user": "u1"}' },
    ]);

    // Cold-only: answered by the proxy's engine from ClickHouse.
    const viaProxy = await proxy.query(
      `SELECT timestamp, app, host, message, trace_id, labels FROM logs_events WHERE app = 'web' AND timestamp >= '2025-11-01T00:00:00Z' AND timestamp < '2026-12-01T00:00:00Z' ORDER BY timestamp`,
    );
    expect(viaProxy.rows).toEqual([
      { timestamp: new Date(1764064800 * 1000), app: 'web', host: 'h2', message: 'second', trace_id: null, labels: { k: 'v' } },
      { timestamp: new Date('2026-11-25T10:00:00.5Z'), app: 'web', host: 'h1', message: 'hello\tworld\nline2', trace_id: 't1', labels: { user: 'u1' } },
    ]);
  });

  test('a wrong type in one row refuses the request; nothing reaches ClickHouse', async () => {
    const res = await post('/write/logs', JSON.stringify([{ timestamp: '2026-11-25T10:00:00Z', app: 'badlog' }, { timestamp: '2026-11-25T10:00:00Z', app: 'badlog', message: { nested: true } }]));
    expect(res.status).toBe(400);
    expect(String(res.body.message)).toMatch(/row 2: column message: expected a string, got object/);
    expect(await f.cold.query(`SELECT count() n FROM strata.logs_events WHERE app = 'badlog'`)).toEqual([{ n: '0' }]);
  });
});

describe('POST /schema/register', () => {
  test('the seed shape creates both tiers and registers the JSONB schema; rows can then be written', async () => {
    const res = await post(
      '/schema/register',
      JSON.stringify({ table_name: 'seed_events', schema: { columns: [{ name: 'time', type: 'timestamp' }, { name: 'value', type: 'double' }, { name: 'labels', type: 'jsonb' }] } }),
    );
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ table: 'seed_events', action: 'created', kubernetes: 'not configured' });
    const reg = await f.pg.query(`SELECT schema FROM strata.table_registry WHERE table_name = 'seed_events'`);
    expect(reg.rows[0].schema).toMatchObject({ table: 'seed_events', timeColumn: 'time', mode: 'hot-then-cold' });
    expect(await f.cold.query(`SELECT name FROM system.tables WHERE database = 'strata' AND name = 'seed_events'`)).toEqual([{ name: 'seed_events' }]);
    const w = await post('/write/metrics?table=seed_events', JSON.stringify([{ time: '2026-11-25T10:00:00Z', value: 3.25, host: 'x' }]));
    expect(w.status).toBe(200);
    expect((await f.pg.query(`SELECT value, labels FROM seed_events`)).rows).toEqual([{ value: 3.25, labels: { host: 'x' } }]);

    // Once the proxy's catalog has the new table, the engine (not a plain relay) answers it.
    const dashboardSql = `SELECT time, value, labels FROM seed_events WHERE time >= '2026-11-25T00:00:00Z' AND time < '2026-11-26T00:00:00Z' ORDER BY time`;
    const sent = [{ time: new Date('2026-11-25T10:00:00Z'), value: 3.25, labels: { host: 'x' } }];
    for (let tries = 0; ; tries++) {
      const before = (await proxy.tieredRoutes()).hot;
      expect((await proxy.query(dashboardSql)).rows).toEqual(sent);
      if ((await proxy.tieredRoutes()).hot > before) break;
      expect(tries).toBeLessThan(50);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  test('an invalid schema → 400 naming the field; nothing registered', async () => {
    const res = await post('/schema/register', JSON.stringify({ table: 'broken', timeColumn: 'time', columns: [{ name: 'time', type: 'geometry' }] }));
    expect(res.status).toBe(400);
    expect(String(res.body.message)).toMatch(/geometry/);
    expect((await f.pg.query(`SELECT count(*)::int n FROM strata.table_registry WHERE table_name = 'broken'`)).rows[0].n).toBe(0);
  });
});

describe('limits and operations', () => {
  test('an oversized body → 413; a decompression bomb → 413', async () => {
    await f.restartGateway({ bodyLimitBytes: 1024, decompressedLimitBytes: 4096 });
    const big = JSON.stringify([{ time: '2026-11-25T12:00:00Z', app: 'big', host: 'x'.repeat(2000) }]);
    const res = await post('/write/metrics', big);
    expect(res.status).toBe(413);
    const bomb = gzipSync(JSON.stringify([{ time: '2026-11-25T12:00:00Z', app: 'bomb', host: 'y'.repeat(100_000) }]));
    expect(bomb.length).toBeLessThan(1024);
    const res2 = await post('/write/metrics', bomb, { 'content-encoding': 'gzip' });
    expect(res2.status).toBe(413);
    expect(String(res2.body.message)).toMatch(/decompressed body is larger than the limit of 4096 bytes/);
    expect(await hotRows(`app IN ('big','bomb')`)).toEqual([]);
    await f.restartGateway();
  });

  test('/healthz, /readyz and /metrics answer without a token', async () => {
    expect((await fetch(f.gateway.url + '/healthz')).status).toBe(200);
    const ready = await fetch(f.gateway.url + '/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ postgresql: 'ok', clickhouse: 'ok' });
    expect((await post('/write/metrics', JSON.stringify([{ time: '2026-11-25T13:00:00Z', app: 'ops' }]))).status).toBe(200);
    const metrics = await (await fetch(f.gateway.url + '/metrics')).text();
    expect(metrics).toMatch(/strata_gateway_rows_written_total\{store="postgresql",table="metrics_events"\} 1\n/);
  });
});
