import { spawn } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Outcome } from './compare';
import type { CorpusEntry } from './corpus-file';
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
export async function runPgxCorpus(dsn: string, entries: CorpusEntry[], mode: PgxMode, api: Pick<ProxyApi, 'parseStatements'>): Promise<Map<string, Outcome>> {
  const input = JSON.stringify(entries.map((e) => ({ name: e.name, statements: statementsOf(e, mode, api) })));
  const child = spawn(PGX_CORPUS_BINARY, [dsn], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  child.stdin.end(input);
  const code = await exited;
  if (code !== 0) throw new Error(`pgx-corpus exited with ${code}: ${stderr.slice(0, 2000)}`);
  const out = new Map<string, Outcome>();
  for (const line of stdout.split('\n')) {
    if (!line) continue;
    const o = JSON.parse(line) as { name: string; ok: boolean; fields?: Array<{ name: string; typeOid: number }>; rows?: Array<Array<string | null>>; code?: string; message?: string };
    out.set(o.name, o.ok ? { ok: true, fields: o.fields ?? [], rows: o.rows ?? [] } : { ok: false, code: o.code ?? 'XX000', message: o.message ?? '' });
  }
  return out;
}
