#!/usr/bin/env node
import pino from 'pino';
import { proxyConfigFromEnv, ProxyConfigError } from './config';
import { startProxy } from './proxy-server';

/** `strata proxy` / `node proxy/dist/main.js`: configuration from the environment, then serve until a signal. */
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
  const proxy = await startProxy(config, { logger });
  // Tests and scripts read the bound port from this line (STRATA_PROXY_LISTEN may say port 0).
  console.log(JSON.stringify({ listening: `${proxy.host}:${proxy.port}`, metrics: proxy.metricsUrl ?? null }));
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
