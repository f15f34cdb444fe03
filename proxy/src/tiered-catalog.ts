import type { Logger } from 'pino';
import { Pool } from 'pg';
import { CatalogRefresher } from './catalog-refresh';
import { loadCatalogSnapshot } from './engine/catalog-loader';
import type { Router } from './query-types';
import { createRouter, type CatalogSnapshot } from './router';

/**
 * The catalog the router and engine decide from, kept current: read at start on a
 * connection of its own, then re-read by a CatalogRefresher on every change. The proxy
 * and the gateway's /v1/sql each hold one.
 */
export interface TieredCatalog {
  /** The snapshot as last read. */
  snapshot(): CatalogSnapshot;
  /** Routes with the snapshot as last read. */
  route: Router;
  refresher: CatalogRefresher;
  /** The catalog's connection (one). */
  pool: Pool;
  close(): Promise<void>;
}

/**
 * How long a catalog read waits for another session's lock before it fails (and is read
 * again soon): it never waits for a session, since sessions wait for it (catalog-refresh.ts).
 */
const CATALOG_LOCK_TIMEOUT_MS = 1000;
const LOCK_NOT_AVAILABLE = '55P03';

export async function openTieredCatalog(opts: { pgUrl: string; periodMs: number; logger: Logger; applicationName?: string }): Promise<TieredCatalog> {
  const pool = new Pool({ connectionString: opts.pgUrl, max: 1, lock_timeout: CATALOG_LOCK_TIMEOUT_MS, application_name: opts.applicationName });
  pool.on('error', (err) => opts.logger.warn({ err: err.message }, 'catalog connection lost'));
  let snapshot: CatalogSnapshot;
  try {
    snapshot = await firstSnapshot(pool);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  let route = createRouter(snapshot);
  const refresher = new CatalogRefresher(
    async () => {
      snapshot = await loadCatalogSnapshot(pool, snapshot);
      route = createRouter(snapshot);
      return (snapshot.lockedViews ?? []).length === 0;
    },
    { pgUrl: opts.pgUrl, periodMs: opts.periodMs, logger: opts.logger },
  );
  await refresher.start();
  // Views locked at start are read again (and again, less often) until they are read.
  if ((snapshot.lockedViews ?? []).length > 0) void refresher.refresh(false).catch(() => undefined);
  return {
    snapshot: () => snapshot,
    route: (sql, session) => route(sql, session),
    refresher,
    pool,
    async close() {
      await refresher.close();
      await pool.end().catch(() => undefined);
    },
  };
}

/**
 * The catalog at start. Locked views are skipped (catalog-loader.ts), but a lock taken
 * between the check and the read fails the read after CATALOG_LOCK_TIMEOUT_MS: tried
 * again a few times.
 */
async function firstSnapshot(pool: Pool): Promise<CatalogSnapshot> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await loadCatalogSnapshot(pool);
    } catch (err) {
      if ((err as { code?: string }).code !== LOCK_NOT_AVAILABLE || attempt === 5) throw err;
    }
  }
}
