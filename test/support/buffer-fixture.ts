import { Pool } from 'pg';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { ColdStore } from '@strata/core';
import { BufferWriter, createBufferMetrics, NatsBuffer, resolveBufferConfig, type BufferConfig, type BufferMetrics, type BufferWriterDeps } from '@strata/gateway';
import { uniqueStreamName } from './nats-server';

/** A buffer configuration of its own (stream, subjects, dead letters) on a shared NATS server. */
export function testBufferConfig(url: string, name: string, more: Partial<BufferConfig> = {}): BufferConfig & { stream: string; deadLetterStream: string } {
  const stream = uniqueStreamName(name);
  const token = stream.toLowerCase();
  return {
    url,
    stream,
    deadLetterStream: `${stream}_DEAD`,
    subjectPrefix: `t.${token}.in`,
    deadLetterPrefix: `t.${token}.dead`,
    consumer: 'writers',
    ackWaitSeconds: 2,
    ...more,
  } as BufferConfig & { stream: string; deadLetterStream: string };
}

export interface TestWriter {
  writer: BufferWriter;
  buffer: NatsBuffer;
  metrics: BufferMetrics;
  registry: Registry;
  stop(): Promise<void>;
}

/**
 * A writer in the test process, on its own pool (a URL through a TCP forwarder cuts only
 * its path), with two batches in flight so the suites also cover concurrent transactions.
 */
export async function startTestWriter(
  cfg: BufferConfig,
  stores: { pgUrl: string; cold: ColdStore; coldDatabase: string },
  more: Partial<BufferWriterDeps> = {},
): Promise<TestWriter> {
  const logger = pino({ level: process.env.GATEWAY_TEST_LOG ?? 'silent' });
  const registry = new Registry();
  const metrics = createBufferMetrics(registry);
  const pool = new Pool({ connectionString: stores.pgUrl, max: 2 });
  pool.on('error', () => undefined);
  const buffer = await NatsBuffer.connect(resolveBufferConfig(cfg), logger, 'test-writer');
  const writer = await BufferWriter.start({ buffer, pool, cold: stores.cold, coldDatabase: stores.coldDatabase, metrics, logger, retryDelayMs: 300, lagIntervalMs: 200, concurrency: 2, ...more });
  return {
    writer,
    buffer,
    metrics,
    registry,
    async stop() {
      await writer.stop();
      await buffer.close();
      await pool.end();
    },
  };
}

/** A counter's or gauge's value from a registry, summed over its labels. */
export async function metricValue(registry: Registry, name: string): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  const { values } = await m.get();
  return values.reduce((n, v) => n + v.value, 0);
}

/** Polls `probe` until it returns true; bounded. */
export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The same buffer as `strata writer`'s environment. */
export function bufferEnv(cfg: BufferConfig): Record<string, string> {
  const env: Record<string, string | undefined> = {
    STRATA_GATEWAY_BUFFER: cfg.url,
    STRATA_GATEWAY_BUFFER_STREAM: cfg.stream,
    STRATA_GATEWAY_BUFFER_SUBJECT_PREFIX: cfg.subjectPrefix,
    STRATA_GATEWAY_BUFFER_DEAD_LETTER_STREAM: cfg.deadLetterStream,
    STRATA_GATEWAY_BUFFER_DEAD_LETTER_PREFIX: cfg.deadLetterPrefix,
    STRATA_GATEWAY_BUFFER_CONSUMER: cfg.consumer,
    STRATA_GATEWAY_BUFFER_ACK_WAIT_SECONDS: cfg.ackWaitSeconds?.toString(),
    STRATA_GATEWAY_BUFFER_BATCH_MESSAGES: cfg.batchMessages?.toString(),
  };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}
