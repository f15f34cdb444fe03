import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PoolSet } from './backend/pool';

/** The proxy's Prometheus metrics, on a registry of its own (several proxies can share a process in tests). */
export interface ProxyMetrics {
  registry: Registry;
  clients: Gauge;
  connectionsTotal: Counter;
  queries: Counter<'route'>;
  /** Pre-labelled children: the relay path does no label lookups. */
  postgresQueries: ReturnType<Counter<'route'>['labels']>;
  engineQueries: ReturnType<Counter<'route'>['labels']>;
  latency: Histogram;
  errors: Counter<'source' | 'class'>;
  protocolErrors: Counter;
  /** Clients ended before login by a limit (frontend/admission.ts Refusal). */
  clientsRefused: Counter<'reason'>;
}

export function createProxyMetrics(pools: () => PoolSet | null): ProxyMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'strata_proxy_process_' });
  const queries = new Counter({ name: 'strata_proxy_queries_total', help: 'Statements by route (postgres relay or tier engine)', labelNames: ['route'], registers: [registry] });
  const metrics: ProxyMetrics = {
    registry,
    queries,
    postgresQueries: queries.labels('postgres'),
    engineQueries: queries.labels('engine'),
    clients: new Gauge({ name: 'strata_proxy_client_connections', help: 'Client connections open now', registers: [registry] }),
    connectionsTotal: new Counter({ name: 'strata_proxy_client_connections_total', help: 'Client connections accepted', registers: [registry] }),
    latency: new Histogram({
      name: 'strata_proxy_query_duration_seconds',
      help: 'From a Query or Sync to its ReadyForQuery',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    }),
    errors: new Counter({ name: 'strata_proxy_errors_total', help: 'Errors sent to clients, by source and SQLSTATE class', labelNames: ['source', 'class'], registers: [registry] }),
    protocolErrors: new Counter({ name: 'strata_proxy_protocol_errors_total', help: 'Client sessions ended for breaking the protocol', registers: [registry] }),
    clientsRefused: new Counter({
      name: 'strata_proxy_clients_refused_total',
      help: 'Client connections ended before login: max_clients (past STRATA_PROXY_MAX_CLIENTS), auth_timeout (no login within STRATA_PROXY_AUTH_TIMEOUT_MS)',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
  const poolGauge = (name: string, help: string, pick: (s: ReturnType<import('./backend/pool').Pool['stats']>) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['database'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [database, pool] of pools()?.entries() ?? []) this.inc({ database }, pick(pool.stats()));
      },
    });
  poolGauge('strata_proxy_pool_servers', 'PostgreSQL connections in the pool', (s) => s.total);
  poolGauge('strata_proxy_pool_servers_idle', 'Idle PostgreSQL connections', (s) => s.idle);
  poolGauge('strata_proxy_pool_servers_active', 'PostgreSQL connections lent to clients', (s) => s.active);
  poolGauge('strata_proxy_pool_clients_waiting', 'Clients waiting for a PostgreSQL connection', (s) => s.waiting);
  return metrics;
}
