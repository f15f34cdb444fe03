import { existsSync, readFileSync } from 'node:fs';
import pino, { type Logger } from 'pino';
import { coldStoreConfigFromEnv, createColdStore, type ColdStore } from '@strata/core';
import { createTierEngine, loadSqlParser, openTieredCatalog, pgHotSession } from '@strata/proxy';
import { startGateway } from './app';
import { bufferConfigFromEnv } from './buffer/buffer-config';
import { loadKubeAccess } from './kube/kube-access';
import { resolveKubeSettings } from './kube/kube-settings';
import { KubeTieredTableApplier } from './kube/tiered-table-applier';
import type { SqlApiConfig } from './protocols/sql-http';

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
 *   STRATA_GATEWAY_SQL_TOKENS          comma-separated tokens for /v1/sql (off without them; never ingest tokens)
 *   STRATA_GATEWAY_SQL_PG_URL          PostgreSQL as the role /v1/sql statements run as: one that only reads
 *   STRATA_GATEWAY_SQL_STATEMENT_TIMEOUT_MS, _SQL_POOL_SIZE, _SQL_CATALOG_REFRESH_MS   default 30000, 4, 10000
 */
function numberEnv(name: string): number | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : Number(v);
}

/**
 * /v1/sql reads both tiers through the proxy's router and tier engine, built here in the
 * gateway's process (the only gateway file that imports the proxy): each statement runs
 * in the SQL role's own transaction, as the proxy runs it in its client's session.
 */
async function sqlApiFromEnv(env: NodeJS.ProcessEnv, cold: ColdStore, coldDatabase: string, logger: Logger): Promise<{ config: SqlApiConfig; close(): Promise<void> } | undefined> {
  const tokens = (env.STRATA_GATEWAY_SQL_TOKENS ?? '').split(',').map((t) => t.trim()).filter(Boolean);
  const pgUrl = env.STRATA_GATEWAY_SQL_PG_URL ?? '';
  if (tokens.length === 0 && !pgUrl) return undefined;
  if (tokens.length === 0 || !pgUrl) throw new Error('/v1/sql needs both STRATA_GATEWAY_SQL_TOKENS and STRATA_GATEWAY_SQL_PG_URL (a PostgreSQL role that only reads)');
  await loadSqlParser();
  // Re-read when PostgreSQL notifies a change of tables or views, and periodically.
  const catalog = await openTieredCatalog({
    pgUrl,
    periodMs: numberEnv('STRATA_GATEWAY_SQL_CATALOG_REFRESH_MS') ?? 10_000,
    logger,
    applicationName: 'strata-gateway-sql-catalog',
  });
  const engine = createTierEngine({ cold, coldDatabase, catalog: catalog.snapshot, logger: logger.child({ component: 'sql-engine' }) });
  const session = { user: 'strata-gateway-sql', database: new URL(pgUrl).pathname.slice(1), settings: new Map([['strata.route', 'auto']]), inTransaction: true };
  return {
    config: {
      tokens,
      pgUrl,
      statementTimeoutMs: numberEnv('STRATA_GATEWAY_SQL_STATEMENT_TIMEOUT_MS'),
      poolSize: numberEnv('STRATA_GATEWAY_SQL_POOL_SIZE'),
      engine: {
        engine,
        route: async (sql) => {
          await catalog.refresher.pending()?.catch(() => undefined);
          return catalog.route(sql, session).target;
        },
        hotSession: (client) => {
          const hot = pgHotSession(client, true);
          return { session: hot, done: () => hot.detach() };
        },
      },
    },
    close: () => catalog.close(),
  };
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
  // With /v1/sql on, the writers and the tier engine share one cold store (one chDB engine per process).
  const sqlOn = !!(env.STRATA_GATEWAY_SQL_TOKENS || env.STRATA_GATEWAY_SQL_PG_URL);
  const coldStore = sqlOn ? createColdStore(cold, logger.child({ component: 'cold' })) : undefined;
  const sql = coldStore ? await sqlApiFromEnv(env, coldStore, database, logger) : undefined;
  const gateway = await startGateway({
    pgUrl: env.STRATA_PG_URL ?? '',
    cold: coldStore ?? cold,
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
    sqlApi: sql?.config,
    logger,
  });
  const stop = (signal: string) => {
    logger.info({ signal }, 'stopping: flushing accepted rows');
    gateway
      .close()
      .then(async () => {
        await sql?.close();
        await coldStore?.close();
      })
      .then(
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
