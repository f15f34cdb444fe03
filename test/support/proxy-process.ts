import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { Client, type QueryResult, type QueryResultRow } from 'pg';
import { CLI } from './cli';

/** The stores a proxy process serves: PostgreSQL (its URL's path names the database clients use) and ClickHouse. */
export interface ProxyStores {
  pgUrl: string;
  chUrl: string;
  coldDatabase: string;
}

/** `strata proxy` as deployed: the CLI process, configured from the environment. */
export interface ProxyProcess {
  /** host:port the proxy listens on. */
  address: string;
  /** postgres:// URL through the proxy, to the stores' database, with the test user's password. */
  url: string;
  /** The proxy's Prometheus endpoint. */
  metricsUrl: string;
  /** A statement through the proxy on one `pg` client (real PostgreSQL wire, extended protocol when params are given). */
  query<R extends QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
  /** Statements on tiered tables the engine answered, by route (hot, cold, split), from the proxy's /metrics. */
  tieredRoutes(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

export interface ProxyProcessOptions {
  /** STRATA_PROXY_CATALOG_REFRESH_MS; the proxy's default when omitted. */
  catalogRefreshMs?: number;
}

export const PROXY_PROCESS_USER = 'dash';
export const PROXY_PROCESS_PASSWORD = 'proxy-process-secret';

export async function startProxyProcess(stores: ProxyStores, opts: ProxyProcessOptions = {}): Promise<ProxyProcess> {
  const child = spawn(process.execPath, [CLI, 'proxy'], {
    env: {
      PATH: process.env.PATH,
      STRATA_PG_URL: stores.pgUrl,
      STRATA_CLICKHOUSE_URL: stores.chUrl,
      STRATA_CLICKHOUSE_DATABASE: stores.coldDatabase,
      STRATA_PROXY_LISTEN: '127.0.0.1:0',
      STRATA_PROXY_METRICS_LISTEN: '127.0.0.1:0',
      STRATA_PROXY_USERS: `${PROXY_PROCESS_USER}:${PROXY_PROCESS_PASSWORD}`,
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
    const { listening: address, metrics: metricsUrl } = JSON.parse(line) as { listening: string; metrics: string };
    const url = `postgres://${PROXY_PROCESS_USER}:${PROXY_PROCESS_PASSWORD}@${address}${new URL(stores.pgUrl).pathname}`;
    const c = new Client({ connectionString: url });
    client = c;
    await c.connect();
    return {
      address,
      url,
      metricsUrl,
      query: <R extends QueryResultRow>(sql: string, params?: unknown[]) => c.query<R>(sql, params),
      async tieredRoutes() {
        const text = await (await fetch(metricsUrl)).text();
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
