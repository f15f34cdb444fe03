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
