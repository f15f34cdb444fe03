import { existsSync, readFileSync } from 'node:fs';
import pino from 'pino';
import { coldStoreConfigFromEnv } from '@strata/core';
import { startGateway } from './app';
import { bufferConfigFromEnv } from './buffer/buffer-config';
import { loadKubeAccess } from './kube/kube-access';
import { resolveKubeSettings } from './kube/kube-settings';
import { KubeTieredTableApplier } from './kube/tiered-table-applier';

/**
 * Process entry: configuration from the environment, then startGateway.
 *   STRATA_PG_URL                      PostgreSQL (required)
 *   STRATA_CLICKHOUSE_URL (+_USER, _PASSWORD) or STRATA_CLICKHOUSE_PATH (embedded chDB)
 *   STRATA_CLICKHOUSE_DATABASE         default strata
 *   STRATA_GATEWAY_HOST / _PORT / _GRPC_PORT   default 127.0.0.1 / 8080 / 4317
 *   STRATA_GATEWAY_TOKENS              comma-separated bearer tokens (required unless
 *   STRATA_GATEWAY_INSECURE=1          … which runs without auth: tests and laptops only)
 *   STRATA_GATEWAY_BODY_LIMIT          bytes as sent, default 16 MiB
 *   STRATA_GATEWAY_DECOMPRESSED_LIMIT  bytes after decompression (HTTP bodies, gRPC messages), default 64 MiB
 *   STRATA_GATEWAY_MAX_DECOMPRESSING   compressed bodies decompressing at once, default 4
 *   STRATA_GATEWAY_DECOMPRESS_WAIT_MS  how long a body waits for one of them before 503, default 2000
 *   STRATA_GATEWAY_TLS_CERT / _KEY     PEM files: HTTP and gRPC then serve TLS only
 *   STRATA_GATEWAY_BATCH_ROWS, _BATCH_DELAY_MS, _FLUSH_CONCURRENCY, _MAX_PENDING_ROWS   writer batching
 *   STRATA_GATEWAY_KUBERNETES, _KUBECONFIG, _NAMESPACE   TieredTables for registered tables (kube/kube-settings.ts)
 *   STRATA_GATEWAY_BUFFER=nats://…     buffered ingest through NATS JetStream (buffer/buffer-config.ts: _STREAM,
 *                                      _REPLICAS, _MAX_BYTES, _MAX_MESSAGES, _MAX_AGE_SECONDS, _WRITERS=0, …)
 */
function numberEnv(name: string): number | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : Number(v);
}

async function main(): Promise<void> {
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'info' });
  const env = process.env;
  const cold = coldStoreConfigFromEnv(env, '.data/clickhouse')!;
  const database = cold.database;
  const kubeSettings = resolveKubeSettings(env, existsSync);
  const kubeAccess = kubeSettings.mode === 'off' ? undefined : await loadKubeAccess(kubeSettings);
  if (kubeAccess) logger.info({ server: kubeAccess.server, namespace: kubeAccess.namespace, via: kubeSettings.mode }, 'TieredTables kept for registered tables');
  else logger.info({ why: kubeSettings.mode === 'off' ? kubeSettings.why : undefined }, 'Kubernetes not configured: no TieredTables');
  const tlsCert = env.STRATA_GATEWAY_TLS_CERT;
  const tlsKey = env.STRATA_GATEWAY_TLS_KEY;
  if (!!tlsCert !== !!tlsKey) throw new Error('TLS needs both STRATA_GATEWAY_TLS_CERT and STRATA_GATEWAY_TLS_KEY');
  const gateway = await startGateway({
    pgUrl: env.STRATA_PG_URL ?? '',
    cold,
    coldDatabase: database,
    host: env.STRATA_GATEWAY_HOST || '127.0.0.1',
    port: numberEnv('STRATA_GATEWAY_PORT') ?? 8080,
    grpcPort: numberEnv('STRATA_GATEWAY_GRPC_PORT') ?? 4317,
    tokens: (env.STRATA_GATEWAY_TOKENS ?? '').split(',').map((t) => t.trim()).filter(Boolean),
    insecureNoAuth: env.STRATA_GATEWAY_INSECURE === '1',
    bodyLimitBytes: numberEnv('STRATA_GATEWAY_BODY_LIMIT'),
    decompressedLimitBytes: numberEnv('STRATA_GATEWAY_DECOMPRESSED_LIMIT'),
    decompression: Object.fromEntries(
      Object.entries({ maxConcurrent: numberEnv('STRATA_GATEWAY_MAX_DECOMPRESSING'), waitMs: numberEnv('STRATA_GATEWAY_DECOMPRESS_WAIT_MS') }).filter(([, v]) => v !== undefined),
    ),
    tls: tlsCert && tlsKey ? { cert: readFileSync(tlsCert), key: readFileSync(tlsKey) } : undefined,
    batch: Object.fromEntries(
      Object.entries({
        maxRows: numberEnv('STRATA_GATEWAY_BATCH_ROWS'),
        maxDelayMs: numberEnv('STRATA_GATEWAY_BATCH_DELAY_MS'),
        concurrency: numberEnv('STRATA_GATEWAY_FLUSH_CONCURRENCY'),
        maxPendingRows: numberEnv('STRATA_GATEWAY_MAX_PENDING_ROWS'),
      }).filter(([, v]) => v !== undefined),
    ),
    kube: kubeAccess ? new KubeTieredTableApplier(kubeAccess) : undefined,
    buffer: bufferConfigFromEnv(env),
    logger,
  });
  const stop = (signal: string) => {
    logger.info({ signal }, 'stopping: flushing accepted rows');
    gateway.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  // Config errors carry no secrets; print the message for the operator.
  console.error(`strata gateway: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
