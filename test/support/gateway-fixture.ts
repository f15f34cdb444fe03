import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { Client, type QueryResult, type QueryResultRow } from 'pg';
import pino from 'pino';
import { createColdStore, runTiering, type ColdStore, type TierRunResult } from '@strata/core';
import { startGateway, type Gateway, type GatewayConfig } from '@strata/gateway';
import { createTestDatabase, type TestDatabase } from './postgres';
import { startChdbHttpServer, type ChdbHttpServer } from './cold-endpoint';
import { CLI } from './cli';
import { tiererDeps } from './tiered-fixture';

/**
 * A gateway on its own PostgreSQL database and its own ClickHouse endpoint (chDB's engine
 * behind the ClickHouse HTTP interface), plus direct clients to both stores so tests check
 * what was stored, not what the gateway says it stored.
 */
export const GATEWAY_TEST_TOKEN = 'test-token-0123456789abcdef';

export interface GatewayFixture {
  gateway: Gateway;
  db: TestDatabase;
  ch: ChdbHttpServer;
  pg: Client;
  cold: ColdStore;
  coldDatabase: string;
  auth: { authorization: string };
  restartGateway(overrides?: Partial<GatewayConfig>): Promise<void>;
  close(): Promise<void>;
}

export async function startGatewayFixture(prefix: string, overrides: Partial<GatewayConfig> = {}): Promise<GatewayFixture> {
  const db = await createTestDatabase(prefix);
  const ch = await startChdbHttpServer({});
  const coldDatabase = 'strata';
  const config = (): GatewayConfig => ({
    pgUrl: db.url,
    cold: { kind: 'http', url: ch.url, database: coldDatabase, maxRetries: 0 },
    coldDatabase,
    tokens: [GATEWAY_TEST_TOKEN],
    logger: pino({ level: process.env.GATEWAY_TEST_LOG ?? 'silent' }),
    ...overrides,
  });
  let gateway = await startGateway(config());
  const pg = new Client({ connectionString: db.url });
  await pg.connect();
  const cold = createColdStore({ kind: 'http', url: ch.url, database: coldDatabase });
  const fixture: GatewayFixture = {
    gateway,
    db,
    ch,
    pg,
    cold,
    coldDatabase,
    auth: { authorization: `Bearer ${GATEWAY_TEST_TOKEN}` },
    async restartGateway(more = {}) {
      await gateway.close();
      gateway = await startGateway({ ...config(), ...more });
      fixture.gateway = gateway;
    },
    async close() {
      await gateway.close().catch(() => undefined);
      await pg.end().catch(() => undefined);
      await cold.close().catch(() => undefined);
      await ch.stop();
      await db.drop();
    },
  };
  return fixture;
}

/** One tiering run of `table` up to `until` over the fixture's stores: rows below it move to ClickHouse. */
export function tierUntil(f: GatewayFixture, table: string, until: Date): Promise<TierRunResult> {
  return runTiering(
    tiererDeps(f.db.url, f.cold, f.coldDatabase),
    { table, until },
  );
}

/** `strata proxy` as deployed (the CLI process, configured from the environment) over a gateway fixture's stores. */
export interface GatewayProxy {
  /** host:port the proxy listens on. */
  address: string;
  /** postgres:// URL through the proxy, to the fixture's database, with the test user's password. */
  url: string;
  /** A statement through the proxy on one `pg` client (real PostgreSQL wire, extended protocol when params are given). */
  query<R extends QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
  /** Statements on tiered tables the engine answered, by route (hot, cold, split), from the proxy's /metrics. */
  tieredRoutes(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

export interface GatewayProxyOptions {
  /** STRATA_PROXY_CATALOG_REFRESH_MS; the proxy's default when omitted. */
  catalogRefreshMs?: number;
}

const PROXY_USER = 'dash';
const PROXY_PASSWORD = 'gateway-proxy-secret';

/**
 * Opt-in: suites that read back through the PostgreSQL-wire proxy start it after the
 * tables they read exist, so its first catalog load already routes them.
 */
export async function startProxyFor(f: GatewayFixture, opts: GatewayProxyOptions = {}): Promise<GatewayProxy> {
  const child = spawn(process.execPath, [CLI, 'proxy'], {
    env: {
      PATH: process.env.PATH,
      STRATA_PG_URL: f.db.url,
      STRATA_CLICKHOUSE_URL: f.ch.url,
      STRATA_CLICKHOUSE_DATABASE: f.coldDatabase,
      STRATA_PROXY_LISTEN: '127.0.0.1:0',
      STRATA_PROXY_METRICS_LISTEN: '127.0.0.1:0',
      STRATA_PROXY_USERS: `${PROXY_USER}:${PROXY_PASSWORD}`,
      ...(opts.catalogRefreshMs === undefined ? {} : { STRATA_PROXY_CATALOG_REFRESH_MS: String(opts.catalogRefreshMs) }),
      STRATA_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const stopChild = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await once(child, 'exit');
  };
  let client: Client | undefined;
  try {
    // main.ts prints one JSON line once bound; the port is only known from it (port 0).
    // The reader keeps draining stdout afterwards, so the proxy's own logs never block it.
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`strata proxy exited with ${code} before listening`)));
    });
    const { listening: address, metrics } = JSON.parse(line) as { listening: string; metrics: string };
    const url = `postgres://${PROXY_USER}:${PROXY_PASSWORD}@${address}/${f.db.name}`;
    const c = new Client({ connectionString: url });
    client = c;
    await c.connect();
    return {
      address,
      url,
      query: <R extends QueryResultRow>(sql: string, params?: unknown[]) => c.query<R>(sql, params),
      async tieredRoutes() {
        const text = await (await fetch(metrics)).text();
        const routes: Record<string, number> = {};
        for (const m of text.matchAll(/^strata_proxy_tiered_statements_total\{route="(\w+)"\} (\d+)$/gm)) routes[m[1]] = Number(m[2]);
        return routes;
      },
      async stop() {
        await c.end().catch(() => undefined);
        await stopChild();
      },
    };
  } catch (err) {
    await client?.end().catch(() => undefined);
    await stopChild();
    throw err;
  }
}
