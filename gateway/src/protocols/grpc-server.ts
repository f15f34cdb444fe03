import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { GatewayError, GRPC_STATUS, MalformedBodyError, PayloadTooLargeError } from '../errors';
import type { TokenAuth } from '../http/auth';
import type { GatewayMetrics } from '../ops/metrics';
import type { Ingest } from '../writers/ingest';
import { arrowRows, decodeFlightData, encodePutResult, FLIGHT_DO_PUT_PATH, tableOfFlightData, type FlightDataMessage } from './arrow-flight';
import { OTLP_SIGNALS, otlpSuccessProtobuf, writeOtlpProtobuf, type OtlpSignal } from './otlp';

/**
 * One gRPC server for OTLP/gRPC (the three collector Export services) and Arrow Flight
 * DoPut. Messages travel as raw bytes through grpc-js and are decoded with the same
 * protobufjs definitions the HTTP endpoints use. Status codes follow the OTLP spec:
 * INVALID_ARGUMENT for bad data (not retryable), UNAVAILABLE / RESOURCE_EXHAUSTED when the
 * client should retry.
 */

export interface GrpcDeps {
  ingest: Ingest;
  auth: TokenAuth;
  metrics: GatewayMetrics;
  logger: Logger;
  maxMessageBytes: number;
}

const raw = (b: Buffer) => b;

function method(path: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> {
  return { path, requestStream, responseStream, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw };
}

function authorized(deps: GrpcDeps, metadata: grpc.Metadata): boolean {
  const v = metadata.get('authorization')[0];
  return deps.auth.check(typeof v === 'string' ? v : v?.toString('utf8'));
}

function toServiceError(err: unknown, deps: GrpcDeps, protocol: string): grpc.ServiceError {
  let code: number = GRPC_STATUS.INTERNAL;
  let details = 'internal error';
  if (err instanceof GatewayError) {
    code = err.grpcStatus;
    details = err.message;
  }
  if (code === GRPC_STATUS.INTERNAL) deps.logger.error({ err, protocol }, 'gRPC request failed');
  deps.metrics.requests.inc({ protocol, status: grpc.status[code] ?? String(code) });
  const metadata = new grpc.Metadata();
  return Object.assign(new Error(details), { code, details, metadata });
}

export async function startGrpcServer(deps: GrpcDeps, host: string, port: number): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': deps.maxMessageBytes,
  });

  for (const signal of Object.keys(OTLP_SIGNALS) as OtlpSignal[]) {
    const def = OTLP_SIGNALS[signal];
    const protocol = `otlp-grpc-${signal}`;
    server.addService(
      { Export: method(def.grpcPath, false, false) },
      {
        Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
          void (async () => {
            if (!authorized(deps, call.metadata)) throw new GatewayError('UNAUTHORIZED', 401, 'missing or invalid bearer token');
            await writeOtlpProtobuf(deps.ingest, protocol, signal, call.request);
            deps.metrics.requests.inc({ protocol, status: 'OK' });
            callback(null, otlpSuccessProtobuf(signal));
          })().catch((err: unknown) => callback(toServiceError(err, deps, protocol)));
        },
      },
    );
  }

  server.addService(
    { DoPut: method(FLIGHT_DO_PUT_PATH, true, true) },
    {
      DoPut: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        const protocol = 'arrow-flight';
        const messages: FlightDataMessage[] = [];
        let bytes = 0;
        let failed: unknown;
        const fail = (err: unknown) => {
          if (failed) return;
          failed = err;
          call.emit('error', toServiceError(err, deps, protocol));
        };
        if (!authorized(deps, call.metadata)) {
          fail(new GatewayError('UNAUTHORIZED', 401, 'missing or invalid bearer token'));
          return;
        }
        call.on('data', (chunk: Buffer) => {
          if (failed) return;
          try {
            bytes += chunk.length;
            if (bytes > deps.maxMessageBytes) throw new PayloadTooLargeError(deps.maxMessageBytes, 'DoPut stream');
            messages.push(decodeFlightData(chunk));
          } catch (err) {
            fail(err);
          }
        });
        call.on('end', () => {
          if (failed) return;
          void (async () => {
            const path = messages.find((m) => m.flightDescriptor)?.flightDescriptor?.path ?? [];
            if (path.length !== 1 || !path[0]) throw new MalformedBodyError('DoPut needs a FlightDescriptor of type PATH naming one table');
            const model = await deps.ingest.catalog.get(path[0]);
            const table = tableOfFlightData(messages);
            await deps.ingest.writeTo(protocol, model, arrowRows(table, model));
            deps.metrics.requests.inc({ protocol, status: 'OK' });
            call.write(encodePutResult());
            call.end();
          })().catch(fail);
        });
      },
    },
  );

  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return { server, port: bound };
}
