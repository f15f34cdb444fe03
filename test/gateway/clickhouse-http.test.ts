import { gzipSync } from 'node:zlib';
import { compress as zstdCompress } from '@mongodb-js/zstd';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import pino from 'pino';
import { GATEWAY_TEST_TOKEN, startGatewayFixture, startProxyFor, type GatewayFixture } from '../support/gateway-fixture';
import { startTcpProxy, type TcpProxy } from '../support/gateway-tcp-proxy';
import type { ProxyProcess } from '../support/proxy-process';

/**
 * ClickHouse's HTTP insert protocol on the gateway (issue 17, item 3), written to by the
 * real @clickhouse/client and by the requests Vector's clickhouse sink sends; rows are
 * checked in the store they belong in (PostgreSQL for the hot-then-cold metrics_events,
 * ClickHouse for the cold-only logs_events) and read back through `strata proxy`.
 */
let f: GatewayFixture;
let proxy: ProxyProcess;
const clients: ClickHouseClient[] = [];

function client(opts: Parameters<typeof createClient>[0] = {}): ClickHouseClient {
  const c = createClient({ url: f.gateway.url, username: 'default', password: GATEWAY_TEST_TOKEN, database: 'default', log: { level: ClickHouseLogLevel.OFF }, ...opts });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  f = await startGatewayFixture('gw_clickhouse');
  proxy = await startProxyFor(f, { catalogRefreshMs: 200 });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await proxy?.stop();
  await f?.close();
});

const hot = async (where: string) =>
  (await f.pg.query(`SELECT to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS t, app, host, labels, value, level FROM metrics_events WHERE ${where} ORDER BY time, host`)).rows;
const cold = (where: string) =>
  f.cold.query<Record<string, unknown>>(`SELECT toString(timestamp) AS t, app, host, message, labels FROM ${f.coldDatabase}.logs_events WHERE ${where} ORDER BY timestamp, host`);

