import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Outcome } from './compare';
import type { CorpusEntry } from './corpus-file';
import { runCorpusProgram } from './corpus-program';
import type { ProxyApi } from './proxy-api';

/** The pgx v5 corpus client scripts/deps/routing.sh builds. */
export const PGX_CORPUS_BINARY = join(process.env.STRATA_CACHE ?? join(homedir(), '.cache', 'strata'), 'routing', 'pgx-corpus', 'pgx-corpus');

export type PgxMode = 'simple' | 'extended';

interface PgxStatement {
  sql: string;
  params: Array<string | null> | null;
}

/**
 * The time bounds of a statement as bind parameters, as a driver sends them over the
 * extended protocol: '2026-…' literals (not typed ones like TIMESTAMPTZ '…') and
 * to_timestamp(n) arguments become $1, $2, … with text values of unspecified type.
 */
export function parameterizeTimeBounds(sql: string): PgxStatement {
  const params: string[] = [];
  let text = sql.replace(/(\b(?:timestamptz|timestamp|date|interval)\s*)?'(\d{4}-\d{2}-\d{2}[^']*)'/gi, (whole, typed: string | undefined, value: string) => {
    if (typed) return whole;
    params.push(value);
    return `$${params.length}`;
  });
  text = text.replace(/to_timestamp\((\d+)\)/gi, (_w, n: string) => {
    params.push(n);
    return `to_timestamp($${params.length})`;
  });
  return { sql: text, params };
}

function statementsOf(e: CorpusEntry, mode: PgxMode, api: Pick<ProxyApi, 'parseStatements'>): PgxStatement[] {
  if (mode === 'simple') return [{ sql: e.sql, params: null }];
  const stmts = api.parseStatements(e.sql);
  return stmts.map((s, i) => (i < stmts.length - 1 ? { sql: s.text, params: null } : parameterizeTimeBounds(s.text)));
}

/** Runs every entry through pgx on one connection; outcomes by entry name. */
export function runPgxCorpus(dsn: string, entries: CorpusEntry[], mode: PgxMode, api: Pick<ProxyApi, 'parseStatements'>): Promise<Map<string, Outcome>> {
  const input = JSON.stringify(entries.map((e) => ({ name: e.name, statements: statementsOf(e, mode, api) })));
  return runCorpusProgram(PGX_CORPUS_BINARY, [dsn], input);
}
