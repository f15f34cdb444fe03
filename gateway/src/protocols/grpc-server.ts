import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { GatewayError, GRPC_STATUS, MalformedBodyError, PayloadTooLargeError } from '../errors';
import type { TokenAuth } from '../http/auth';
import type { DecompressionSlots } from '../http/decompression-slots';
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
  /** Largest message, compressed as received and after grpc-js decompressed it. */
  maxMessageBytes: number;
  slots: DecompressionSlots;
  /** PEM certificate and key: the server then speaks TLS only. */
  tls?: { cert: string | Buffer; key: string | Buffer };
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

/** How long a call holding a decompression slot may take to deliver its message. */
const SLOT_RECEIVE_TIMEOUT_MS = 10_000;

/**
 * grpc-js inflates a gzip/deflate message as it arrives, before any handler runs, stopping
 * at grpc.max_receive_message_length (RESOURCE_EXHAUSTED). It reads a call's body only
 * once startRead is called, so holding that back until a decompression slot is free bounds
 * how many compressed messages inflate at once, over gRPC and HTTP together. The slot goes
 * back when the message (or the half-close) arrives, or the call ends; a call that has
 * not delivered its message within SLOT_RECEIVE_TIMEOUT_MS is ended so a trickling client
 * cannot keep a slot. Identity calls pass straight through.
 */
function decompressionGate(slots: DecompressionSlots): grpc.ServerInterceptor {
  return (_method, call) => {
    // grpc-encoding is removed from the metadata handlers see; the base call keeps it. An
    // unknown shape (another grpc-js) gates every call rather than none.
    const encoding = (call as unknown as { incomingEncoding?: unknown }).incomingEncoding;
    if (encoding === 'identity') return new grpc.ServerInterceptingCall(call);
    return new SlotGatedCall(call, slots);
  };
}

class SlotGatedCall extends grpc.ServerInterceptingCall {
  private release: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private done = false;
  private started = false;

  constructor(
    next: grpc.ServerInterceptingCallInterface,
    private readonly slots: DecompressionSlots,
  ) {
    const free = () => this.free();
    super(next, {
      start: (nextStart) =>
        nextStart({
          onReceiveMessage: (message, nextMessage) => {
            free();
            nextMessage(message);
          },
          onReceiveHalfClose: (nextHalfClose) => {
            free();
            nextHalfClose();
          },
          onCancel: free,
        }),
      sendStatus: (status, nextStatus) => {
        free();
        nextStatus(status);
      },
    });
  }

  override startRead(): void {
    if (this.started) return super.startRead();
    this.started = true;
    this.slots.acquire().then(
      (release) => {
        if (this.done) return release();
        this.release = release;
        this.timer = setTimeout(() => this.sendStatus({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'message not received in time' }), SLOT_RECEIVE_TIMEOUT_MS);
        super.startRead();
      },
      (err: Error) => this.sendStatus({ code: grpc.status.UNAVAILABLE, details: err.message }),
    );
  }

  private free(): void {
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.release?.();
    this.release = undefined;
  }
}

export async function startGrpcServer(deps: GrpcDeps, host: string, port: number): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': deps.maxMessageBytes,
    interceptors: [decompressionGate(deps.slots)],
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
    const credentials = deps.tls
      ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(deps.tls.cert), private_key: Buffer.from(deps.tls.key) }], false)
      : grpc.ServerCredentials.createInsecure();
    server.bindAsync(`${host}:${port}`, credentials, (err, p) => (err ? reject(err) : resolve(p)));
  });
  return { server, port: bound };
}
