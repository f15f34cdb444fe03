import { join } from 'node:path';
import protobuf from 'protobufjs';

/**
 * The protobuf definitions the gateway decodes (gateway/proto: OTLP v1, Prometheus remote
 * write, Arrow Flight), loaded once with protobufjs. The directory sits beside src/ and
 * dist/, so the same relative path works from TypeScript sources and compiled output.
 */
export const PROTO_DIR = join(__dirname, '..', '..', 'proto');

let root: protobuf.Root | undefined;

export function protoRoot(): protobuf.Root {
  if (root) return root;
  const r = new protobuf.Root();
  r.loadSync(
    [
      'opentelemetry/metrics.proto',
      'opentelemetry/logs.proto',
      'opentelemetry/trace.proto',
      'prometheus/remote.proto',
      'arrow/Flight.proto',
    ].map((f) => join(PROTO_DIR, f)),
  );
  r.resolveAll();
  root = r;
  return r;
}

export function protoType(name: string): protobuf.Type {
  return protoRoot().lookupType(name);
}
