import { Client } from 'pg';
import type { Outcome } from './compare';
import type { ProxyApi } from './proxy-api';
import { errorOutcome, RAW_TEXT, simpleQuery, type CorpusRunner } from './runners';

/**
 * How a client reads: the corpus entry as one autocommit query string, or its last
 * statement (the read) inside a transaction block, through a view, or through a cursor.
 * Statements before it (`SET TIMEZONE …`) run first, outside the block, as they are.
 */
export const CORPUS_MODES = ['autocommit', 'txn', 'txn-rr', 'view', 'cursor'] as const;
export type CorpusMode = (typeof CORPUS_MODES)[number];

export function isCorpusMode(s: string): s is CorpusMode {
  return (CORPUS_MODES as readonly string[]).includes(s);
}

/** The table the corpus reads, and the plain view `view` mode reads it through. */
export const CORPUS_TABLE = 'metrics_events';
export const CORPUS_VIEW = 'strata_corpus_v';
const CURSOR = 'strata_corpus_c';

/** Run once per database (through the proxy for Strata) before the `view` mode. */
export const CREATE_CORPUS_VIEW_SQL = `CREATE OR REPLACE VIEW ${CORPUS_VIEW} AS SELECT * FROM ${CORPUS_TABLE}`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Node = any;

/** Every RangeVar naming the corpus table, anywhere in a parse tree (subqueries, CTEs, EXISTS). */
function tableRefs(node: Node, out: Array<{ location: number; aliased: boolean }> = []): Array<{ location: number; aliased: boolean }> {
  if (Array.isArray(node)) {
    for (const n of node) tableRefs(n, out);
  } else if (node && typeof node === 'object') {
    const rv = node.RangeVar;
    if (rv && rv.relname === CORPUS_TABLE) {
      if (rv.schemaname) throw new Error(`view mode: schema-qualified ${rv.schemaname}.${CORPUS_TABLE} is not rewritten`);
      out.push({ location: rv.location as number, aliased: Boolean(rv.alias) });
    }
    for (const v of Object.values(node)) tableRefs(v, out);
  }
  return out;
}

/**
 * The statement reading the view instead of the table. The view keeps the table's name
 * as its alias where the query gave none, so `metrics_events.col` still resolves.
 * Rewritten at the parser's locations (byte offsets), so nothing else of the text moves.
 */
export function throughView(sql: string, api: Pick<ProxyApi, 'parseStatements'>): string {
  const stmts = api.parseStatements(sql);
  if (stmts.length !== 1) throw new Error(`view mode rewrites one statement at a time, got ${stmts.length}`);
  const refs = tableRefs(stmts[0].stmt).sort((a, b) => b.location - a.location);
  let text = Buffer.from(stmts[0].text, 'utf8');
  // parseStatements trims: locations count from the first byte of `sql`'s statement.
  const offset = Buffer.from(sql, 'utf8').indexOf(text);
  for (const r of refs) {
    const at = r.location - offset;
    const name = text.subarray(at, at + CORPUS_TABLE.length).toString('utf8');
    if (name.toLowerCase() !== CORPUS_TABLE) throw new Error(`view mode: expected ${CORPUS_TABLE} at byte ${r.location}, found ${name}`);
    const replacement = r.aliased ? CORPUS_VIEW : `${CORPUS_VIEW} AS ${CORPUS_TABLE}`;
    text = Buffer.concat([text.subarray(0, at), Buffer.from(replacement, 'utf8'), text.subarray(at + CORPUS_TABLE.length)]);
  }
  return text.toString('utf8');
}

/**
 * The messages a client sends for the read in `mode`, each its own simple Query; the
 * outcome is the one of the message marked `result`.
 */
export function modeMessages(read: string, mode: Exclude<CorpusMode, 'autocommit'>, api: Pick<ProxyApi, 'parseStatements'>): Array<{ sql: string; result?: true }> {
  switch (mode) {
    case 'txn':
      return [{ sql: 'BEGIN' }, { sql: read, result: true }, { sql: 'COMMIT' }];
    case 'txn-rr':
      return [{ sql: 'BEGIN ISOLATION LEVEL REPEATABLE READ' }, { sql: read, result: true }, { sql: 'COMMIT' }];
    case 'view':
      return [{ sql: throughView(read, api), result: true }];
    case 'cursor':
      return [{ sql: 'BEGIN' }, { sql: `DECLARE ${CURSOR} CURSOR FOR ${read}` }, { sql: `FETCH ALL FROM ${CURSOR}`, result: true }, { sql: `CLOSE ${CURSOR}` }, { sql: 'COMMIT' }];
  }
}

/**
 * node-postgres over the simple protocol, each entry read in `mode`: the reference
 * database directly or a Strata proxy URL (both must run the same mode, so the
 * comparison is PostgreSQL's answer to the same messages). `view` needs
 * CREATE_CORPUS_VIEW_SQL run on the database first.
 */
export async function connectModeRunner(url: string, mode: CorpusMode, api: Pick<ProxyApi, 'parseStatements'>): Promise<CorpusRunner> {
  const client = new Client({ connectionString: url, types: RAW_TEXT });
  await client.connect();
  const query = (sql: string) => simpleQuery(client, sql);
  return {
    async run(sql) {
      if (mode === 'autocommit') return query(sql).catch(errorOutcome);
      let result: Outcome = { ok: false, code: 'XX000', message: 'no result message' };
      try {
        const stmts = api.parseStatements(sql);
        for (const s of stmts.slice(0, -1)) await query(s.text);
        for (const m of modeMessages(stmts[stmts.length - 1].text, mode, api)) {
          const o = await query(m.sql);
          if (m.result) result = o;
        }
        return result;
      } catch (err) {
        // Leave no failed block behind for the next entry.
        await client.query('ROLLBACK').catch(() => undefined);
        return errorOutcome(err);
      }
    },
    close: () => client.end(),
  };
}
