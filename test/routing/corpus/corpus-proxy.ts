import type { Logger } from 'pino';
import type { RunningProxy, resolveProxyConfig, startProxy } from '@strata/proxy';
import type { CorpusBed } from './corpus-bed';

const PASSWORD = 'corpus-secret';

/**
 * Strata's wire server over the bed's tiered database with the bed's router and engine,
 * and the URL a client connects to it with. `api`: passed in for the same reason as
 * ProxyApi (the CLI's built @strata/proxy, jest's sources).
 */
export async function startCorpusProxy(
  bed: CorpusBed,
  api: { startProxy: typeof startProxy; resolveProxyConfig: typeof resolveProxyConfig },
  logger?: Logger,
): Promise<{ proxy: RunningProxy; url: string }> {
  const config = api.resolveProxyConfig({ listen: '127.0.0.1:0', backendUrl: bed.tiered.pgUrl, users: { postgres: PASSWORD } });
  // refreshCatalog: view DDL through the proxy re-reads the catalog, as in strata proxy.
  const proxy = await api.startProxy(config, { router: bed.router, engine: bed.engine, logger, refreshCatalog: () => bed.refreshCatalog() });
  return { proxy, url: `postgres://postgres:${PASSWORD}@${proxy.host}:${proxy.port}${new URL(bed.tiered.pgUrl).pathname}` };
}
