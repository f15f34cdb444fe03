import { InfluxDB, Point, setLogger } from '@influxdata/influxdb-client';
import { makeData, makeVector, Table, TimestampMicrosecond, vectorFromArray, Float64, Utf8 } from 'apache-arrow';
import { pushTimeseries } from 'prometheus-remote-write';
import { GATEWAY_TEST_TOKEN, startGatewayFixture, startProxyFor, tierUntil, type GatewayFixture } from '../support/gateway-fixture';
import type { ProxyProcess } from '../support/proxy-process';
import { flightDoPut } from '../support/gateway-flight-client';

// Each protocol's real client sends to the gateway; the rows are checked in PostgreSQL,
// then read back through `strata proxy` (PostgreSQL wire) as a dashboard would.
let f: GatewayFixture;
let proxy: ProxyProcess;
// The client logs refused writes to the console; the tests assert on them instead.
setLogger({ error: () => undefined, warn: () => undefined });
beforeAll(async () => {
  f = await startGatewayFixture('gw_protocols');
  proxy = await startProxyFor(f);
});
afterAll(async () => {
  await proxy?.stop();
  await f?.close();
});

describe('Prometheus remote write (prometheus-remote-write client: protobuf + snappy)', () => {
  test('samples land in prom_metrics: __name__ → metric, other labels → labels', async () => {
    const t0 = Date.parse('2026-11-25T07:00:00.250Z');
    const res = await pushTimeseries(
      [
        { labels: { __name__: 'http_requests_total', job: 'api', instance: 'h1:9100' }, samples: [{ value: 10, timestamp: t0 }, { value: 12.5, timestamp: t0 + 15_000 }] },
        { labels: { __name__: 'up', job: 'api' }, samples: [{ value: 1, timestamp: t0 }] },
      ],
      { url: `${f.gateway.url}/api/v1/write`, headers: { Authorization: `Bearer ${GATEWAY_TEST_TOKEN}` }, fetch: globalThis.fetch as never },
    );
    expect(res.status).toBe(204);
    const r = await f.pg.query(`SELECT metric, value, labels, extract(epoch FROM time)::float8 * 1000 AS ms FROM prom_metrics ORDER BY metric, time`);
    expect(r.rows).toEqual([
      { metric: 'http_requests_total', value: 10, labels: { job: 'api', instance: 'h1:9100' }, ms: t0 },
      { metric: 'http_requests_total', value: 12.5, labels: { job: 'api', instance: 'h1:9100' }, ms: t0 + 15_000 },
      { metric: 'up', value: 1, labels: { job: 'api' }, ms: t0 },
    ]);
    const sent = [
      { time: new Date(t0), metric: 'http_requests_total', value: 10, labels: { job: 'api', instance: 'h1:9100' } },
      { time: new Date(t0 + 15_000), metric: 'http_requests_total', value: 12.5, labels: { job: 'api', instance: 'h1:9100' } },
      { time: new Date(t0), metric: 'up', value: 1, labels: { job: 'api' } },
    ];
    const dashboardSql = `SELECT time, metric, value, labels FROM prom_metrics WHERE time >= '2026-11-25T07:00:00Z' AND time < '2026-11-25T08:00:00Z' ORDER BY metric, time`;
    const routes = await proxy.tieredRoutes();
    expect((await proxy.query(dashboardSql)).rows).toEqual(sent);
    // The samples at t0 move to ClickHouse; the same statement is then answered from both tiers.
    expect((await tierUntil(f, 'prom_metrics', new Date(t0 + 1000))).rows).toBe(2);
    expect((await proxy.query(dashboardSql)).rows).toEqual(sent);
    expect(await proxy.tieredRoutes()).toMatchObject({ hot: routes.hot + 1, split: routes.split + 1 });
  });

  test('a bad token → 401; a body that is not snappy → 400; nothing written', async () => {
    const bad = await pushTimeseries([{ labels: { __name__: 'bad_token_metric' }, samples: [{ value: 1 }] }], {
      url: `${f.gateway.url}/api/v1/write`,
      headers: { Authorization: 'Bearer wrong-token-wrong-token' },
      fetch: globalThis.fetch as never,
    });
    expect(bad.status).toBe(401);
    const junk = await fetch(`${f.gateway.url}/api/v1/write`, { method: 'POST', body: Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), headers: { authorization: `Bearer ${GATEWAY_TEST_TOKEN}`, 'content-type': 'application/x-protobuf' } });
    expect(junk.status).toBe(400);
    expect(((await junk.json()) as { message: string }).message).toMatch(/snappy/);
    expect((await f.pg.query(`SELECT count(*)::int n FROM prom_metrics WHERE metric = 'bad_token_metric'`)).rows[0].n).toBe(0);
  });
});

