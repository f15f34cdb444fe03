import { createServer } from 'node:http';
import { Pool } from 'pg';
import pino from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { coldStoreConfigFromEnv, createColdStore } from '@strata/core';
import { bufferConfigFromEnv, resolveBufferConfig } from '../buffer/buffer-config';
import { createBufferMetrics } from '../buffer/buffer-metrics';
import { BufferWriter, WRITER_STEPS, type WriterStep } from '../buffer/buffer-writer';
import { NatsBuffer } from '../buffer/nats-buffer';

/**
 * `strata writer`: applies the ingest buffer to the stores, apart from the gateways.
 *   STRATA_GATEWAY_BUFFER=nats://…     the stream to apply (and its _STREAM, _CONSUMER, … settings)
 *   STRATA_PG_URL, STRATA_CLICKHOUSE_URL (+_USER, _PASSWORD) or _PATH, _DATABASE   the stores
 *   STRATA_WRITER_METRICS_PORT         serve Prometheus /metrics here (default: none), on
 *   STRATA_WRITER_HOST                 this address (default 127.0.0.1)
 *   STRATA_WRITER_RETRY_MS             delay before an unreachable store sees a batch again (1000)
 * For the fault tests, STRATA_TEST_PAUSE_AT=fetched|written|committed|inserted stops the first batch
 * there for STRATA_TEST_PAUSE_MS (default: for ever), so a test can kill the process at
 * that point; the pause is announced on stderr.
 */
async function main(): Promise<void> {
  const env = process.env;
  const logger = pino({ level: env.LOG_LEVEL ?? 'info' });
  const raw = bufferConfigFromEnv(env);
  if (!raw) throw new Error('STRATA_GATEWAY_BUFFER=nats://… is required');
  if (!env.STRATA_PG_URL) throw new Error('STRATA_PG_URL is required');
  const cfg = resolveBufferConfig(raw);
  const coldCfg = coldStoreConfigFromEnv(env, '.data/clickhouse')!;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'strata_writer_' });
  const metrics = createBufferMetrics(registry);
  const pool = new Pool({ connectionString: env.STRATA_PG_URL, max: 2, application_name: 'strata-writer' });
  pool.on('error', (err) => logger.warn({ err: { name: err.name, code: (err as { code?: unknown }).code } }, 'idle PostgreSQL connection closed'));
  const cold = createColdStore(coldCfg, logger.child({ component: 'cold' }));
  const buffer = await NatsBuffer.connect(cfg, logger, 'strata-writer');
  const writer = await BufferWriter.start({
    buffer,
    pool,
    cold,
    coldDatabase: coldCfg.database,
    metrics,
    logger,
    onStep: testPause(env.STRATA_TEST_PAUSE_AT, env.STRATA_TEST_PAUSE_MS),
    retryDelayMs: env.STRATA_WRITER_RETRY_MS ? Number(env.STRATA_WRITER_RETRY_MS) : undefined,
  });
  const metricsPort = env.STRATA_WRITER_METRICS_PORT;
  const server = metricsPort
    ? createServer((req, res) => {
        if (req.url !== '/metrics') return void res.writeHead(404).end();
        registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
          () => res.writeHead(500).end(),
        );
      }).listen(Number(metricsPort), env.STRATA_WRITER_HOST || '127.0.0.1')
    : undefined;
  logger.info({ stream: cfg.stream, consumer: cfg.consumer, metricsPort }, 'writer started');
  let stopping = false;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: finishing the batch in hand');
    let code = 0;
    try {
      server?.close();
      await writer.stop();
      await buffer.close();
      await pool.end();
      await cold.close();
    } catch (err) {
      logger.error({ err }, 'stop failed');
      code = 1;
    }
    process.exit(code);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, (s) => void stop(s));
}

function testPause(at: string | undefined, ms: string | undefined): ((step: WriterStep) => Promise<void>) | undefined {
  if (!at) return undefined;
  if (!(Object.values(WRITER_STEPS) as string[]).includes(at)) throw new Error(`STRATA_TEST_PAUSE_AT must be one of ${Object.values(WRITER_STEPS).join(', ')}`);
  let armed = true;
  return async (step) => {
    if (!armed || step !== at) return;
    armed = false;
    console.error(`writer: paused at ${step}`);
    await new Promise((resolve) => setTimeout(resolve, ms ? Number(ms) : 2 ** 31 - 1));
  };
}

main().catch((err: unknown) => {
  console.error(`strata writer: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
