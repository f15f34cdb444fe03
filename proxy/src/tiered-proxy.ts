import type { Logger } from 'pino';
import type { ColdStore } from '@strata/core';
import type { Router } from './engine/contract';
import { createTierEngine, type TierEngine } from './engine';
import { readTieredViews } from './engine/catalog-loader';
import { createRouter, loadSqlParser } from './router';
import type { ProxyConfig } from './config';
import { startProxy, type RunningProxy } from './proxy-server';
import { Counter, Gauge } from 'prom-client';
import { pgTextArrayLiteral, viewNotificationsPresent } from '@strata/core';
import { openTieredCatalog } from './tiered-catalog';

/**
 * The proxy as Strata serves it: the wire server with the tier-aware router and engine
 * plugged in. The catalog of tiered tables and the views over them is re-read when
 * PostgreSQL notifies a change, and every `config.catalogRefreshMs` (catalog-refresh.ts).
 */
export interface TieredProxyOptions {
  /** PostgreSQL the engine reads the hot tier and the catalog from. */
  pgUrl: string;
  cold: ColdStore;
  coldDatabase: string;
  logger: Logger;
}

export interface RunningTieredProxy extends RunningProxy {
  engine: TierEngine;
  /** The router the proxy uses (current catalog), for other front ends such as /v1/sql. */
  router: Router;
  /** Re-reads the catalog now (tests; `strata up` after applying tables). */
  refreshCatalog(): Promise<void>;
}

export async function startTieredProxy(config: ProxyConfig, opts: TieredProxyOptions): Promise<RunningTieredProxy> {
  await loadSqlParser();
  // One connection, for the catalog only: tiered statements run in each client's own
  // session, on the server connection lent to it.
  const catalog = await openTieredCatalog({ pgUrl: opts.pgUrl, periodMs: config.catalogRefreshMs, logger: opts.logger });
  const { refresher, pool, route } = catalog;
  const refreshCatalog = () => refresher.refresh();
  if (catalog.snapshot().tables.length > 0 && !(await viewNotificationsPresent(pool))) {
    opts.logger.warn(
      { refreshMs: config.catalogRefreshMs },
      'PostgreSQL does not notify view DDL (strata apply ran without a superuser, so its event triggers are absent): a view over a tiered table created straight in PostgreSQL is routed only after the next periodic catalog re-read',
    );
  }

  const engine = createTierEngine({
    cold: opts.cold,
    coldDatabase: opts.coldDatabase,
    catalog: catalog.snapshot,
    logger: opts.logger,
    maxRawColdRows: config.coldLimits.rawRows,
    maxRawColdBytes: config.coldLimits.rawBytes,
    maxInlineColdBytes: config.coldLimits.inlineBytes,
    statementTimeoutMs: config.statementTimeoutMs,
    minRowsPerRollupRow: config.minRowsPerRollupRow,
    partListingMs: config.partListingMs,
  });
  let proxy: RunningProxy;
  try {
    proxy = await startProxy(config, {
      logger: opts.logger,
      router: route,
      engine,
      refreshCatalog,
      catalogPending: () => refresher.pending(),
      blockRouter: async (hot) => {
        const snapshot = catalog.snapshot();
        const views = await readTieredViews(snapshot, async (sql, tables) => (await hot.query(sql, [pgTextArrayLiteral(tables)])).rows);
        return createRouter({ ...snapshot, ...views });
      },
    });
  } catch (err) {
    await catalog.close();
    throw err;
  }
  registerEngineMetrics(proxy, engine);
  return {
    ...proxy,
    engine,
    router: route,
    refreshCatalog,
    sessions: () => proxy.sessions(),
    sessionStates: () => proxy.sessionStates(),
    async close() {
      await proxy.close();
      await catalog.close();
    },
  };
}

/**
 * The engine's decisions on the proxy's registry: tiered statements by route (hot,
 * cold, split across W) and those refused with 0A000. Read from the engine's counters
 * at scrape time, so the statement path does no metric work.
 */
function registerEngineMetrics(proxy: RunningProxy, engine: TierEngine): void {
  new Counter({
    name: 'strata_proxy_tiered_statements_total',
    help: 'Statements on tiered tables answered by the engine, by route (hot, cold, split) or refused (0A000)',
    labelNames: ['route'] as const,
    registers: [proxy.metrics.registry],
    collect() {
      this.reset();
      for (const route of ['hot', 'cold', 'split', 'refused'] as const) this.inc({ route }, engine.stats[route]);
    },
  });
  new Counter({
    name: 'strata_proxy_refusals_total',
    help: 'Statements refused with SQLSTATE 0A000, by what Strata cannot answer exactly',
    labelNames: ['construct'] as const,
    registers: [proxy.metrics.registry],
    collect() {
      this.reset();
      for (const [construct, n] of Object.entries(engine.stats.refusals)) this.inc({ construct }, n);
    },
  });
  new Counter({
    name: 'strata_proxy_cold_reads_total',
    help: 'ClickHouse reads for tiered statements: mode "partial" = aggregation pushed down, "raw" = rows aggregated in PostgreSQL',
    labelNames: ['mode'] as const,
    registers: [proxy.metrics.registry],
    collect() {
      this.reset();
      for (const mode of ['partial', 'raw'] as const) this.inc({ mode }, engine.stats.coldReads[mode]);
    },
  });
  new Gauge({
    name: 'strata_proxy_pushdown_ratio',
    help: 'Share of ClickHouse reads with the aggregation pushed down (partial / all), since start',
    registers: [proxy.metrics.registry],
    collect() {
      const { partial, raw } = engine.stats.coldReads;
      this.set(partial + raw === 0 ? 0 : partial / (partial + raw));
    },
  });
}
