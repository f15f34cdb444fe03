import type { ColdStore } from './cold-store';
import { EmbeddedColdStore, type EmbeddedColdStoreConfig } from './embedded-cold-store';
import { HttpColdStore, type ColdStoreLogger, type HttpColdStoreConfig } from './http-cold-store';

export { ColdStoreError, type ColdStore, type QueryParams, type TsvInsert } from './cold-store';
export {
  HttpColdStore,
  HTTP_COLD_STORE_DEFAULTS,
  resolveHttpColdStoreConfig,
  type ColdStoreLogger,
  type HttpColdStoreConfig,
  type ResolvedHttpColdStoreConfig,
} from './http-cold-store';
export { EmbeddedColdStore, type EmbeddedColdStoreConfig } from './embedded-cold-store';
export { PlainReads } from './plain-read';

/** Where the cold tier lives: a ClickHouse server over HTTP, or the engine in-process. */
export type ColdStoreConfig = ({ kind: 'http' } & HttpColdStoreConfig) | ({ kind: 'embedded' } & EmbeddedColdStoreConfig);

export function createColdStore(config: ColdStoreConfig, logger?: ColdStoreLogger): ColdStore {
  switch (config.kind) {
    case 'http': {
      const { kind: _kind, ...http } = config;
      return new HttpColdStore(http, logger);
    }
    case 'embedded':
      return new EmbeddedColdStore({ path: config.path, database: config.database }, logger);
    default: {
      const unknown: never = config;
      throw new Error(`unknown cold store kind: ${JSON.stringify((unknown as { kind?: unknown }).kind)}`);
    }
  }
}

/**
 * The cold tier as the processes' environment names it: STRATA_CLICKHOUSE_URL (+ _USER,
 * _PASSWORD) for a server, else STRATA_CLICKHOUSE_PATH (or `defaultPath`) for the
 * embedded engine; STRATA_CLICKHOUSE_DATABASE, default `strata`. Undefined when neither
 * is set and there is no default. Credentials come only from here, never from flags.
 */
export function coldStoreConfigFromEnv(env: NodeJS.ProcessEnv, defaultPath?: string): ColdStoreConfig | undefined {
  const database = env.STRATA_CLICKHOUSE_DATABASE || 'strata';
  if (env.STRATA_CLICKHOUSE_URL) {
    return { kind: 'http', url: env.STRATA_CLICKHOUSE_URL, username: env.STRATA_CLICKHOUSE_USER, password: env.STRATA_CLICKHOUSE_PASSWORD, database };
  }
  const path = env.STRATA_CLICKHOUSE_PATH || defaultPath;
  return path ? { kind: 'embedded', path, database } : undefined;
}
