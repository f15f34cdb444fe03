import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { EMBEDDED_POSTGRES_ERROR_CODES, EmbeddedPostgresError } from './embedded-postgres-error';

/**
 * Where `strata up` run as root keeps what user `postgres` must reach and a checkout
 * may hide from it (a checkout under /root or a fresh `mktemp -d` is mode 0700): a copy
 * of the PostgreSQL binaries per package version, and the clusters' data directories.
 *
 * Invariant: every directory from the state root down to these is root's, a real
 * directory (no symlink), and writable by root alone — the binaries run as `postgres`
 * and the data is the database, so nobody else may swap either.
 */
export const DEFAULT_STATE_ROOT = '/var/lib/strata';

export const stateDirs = (stateRoot: string) => ({
  root: stateRoot,
  /** <root>/embedded-postgres/<version>-<platform>-<arch>/{bin,lib,share} */
  binaries: join(stateRoot, 'embedded-postgres'),
  /** <root>/postgres/<id>/{data,data-dir} */
  clusters: join(stateRoot, 'postgres'),
});

/** Creates `dir` (mode 0755 whatever the umask, so `postgres` can pass) or checks the one there. */
export function ensureRootOwnedDir(dir: string): void {
  try {
    mkdirSync(dir);
    chmodSync(dir, 0o755);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
    throw new EmbeddedPostgresError(
      EMBEDDED_POSTGRES_ERROR_CODES.unsafeStateDir,
      `${dir} must be a directory owned by root and writable by root only (it holds what the embedded PostgreSQL runs and stores); ` +
        `found ${st.isSymbolicLink() ? 'a symbolic link' : st.isDirectory() ? 'a directory' : 'a file'} owned by uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)}. Fix or remove it.`,
    );
  }
  if ((st.mode & 0o005) !== 0o005) chmodSync(dir, (st.mode & 0o777) | 0o755);
}
