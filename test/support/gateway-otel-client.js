// Sends telemetry with the OpenTelemetry SDK and its OTLP exporters, as an application
// would, and prints one JSON line with every export result. Runs as its own node process:
// the HTTP exporters load `http` through dynamic import(), which jest's CommonJS sandbox
// cannot run without --experimental-vm-modules.
//   node gateway-otel-client.js '{"signal":"metrics","transport":"http-json","url":…,"token":…,"service":…}'
'use strict';
const { Metadata } = require('@grpc/grpc-js');
const { SeverityNumber } = require('@opentelemetry/api-logs');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { MeterProvider, PeriodicExportingMetricReader } = require('@opentelemetry/sdk-metrics');
const { LoggerProvider, SimpleLogRecordProcessor } = require('@opentelemetry/sdk-logs');
const { BasicTracerProvider, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');

const EXPORTERS = {
  metrics: {
    'http-json': () => require('@opentelemetry/exporter-metrics-otlp-http').OTLPMetricExporter,
    'http-proto': () => require('@opentelemetry/exporter-metrics-otlp-proto').OTLPMetricExporter,
    grpc: () => require('@opentelemetry/exporter-metrics-otlp-grpc').OTLPMetricExporter,
  },
  logs: {
    'http-json': () => require('@opentelemetry/exporter-logs-otlp-http').OTLPLogExporter,
    'http-proto': () => require('@opentelemetry/exporter-logs-otlp-proto').OTLPLogExporter,
    grpc: () => require('@opentelemetry/exporter-logs-otlp-grpc').OTLPLogExporter,
  },
  traces: {
    'http-json': () => require('@opentelemetry/exporter-trace-otlp-http').OTLPTraceExporter,
    'http-proto': () => require('@opentelemetry/exporter-trace-otlp-proto').OTLPTraceExporter,
    grpc: () => require('@opentelemetry/exporter-trace-otlp-grpc').OTLPTraceExporter,
  },
};

function makeExporter(o) {
  const Exporter = EXPORTERS[o.signal][o.transport]();
  if (o.transport === 'grpc') {
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${o.token}`);
    return new Exporter({ url: o.url, metadata });
  }
  return new Exporter({ url: `${o.url}/v1/${o.signal}`, headers: { Authorization: `Bearer ${o.token}` } });
}

/** Wraps export() to record what the exporter reported (code 0 = SUCCESS). */
function recording(exporter, results) {
  const original = exporter.export.bind(exporter);
  exporter.export = (items, cb) =>
    original(items, (r) => {
      results.push({ code: r.code, error: r.error ? String(r.error.message || r.error) : undefined });
      cb(r);
    });
  return exporter;
}

async function metrics(o, exporter) {
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': o.service, 'deployment.environment': 'test' }), readers: [reader] });
  const meter = provider.getMeter('strata-test-meter', '1.2.3');
  meter.createCounter('requests', { unit: '{request}' }).add(5, { route: '/a', code: 200 });
  meter.createGauge('temperature', { unit: 'Cel' }).record(21.5, { room: 'lab' });
  const h = meter.createHistogram('latency', { unit: 'ms' });
  for (const v of [3, 7, 40]) h.record(v, { route: '/a' });
  // shutdown() collects and exports once; a forceFlush before it would export the cumulative points twice.
  await provider.shutdown().catch(() => undefined);
}

async function waitFor(results, n) {
  for (let i = 0; i < 200 && results.length < n; i++) await new Promise((r) => setTimeout(r, 50));
}

async function logs(o, exporter, results) {
  const provider = new LoggerProvider({ resource: resourceFromAttributes({ 'service.name': o.service }), processors: [new SimpleLogRecordProcessor({ exporter })] });
  const logger = provider.getLogger('strata-test-logger', '0.1.0');
  logger.emit({ severityNumber: SeverityNumber.WARN, severityText: 'WARN', body: 'disk almost full', attributes: { 'disk.id': 'sda', pct: 91.5 }, timestamp: new Date('2026-11-25T09:30:00.123Z') });
  logger.emit({ severityNumber: SeverityNumber.INFO, body: { structured: true, n: 1 }, timestamp: new Date('2026-11-25T09:30:01Z') });
  // SimpleLogRecordProcessor exports each record without awaiting it; wait for both results.
  await waitFor(results, 2);
  await provider.shutdown().catch(() => undefined);
}

async function traces(o, exporter) {
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': o.service }), spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('strata-test-tracer');
  const span = tracer.startSpan('GET /items', { attributes: { 'http.method': 'GET', 'http.status_code': 200 }, startTime: new Date('2026-11-25T08:00:00Z') });
  span.addEvent('cache miss', { key: 'k1' }, new Date('2026-11-25T08:00:00.010Z'));
  span.setStatus({ code: 2, message: 'boom' });
  span.end(new Date('2026-11-25T08:00:00.250Z'));
  const ctx = span.spanContext();
  await provider.forceFlush().catch(() => undefined);
  await provider.shutdown().catch(() => undefined);
  return { traceId: ctx.traceId, spanId: ctx.spanId };
}

async function main() {
  const o = JSON.parse(process.argv[2]);
  const results = [];
  const exporter = recording(makeExporter(o), results);
  const extra = await { metrics, logs, traces }[o.signal](o, exporter, results);
  process.stdout.write(JSON.stringify({ results, ...extra }) + '\n');
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
    process.exit(1);
  },
);
