import type { Logger } from 'pino';
import type { ColdStore, ColdStoreConfig } from '@strata/core';
import { GatewayConfigError } from './errors';
import { resolveSqlApiConfig, type ResolvedSqlApiConfig, type SqlApiConfig } from './protocols/sql-http';
import type { TieredTableApplier } from './kube/tiered-table-applier';
import { resolveBufferConfig, type BufferConfig, type ResolvedBufferConfig } from './buffer/buffer-config';

/** What `startGateway` takes. Only main.ts reads the environment to build one. */
export interface GatewayConfig {
  /** PostgreSQL (hot tier + catalog). */
  pgUrl: string;
  /** The cold tier: a config for core's createColdStore, or a store the caller owns. */
  cold: ColdStoreConfig | ColdStore;
  /** ClickHouse database holding the cold tables (core's ColdTarget). Default `strata`. */
  coldDatabase?: string;
  host?: string;
  /** HTTP port; 0 (default) picks a free one. */
  port?: number;
  /** gRPC port for OTLP/gRPC and Arrow Flight; 0 (default) picks a free one; null disables gRPC. */
  grpcPort?: number | null;
  /**
   * Accepted bearer tokens. There is no default: without tokens the gateway refuses to
   * start unless `insecureNoAuth` is set (tests, a laptop).
   */
  tokens?: string[];
  insecureNoAuth?: boolean;
  /** Largest request body as sent (compressed), bytes. Default 16 MiB. */
  bodyLimitBytes?: number;
  /** Largest request body after decompression, bytes (HTTP bodies and gRPC messages). Default 64 MiB. */
  decompressedLimitBytes?: number;
  /** Compressed bodies decompressing at once, and how long one waits for its turn. */
  decompression?: Partial<DecompressionConfig>;
  /**
   * TLS for the HTTP and gRPC listeners (PEM text): with it both serve TLS only, so bearer
   * tokens never travel in clear text. main.ts reads STRATA_GATEWAY_TLS_CERT / _KEY files.
   */
  tls?: { cert: string | Buffer; key: string | Buffer };
  batch?: Partial<BatchConfig>;
  /** PostgreSQL connections for the writers. Default 4. */
  pgPoolSize?: number;
  /** Create the built-in OTLP/Prometheus/Influx tables at start when missing. Default true. */
  createBuiltinTables?: boolean;
  /**
   * /v1/sql: off without it. Its own tokens (never the ingest tokens), its own PostgreSQL
   * role that only reads, and the tier engine to read both tiers (protocols/sql-http.ts).
   */
  sqlApi?: SqlApiConfig;
  /**
   * Keeps a TieredTable resource for each table registered (/schema/register) or evolved
   * (new columns) through the gateway; main.ts builds one when Kubernetes is configured.
   */
  kube?: TieredTableApplier;
  /**
   * `ingest.buffer: nats`: requests are acknowledged once stored in a NATS JetStream stream,
   * and writers apply the stream to the stores (buffer/). Absent: direct mode, the default.
   */
  buffer?: BufferConfig;
  logger?: Logger;
}

export interface BatchConfig {
  /** Flush once this many rows wait for a table. */
  maxRows: number;
  /** Flush rows that waited this long, ms. */
  maxDelayMs: number;
  /** Refuse (429) new requests while this many rows are unflushed or in flight, per store. */
  maxPendingRows: number;
  /** Concurrent flushes per table. */
  concurrency: number;
  /** Seconds a 429 asks the client to wait. */
  retryAfterSeconds: number;
}

export interface DecompressionConfig {
  /** Bodies (HTTP) and messages (gRPC) decompressing at once, over all clients. */
  maxConcurrent: number;
  /** How long a compressed body waits for a free slot before 503 (gRPC UNAVAILABLE), ms. */
  waitMs: number;
}

export interface ResolvedGatewayConfig {
  pgUrl: string;
  cold: ColdStoreConfig | ColdStore;
  coldDatabase: string;
  host: string;
  port: number;
  grpcPort: number | null;
  tokens: string[];
  insecureNoAuth: boolean;
  bodyLimitBytes: number;
  decompressedLimitBytes: number;
  decompression: DecompressionConfig;
  tls?: { cert: string | Buffer; key: string | Buffer };
  batch: BatchConfig;
  pgPoolSize: number;
  createBuiltinTables: boolean;
  buffer: ResolvedBufferConfig | undefined;
  sqlApi: ResolvedSqlApiConfig | undefined;
}

