import { execFileSync, spawnSync } from 'node:child_process';
import { EMBEDDED_POSTGRES_ERROR_CODES, EmbeddedPostgresError } from './embedded-postgres-error';

/**
 * The account the embedded PostgreSQL runs as. PostgreSQL refuses to run as root, so
 * `strata up` run as root runs initdb and the server as user `postgres` (what Debian's
 * postgresql package creates, and what `make up`'s scripts/ensure-deps.sh installs);
 * anyone else runs them as themselves, and gets `undefined` here.
 */
export interface ServerAccount {
  name: string;
  uid: number;
  gid: number;
}

export const SERVER_ACCOUNT_NAME = 'postgres';

export function serverAccount(): ServerAccount | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, SERVER_ACCOUNT_NAME], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  try {
    return { name: SERVER_ACCOUNT_NAME, uid: id('-u'), gid: id('-g') };
  } catch (err) {
    throw new EmbeddedPostgresError(
      EMBEDDED_POSTGRES_ERROR_CODES.noServerAccount,
      `strata up runs as root, and PostgreSQL refuses to run as root: it runs the embedded server as user ${SERVER_ACCOUNT_NAME}, which does not exist here. ` +
        `Create it (useradd --system --user-group --home-dir /var/lib/postgresql ${SERVER_ACCOUNT_NAME}), run strata up as an ordinary user, or point it at your own PostgreSQL with --pg URL.`,
      { cause: err },
    );
  }
}

/**
 * Whether `account` can search (pass through) `dir` and every directory above it, as
 * the kernel decides (modes, ACLs), by asking it as that account.
 */
export function canSearch(account: ServerAccount, dir: string): boolean {
  return spawnSync('test', ['-x', dir], { uid: account.uid, gid: account.gid, cwd: '/', stdio: 'ignore' }).status === 0;
}
