import { MalformedBodyError } from '../errors';
import { perModel } from '../model/per-model';
import type { Ingest } from '../writers/ingest';
import { otlpMetricsTranscoder } from './otlp-metrics-copy';
import { BUILTIN_TABLES } from '../model/builtin-tables';
import { logsRows, metricsRows, tracesRows, type IdEncoding, type Obj } from './otlp-map';
import { protoType } from './proto-root';

/** The three OTLP signals: their messages, gRPC method and table. */
export const OTLP_SIGNALS = {
  metrics: {
    request: 'opentelemetry.proto.metrics.v1.ExportMetricsServiceRequest',
    response: 'opentelemetry.proto.metrics.v1.ExportMetricsServiceResponse',
    grpcPath: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
    table: BUILTIN_TABLES.otelMetrics,
    rows: (req: Obj, _ids: IdEncoding) => metricsRows(req),
  },
  logs: {
    request: 'opentelemetry.proto.logs.v1.ExportLogsServiceRequest',
    response: 'opentelemetry.proto.logs.v1.ExportLogsServiceResponse',
    grpcPath: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
    table: BUILTIN_TABLES.otelLogs,
    rows: (req: Obj, ids: IdEncoding) => logsRows(req, ids),
  },
  traces: {
    request: 'opentelemetry.proto.trace.v1.ExportTraceServiceRequest',
    response: 'opentelemetry.proto.trace.v1.ExportTraceServiceResponse',
    grpcPath: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
    table: BUILTIN_TABLES.otelTraces,
    rows: (req: Obj, ids: IdEncoding) => tracesRows(req, ids),
  },
} as const;
export type OtlpSignal = keyof typeof OTLP_SIGNALS;

/**
 * Binary OTLP → the OTLP/JSON object shape (bytes as base64). 64-bit integers stay
 * protobufjs Longs (see model/int64.ts): otlp-map reads them exactly, and far faster than
 * toObject's decimal conversion.
 */
export function decodeOtlpProtobuf(signal: OtlpSignal, body: Buffer): Obj {
  const type = protoType(OTLP_SIGNALS[signal].request);
  let msg;
  try {
    msg = type.decode(body);
  } catch (err) {
    // protobufjs messages name the offset and wire type, never field contents.
    throw new MalformedBodyError(`malformed OTLP protobuf (${type.name}): ${(err as Error).message}`, { cause: err });
  }
  return type.toObject(msg, { bytes: String, defaults: false, arrays: false }) as Obj;
}

export function decodeOtlpJson(body: Buffer): Obj {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new MalformedBodyError('malformed OTLP/JSON body', { cause: err });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new MalformedBodyError('OTLP/JSON body must be an object');
  return parsed as Obj;
}

/** An empty Export*ServiceResponse: full success. */
export function otlpSuccessProtobuf(signal: OtlpSignal): Buffer {
  const type = protoType(OTLP_SIGNALS[signal].response);
  return Buffer.from(type.encode(type.create({})).finish());
}

const otlpMetricsTranscoderOf = perModel(otlpMetricsTranscoder);

/** A binary OTLP export into its table: metrics through the hot path when it applies. */
export function writeOtlpProtobuf(ingest: Ingest, protocol: string, signal: OtlpSignal, body: Buffer): Promise<number> {
  const def = OTLP_SIGNALS[signal];
  return ingest.writeBody(
    protocol,
    def.table,
    (table) => (signal === 'metrics' ? otlpMetricsTranscoderOf(table)?.(body) : undefined),
    () => def.rows(decodeOtlpProtobuf(signal, body), 'base64'),
  );
}
