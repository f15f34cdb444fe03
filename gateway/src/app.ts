import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Server } from '@grpc/grpc-js';
import { Pool } from 'pg';
import pino, { type Logger } from 'pino';
import { createColdStore, getRegisteredTable, migrate, type ColdStore } from '@strata/core';
import { resolveGatewayConfig, type GatewayConfig, type ResolvedGatewayConfig } from './config';
import { openGatewayBuffer, type GatewayBuffer } from './buffer/gateway-buffer';
import { BadRequestError, ForbiddenError, GatewayError, MalformedBodyError, SqlApiDisabledError, SqlStatementError, UnauthorizedError, UnsupportedMediaTypeError } from './errors';
import { TokenAuth } from './http/auth';
import { decodeContent, isCompressed } from './http/body';
import { DecompressionSlots } from './http/decompression-slots';
import { BUILTIN_TABLES, builtinTableSpecs } from './model/builtin-tables';
import { TableCatalog } from './model/table-catalog';
import { createGatewayMetrics, type GatewayMetrics } from './ops/metrics';
import { startGrpcServer } from './protocols/grpc-server';
import { parseLineProtocol, precisionOf } from './protocols/influx-line-protocol';
import { decodeOtlpJson, OTLP_SIGNALS, otlpSuccessProtobuf, writeOtlpProtobuf, type OtlpSignal } from './protocols/otlp';
import { decodeRemoteWrite } from './protocols/prometheus-remote-write';
import { clickhouseAuthorization, registerClickHouseHttp } from './protocols/clickhouse-http';
import { SchemaRegistrar } from './protocols/schema-register';
import { openSqlApi, parseSqlRequest, type SqlApi } from './protocols/sql-http';
import { BatchingWriter } from './writers/batching-writer';
import { clickhouseInsertFlush } from './writers/clickhouse-insert';
import { Ingest } from './writers/ingest';
import { postgresCopyFlush } from './writers/postgres-copy';

export interface Gateway {
  /** `http://host:port` (`https://` with TLS) of the HTTP endpoints. */
  url: string;
  port: number;
  /** `host:port` of OTLP/gRPC and Arrow Flight; undefined when gRPC is disabled. */
  grpcAddress?: string;
  metrics: GatewayMetrics;
  /** Stops accepting, flushes what was accepted, closes the stores it opened. */
  close(): Promise<void>;
}

// `/ping` is ClickHouse's liveness probe, unauthenticated there too.
const OPEN_PATHS = new Set(['/healthz', '/readyz', '/metrics', '/ping']);
const SQL_PATH = '/v1/sql';

