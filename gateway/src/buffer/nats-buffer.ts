import { randomUUID } from 'node:crypto';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DiscardPolicy,
  jetstream,
  JetStreamApiError,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { BackpressureError, GatewayError, GATEWAY_ERROR_CODES, PayloadTooLargeError } from '../errors';
import type { TableModel } from '../model/table-model';
import type { EncodedRequest, FlushBatch } from '../writers/batching-writer';
import { natsConnectOptions, type ResolvedBufferConfig } from './buffer-config';
import { ingestSubject, messageHeaders, packParts, RowTooLargeError } from './ingest-message';
import type { BufferMetrics } from './buffer-metrics';

/** JetStream's "store failed" API error: the stream is at one of its limits (discard: new). */
const JS_STREAM_STORE_FAILED = 10077;
const JS_STREAM_NAME_IN_USE = 10058;
const JS_STREAM_NOT_FOUND = 10059;
/** Room left in a message for its headers (names and columns of a wide table). */
const HEADER_ROOM = 16 * 1024;

/**
 * JetStream did not confirm a request's batch in time: the request is not acknowledged.
 * Like a lost answer in direct mode, the batch may still be stored (the client library
 * sends what it held once it reconnects), so a retry can store its rows twice.
 */
export class BufferUnavailableError extends GatewayError {
  constructor(options?: { cause?: unknown }) {
    super(GATEWAY_ERROR_CODES.storeUnavailable, 503, 'the ingest buffer (NATS JetStream) did not confirm this request in time; retry', options);
  }
}

const nanos = (seconds: number): number => (seconds < 0 ? 0 : seconds * 1e9);

/** One NATS connection with the JetStream contexts the gateway and the writers use. */
export class NatsBuffer {
  private constructor(
    readonly cfg: ResolvedBufferConfig,
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    private readonly logger: Logger,
  ) {}

  static async connect(cfg: ResolvedBufferConfig, logger: Logger, name: string): Promise<NatsBuffer> {
    let nc: NatsConnection;
    try {
      nc = await connect({ ...natsConnectOptions(cfg.url), name, maxReconnectAttempts: -1, reconnectTimeWait: 500, timeout: 5000 });
    } catch (err) {
      throw new BufferUnavailableError({ cause: err });
    }
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect' || s.type === 'reconnect') logger.warn({ nats: s.type }, 'NATS connection changed');
      }
    })().catch(() => undefined);
    const jsm = await jetstreamManager(nc, { timeout: cfg.publishTimeoutMs });
    return new NatsBuffer(cfg, nc, jetstream(nc, { timeout: cfg.publishTimeoutMs }), jsm, logger);
  }

  /** Largest message body the server takes, less room for the headers. */
  get bodyLimit(): number {
    return Math.max(64 * 1024, this.nc.info!.max_payload - HEADER_ROOM);
  }

  /** Creates the ingest and dead-letter streams, or brings their limits to the configuration. */
  async ensureStreams(): Promise<void> {
    const c = this.cfg;
    await this.ensureStream({
      name: c.stream,
      subjects: [`${c.subjectPrefix}.>`],
      retention: RetentionPolicy.Workqueue,
      discard: DiscardPolicy.New,
      storage: StorageType.File,
      num_replicas: c.replicas,
      max_bytes: c.maxBytes,
      max_msgs: c.maxMessages,
      max_age: nanos(c.maxAgeSeconds),
      duplicate_window: nanos(c.duplicateWindowSeconds),
    });
    // Dead letters are kept for inspection and replay: limits retention, oldest dropped first.
    await this.ensureStream({
      name: c.deadLetterStream,
      subjects: [`${c.deadLetterPrefix}.>`],
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      storage: StorageType.File,
      num_replicas: c.replicas,
      max_bytes: c.maxBytes,
      max_age: nanos(30 * 24 * 3600),
      duplicate_window: nanos(c.duplicateWindowSeconds),
    });
  }

  private async ensureStream(config: Partial<StreamConfig> & { name: string }): Promise<void> {
    try {
      await this.jsm.streams.info(config.name);
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JS_STREAM_NOT_FOUND)) throw err;
      try {
        await this.jsm.streams.add(config);
        this.logger.info({ stream: config.name }, 'JetStream stream created');
        return;
      } catch (addErr) {
        // Another gateway created it first.
        if (!(addErr instanceof JetStreamApiError && addErr.code === JS_STREAM_NAME_IN_USE)) throw addErr;
      }
    }
    const { name, retention, storage, ...mutable } = config;
    void retention;
    void storage;
    await this.jsm.streams.update(name, mutable);
  }

  /** The writers' durable pull consumer, created or updated to the configuration. */
  async ensureConsumer(): Promise<void> {
    const c = this.cfg;
    const config = {
      durable_name: c.consumer,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(c.ackWaitSeconds),
      // Outages are waited out, never dropped: a batch is retried until a store takes it or refuses it.
      max_deliver: -1,
      max_ack_pending: Math.max(1000, c.batchMessages * 16),
      filter_subject: `${c.subjectPrefix}.>`,
    };
    try {
      await this.jsm.consumers.add(c.stream, config);
    } catch (err) {
      if (!(err instanceof JetStreamApiError)) throw err;
      const { durable_name, ...rest } = config;
      await this.jsm.consumers.update(c.stream, durable_name, rest);
    }
  }

  /**
   * A BatchingWriter flush that stores the batch in JetStream: resolved once every message
   * of it is stored (the publish ack), so the request's 2xx means "durable in the stream".
   */
  publishFlush(metrics: BufferMetrics): FlushBatch {
    return async (table: TableModel, requests: readonly EncodedRequest[]) => {
      let parts;
      try {
        parts = packParts(requests, this.bodyLimit);
      } catch (err) {
        if (err instanceof RowTooLargeError) throw new PayloadTooLargeError(err.limit, 'a row');
        throw err;
      }
      const meta = { store: table.target, schema: table.spec.schema, table: table.spec.table, columns: [...table.copyColumns] };
      const subject = ingestSubject(this.cfg.subjectPrefix, meta);
      await Promise.all(
        parts.map(async (part) => {
          const h = natsHeaders();
          for (const [k, v] of messageHeaders({ ...meta, rows: part.rows })) h.set(k, v);
          // One id per message: a publish retried after a lost ack is dropped by JetStream.
          const msgID = randomUUID();
          for (let attempt = 0; ; attempt++) {
            try {
              await this.js.publish(subject, part.data, { msgID, headers: h, timeout: this.cfg.publishTimeoutMs });
              metrics.published.inc({ store: meta.store });
              return;
            } catch (err) {
              if (err instanceof JetStreamApiError && err.code === JS_STREAM_STORE_FAILED) {
                metrics.publishRefused.inc({ reason: 'stream_full' });
                throw new BackpressureError(1);
              }
              if (err instanceof JetStreamApiError || attempt >= 1) {
                metrics.publishRefused.inc({ reason: 'unavailable' });
                throw new BufferUnavailableError({ cause: err });
              }
            }
          }
        }),
      );
    };
  }

  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    await this.nc.drain().catch(() => this.nc.close());
  }
}
