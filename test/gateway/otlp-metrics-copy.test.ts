import protobuf from 'protobufjs';
import { pgIdent } from '@strata/core';
import { builtinTableSpecs, decodeOtlpProtobuf, metricsRows, Micros, otlpMetricsTranscoder, tableModel } from '@strata/gateway';
import { compareStoredCopies, seededRandom } from '../support/fast-path-diff';
import { repoPath } from '../support/paths';

/**
 * The OTLP metrics protobuf → COPY fast path against the general path (protobufjs +
 * otlp-map + encodeRow), judged by PostgreSQL (test/support/fast-path-diff.ts).
 * Requests are built with protobufjs from a seeded generator that mixes what SDKs send
 * with what the fast path must leave to the general one.
 */

const spec = builtinTableSpecs().find((s) => s.table === 'otel_metrics')!;
const model = tableModel(spec);
const transcode = otlpMetricsTranscoder(model)!;
const NOW_US = Date.UTC(2026, 10, 26) * 1000;

const root = new protobuf.Root().loadSync(repoPath('gateway', 'proto', 'opentelemetry', 'metrics.proto'));
const Req = root.lookupType('opentelemetry.proto.metrics.v1.ExportMetricsServiceRequest');

const pick = <T>(r: () => number, xs: T[]): T => xs[Math.floor(r() * xs.length)];

const STRINGS = ['api', '', 'naïve ☃', 'tab\there', 'nl\nx', 'bs\\', 'quote"', '😀', 'ctl\u0001'];
const TIMES = ['1764028800123456789', '1764028800000000000', '0', '1', '9223372036854775807', '18446744073709551615', '-5'];

function anyValue(r: () => number): object {
  switch (Math.floor(r() * 9)) {
    case 0:
      return { boolValue: r() < 0.5 };
    case 1:
      return { intValue: pick(r, ['7', '-3', '9007199254740991', '9007199254740993', '-9223372036854775808']) };
    case 2:
      return { doubleValue: pick(r, [1.5, -0, Number.NaN, Infinity, 1e300, 0.1]) };
    case 3:
      return r() < 0.5 ? { arrayValue: { values: [{ stringValue: 'a' }] } } : { bytesValue: Buffer.from('x') };
    case 4:
      return {};
    default:
      return { stringValue: pick(r, STRINGS) };
  }
}

function attributes(r: () => number): object[] {
  const n = Math.floor(r() * 4);
  const keys = ['app', 'host', 'k"ey', 'host', 'ünï', r() < 0.05 ? '__proto__' : 'pod'];
  return Array.from({ length: n }, () => ({ key: pick(r, keys), value: r() < 0.7 ? { stringValue: pick(r, ['a', 'b', 'c']) } : anyValue(r) }));
}

function dataPoint(r: () => number): object {
  const dp: Record<string, unknown> = { attributes: attributes(r) };
  if (r() < 0.95) dp.timeUnixNano = r() < 0.8 ? TIMES[0] : pick(r, TIMES.filter((t) => !t.startsWith('-')));
  if (r() < 0.3) dp.startTimeUnixNano = pick(r, TIMES.filter((t) => !t.startsWith('-')));
  const v = r();
  if (v < 0.6) dp.asDouble = r() < 0.7 ? 12.5 : pick(r, [0, -0, Number.NaN, -Infinity, 1e-320, 123456.789]);
  else if (v < 0.9) dp.asInt = pick(r, ['42', '-1', '9007199254740993', '-9223372036854775808']);
  return dp;
}

function request(r: () => number): Buffer {
  const resourceMetrics = Array.from({ length: 1 + Math.floor(r() * 2) }, () => {
    const resAttrs = r() < 0.8 ? [{ key: 'service.name', value: r() < 0.9 ? { stringValue: pick(r, ['svc', 'a\tb']) } : { intValue: '5' } }] : [];
    return {
      resource: r() < 0.9 ? { attributes: [...resAttrs, ...attributes(r)] } : undefined,
      scopeMetrics: Array.from({ length: 1 + Math.floor(r() * 2) }, () => ({
        scope: r() < 0.8 ? { name: 'meter', version: r() < 0.5 ? '1.0' : '', attributes: r() < 0.2 ? attributes(r) : [] } : undefined,
        metrics: Array.from({ length: 1 + Math.floor(r() * 3) }, () => {
          const m: Record<string, unknown> = {};
          if (r() < 0.95) m.name = pick(r, ['cpu', '', 'mem\tx']);
          if (r() < 0.5) m.unit = pick(r, ['1', '', 'By']);
          const points = Array.from({ length: Math.floor(r() * 4) }, () => dataPoint(r));
          const k = r();
          if (k < 0.5) m.gauge = { dataPoints: points };
          else if (k < 0.95) m.sum = { dataPoints: points, aggregationTemporality: 2, isMonotonic: true };
          else m.histogram = { dataPoints: [{ count: '1', bucketCounts: ['1'], explicitBounds: [] }] };
          return m;
        }),
      })),
    };
  });
  return Buffer.from(Req.encode(Req.fromObject({ resourceMetrics })).finish());
}

function general(body: Buffer): string {
  const rows = metricsRows(decodeOtlpProtobuf('metrics', body), () => new Micros(NOW_US));
  return rows.map((row, i) => model.encodeRow(row, i + 1)).join('');
}

describe('OTLP metrics fast path (gateway/src/protocols/otlp-metrics-copy.ts)', () => {
  test('stores exactly what the general path stores, for every request it accepts', async () => {
    const r = seededRandom(7);
    const requests = Array.from({ length: 1500 }, () => request(r));
    const result = await compareStoredCopies(
      model.columns.map((c) => `${pgIdent(c.name)} ${c.pgType}`).join(', '),
      model.columns.map((c) => c.name),
      requests.map((bytes) => ({ fast: transcode(bytes, () => NOW_US)?.data.toString('utf8'), general: () => general(bytes) })),
    );
    expect(result.accepted).toBeGreaterThan(300);
    expect(result.declined).toBeGreaterThan(300);
    expect(result.rowCountMismatches).toEqual([]);
    expect(result.differences).toEqual([]);
    expect(result.storedRows).toBeGreaterThan(500);
  });

  test('declines malformed and truncated bodies (the general path words the error)', () => {
    const good = Buffer.from(Req.encode(Req.fromObject({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'm', gauge: { dataPoints: [{ asDouble: 1 }] } }] }] }] })).finish());
    expect(transcode(good)?.rows).toBe(1);
    for (let cut = 1; cut < good.length; cut++) {
      const partial = transcode(good.subarray(0, cut));
      // A cut can fall between whole fields; then it is a shorter valid message.
      if (partial) expect(() => decodeOtlpProtobuf('metrics', good.subarray(0, cut))).not.toThrow();
    }
    expect(transcode(Buffer.from([0x0a, 0x05, 0x01]))).toBeUndefined();
    // Field 1 with a varint wire type: protobufjs reads it its own way; not ours to guess.
    expect(transcode(Buffer.from([0x08, 0x01]))).toBeUndefined();
  });

  test('is offered only for tables laid out as otel_metrics', () => {
    const renamed = tableModel({ ...spec, columns: spec.columns.filter((c) => c.name !== 'buckets') });
    expect(otlpMetricsTranscoder(renamed)).toBeUndefined();
  });
});
