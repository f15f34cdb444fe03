import { decodeOtlpProtobuf } from './otlp';
import { metricsRows } from './otlp-map';
import { protoType } from './proto-root';

/** Binary OTLP keeps 64-bit fields as protobufjs Longs (no decimal text); the mapping must read them exactly. */
describe('OTLP protobuf → otel_metrics rows', () => {
  const Req = protoType('opentelemetry.proto.metrics.v1.ExportMetricsServiceRequest');
  const body = (dataPoints: object[]) =>
    Buffer.from(Req.encode(Req.fromObject({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'm', sum: { dataPoints } }] }] }] })).finish());

  test('int and double values, nanosecond times, unset times', () => {
    const rows = metricsRows(
      decodeOtlpProtobuf(
        'metrics',
        body([
          { timeUnixNano: '1764028800123456789', startTimeUnixNano: '1764028700000000999', asInt: '42' },
          { timeUnixNano: '1764028800000001000', asInt: '-1152921504606846976' },
          { timeUnixNano: '1764028800000002000', asDouble: 2.5 },
        ]),
      ),
    );
    expect(rows.map((r) => r.value)).toEqual([42, -1152921504606846976, 2.5]);
    expect(rows.map((r) => (r.time as { value: number }).value)).toEqual([1764028800123456, 1764028800000001, 1764028800000002]);
    expect((rows[0].start_time as { value: number }).value).toBe(1764028700000000);
    expect(rows[1].start_time).toBeNull();
  });
});
