#!/usr/bin/env node
import pino from 'pino';
import { coldStoreConfigFromEnv, createColdStore } from '@strata/core';
import { proxyConfigFromEnv, ProxyConfigError } from './config';
import { startProxy, type RunningProxy } from './proxy-server';
import { startTieredProxy } from './tiered-proxy';

/**
 * `strata proxy` / `node proxy/dist/main.js`: configuration from the environment, then
 * serve until a signal. Tiered tables are answered across both tiers, so ClickHouse
 * must be configured (STRATA_CLICKHOUSE_URL [+ _USER, _PASSWORD] or
 * STRATA_CLICKHOUSE_PATH); STRATA_PROXY_PASSTHROUGH=1 runs a plain PostgreSQL proxy.
 */
async function main(): Promise<void> {
  const logger = pino({ level: process.env.STRATA_LOG_LEVEL ?? 'info' }).child({ component: 'proxy' });
  let config;
  try {
    config = proxyConfigFromEnv(process.env);
  } catch (error) {
    if (error instanceof ProxyConfigError) {
      console.error(`strata proxy: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  const cold = coldStoreConfigFromEnv(process.env);
  let proxy: RunningProxy;
  if (cold) {
    const store = createColdStore(cold);
    const tiered = await startTieredProxy(config, { pgUrl: process.env.STRATA_PG_URL!, cold: store, coldDatabase: cold.database, logger });
    proxy = { ...tiered, close: () => tiered.close().finally(() => store.close()) };
  } else if (process.env.STRATA_PROXY_PASSTHROUGH === '1') {
    proxy = await startProxy(config, { logger });
  } else {
    console.error('strata proxy: no ClickHouse configured (STRATA_CLICKHOUSE_URL or STRATA_CLICKHOUSE_PATH); tiered tables cannot be answered without it. STRATA_PROXY_PASSTHROUGH=1 runs a plain PostgreSQL proxy.');
    process.exit(2);
  }
  // Tests and scripts read the bound port from this line (STRATA_PROXY_LISTEN may say port 0).
  console.log(JSON.stringify({ listening: `${proxy.host}:${proxy.port}`, metrics: proxy.metricsUrl ?? null }));
  if (!cold) logger.warn('STRATA_PROXY_PASSTHROUGH=1: no tier routing; reads of tiered tables see the hot tier only');
  const stop = (signal: string) => {
    logger.info({ signal }, 'shutting down: draining sessions');
    proxy.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

void main();