describe('InfluxDB line protocol (@influxdata/influxdb-client)', () => {
  test('points written through /api/v2/write land in influx_metrics, one row per field', async () => {
    const influx = new InfluxDB({ url: f.gateway.url, token: GATEWAY_TEST_TOKEN });
    const write = influx.getWriteApi('org', 'bucket', 'us', { maxRetries: 0 });
    const at = new Date('2026-11-25T06:00:00.123Z');
    write.writePoint(new Point('cpu').tag('host', 'h 1').tag('region', 'eu,west').floatField('usage', 12.5).intField('cores', 8).booleanField('ok', true).stringField('note', 'fine "really"').timestamp(at));
    write.writePoint(new Point('mem').tag('host', 'h2').floatField('used', 0.75).timestamp(at));
    await write.close();
    const r = await f.pg.query(`SELECT measurement, field, value, value_text, labels, time = $1::timestamptz AS at_ok FROM influx_metrics ORDER BY measurement, field`, [at.toISOString()]);
    expect(r.rows).toEqual([
      { measurement: 'cpu', field: 'cores', value: 8, value_text: null, labels: { host: 'h 1', region: 'eu,west' }, at_ok: true },
      { measurement: 'cpu', field: 'note', value: null, value_text: 'fine "really"', labels: { host: 'h 1', region: 'eu,west' }, at_ok: true },
      { measurement: 'cpu', field: 'ok', value: 1, value_text: null, labels: { host: 'h 1', region: 'eu,west' }, at_ok: true },
      { measurement: 'cpu', field: 'usage', value: 12.5, value_text: null, labels: { host: 'h 1', region: 'eu,west' }, at_ok: true },
      { measurement: 'mem', field: 'used', value: 0.75, value_text: null, labels: { host: 'h2' }, at_ok: true },
    ]);
    // Extended protocol (bound parameters), as Grafana's PostgreSQL source and most drivers send it.
    const dashboard = () =>
      proxy.query(
        `SELECT time, measurement, field, value, value_text, labels->>'host' AS host FROM influx_metrics WHERE time >= $1 AND time < $2 AND measurement IN ('cpu', 'mem') ORDER BY measurement, field`,
        ['2026-11-25T06:00:00Z', '2026-11-25T07:00:00Z'],
      );
    const sent = [
      { time: at, measurement: 'cpu', field: 'cores', value: 8, value_text: null, host: 'h 1' },
      { time: at, measurement: 'cpu', field: 'note', value: null, value_text: 'fine "really"', host: 'h 1' },
      { time: at, measurement: 'cpu', field: 'ok', value: 1, value_text: null, host: 'h 1' },
      { time: at, measurement: 'cpu', field: 'usage', value: 12.5, value_text: null, host: 'h 1' },
      { time: at, measurement: 'mem', field: 'used', value: 0.75, value_text: null, host: 'h2' },
    ];
    expect((await dashboard()).rows).toEqual(sent);
    // All of them moved to ClickHouse: the same statement is answered by the engine from the cold tier alone.
    expect((await tierUntil(f, 'influx_metrics', new Date('2026-11-25T07:00:00Z'))).rows).toBe(5);
    const routes = await proxy.tieredRoutes();
    expect((await dashboard()).rows).toEqual(sent);
    expect((await proxy.tieredRoutes()).cold).toBe(routes.cold + 1);
  });

  test('the v1 /write endpoint with precision=s', async () => {
    const res = await fetch(`${f.gateway.url}/write?db=x&precision=s`, { method: 'POST', body: 'disk,host=h3 free=42i 1764050400\n', headers: { authorization: `Token ${GATEWAY_TEST_TOKEN}` } });
    expect(res.status).toBe(204);
    const r = await f.pg.query(`SELECT value, time = to_timestamp(1764050400) AS at_ok FROM influx_metrics WHERE measurement = 'disk'`);
    expect(r.rows).toEqual([{ value: 42, at_ok: true }]);
    const viaProxy = await proxy.query(`SELECT time, value, labels FROM influx_metrics WHERE measurement = 'disk' AND time >= '2025-11-25T00:00:00Z' AND time < '2025-11-26T00:00:00Z' ORDER BY time`);
    expect(viaProxy.rows).toEqual([{ time: new Date(1764050400 * 1000), value: 42, labels: { host: 'h3' } }]);
  });

  test('malformed line protocol is refused whole (400 naming the line), through the client too', async () => {
    const influx = new InfluxDB({ url: f.gateway.url, token: GATEWAY_TEST_TOKEN });
    const write = influx.getWriteApi('org', 'bucket', 'ns', { maxRetries: 0 });
    write.writeRecords(['badline,host=a v=1 1764050400000000000', 'badline,host=a v= 1764050400000000000']);
    await expect(write.close()).rejects.toThrow(/line 2/);
    const res = await fetch(`${f.gateway.url}/api/v2/write?precision=xs`, { method: 'POST', body: 'badline v=1', headers: { authorization: `Token ${GATEWAY_TEST_TOKEN}` } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/precision "xs"/);
    expect((await f.pg.query(`SELECT count(*)::int n FROM influx_metrics WHERE measurement = 'badline'`)).rows[0].n).toBe(0);
  });
});

describe('Arrow Flight DoPut (apache-arrow over @grpc/grpc-js)', () => {
  const micros = [1764050400123456n, 1764050401000001n, 1764050402999999n];
  const arrowTable = (values: unknown) =>
    new Table({
      time: makeVector(makeData({ type: new TimestampMicrosecond(), length: 3, data: BigInt64Array.from(micros) })),
      app: vectorFromArray(['flight', 'flight', 'flight'], new Utf8()),
      host: vectorFromArray(['f1', 'f2', null], new Utf8()),
      value: values as never,
      labels: vectorFromArray(['{"a": 1}', null, '{"b": [true]}'], new Utf8()),
    });

  test('a record batch stream lands in the named table with microsecond timestamps', async () => {
    const out = await flightDoPut(f.gateway.grpcAddress!, GATEWAY_TEST_TOKEN, 'metrics_events', arrowTable(vectorFromArray([1.5, -0.25, 1e300], new Float64())));
    expect(out.results).toBe(1);
    const r = await f.pg.query(
      `SELECT (extract(epoch FROM time) * 1000000)::bigint::text AS us, host, value, labels FROM metrics_events WHERE app = 'flight' ORDER BY time`,
    );
    expect(r.rows).toEqual([
      { us: String(micros[0]), host: 'f1', value: 1.5, labels: { a: 1 } },
      { us: String(micros[1]), host: 'f2', value: -0.25, labels: null },
      { us: String(micros[2]), host: null, value: 1e300, labels: { b: [true] } },
    ]);
    // node-postgres parses timestamptz to a millisecond Date; the microseconds are read as text.
    const viaProxy = await proxy.query(
      `SELECT time, to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS t, app, host, value, labels FROM metrics_events
        WHERE app = 'flight' AND time >= '2025-11-25T06:00:00Z' AND time < '2025-11-25T06:01:00Z' ORDER BY time`,
    );
    expect(viaProxy.rows).toEqual([
      { time: new Date('2025-11-25T06:00:00.123Z'), t: '2025-11-25 06:00:00.123456', app: 'flight', host: 'f1', value: 1.5, labels: { a: 1 } },
      { time: new Date('2025-11-25T06:00:01.000Z'), t: '2025-11-25 06:00:01.000001', app: 'flight', host: 'f2', value: -0.25, labels: null },
      { time: new Date('2025-11-25T06:00:02.999Z'), t: '2025-11-25 06:00:02.999999', app: 'flight', host: null, value: 1e300, labels: { b: [true] } },
    ]);
  });

  test('a wrong column type → INVALID_ARGUMENT, unknown table → NOT_FOUND, bad token → UNAUTHENTICATED; nothing written', async () => {
    const strings = arrowTable(vectorFromArray(['1', 'two', '3'], new Utf8()));
    await expect(flightDoPut(f.gateway.grpcAddress!, GATEWAY_TEST_TOKEN, 'metrics_events', strings)).rejects.toMatchObject({ code: 3, details: expect.stringMatching(/row 1: column value: expected a number/) });
    const good = arrowTable(vectorFromArray([1, 2, 3], new Float64()));
    await expect(flightDoPut(f.gateway.grpcAddress!, GATEWAY_TEST_TOKEN, 'nope_table', good)).rejects.toMatchObject({ code: 5 });
    await expect(flightDoPut(f.gateway.grpcAddress!, 'wrong-token-wrong-token', 'metrics_events', good)).rejects.toMatchObject({ code: 16 });
    expect((await f.pg.query(`SELECT count(*)::int n FROM metrics_events WHERE app = 'flight'`)).rows[0].n).toBe(3);
  });
});
