export * from './engine/contract';
export { startProxy, type RunningProxy, type ProxyDependencies } from './proxy-server';
export { resolveProxyConfig, proxyConfigFromEnv, ProxyConfigError, type ProxyConfig, type ProxyConfigInput } from './config';
export { scramVerifier, ScramClient } from './auth/scram-sha-256';
// Tier-aware query engine (routing issue): router, translator, engine.
export * from './router';
export * from './translate';
export * from './engine';
export * as wire from './wire';
export { startTieredProxy, type TieredProxyOptions, type RunningTieredProxy } from './tiered-proxy';
export { CatalogRefresher } from './catalog-refresh';
export { openTieredCatalog, type TieredCatalog } from './tiered-catalog';
