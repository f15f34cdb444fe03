import { GATEWAY_ERROR_CODES } from '../errors';
import { checkReadStatement, loadStatementParser } from './sql-statement-check';

beforeAll(() => loadStatementParser());

const refusal = (sql: string): { code: string; message: string; sqlState?: string } | undefined => {
  try {
    checkReadStatement(sql);
    return undefined;
  } catch (err) {
    const e = err as { code: string; message: string; sqlState?: string };
    return { code: e.code, message: e.message, sqlState: e.sqlState };
  }
};

test.each([
  'SELECT 1',
  'select * from metrics_events where time > now() - interval $$1 hour$$',
  'WITH recent AS (SELECT * FROM metrics_events) SELECT count(*) FROM recent',
  'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT * FROM n',
  'VALUES (1), (2)',
  'TABLE metrics_events',
  'SELECT 1 UNION SELECT 2',
  'SELECT * FROM (SELECT 1) s',
  'EXPLAIN SELECT 1',
  'EXPLAIN (ANALYZE, FORMAT JSON) SELECT 1',
  'SELECT 1;',
  '  -- a comment\nSELECT 1 /* and another */',
])('%s is answered', (sql) => {
  expect(refusal(sql)).toBeUndefined();
});

test.each([
  ['SELECT 1; SELECT 2', /one statement per request: this text holds 2/],
  ['SELECT 1; DROP TABLE t', /one statement/],
  ['-- nothing', /no statement/],
  ['INSERT INTO t VALUES (1)', /^INSERT:/],
  ['UPDATE t SET a = 1', /^UPDATE:/],
  ['DELETE FROM t', /^DELETE:/],
  ['MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE', /^MERGE:/],
  ['CREATE TABLE t (i int)', /^CREATE TABLE:/],
  ['CREATE TABLE t AS SELECT 1', /^CREATE TABLE AS:/],
  ['ALTER TABLE t ADD COLUMN j int', /^ALTER TABLE:/],
  ['DROP TABLE t', /^DROP:/],
  ['TRUNCATE t', /^TRUNCATE:/],
  ["COPY t TO PROGRAM 'id'", /^COPY:/],
  ['COPY (SELECT 1) TO STDOUT', /^COPY:/],
  ["SET ROLE postgres", /^SET:/],
  ["SET statement_timeout = 0", /^SET:/],
  ['BEGIN', /transaction statement/],
  ['COMMIT', /transaction statement/],
  ["DO $$BEGIN PERFORM 1; END$$", /^DO:/],
  ['CALL p()', /^CALL:/],
  ['GRANT SELECT ON t TO PUBLIC', /^GRANT:/],
  ['LOCK TABLE t', /^LOCK:/],
  ["NOTIFY c, 'x'", /^NOTIFY:/],
  ['PREPARE p AS SELECT 1', /^PREPARE:/],
  ['DECLARE c CURSOR FOR SELECT 1', /^DECLARE:/],
  ['SHOW search_path', /^SHOW:/],
  ['VACUUM t', /^VACUUM:/],
  ['WITH gone AS (DELETE FROM t RETURNING *) SELECT * FROM gone', /holding DELETE/],
  ['WITH a AS (SELECT 1), b AS (INSERT INTO t VALUES (1) RETURNING 1) SELECT * FROM a', /holding INSERT/],
  ['SELECT * FROM (WITH u AS (UPDATE t SET a = 1 RETURNING a) SELECT * FROM u) s', /holding UPDATE/],
  ['SELECT 1 INTO t', /SELECT INTO creates a table/],
  ['SELECT * FROM t FOR UPDATE', /FOR UPDATE/],
  ['SELECT * FROM (SELECT * FROM t FOR SHARE) s', /FOR UPDATE \/ FOR SHARE/],
  ['SELECT 1 UNION SELECT a FROM t FOR NO KEY UPDATE', /FOR UPDATE/],
  ['EXPLAIN ANALYZE DELETE FROM t', /^EXPLAIN of DELETE:/],
  ['EXPLAIN ANALYZE CREATE TABLE t AS SELECT 1', /^EXPLAIN of CREATE TABLE AS:/],
  ['EXPLAIN ANALYZE WITH d AS (DELETE FROM t RETURNING 1) SELECT * FROM d', /holding DELETE/],
])('%s is refused (400): %s', (sql, reason) => {
  const r = refusal(sql);
  expect(r).toMatchObject({ code: GATEWAY_ERROR_CODES.sqlRefused, message: expect.stringMatching(reason) });
});

test('text PostgreSQL cannot parse is a syntax error (42601), as PostgreSQL answers it', () => {
  expect(refusal('SELEC 1')).toMatchObject({ code: GATEWAY_ERROR_CODES.sqlError, sqlState: '42601', message: 'syntax error at or near "SELEC"' });
});