export async function startGateway(config: GatewayConfig): Promise<Gateway> {
  const cfg = resolveGatewayConfig(config);
  const logger: Logger = config.logger ?? pino({ level: process.env.LOG_LEVEL ?? 'info' });
  const metrics = createGatewayMetrics();
  // Buffered mode: batches are published to JetStream instead of written (buffer/).
  const buffer = cfg.buffer ? await openGatewayBuffer(cfg.buffer, metrics.registry, logger) : undefined;
  const pool = new Pool({ connectionString: cfg.pgUrl, max: cfg.pgPoolSize + 2, application_name: 'strata-gateway' });
  // An idle client losing its server must not crash the process; the next checkout reconnects.
  pool.on('error', (err) => logger.warn({ err: { name: err.name, code: (err as { code?: unknown }).code } }, 'idle PostgreSQL connection closed'));
  const ownsCold = !isColdStore(cfg.cold);
  const cold: ColdStore = isColdStore(cfg.cold) ? cfg.cold : createColdStore(cfg.cold, logger.child({ component: 'cold' }));
  const catalog = new TableCatalog(pool);
  const pgWriter = new BatchingWriter('postgresql', cfg.batch, buffer?.flush ?? postgresCopyFlush(pool), metrics, logger);
  const chWriter = new BatchingWriter('clickhouse', cfg.batch, buffer?.flush ?? clickhouseInsertFlush(cold, cfg.coldDatabase), metrics, logger);
  const registrar = new SchemaRegistrar({ pool, cold, coldDatabase: cfg.coldDatabase, catalog, kube: config.kube });
  const ingest = new Ingest(catalog, { postgresql: pgWriter, clickhouse: chWriter }, metrics, (table, columns) => registrar.addColumns(table, columns));
  const sqlAuth = cfg.sqlApi ? new TokenAuth(cfg.sqlApi.tokens) : undefined;
  let sql: SqlApi | undefined;
  const auth = new TokenAuth(cfg.tokens);
  const slots = new DecompressionSlots(cfg.decompression.maxConcurrent, cfg.decompression.waitMs);

  let app: FastifyInstance | undefined;
  let grpc: { server: Server; port: number } | undefined;
  try {
    await migrateOrCheck(pool, logger);
    if (cfg.createBuiltinTables) {
      for (const spec of builtinTableSpecs()) {
        if (!(await getRegisteredTable(pool, spec.table))) await registrar.apply(spec);
      }
    }
    await buffer?.startWriters({ pool, cold, coldDatabase: cfg.coldDatabase });
    if (cfg.sqlApi) sql = await openSqlApi(cfg.sqlApi, logger);
    app = buildHttpApp({ cfg, logger, metrics, ingest, registrar, sql, sqlAuth, auth, pool, cold, buffer, slots });
    await app.listen({ host: cfg.host, port: cfg.port });
    if (cfg.grpcPort !== null) {
      grpc = await startGrpcServer({ ingest, auth, metrics, logger, maxMessageBytes: cfg.decompressedLimitBytes, slots, tls: cfg.tls }, cfg.host, cfg.grpcPort);
    }
  } catch (err) {
    await app?.close().catch(() => undefined);
    await buffer?.close().catch(() => undefined);
    await sql?.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
    if (ownsCold) await cold.close().catch(() => undefined);
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : cfg.port;
  logger.info({ port, grpcPort: grpc?.port, auth: auth.enabled ? 'bearer' : 'none (insecure)', tls: cfg.tls !== undefined, sqlApi: sql ? (cfg.sqlApi?.engine ? 'both tiers' : 'hot tier only') : 'off' }, 'gateway listening');
  if (!cfg.tls && auth.enabled && !isLoopback(cfg.host)) logger.warn({ host: cfg.host }, 'no TLS: bearer tokens travel in clear text (STRATA_GATEWAY_TLS_CERT / _KEY)');
  let closing: Promise<void> | undefined;
  const httpApp = app;
  return {
    url: `${cfg.tls ? 'https' : 'http'}://${cfg.host}:${port}`,
    port,
    grpcAddress: grpc ? `${cfg.host}:${grpc.port}` : undefined,
    metrics,
    close() {
      closing ??= (async () => {
        await httpApp.close();
        if (grpc) await new Promise<void>((resolve) => grpc!.server.tryShutdown(() => resolve()));
        await Promise.all([pgWriter.close(), chWriter.close()]);
        await buffer?.close();
        await sql?.close();
        await pool.end();
        if (ownsCold) await cold.close();
      })();
      return closing;
    },
  };
}

/**
 * The catalog's migrations are DDL. A least-privilege gateway role (docs/security.md) may
 * not run any and relies on `strata apply` or the operator, running as the owner, having
 * migrated; refused for lack of privilege (42501), the gateway goes on when it can read
 * the catalog.
 */
async function migrateOrCheck(pool: Pool, logger: Logger): Promise<void> {
  try {
    await migrate(pool);
  } catch (err) {
    if ((err as { code?: unknown }).code !== '42501') throw err;
    await pool.query('SELECT 1 FROM strata.table_registry LIMIT 0');
    logger.info('catalog migrations left to the owner: this role may not run DDL');
  }
}

const isLoopback = (host: string) => host === '127.0.0.1' || host === 'localhost' || host === '::1';

function isColdStore(c: unknown): c is ColdStore {
  return typeof (c as ColdStore).insertTsv === 'function';
}

interface HttpDeps {
  cfg: ResolvedGatewayConfig;
  logger: Logger;
  metrics: GatewayMetrics;
  ingest: Ingest;
  registrar: SchemaRegistrar;
  /** Undefined: /v1/sql is off. */
  sql?: SqlApi;
  sqlAuth?: TokenAuth;
  auth: TokenAuth;
  pool: Pool;
  cold: ColdStore;
  buffer?: GatewayBuffer;
  slots: DecompressionSlots;
}

function buildHttpApp(d: HttpDeps): FastifyInstance {
  // With TLS the listener speaks only TLS: a plaintext request never reaches a route.
  const app = Fastify({
    ...(d.cfg.tls ? { https: { cert: d.cfg.tls.cert, key: d.cfg.tls.key } } : {}),
    loggerInstance: d.logger as FastifyBaseLogger,
    bodyLimit: d.cfg.bodyLimitBytes,
    // No per-request access log: URLs can carry credentials in query strings (InfluxDB v1
    // `p=`); refused and failed requests are logged by the error handler without them.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'req' }),
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.addHook('onRequest', async (req, reply) => {
    const route = req.routeOptions.url ?? '';
    // /v1/sql checks its own token scope, in its handler.
    if (OPEN_PATHS.has(route) || route === SQL_PATH) return;
    const authorization = req.headers.authorization ?? clickhouseAuthorization(req.headers, req.query);
    if (!d.auth.check(authorization)) {
      if (d.sqlAuth?.check(authorization)) throw new ForbiddenError('a SQL token may only query /v1/sql; ingest needs an ingest token');
      reply.header('WWW-Authenticate', 'Bearer');
      throw new UnauthorizedError();
    }
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url;
    if (route && !OPEN_PATHS.has(route)) d.metrics.requests.inc({ protocol: route, status: String(reply.statusCode) });
  });
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    const status = err instanceof GatewayError ? err.statusCode : err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    const code = err instanceof GatewayError ? err.code : err.code ?? 'INTERNAL';
    if (status === 429 || status === 503) reply.header('Retry-After', String(d.cfg.batch.retryAfterSeconds));
    if (status >= 500) {
      d.logger.error({ req: req.id, route: req.routeOptions.url, code, err: { name: err.name, code: err.code, cause: causeSummary(err) } }, 'request failed');
    } else {
      d.logger.info({ req: req.id, route: req.routeOptions.url, status, code }, 'request refused');
    }
    const message = status >= 500 && !(err instanceof GatewayError) ? 'internal error' : err.message;
    const sqlState = err instanceof SqlStatementError ? { sqlState: err.sqlState } : {};
    void reply.status(status).send({ error: code, message, ...sqlState });
  });

  const body = (req: FastifyRequest): Promise<Buffer> => {
    const raw = (req.body as Buffer | undefined) ?? Buffer.alloc(0);
    const encoding = req.headers['content-encoding'];
    if (!isCompressed(encoding) || raw.length === 0) return decodeContent(raw, encoding, d.cfg.decompressedLimitBytes);
    return d.slots.run(() => decodeContent(raw, encoding, d.cfg.decompressedLimitBytes));
  };
  const tableParam = (req: FastifyRequest, fallback: string): string => {
    const t = (req.query as Record<string, unknown>).table;
    if (t === undefined) return fallback;
    if (typeof t !== 'string' || t === '') throw new BadRequestError('table must be one table name');
    return t;
  };

  // Seed endpoints: rows as JSON objects keyed by column name.
  for (const [path, fallback] of [
    ['/write/metrics', BUILTIN_TABLES.metricsEvents],
    ['/write/logs', BUILTIN_TABLES.logsEvents],
  ] as const) {
    app.post(path, async (req) => {
      const written = await d.ingest.writeJsonBody(path, tableParam(req, fallback), await body(req), req.headers['content-type']);
      return { rows: written };
    });
  }

  app.post('/schema/register', async (req, reply) => {
    const result = await d.registrar.register(parseJson(await body(req)));
    return reply.status(result.action === 'created' ? 201 : 200).send(result);
  });

  for (const signal of Object.keys(OTLP_SIGNALS) as OtlpSignal[]) {
    const def = OTLP_SIGNALS[signal];
    app.post(`/v1/${signal}`, async (req, reply) => {
      const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      const raw = await body(req);
      if (type === 'application/x-protobuf' || type === 'application/protobuf') {
        await writeOtlpProtobuf(d.ingest, `otlp-http-${signal}`, signal, raw);
        return reply.type('application/x-protobuf').send(otlpSuccessProtobuf(signal));
      }
      if (type === 'application/json') {
        const request = decodeOtlpJson(raw);
        const top = { metrics: 'resourceMetrics', logs: 'resourceLogs', traces: 'resourceSpans' }[signal];
        if (request[top] !== undefined && !Array.isArray(request[top])) throw new MalformedBodyError(`OTLP/JSON ${top} must be an array`);
        await d.ingest.writeRows(`otlp-http-${signal}`, def.table, def.rows(request, 'hex'));
        return reply.type('application/json').send({});
      }
      throw new UnsupportedMediaTypeError(type, 'application/x-protobuf or application/json');
    });
  }

  app.post('/api/v1/write', async (req, reply) => {
    // Remote write bodies are snappy-compressed whatever Content-Encoding says (spec 1.0).
    // The block's declared length is checked against the limit before anything is
    // allocated, and snappyjs decodes synchronously: one body at a time, no slot needed.
    const rows = decodeRemoteWrite((req.body as Buffer | undefined) ?? Buffer.alloc(0), d.cfg.decompressedLimitBytes);
    await d.ingest.writeRows('prometheus-remote-write', tableParam(req, BUILTIN_TABLES.promMetrics), rows);
    return reply.status(204).send();
  });

  for (const path of ['/write', '/api/v2/write']) {
    app.post(path, async (req, reply) => {
      const precision = precisionOf((req.query as Record<string, unknown>).precision);
      const rows = parseLineProtocol((await body(req)).toString('utf8'), precision, Date.now() * 1000);
      await d.ingest.writeRows('influx-line-protocol', BUILTIN_TABLES.influxMetrics, rows);
      return reply.status(204).send();
    });
  }

  // ClickHouse's HTTP insert protocol (Vector's clickhouse sink, ClickHouse clients).
  registerClickHouseHttp(app, { ingest: d.ingest, body, databases: [d.cfg.coldDatabase], retryAfterSeconds: d.cfg.batch.retryAfterSeconds });

  app.post(SQL_PATH, async (req, reply) => {
    if (!d.sql || !d.sqlAuth) throw new SqlApiDisabledError();
    const authorization = req.headers.authorization;
    if (!d.sqlAuth.check(authorization)) {
      if (d.auth.enabled && d.auth.check(authorization)) throw new ForbiddenError('an ingest token may not query: /v1/sql needs a SQL token (STRATA_GATEWAY_SQL_TOKENS)');
      reply.header('WWW-Authenticate', 'Bearer');
      throw new UnauthorizedError();
    }
    const { sql, params } = parseSqlRequest(parseJson(await body(req)));
    return d.sql.run(sql, params);
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply: FastifyReply) => {
    const [pg, ch] = await Promise.all([
      d.pool.query('SELECT 1').then(() => 'ok', () => 'unavailable'),
      d.cold.ping().then(() => 'ok', () => 'unavailable'),
    ]);
    const pending = d.ingest.pending();
    const lagging = pending.postgresql > d.cfg.batch.maxPendingRows || pending.clickhouse > d.cfg.batch.maxPendingRows;
    // Buffered, a store outage is the writers' to wait out: the gateway is ready while JetStream is.
    const buffer = d.buffer ? await d.buffer.ready() : undefined;
    const ready = (buffer ? buffer === 'ok' : pg === 'ok' && ch === 'ok') && !lagging;
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', postgresql: pg, clickhouse: ch, ...(buffer ? { buffer } : {}), pendingRows: pending });
  });
  app.get('/metrics', async (_req, reply) => reply.type(d.metrics.registry.contentType).send(await d.metrics.registry.metrics()));
  return app;
}

function parseJson(b: Buffer): unknown {
  try {
    return JSON.parse(b.toString('utf8'));
  } catch (err) {
    throw new MalformedBodyError('malformed JSON body', { cause: err });
  }
}

function causeSummary(err: Error): Record<string, unknown> | undefined {
  const c = (err as { cause?: unknown }).cause;
  if (!(c instanceof Error)) return undefined;
  return { name: c.name, code: (c as { code?: unknown }).code };
}