async function raw(path: string, init: RequestInit & { headers?: Record<string, string> } = {}) {
  const res = await fetch(f.gateway.url + path, { ...init, headers: { authorization: `Bearer ${GATEWAY_TEST_TOKEN}`, ...(init.headers ?? {}) } });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

describe('@clickhouse/client as the writer', () => {
  test('ping, then JSONEachRow into a hot-then-cold table: rows in PostgreSQL, read back through the proxy', async () => {
    const ch = client();
    expect((await ch.ping()).success).toBe(true);
    const r = await ch.insert({
      table: 'metrics_events',
      format: 'JSONEachRow',
      values: [
        { time: '2026-11-25 10:00:00.123456', app: 'ch-client', host: 'h1', value: 1.5, labels: { region: 'eu' }, level: 'info' },
        { time: '2026-11-25T10:00:01Z', app: 'ch-client', host: 'h2', value: 2, level: 'warn' },
      ],
    });
    expect(r.executed).toBe(true);
    expect(r.summary?.written_rows).toBe('2');
    expect(await hot(`app = 'ch-client'`)).toEqual([
      { t: '2026-11-25 10:00:00.123456', app: 'ch-client', host: 'h1', labels: { region: 'eu' }, value: 1.5, level: 'info' },
      { t: '2026-11-25 10:00:01.000000', app: 'ch-client', host: 'h2', labels: null, value: 2, level: 'warn' },
    ]);
    const viaProxy = await proxy.query(`SELECT host, value FROM metrics_events WHERE app = 'ch-client' AND time BETWEEN '2026-11-25T00:00:00Z' AND '2026-11-26T00:00:00Z' ORDER BY host`);
    expect(viaProxy.rows).toEqual([
      { host: 'h1', value: 1.5 },
      { host: 'h2', value: 2 },
    ]);
  });

  test('gzip request compression (and response compression asked for), db.table and a column list with JSONCompactEachRow', async () => {
    const ch = client({ compression: { request: true, response: true } });
    await ch.insert({ table: 'default.metrics_events', format: 'JSONEachRow', values: [{ time: '2026-11-25T11:00:00Z', app: 'ch-gzip', host: 'h1', value: 3 }] });
    await ch.insert({ table: 'metrics_events', format: 'JSONCompactEachRow', columns: ['time', 'app', 'host', 'value'], values: [['2026-11-25T11:00:01Z', 'ch-gzip', 'h2', 4]] });
    expect((await hot(`app = 'ch-gzip'`)).map((r) => [r.host, r.value])).toEqual([
      ['h1', 3],
      ['h2', 4],
    ]);
  });

  test('unknown fields: skipped with input_format_skip_unknown_fields=1, else the table policy (labels) keeps them', async () => {
    const ch = client();
    const values = [{ time: '2026-11-25T12:00:00Z', app: 'ch-unknown', host: 'skip', value: 1, pod: 'p-1' }];
    await ch.insert({ table: 'metrics_events', format: 'JSONEachRow', values, clickhouse_settings: { input_format_skip_unknown_fields: 1, date_time_input_format: 'best_effort' } });
    await ch.insert({ table: 'metrics_events', format: 'JSONEachRow', values: [{ ...values[0], host: 'keep' }] });
    expect((await hot(`app = 'ch-unknown'`)).map((r) => [r.host, r.labels])).toEqual([
      ['keep', { pod: 'p-1' }],
      ['skip', null],
    ]);
  });

  test('a bad row: a clear ClickHouse error and nothing of the batch written', async () => {
    const ch = client();
    const values = [
      { time: '2026-11-25T13:00:00Z', app: 'ch-bad', host: 'h1', value: 1 },
      { time: '2026-11-25T13:00:01Z', app: 'ch-bad', host: 'h2', value: 'not a number' },
    ];
    const err = (await ch.insert({ table: 'metrics_events', format: 'JSONEachRow', values }).catch((e: unknown) => e)) as { code?: string; type?: string; message: string };
    expect(err).toMatchObject({ code: '53', type: 'TYPE_MISMATCH' });
    expect(err.message).toMatch(/row 2: column value/);
    expect(await hot(`app = 'ch-bad'`)).toEqual([]);

    const unknownTable = (await ch.insert({ table: 'no_such_table', format: 'JSONEachRow', values: [{ a: 1 }] }).catch((e: unknown) => e)) as { code?: string; type?: string };
    expect(unknownTable).toMatchObject({ code: '60', type: 'UNKNOWN_TABLE' });
    const unknownDb = (await ch.insert({ table: 'elsewhere.metrics_events', format: 'JSONEachRow', values: [{ a: 1 }] }).catch((e: unknown) => e)) as { code?: string; type?: string };
    expect(unknownDb).toMatchObject({ code: '81', type: 'UNKNOWN_DATABASE' });
    const select = (await ch.query({ query: 'SELECT count() FROM metrics_events' }).catch((e: unknown) => e)) as { code?: string };
    expect(select).toMatchObject({ code: '48' });
  });

  test('a cold-only table: rows straight into ClickHouse, read back through the proxy', async () => {
    const ch = client({ compression: { request: true } });
    await ch.insert({
      table: 'logs_events',
      format: 'JSONEachRow',
      values: [
        { timestamp: '2026-11-25T14:00:00.5Z', app: 'ch-logs', host: 'h1', message: 'hello from the ClickHouse client', labels: { unit: 'sshd' } },
        { timestamp: '2026-11-25T14:00:01Z', app: 'ch-logs', host: 'h2', message: 'second' },
      ],
    });
    expect(await cold(`app = 'ch-logs'`)).toEqual([
      { t: '2026-11-25 14:00:00.500000', app: 'ch-logs', host: 'h1', message: 'hello from the ClickHouse client', labels: '{"unit": "sshd"}' },
      { t: '2026-11-25 14:00:01.000000', app: 'ch-logs', host: 'h2', message: 'second', labels: null },
    ]);
    expect(await hot(`false`)).toEqual([]);
    const viaProxy = await proxy.query(`SELECT host, message FROM logs_events WHERE app = 'ch-logs' ORDER BY host`);
    expect(viaProxy.rows).toEqual([
      { host: 'h1', message: 'hello from the ClickHouse client' },
      { host: 'h2', message: 'second' },
    ]);
  });

  test('credentials: X-ClickHouse-User/Key and Basic carry the gateway token; a wrong one is refused', async () => {
    const body = JSON.stringify({ time: '2026-11-25T15:00:00Z', app: 'ch-auth', host: 'h1', value: 1 });
    const path = '/?query=' + encodeURIComponent('INSERT INTO metrics_events FORMAT JSONEachRow');
    const post = (headers: Record<string, string>) => fetch(f.gateway.url + path, { method: 'POST', body, headers });
    expect((await post({ 'X-ClickHouse-User': 'default', 'X-ClickHouse-Key': GATEWAY_TEST_TOKEN })).status).toBe(200);
    expect((await post({ authorization: 'Basic ' + Buffer.from(`default:${GATEWAY_TEST_TOKEN}`).toString('base64') })).status).toBe(200);
    expect((await post({ 'X-ClickHouse-User': 'default', 'X-ClickHouse-Key': 'wrong' })).status).toBe(401);
    expect((await post({})).status).toBe(401);
    expect((await client({ password: 'wrong' }).insert({ table: 'metrics_events', format: 'JSONEachRow', values: [{ time: '2026-11-25T15:00:01Z', app: 'ch-auth' }] }).catch((e: Error) => e)) instanceof Error).toBe(true);
    expect((await hot(`app = 'ch-auth'`)).length).toBe(2);
  });
});

describe("Vector's clickhouse sink requests", () => {
  // src/sinks/clickhouse/service.rs: POST {endpoint}/?input_format_import_nested_json=1&[input_format_skip_unknown_fields=0|1&]
  // [date_time_input_format=best_effort&]query=INSERT INTO {database:Identifier}.{table:Identifier} FORMAT JSONEachRow
  // &param_database=…&param_table=…, Content-Type application/x-ndjson, Content-Encoding per `compression`.
  const vectorPath = (table: string, skipUnknown?: boolean) =>
    '/?input_format_import_nested_json=1&' +
    (skipUnknown === undefined ? '' : `input_format_skip_unknown_fields=${skipUnknown ? 1 : 0}&`) +
    'date_time_input_format=best_effort&' +
    new URLSearchParams({ query: 'INSERT INTO {database:Identifier}.{table:Identifier} FORMAT JSONEachRow', param_database: 'default', param_table: table }).toString();
  const journald = (i: number, host: string) =>
    JSON.stringify({ timestamp: `2026-11-25T16:00:0${i}.123456789Z`, host, message: `journald line ${i}`, source_type: 'journald', _SYSTEMD_UNIT: 'sshd.service', structured: { level: 'info' } });

  test('the healthcheck (GET /?query=SELECT 1); the query id echoed when it is a plain token', async () => {
    const ok = await raw('/?query=SELECT%201&query_id=vector-hc-1');
    expect(ok).toMatchObject({ status: 200, text: '1\n' });
    expect(ok.headers.get('x-clickhouse-query-id')).toBe('vector-hc-1');
    const odd = await raw('/?query=SELECT%201&query_id=' + encodeURIComponent('a\r\nSet-Cookie: x=1'));
    expect(odd.status).toBe(200);
    expect(odd.headers.get('set-cookie')).toBeNull();
    expect(odd.headers.get('x-clickhouse-query-id')).not.toContain('Set-Cookie');
  });

  test('a gzip batch into the seed logs table (cold-only); unknown journald fields kept in labels', async () => {
    const nd = [journald(1, 'vec-1'), journald(2, 'vec-2')].join('\n') + '\n';
    const res = await raw(vectorPath('logs_events'), { method: 'POST', body: gzipSync(nd), headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' } });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.headers.get('x-clickhouse-summary') ?? '{}')).toMatchObject({ written_rows: '2' });
    const rows = await cold(`host LIKE 'vec-%'`);
    expect(rows.map((r) => [r.t, r.host, r.message])).toEqual([
      ['2026-11-25 16:00:01.123456', 'vec-1', 'journald line 1'],
      ['2026-11-25 16:00:02.123456', 'vec-2', 'journald line 2'],
    ]);
    expect(JSON.parse(rows[0].labels as string)).toEqual({ source_type: 'journald', _SYSTEMD_UNIT: 'sshd.service', structured: { level: 'info' } });
  });

  test('zstd with skip_unknown_fields=1, and the older quoted-name form', async () => {
    const z = await zstdCompress(Buffer.from(journald(3, 'vec-zstd') + '\n'));
    expect((await raw(vectorPath('logs_events', true), { method: 'POST', body: z, headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'zstd' } })).status).toBe(200);
    const older = '/?input_format_import_nested_json=1&' + new URLSearchParams({ query: 'INSERT INTO "default"."logs_events" FORMAT JSONEachRow' }).toString();
    expect((await raw(older, { method: 'POST', body: journald(4, 'vec-old'), headers: { 'content-type': 'application/x-ndjson' } })).status).toBe(200);
    const rows = await cold(`host IN ('vec-zstd', 'vec-old')`);
    expect(rows.map((r) => [r.host, r.labels === null ? null : Object.keys(JSON.parse(r.labels as string)).sort()])).toEqual([
      ['vec-zstd', null],
      ['vec-old', ['_SYSTEMD_UNIT', 'source_type', 'structured']],
    ]);
  });

  test('a batch with a bad event is refused whole with a 4xx Vector does not retry', async () => {
    const nd = journald(5, 'vec-bad') + '\n' + JSON.stringify({ timestamp: 'yesterday', host: 'vec-bad', message: 'x' }) + '\n';
    const res = await raw(vectorPath('logs_events'), { method: 'POST', body: nd, headers: { 'content-type': 'application/x-ndjson' } });
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/^Code: 53\. DB::Exception: row 2: column timestamp: .*\(TYPE_MISMATCH\)\n$/);
    expect(res.headers.get('x-clickhouse-exception-code')).toBe('53');
    expect(await cold(`host = 'vec-bad'`)).toEqual([]);
  });

  test('the statement at the head of the body, JSONCompactEachRowWithNames, and an array of objects', async () => {
    const body = 'INSERT INTO metrics_events FORMAT JSONCompactEachRowWithNames\n["time","app","host","value"]\n["2026-11-25T17:00:00Z","ch-body","h1",7]\n';
    expect((await raw('/', { method: 'POST', body })).status).toBe(200);
    const array = JSON.stringify([{ time: '2026-11-25T17:00:01Z', app: 'ch-body', host: 'h2', value: 8 }, { time: '2026-11-25T17:00:02Z', app: 'ch-body', host: 'h3', value: 9 }]);
    expect((await raw('/?query=' + encodeURIComponent('INSERT INTO metrics_events FORMAT JSONEachRow'), { method: 'POST', body: '\n ' + array })).status).toBe(200); // JSONEachRow takes an array too
    expect((await hot(`app = 'ch-body'`)).map((r) => [r.host, r.value])).toEqual([['h1', 7], ['h2', 8], ['h3', 9]]);
  });

  test('settings the gateway does not implement are refused, not ignored', async () => {
    const res = await raw('/?input_format_csv_delimiter=%3B&query=' + encodeURIComponent('INSERT INTO metrics_events FORMAT JSONEachRow'), { method: 'POST', body: '{}' });
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/^Code: 48\. .*input_format_csv_delimiter/);
  });
});

