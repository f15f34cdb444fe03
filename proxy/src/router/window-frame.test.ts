import { deparseStatement, loadSqlParser, parseStatements, type PgNode } from './sql-parser';

/**
 * Every window frame PostgreSQL's grammar accepts comes back from deparseStatement as the
 * same frame: parsed again, the same frameOptions bits and offsets (window-frame.ts).
 */
const BOUNDS = ['UNBOUNDED PRECEDING', '2 PRECEDING', 'CURRENT ROW', '1 FOLLOWING', 'UNBOUNDED FOLLOWING'];
const EXCLUDES = ['', ' EXCLUDE CURRENT ROW', ' EXCLUDE GROUP', ' EXCLUDE TIES', ' EXCLUDE NO OTHERS'];

function frames(): string[] {
  const out = [''];
  for (const mode of ['ROWS', 'RANGE', 'GROUPS']) {
    for (const ex of EXCLUDES) {
      // A bound alone (the frame ends at CURRENT ROW); UNBOUNDED FOLLOWING and 1 FOLLOWING cannot start it.
      for (const start of BOUNDS.slice(0, 3)) out.push(`${mode} ${start}${ex}`);
      // The end never before the start, never UNBOUNDED PRECEDING; the start never UNBOUNDED FOLLOWING.
      for (let i = 0; i < 4; i++) for (let j = Math.max(i, 1); j < 5; j++) out.push(`${mode} BETWEEN ${BOUNDS[i]} AND ${BOUNDS[j]}${ex}`);
    }
  }
  return out;
}

function windowOf(sql: string): PgNode {
  const sel = parseStatements(sql)[0].stmt.SelectStmt;
  const over = sel.targetList[0].ResTarget.val.FuncCall.over;
  const offsets = [over.startOffset, over.endOffset].map((o: PgNode) => (o ? JSON.stringify(o, (k, v) => (k === 'location' ? undefined : v)) : null));
  return { frameOptions: over.frameOptions, offsets };
}

describe('window frames through deparseStatement', () => {
  beforeAll(() => loadSqlParser());

  it('keep their bits and offsets, for every frame the grammar accepts', () => {
    const all = frames();
    expect(all.length).toBeGreaterThan(150);
    for (const frame of all) {
      const sql = `SELECT sum(n) OVER (ORDER BY t ${frame}) FROM x`;
      const again = deparseStatement(parseStatements(sql)[0].stmt);
      expect({ frame, window: windowOf(again) }).toEqual({ frame, window: windowOf(sql) });
    }
  });

  it('spell out windows that refer to a named one (pgsql-deparser dropped the reference and with it its PARTITION BY / ORDER BY)', () => {
    const cases: Array<[string, string]> = [
      ['SELECT sum(n) OVER (w ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) FROM x WINDOW w AS (ORDER BY t, n)', 'OVER ( ORDER BY t, n ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING )'],
      ['SELECT sum(n) OVER (w ORDER BY t) FROM x WINDOW w AS (PARTITION BY h)', 'OVER ( PARTITION BY h ORDER BY t )'],
      ['SELECT sum(n) OVER w2 FROM x WINDOW w AS (PARTITION BY h ORDER BY t), w2 AS (w ROWS 1 PRECEDING)', 'w2 AS (PARTITION BY h ORDER BY t ROWS 1 PRECEDING)'],
      // A subquery's names are its own.
      ['SELECT (SELECT max(m) OVER (w ORDER BY t) FROM y WINDOW w AS (PARTITION BY k)) FROM x WINDOW w AS (PARTITION BY h)', 'OVER ( PARTITION BY k ORDER BY t )'],
    ];
    for (const [sql, expected] of cases) {
      const stmt = parseStatements(sql)[0].stmt;
      const before = JSON.stringify(stmt);
      expect(deparseStatement(stmt).replace(/\s+/g, ' ')).toContain(expected);
      expect(JSON.stringify(stmt)).toBe(before);
    }
  });

  it('keep them in named windows and with expression offsets', () => {
    for (const sql of [
      `SELECT sum(n) OVER w FROM x WINDOW w AS (PARTITION BY h ORDER BY t ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)`,
      `SELECT sum(n) OVER (ORDER BY t RANGE BETWEEN interval '1 hour' * 2 PRECEDING AND '5 minutes' FOLLOWING EXCLUDE GROUP) FROM x`,
    ]) {
      const again = deparseStatement(parseStatements(sql)[0].stmt);
      expect(parseStatements(again)[0].stmt).toEqual(expect.anything());
      const strip = (s: string) => JSON.stringify(parseStatements(s)[0].stmt, (k, v) => (k === 'location' ? undefined : v));
      expect(strip(again)).toBe(strip(sql));
    }
  });
});
