import type {
  createRouter,
  createTierEngine,
  loadCatalogSnapshot,
  loadSqlParser,
  parseStatements,
} from '@strata/proxy';

/**
 * The proxy functions the corpus bed uses, passed in rather than imported: the CLI
 * takes them from the built @strata/proxy, jest from the sources (without loading the
 * wire server's modules).
 */
export interface ProxyApi {
  loadSqlParser: typeof loadSqlParser;
  parseStatements: typeof parseStatements;
  createRouter: typeof createRouter;
  createTierEngine: typeof createTierEngine;
  loadCatalogSnapshot: typeof loadCatalogSnapshot;
}