describe('the same acknowledgement rules as the other protocols', () => {
  let g: GatewayFixture;
  let chPath: TcpProxy;
  beforeAll(async () => {
    g = await startGatewayFixture('gw_clickhouse_rules');
    chPath = await startTcpProxy('127.0.0.1', g.ch.port);
    await g.restartGateway({
      cold: { kind: 'http', url: chPath.via(g.ch.url), database: g.coldDatabase, maxRetries: 0, requestTimeoutMs: 2000 },
      batch: { maxDelayMs: 300, maxRows: 10_000, maxPendingRows: 10, retryAfterSeconds: 2 },
      logger: pino({ level: 'silent' }),
    });
  });
  afterAll(async () => {
    await g?.close();
    await chPath?.close();
  });
  const insert = (table: string, rows: object[]) =>
    fetch(g.gateway.url + '/?query=' + encodeURIComponent(`INSERT INTO ${table} FORMAT JSONEachRow`), {
      method: 'POST',
      body: rows.map((r) => JSON.stringify(r)).join('\n'),
      headers: { 'X-ClickHouse-Key': GATEWAY_TEST_TOKEN },
    }).then(async (res) => ({ status: res.status, text: await res.text(), retryAfter: res.headers.get('retry-after') }));
  const metrics = (app: string, n: number) => Array.from({ length: n }, (_, i) => ({ time: `2026-11-25T19:00:${String(i).padStart(2, '0')}Z`, app, host: 'h', value: i }));

  test('writers behind: 429 with Retry-After (code 202, which Vector retries); the held request still commits', async () => {
    const first = insert('metrics_events', metrics('chbp-1', 8));
    await new Promise((r) => setTimeout(r, 50));
    const second = await insert('metrics_events', metrics('chbp-2', 5));
    expect(second).toMatchObject({ status: 429, retryAfter: '2' });
    expect(second.text).toMatch(/^Code: 202\. DB::Exception: .*\(TOO_MANY_SIMULTANEOUS_QUERIES\)/);
    expect((await first).status).toBe(200);
    expect((await g.pg.query(`SELECT app, count(*)::int AS n FROM metrics_events WHERE app LIKE 'chbp-%' GROUP BY app`)).rows).toEqual([{ app: 'chbp-1', n: 8 }]);
  });

  test('ClickHouse unreachable for a cold-only table: 503 (code 210) and nothing written; after it returns, the insert succeeds', async () => {
    const logs = (app: string) => [{ timestamp: '2026-11-25T19:30:00Z', app, message: 'm' }];
    chPath.cut();
    const during = await insert('logs_events', logs('chout-during'));
    expect(during).toMatchObject({ status: 503, retryAfter: '2' });
    expect(during.text).toMatch(/^Code: 210\. DB::Exception: clickhouse is unavailable; nothing from this request was written\. \(NETWORK_ERROR\)/);
    chPath.restore();
    expect((await insert('logs_events', logs('chout-after'))).status).toBe(200);
    expect(await g.cold.query(`SELECT app FROM ${g.coldDatabase}.logs_events WHERE app LIKE 'chout-%' ORDER BY app`)).toEqual([{ app: 'chout-after' }]);
  });
});