export const GATEWAY_DEFAULTS = {
  coldDatabase: 'strata',
  host: '127.0.0.1',
  bodyLimitBytes: 16 * 1024 * 1024,
  decompressedLimitBytes: 64 * 1024 * 1024,
  // Four bodies of 64 MiB: at most 256 MiB that compression multiplied, held at once.
  decompression: { maxConcurrent: 4, waitMs: 2000 } satisfies DecompressionConfig,
  pgPoolSize: 4,
  // Flushes of ≤ 10,000 rows, two in flight per table: PostgreSQL stores one batch while the
  // gateway encodes the next (make bench-ingest, 2 cores: 0.90 of raw COPY, against 0.71 with
  // 20,000 rows one at a time). More in flight only adds contention inside PostgreSQL.
  batch: { maxRows: 10_000, maxDelayMs: 5, maxPendingRows: 1_000_000, concurrency: 2, retryAfterSeconds: 1 } satisfies BatchConfig,
} as const;

/** Validated once into a fully defaulted object; the tokens never appear in messages. */
export function resolveGatewayConfig(config: GatewayConfig): ResolvedGatewayConfig {
  if (!config.pgUrl) throw new GatewayConfigError('pgUrl is required');
  const tokens = (config.tokens ?? []).filter((t) => t.length > 0);
  if (tokens.length === 0 && config.insecureNoAuth !== true) {
    throw new GatewayConfigError('no bearer token configured (STRATA_GATEWAY_TOKENS); set insecureNoAuth (STRATA_GATEWAY_INSECURE=1) only for tests and local use');
  }
  for (const t of tokens) if (t.length < 16) throw new GatewayConfigError('bearer tokens must be at least 16 characters');
  const batch = { ...GATEWAY_DEFAULTS.batch, ...config.batch };
  for (const [k, v] of Object.entries(batch)) {
    if (!Number.isFinite(v) || v < 0) throw new GatewayConfigError(`batch.${k} must be a non-negative number`);
  }
  const decompression = { ...GATEWAY_DEFAULTS.decompression, ...config.decompression };
  if (!Number.isInteger(decompression.maxConcurrent) || decompression.maxConcurrent < 1) throw new GatewayConfigError('decompression.maxConcurrent must be a positive integer');
  if (!Number.isFinite(decompression.waitMs) || decompression.waitMs < 0) throw new GatewayConfigError('decompression.waitMs must be a non-negative number');
  for (const [k, v] of Object.entries({ bodyLimitBytes: config.bodyLimitBytes, decompressedLimitBytes: config.decompressedLimitBytes })) {
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new GatewayConfigError(`${k} must be a positive integer`);
  }
  if (config.tls && (!config.tls.cert || !config.tls.key)) throw new GatewayConfigError('TLS needs both a certificate and a key');
  return {
    pgUrl: config.pgUrl,
    cold: config.cold,
    coldDatabase: config.coldDatabase ?? GATEWAY_DEFAULTS.coldDatabase,
    host: config.host ?? GATEWAY_DEFAULTS.host,
    port: config.port ?? 0,
    grpcPort: config.grpcPort === undefined ? 0 : config.grpcPort,
    tokens,
    insecureNoAuth: tokens.length === 0,
    bodyLimitBytes: config.bodyLimitBytes ?? GATEWAY_DEFAULTS.bodyLimitBytes,
    decompressedLimitBytes: config.decompressedLimitBytes ?? GATEWAY_DEFAULTS.decompressedLimitBytes,
    decompression,
    tls: config.tls,
    batch: { ...batch, concurrency: Math.max(1, Math.floor(batch.concurrency)) },
    pgPoolSize: config.pgPoolSize ?? GATEWAY_DEFAULTS.pgPoolSize,
    createBuiltinTables: config.createBuiltinTables ?? true,
    buffer: config.buffer ? resolveBufferConfig(config.buffer) : undefined,
    sqlApi: config.sqlApi ? resolveSqlApiConfig(config.sqlApi, tokens) : undefined,
  };
}
