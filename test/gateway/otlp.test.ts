import { GATEWAY_TEST_TOKEN, startGatewayFixture, startProxyFor, tierUntil, type GatewayFixture } from '../support/gateway-fixture';
import type { ProxyProcess } from '../support/proxy-process';
import { otelExport, type OtelTransport } from '../support/gateway-otel';

// The OpenTelemetry SDK with its OTLP exporters (HTTP JSON, HTTP protobuf, gRPC) sends
// to the gateway; the rows are read from PostgreSQL / ClickHouse directly, then through
// `strata proxy` (PostgreSQL wire) as a dashboard would.

let f: GatewayFixture;
let proxy: ProxyProcess;
beforeAll(async () => {
  f = await startGatewayFixture('gw_otlp');
  proxy = await startProxyFor(f);
});
afterAll(async () => {
  await proxy?.stop();
  await f?.close();
});

const TRANSPORTS: OtelTransport[] = ['http-json', 'http-proto', 'grpc'];
const target = (t: OtelTransport) => (t === 'grpc' ? `http://${f.gateway.grpcAddress}` : f.gateway.url);
const allOk = (out: { results: Array<{ code: number }> }) => {
  expect(out.results.length).toBeGreaterThan(0);
  expect(out.results.filter((r) => r.code !== 0)).toEqual([]);
};

describe.each(TRANSPORTS)('OTLP over %s', (transport) => {
  test('metrics: sum, gauge and histogram land in otel_metrics with resource, scope and attributes', async () => {
    const service = `svc-${transport}`;
    const out = await otelExport({ signal: 'metrics', transport, url: target(transport), token: GATEWAY_TEST_TOKEN, service });
    allOk(out);
    const r = await f.pg.query(
      `SELECT metric, kind, unit, value, count, buckets, labels, resource, scope, start_time IS NOT NULL AS has_start, time > now() - interval '5 minutes' AS recent
         FROM otel_metrics WHERE service = $1 ORDER BY metric`,
      [service],
    );
    expect(r.rows).toEqual([
      {
        metric: 'latency', kind: 'histogram', unit: 'ms', value: 50, count: '3',
        buckets: expect.objectContaining({ counts: expect.any(Array), bounds: expect.any(Array), min: 3, max: 40 }),
        labels: { route: '/a' },
        resource: expect.objectContaining({ 'service.name': service, 'deployment.environment': 'test' }),
        scope: { name: 'strata-test-meter', version: '1.2.3' },
        has_start: true,
        recent: true,
      },
      expect.objectContaining({ metric: 'requests', kind: 'sum', unit: '{request}', value: 5, count: null, labels: { route: '/a', code: 200 } }),
      expect.objectContaining({ metric: 'temperature', kind: 'gauge', unit: 'Cel', value: 21.5, labels: { room: 'lab' } }),
    ]);
    const counts = r.rows[0].buckets.counts as number[];
    expect(counts.reduce((a, b) => a + b, 0)).toBe(3);

    // The SDK stamps data points with the export time: the dashboard's range is the last minutes.
    const viaProxy = await proxy.query(
      `SELECT metric, kind, unit, value, count, buckets, labels, resource->>'service.name' AS svc, scope, start_time <= time AS start_ok
         FROM otel_metrics WHERE service = $1 AND time >= $2 AND time < $3 ORDER BY metric`,
      [service, new Date(Date.now() - 5 * 60_000), new Date(Date.now() + 60_000)],
    );
    expect(viaProxy.rows).toEqual([
      { metric: 'latency', kind: 'histogram', unit: 'ms', value: 50, count: '3', buckets: r.rows[0].buckets, labels: { route: '/a' }, svc: service, scope: { name: 'strata-test-meter', version: '1.2.3' }, start_ok: true },
      { metric: 'requests', kind: 'sum', unit: '{request}', value: 5, count: null, buckets: null, labels: { route: '/a', code: 200 }, svc: service, scope: { name: 'strata-test-meter', version: '1.2.3' }, start_ok: true },
      { metric: 'temperature', kind: 'gauge', unit: 'Cel', value: 21.5, count: null, buckets: null, labels: { room: 'lab' }, svc: service, scope: { name: 'strata-test-meter', version: '1.2.3' }, start_ok: true },
    ]);
  });

  test('logs: records land in the cold-only otel_logs table in ClickHouse', async () => {
    const service = `logs-${transport}`;
    const out = await otelExport({ signal: 'logs', transport, url: target(transport), token: GATEWAY_TEST_TOKEN, service });
    expect(out.results.length).toBeGreaterThan(0);
    expect(out.results.every((r) => r.code === 0)).toBe(true);
    const rows = await f.cold.query(
      `SELECT toString(timestamp) ts, severity_number, severity_text, body, labels, JSONExtractString(resource, 'service.name') svc, scope
         FROM strata.otel_logs WHERE service = {s:String} AND _strata_gen <= 0 ORDER BY timestamp`,
      { s: service },
    );
    const scope = '{"name": "strata-test-logger", "version": "0.1.0"}';
    expect(rows).toEqual([
      { ts: '2026-11-25 09:30:00.123000', severity_number: 13, severity_text: 'WARN', body: 'disk almost full', labels: '{"pct": 91.5, "disk.id": "sda"}', svc: service, scope },
      { ts: '2026-11-25 09:30:01.000000', severity_number: 9, severity_text: null, body: '{"structured":true,"n":1}', labels: '{}', svc: service, scope },
    ]);

    // Cold-only: the proxy's engine answers from ClickHouse, with PostgreSQL's types. Literals
    // in the simple protocol, as Grafana interpolates its macros (a bind parameter beside a
    // time range fails on cold-only tables today: reported to the proxy's owner).
    const viaProxy = await proxy.query(
      `SELECT timestamp, severity_number, severity_text, body, labels, resource->>'service.name' AS svc, scope
         FROM otel_logs WHERE service = '${service}' AND timestamp >= '2026-11-25T09:00:00Z' AND timestamp < '2026-11-25T10:00:00Z' ORDER BY timestamp`,
    );
    const scopeObject = { name: 'strata-test-logger', version: '0.1.0' };
    expect(viaProxy.rows).toEqual([
      { timestamp: new Date('2026-11-25T09:30:00.123Z'), severity_number: 13, severity_text: 'WARN', body: 'disk almost full', labels: { pct: 91.5, 'disk.id': 'sda' }, svc: service, scope: scopeObject },
      { timestamp: new Date('2026-11-25T09:30:01.000Z'), severity_number: 9, severity_text: null, body: '{"structured":true,"n":1}', labels: {}, svc: service, scope: scopeObject },
    ]);
  });

  test('traces: a span lands in otel_traces with hex ids, timing, status and events', async () => {
    const service = `spans-${transport}`;
    const out = await otelExport({ signal: 'traces', transport, url: target(transport), token: GATEWAY_TEST_TOKEN, service });
    allOk(out);
    const r = await f.pg.query(
      `SELECT trace_id, span_id, parent_span_id, name, kind, status_code, status_message, duration_ms, labels, events, time = '2026-11-25T08:00:00Z' AS start_ok
         FROM otel_traces WHERE service = $1`,
      [service],
    );
    expect(r.rows).toEqual([
      {
        trace_id: out.traceId,
        span_id: out.spanId,
        parent_span_id: null,
        name: 'GET /items',
        kind: 1, // OTLP SPAN_KIND_INTERNAL
        status_code: 2,
        status_message: 'boom',
        duration_ms: 250,
        labels: { 'http.method': 'GET', 'http.status_code': 200 },
        events: [{ time: String(BigInt(Date.parse('2026-11-25T08:00:00.010Z')) * 1_000_000n), name: 'cache miss', attributes: { key: 'k1' } }],
        start_ok: true,
      },
    ]);

    // Through the proxy, from PostgreSQL, then from ClickHouse once the span is tiered.
    const dashboard = () =>
      proxy.query(
        `SELECT time, end_time, trace_id, span_id, parent_span_id, name, kind, status_code, status_message, duration_ms, labels, events
           FROM otel_traces WHERE service = $1 AND time >= '2026-11-25T07:00:00Z' AND time < '2026-11-25T09:00:00Z' ORDER BY time`,
        [service],
      );
    const sent = {
      time: new Date('2026-11-25T08:00:00Z'),
      end_time: new Date('2026-11-25T08:00:00.250Z'),
      ...r.rows[0],
    };
    delete sent.start_ok;
    expect((await dashboard()).rows).toEqual([sent]);
    expect((await tierUntil(f, 'otel_traces', new Date('2026-11-25T09:00:00Z'))).rows).toBe(1);
    const routes = await proxy.tieredRoutes();
    expect((await dashboard()).rows).toEqual([sent]);
    expect((await proxy.tieredRoutes()).cold).toBe(routes.cold + 1);
  });

  test('a bad token fails the export and writes nothing', async () => {
    const service = `bad-token-${transport}`;
    const out = await otelExport({ signal: 'metrics', transport, url: target(transport), token: 'wrong-token-wrong-token', service });
    expect(out.results.length).toBeGreaterThan(0);
    expect(out.results[0].code).toBe(1);
    expect(out.results[0].error).toMatch(transport === 'grpc' ? /UNAUTHENTICATED/ : /401|Unauthorized/i);
    expect((await f.pg.query(`SELECT count(*)::int n FROM otel_metrics WHERE service = $1`, [service])).rows[0].n).toBe(0);
  });
});

