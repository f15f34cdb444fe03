import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmdirSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EMBEDDED_POSTGRES_ERROR_CODES, EmbeddedPostgresError } from './embedded-postgres-error';
import { canSearch, type ServerAccount } from './server-account';
import { ensureRootOwnedDir, stateDirs } from './state-root';

/**
 * Where the embedded cluster's files live (PGDATA). `<data-dir>/postgres` is always the
 * way to it:
 * - run as yourself, it is that directory;
 * - run as root, the server runs as `postgres`, which may not pass through the checkout
 *   (a checkout under /root or a `mktemp -d` is mode 0700, and `strata up` never opens a
 *   user's directories), so a new cluster lives in `<state-root>/postgres/<id>/data`,
 *   owned by `postgres`, and `<data-dir>/postgres` is a symbolic link to it. Beside it,
 *   `<state-root>/postgres/<id>/data-dir` names the data directory it belongs to. The id
 *   is random: a data directory deleted and made again at the same path gets a new
 *   cluster, as it gets new passwords.
 * A cluster made in place by an earlier version (as root, a data directory `postgres`
 * could reach) stays where it is.
 */
export interface ClusterDirectory {
  /** PGDATA. */
  path: string;
  /** Whether it lies outside the data directory (then `<data-dir>/postgres` links to it). */
  relocated: boolean;
  /** Clusters under the state root whose data directory no longer links to them. */
  leftovers: string[];
}

export const CLUSTER_LINK = 'postgres';
const CLUSTER_DATA = 'data';
const CLUSTER_OWNER_FILE = 'data-dir';

export function placeClusterDirectory(opts: { dataDir: string; account?: ServerAccount; stateRoot: string }): ClusterDirectory {
  const link = join(opts.dataDir, CLUSTER_LINK);
  const existing = lstatOrUndefined(link);
  if (existing?.isSymbolicLink()) {
    const target = readlinkSync(link);
    if (existsSync(target)) return checked({ path: target, relocated: true, leftovers: [] }, opts.account);
    // Its cluster was removed by hand: start a new one, as for a new data directory.
    unlinkSync(link);
  } else if (existing?.isDirectory()) {
    // An empty directory with no cluster is what a failed first start of an earlier
    // version left as root; anything else is a cluster (or its start) kept in place.
    if (!(opts.account && readdirSync(link).length === 0)) return checked({ path: link, relocated: false, leftovers: [] }, opts.account);
    rmdirSync(link);
  } else if (existing) {
    throw new EmbeddedPostgresError(EMBEDDED_POSTGRES_ERROR_CODES.dataDir, `${link} is neither the embedded PostgreSQL's data directory nor a link to it; move it away.`);
  }

  if (!opts.account) {
    mkdirSync(link, { mode: 0o700 });
    return { path: link, relocated: false, leftovers: [] };
  }
  const dirs = stateDirs(opts.stateRoot);
  ensureRootOwnedDir(dirs.root);
  ensureRootOwnedDir(dirs.clusters);
  const leftovers = leftoverClusters(opts.stateRoot);
  const home = join(dirs.clusters, randomBytes(6).toString('hex'));
  ensureRootOwnedDir(home);
  writeFileSync(join(home, CLUSTER_OWNER_FILE), realpathSync(opts.dataDir) + '\n', { mode: 0o644 });
  const pgdata = join(home, CLUSTER_DATA);
  mkdirSync(pgdata, { mode: 0o700 });
  chownSync(pgdata, opts.account.uid, opts.account.gid);
  // Last, so a crash before it leaves a cluster directory that leftoverClusters reports.
  symlinkSync(pgdata, link);
  return { path: pgdata, relocated: true, leftovers };
}

/**
 * The clusters under the state root that no data directory links to any more (their
 * data directory was deleted or moved): reported, never removed, since only the user
 * knows whether a moved data directory is coming back.
 */
export function leftoverClusters(stateRoot: string): string[] {
  const clusters = stateDirs(stateRoot).clusters;
  if (!existsSync(clusters)) return [];
  return readdirSync(clusters)
    .map((id) => join(clusters, id))
    .filter((home) => {
      const owner = readFileOrUndefined(join(home, CLUSTER_OWNER_FILE))?.trim();
      if (!owner) return true;
      const link = join(owner, CLUSTER_LINK);
      return !(lstatOrUndefined(link)?.isSymbolicLink() && readlinkSync(link) === join(home, CLUSTER_DATA));
    });
}

/** The cluster directory must be the server account's, and reachable by it. */
function checked(dir: ClusterDirectory, account: ServerAccount | undefined): ClusterDirectory {
  const uid = account?.uid ?? process.getuid?.();
  const owner = statSync(dir.path).uid;
  if (uid !== undefined && owner !== uid) {
    throw new EmbeddedPostgresError(
      EMBEDDED_POSTGRES_ERROR_CODES.dataDir,
      `the embedded PostgreSQL's data in ${dir.path} belongs to uid ${owner}, and the server would run as uid ${uid}` +
        (account ? ` (${account.name})` : '') +
        `: run strata up as the user who created this data directory (as root, if it was made as root), or use another --data-dir.`,
    );
  }
  if (account && !canSearch(account, dir.path)) {
    throw new EmbeddedPostgresError(
      EMBEDDED_POSTGRES_ERROR_CODES.dataDir,
      `user ${account.name} (the embedded PostgreSQL's server) cannot reach ${dir.path}: a directory above it is closed to others. ` +
        `Move the data directory out of it, or start with a new --data-dir (a new cluster is kept under the state directory).`,
    );
  }
  return dir;
}

function lstatOrUndefined(path: string) {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function readFileOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
