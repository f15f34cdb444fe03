import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ColdStore } from '@strata/core';
import type { FlushBatch } from '../writers/batching-writer';
import type { ResolvedBufferConfig } from './buffer-config';
import { createBufferMetrics, type BufferMetrics } from './buffer-metrics';
import { BufferWriter } from './buffer-writer';
import { NatsBuffer } from './nats-buffer';

/**
 * What startGateway holds in buffered mode: the NATS connection, the flush that publishes
 * batches instead of writing them, and the writers it runs in its own process (unless
 * `writers: false`, when `strata writer` processes apply the stream).
 */
export interface GatewayBuffer {
  flush: FlushBatch;
  metrics: BufferMetrics;
  /** Starts the in-process writers when configured; called once the catalog is migrated. */
  startWriters(stores: { pool: Pool; cold: ColdStore; coldDatabase: string }): Promise<void>;
  /** `ok` while JetStream answers. */
  ready(): Promise<'ok' | 'unavailable'>;
  /** Stops the writers (the batch in hand finishes), then drains the connection. */
  close(): Promise<void>;
}

export async function openGatewayBuffer(cfg: ResolvedBufferConfig, registry: Registry, logger: Logger): Promise<GatewayBuffer> {
  const log = logger.child({ component: 'buffer' });
  const buffer = await NatsBuffer.connect(cfg, log, 'strata-gateway');
  try {
    await buffer.ensureStreams();
  } catch (err) {
    await buffer.close();
    throw err;
  }
  const metrics = createBufferMetrics(registry);
  let writer: BufferWriter | undefined;
  log.info({ stream: cfg.stream, writers: cfg.writers }, 'ingest buffered in NATS JetStream');
  return {
    flush: buffer.publishFlush(metrics),
    metrics,
    async startWriters({ pool, cold, coldDatabase }) {
      if (!cfg.writers) return;
      writer = await BufferWriter.start({ buffer, pool, cold, coldDatabase, metrics, logger: log });
    },
    ready: () => buffer.jsm.getAccountInfo().then(
      () => 'ok' as const,
      () => 'unavailable' as const,
    ),
    async close() {
      await writer?.stop();
      await buffer.close();
    },
  };
}
