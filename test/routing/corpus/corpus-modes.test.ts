import { loadSqlParser, parseStatements } from '../../../proxy/src/router';
import { repoPath } from '../../support/paths';
import { readCorpus } from './corpus-file';
import { CORPUS_VIEW, modeMessages, throughView } from './corpus-modes';

const api = { parseStatements };

beforeAll(() => loadSqlParser());

describe('throughView', () => {
  it.each([
    ['unaliased: the view takes the table name as its alias', 'SELECT metrics_events.host FROM metrics_events', `SELECT metrics_events.host FROM ${CORPUS_VIEW} AS metrics_events`],
    ['aliased: the alias stays', 'SELECT m.host FROM metrics_events m', `SELECT m.host FROM ${CORPUS_VIEW} m`],
    ['AS alias', 'SELECT count(*) FROM metrics_events AS e', `SELECT count(*) FROM ${CORPUS_VIEW} AS e`],
    [
      'every occurrence: CTE, EXISTS, join',
      'WITH b AS (SELECT * FROM metrics_events) SELECT 1 FROM b, metrics_events x WHERE EXISTS (SELECT 1 FROM Metrics_Events)',
      `WITH b AS (SELECT * FROM ${CORPUS_VIEW} AS metrics_events) SELECT 1 FROM b, ${CORPUS_VIEW} x WHERE EXISTS (SELECT 1 FROM ${CORPUS_VIEW} AS metrics_events)`,
    ],
    ['strings and column names are left alone', "SELECT 'metrics_events' AS metrics_events FROM metrics_events", `SELECT 'metrics_events' AS metrics_events FROM ${CORPUS_VIEW} AS metrics_events`],
    ['offsets in bytes, after multi-byte text', "SELECT 'é€' FROM metrics_events", `SELECT 'é€' FROM ${CORPUS_VIEW} AS metrics_events`],
  ])('%s', (_name, sql, expected) => {
    expect(throughView(sql, api)).toBe(expected);
  });

  it('refuses what it would rewrite wrongly', () => {
    expect(() => throughView('SELECT 1 FROM public.metrics_events', api)).toThrow(/schema-qualified/);
    expect(() => throughView('SET TimeZone TO UTC; SELECT 1 FROM metrics_events', api)).toThrow(/one statement/);
  });

  it('reads every corpus entry through the view and nothing through the table', () => {
    for (const e of readCorpus(repoPath('test', 'routing', 'corpus', 'files', 'metrics.sql'))) {
      const stmts = parseStatements(e.sql);
      const viewed = throughView(stmts[stmts.length - 1].text, api);
      const tables: string[] = [];
      JSON.stringify(parseStatements(viewed)[0].stmt, (k, v) => {
        if (k === 'RangeVar') tables.push(v.relname);
        return v;
      });
      expect(tables.length).toBeGreaterThan(0);
      // 'b' is cte-hourly-max-rank's CTE.
      expect(tables.filter((t) => t !== CORPUS_VIEW && t !== 'b')).toEqual([]);
    }
  });
});

describe('modeMessages', () => {
  it('wraps the read as a client sends it, one message each', () => {
    expect(modeMessages('SELECT 1', 'txn', api)).toEqual([{ sql: 'BEGIN' }, { sql: 'SELECT 1', result: true }, { sql: 'COMMIT' }]);
    expect(modeMessages('SELECT 1', 'txn-rr', api)[0]).toEqual({ sql: 'BEGIN ISOLATION LEVEL REPEATABLE READ' });
    expect(modeMessages('SELECT 1', 'cursor', api).map((m) => m.sql)).toEqual([
      'BEGIN',
      'DECLARE strata_corpus_c CURSOR FOR SELECT 1',
      'FETCH ALL FROM strata_corpus_c',
      'CLOSE strata_corpus_c',
      'COMMIT',
    ]);
  });
});
