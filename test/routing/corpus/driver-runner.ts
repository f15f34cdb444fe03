import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { repoPath } from '../../support/paths';
import type { Outcome } from './compare';
import type { CorpusEntry } from './corpus-file';
import { runCorpusProgram } from './corpus-program';

/**
 * Drivers whose default is a transaction block: psycopg2 (autocommit off unless asked)
 * and JDBC with autocommit off, as Python applications, pandas, SQLAlchemy and JDBC BI
 * tools read. Each runs the whole corpus on one connection, every entry one execute of
 * its text followed by a commit.
 */
export const CORPUS_DRIVERS = ['psycopg2', 'jdbc'] as const;
export type CorpusDriver = (typeof CORPUS_DRIVERS)[number];

export function isCorpusDriver(s: string): s is CorpusDriver {
  return (CORPUS_DRIVERS as readonly string[]).includes(s);
}

/** Debian's interpreter, where python3-psycopg2 is installed (not a pyenv shim). */
const PYTHON = '/usr/bin/python3';
const PSYCOPG2_SCRIPT = repoPath('test', 'routing', 'psycopg2-corpus', 'psycopg2_corpus.py');
/** Debian's libpostgresql-jdbc-java. */
const JDBC_JAR = '/usr/share/java/postgresql.jar';
/** JdbcCorpus.class, compiled by scripts/deps/routing.sh. */
export const JDBC_CORPUS_CLASSES = join(process.env.STRATA_CACHE ?? join(homedir(), '.cache', 'strata'), 'routing', 'jdbc-corpus');

/** Why `driver` cannot run here (what to install), or undefined. */
export function missingDriver(driver: CorpusDriver): string | undefined {
  if (driver === 'psycopg2') return existsSync(PYTHON) ? undefined : `${PYTHON} is missing: run make deps (python3-psycopg2, scripts/deps/proxy.sh)`;
  if (!existsSync(JDBC_JAR)) return `${JDBC_JAR} is missing: run make deps (libpostgresql-jdbc-java, scripts/deps/proxy.sh)`;
  if (!existsSync(join(JDBC_CORPUS_CLASSES, 'JdbcCorpus.class'))) return `${JDBC_CORPUS_CLASSES}/JdbcCorpus.class is missing: run make deps (scripts/deps/routing.sh)`;
  return undefined;
}

/** One entry a line: name TAB base64 of the SQL (any text, newlines included, survives). */
function entryLines(entries: CorpusEntry[]): string {
  return entries.map((e) => `${e.name}\t${Buffer.from(e.sql, 'utf8').toString('base64')}\n`).join('');
}

/** Runs every entry through `driver` against `url` (postgres://user:password@host:port/db); outcomes by entry name. */
export function runDriverCorpus(driver: CorpusDriver, url: string, entries: CorpusEntry[]): Promise<Map<string, Outcome>> {
  if (driver === 'psycopg2') return runCorpusProgram(PYTHON, [PSYCOPG2_SCRIPT, url], entryLines(entries));
  const u = new URL(url);
  const jdbcUrl = `jdbc:postgresql://${u.hostname}:${u.port || '5432'}${u.pathname}`;
  const args = ['-cp', `${JDBC_CORPUS_CLASSES}:${JDBC_JAR}`, 'JdbcCorpus', jdbcUrl, decodeURIComponent(u.username)];
  // The password by environment, not on a command line other users can list.
  return runCorpusProgram('java', args, entryLines(entries), { STRATA_CORPUS_PASSWORD: decodeURIComponent(u.password) });
}