describe('bad OTLP input over HTTP', () => {
  const post = (path: string, body: string | Buffer, type: string) =>
    fetch(`${f.gateway.url}${path}`, { method: 'POST', body, headers: { authorization: `Bearer ${GATEWAY_TEST_TOKEN}`, 'content-type': type } });

  test('malformed protobuf, malformed JSON, a wrong shape, a wrong type → 4xx naming the problem', async () => {
    const bad = await post('/v1/metrics', Buffer.from([0x0a, 0xff, 0x01, 0x02]), 'application/x-protobuf');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/malformed OTLP protobuf/);
    const badJson = await post('/v1/traces', '{"resourceSpans": [', 'application/json');
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as { message: string }).message).toMatch(/malformed OTLP\/JSON/);
    const wrongShape = await post('/v1/logs', '{"resourceLogs": {}}', 'application/json');
    expect(wrongShape.status).toBe(400);
    expect(((await wrongShape.json()) as { message: string }).message).toMatch(/resourceLogs must be an array/);
    const noStart = await post('/v1/traces', JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ name: 'x', traceId: 'aa', spanId: 'bb' }] }] }] }), 'application/json');
    expect(noStart.status).toBe(400);
    expect(((await noStart.json()) as { message: string }).message).toMatch(/row 1: column time is required/);
    const other = await post('/v1/logs', 'x', 'text/plain');
    expect(other.status).toBe(415);
  });
});
