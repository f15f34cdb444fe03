import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { createSecureContext } from 'node:tls';
import pino, { type Logger } from 'pino';
import type { ProxyConfig } from './config';
import { Pool, PoolSet } from './backend/pool';
import { StatementNames } from './backend/statement-names';
import { postgresOnlyRouter, type QueryEngine, type Router } from './engine/contract';
import type { HotSession } from './engine/hot-session';
import { PostgresVerifiers } from './frontend/auth/postgres-verifiers';
import { UserStore } from './frontend/auth/user-store';
import { Admission } from './frontend/admission';
import { ClientSession } from './frontend/client-session';
import { SessionRegistry } from './frontend/session-registry';
import { createProxyMetrics, type ProxyMetrics } from './metrics';

export interface ProxyDependencies {
  logger?: Logger;
  /** Defaults to postgresOnlyRouter until the tier-aware router is plugged in. */
  router?: Router;
  engine?: QueryEngine | null;
  /** Re-reads which tables and views are tiered (after a client's view DDL). */
  refreshCatalog?: () => Promise<void>;
  /** A re-read in flight after PostgreSQL notified a change (catalog-refresh.ts). */
  catalogPending?: () => Promise<void> | null;
  /** A router over the views as a client's block sees them (client-session.ts). */
  blockRouter?: (hot: HotSession) => Promise<Router>;
}

export interface RunningProxy {
  host: string;
  port: number;
  /** http://host:port/metrics when metrics are enabled. */
  metricsUrl?: string;
  metrics: ProxyMetrics;
  sessions(): number;
  /** Diagnostics: each session's phase and server, nothing a client sent. */
  sessionStates(): Array<Record<string, unknown>>;
  /** Stops accepting, lets open transactions finish (up to shutdownTimeoutMs), then closes everything. */
  close(): Promise<void>;
}

/** Starts the Postgres-wire proxy in-process: listener, pools, metrics endpoint. */
export async function startProxy(config: ProxyConfig, deps: ProxyDependencies = {}): Promise<RunningProxy> {
  const logger = deps.logger ?? pino({ level: 'info' }).child({ component: 'proxy' });
  let pools: PoolSet | null = null;
  const metrics = createProxyMetrics(() => pools);
  pools = new PoolSet(
    (database, login) =>
      new Pool({
        target: { ...config.backend, database, connectTimeoutMs: config.pool.connectTimeoutMs, ...(login ? { user: login.user, password: undefined, scramKeys: login.scramKeys } : {}) },
        size: config.pool.size,
        acquireTimeoutMs: config.pool.acquireTimeoutMs,
        idleTimeoutMs: config.pool.idleTimeoutMs,
        healthCheckAfterMs: config.pool.healthCheckAfterMs,
        logger: logger.child({ pool: database, ...(login ? { user: login.user } : {}) }),
      }),
  );
  const registry = new SessionRegistry<ClientSession>();
  const verifiers = config.auth.query ? new PostgresVerifiers(config.auth.query, config.backend, config.pool.connectTimeoutMs) : null;
  const sessionDeps = {
    config,
    users: new UserStore(config.auth.users),
    verifiers,
    pools,
    router: deps.router ?? postgresOnlyRouter,
    engine: deps.engine ?? null,
    refreshCatalog: deps.refreshCatalog,
    catalogPending: deps.catalogPending,
    blockRouter: deps.blockRouter,
    metrics,
    logger,
    secureContext: config.tls ? createSecureContext({ cert: config.tls.cert, key: config.tls.key }) : undefined,
    registry,
    statementNames: new StatementNames(),
  };

  const admission = new Admission(config.maxClients, metrics.clientsRefused);
  const server: Server = createServer({ noDelay: true }, (socket) => {
    const ticket = admission.arrive();
    if (ticket) new ClientSession(socket, sessionDeps, ticket);
    else socket.destroy();
  });
  await listen(server, config.listen.host, config.listen.port);
  const address = server.address() as AddressInfo;

  let metricsServer: HttpServer | undefined;
  let metricsUrl: string | undefined;
  if (config.metrics) {
    metricsServer = createHttpServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    });
    await listen(metricsServer, config.metrics.host, config.metrics.port);
    const m = metricsServer.address() as AddressInfo;
    metricsUrl = `http://${m.address.includes(':') ? `[${m.address}]` : m.address}:${m.port}/metrics`;
  }
  logger.info({ host: address.address, port: address.port, poolMode: config.poolMode, tls: !!config.tls, metrics: metricsUrl }, 'proxy listening');

  let closing: Promise<void> | null = null;
  return {
    host: address.address,
    port: address.port,
    metricsUrl,
    metrics,
    sessions: () => registry.size,
    sessionStates: () => registry.all().map((s) => s.diagnostics()),
    close() {
      closing ??= (async () => {
        server.close();
        for (const session of registry.all()) session.drain();
        const deadline = Date.now() + config.shutdownTimeoutMs;
        while (registry.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        for (const session of registry.all()) session.fatal({ severity: 'FATAL', code: '57P01', message: 'terminating connection due to administrator command' });
        await pools!.close();
        await verifiers?.close();
        await new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()));
        logger.info('proxy stopped');
      })();
      return closing;
    },
  };
}

function listen(server: Server | HttpServer, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
