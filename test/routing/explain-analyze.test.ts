import { expectSameAnswer, startDifferentialBed, tieredSpec, type DifferentialBed } from './differential-bed';

/**
 * EXPLAIN ANALYZE through the real proxy (engine/explain-analyze.ts): the statement runs
 * over both tiers and the answer names each engine step with its time, then PostgreSQL's
 * own EXPLAIN ANALYZE of the rewritten statement — in autocommit, in the client's block,
 * in a READ ONLY block (cold rows as array parameters), with the client's parameters and
 * options. What it cannot run is refused with 0A000 and runs nothing: EXPLAIN ANALYZE of a
 * DELETE (PostgreSQL's would delete), and EXPLAIN in formats other than text.
 */
const TABLE = tieredSpec({
  table: 'analyze_events',
  timeColumn: 'time',
  columns: [
    { name: 'time', type: 'timestamptz' },
    { name: 'host', type: 'text' },
    { name: 'v', type: 'double precision' },
  ],
  hot: { chunkInterval: '1h', retention: '24h' },
  cold: { orderBy: ['host', 'time'], partitionBy: 'day' },
});

const W = '2026-01-03T05:17:00Z';
const ROWS = `SELECT t, 'h' || (n % 3), (n % 37) / 4.0
  FROM generate_series(timestamptz '2026-01-01 00:00+00', timestamptz '2026-01-03 23:50+00', interval '10 minutes') WITH ORDINALITY g(t, n)`;
const PASSWORD = 'explain-analyze-secret';

const SPLIT = `SELECT date_trunc('hour', time) AS b, host, count(*), avg(v) FROM analyze_events WHERE time >= '2026-01-02 00:00+00' GROUP BY 1, 2 ORDER BY 1, 2`;

jest.setTimeout(60_000);

describe('EXPLAIN ANALYZE of a statement on a tiered table', () => {
  let bed: DifferentialBed;

  beforeAll(async () => {
    bed = await startDifferentialBed(TABLE, {
      reference: 'analyze_reference',
      rows: ROWS,
      partitions: ['2026-01-01T00:00:00Z', '2026-01-05T00:00:00Z'],
      watermark: W,
      password: PASSWORD,
    });
  }, 180_000);

  afterAll(async () => {
    await bed?.close();
  });

  async function analyze(sql: string, values?: unknown[]): Promise<string> {
    const r = await bed.client.query({ text: sql, values, rowMode: 'array' });
    return r.rows.map((row) => row[0]).join('\n');
  }

  /** The step lines' `label: x ms (a–b)` shape, and the times PostgreSQL's own analysis prints. */
  function expectAnalyzed(text: string, steps: RegExp[]): void {
    for (const s of [/Strata route: /, /Strata steps /, ...steps, /Strata execution time: \d+\.\d{3} ms/, /actual time=/, /Execution Time: /]) expect({ s: String(s), text }).toEqual({ s: String(s), text: expect.stringMatching(s) });
    for (const line of text.split('\n').filter((l) => / ms \(\d/.test(l))) expect(line).toMatch(/: \d+\.\d{3} ms \(\d+\.\d{3}–\d+\.\d{3}\)/);
  }

  it('runs a split statement and names each step, ClickHouse\'s read with its rows', async () => {
    const text = await analyze(`EXPLAIN ANALYZE ${SPLIT}`);
    expectAnalyzed(text, [/Strata route: split/, /PostgreSQL: tier states/, /ClickHouse \(analyze_events\): the cold answer[^\n]*; [1-9]\d* rows/, /PostgreSQL: the rewritten statement: /]);
    // PostgreSQL analysed the rewritten statement (it reads the cold answer), not the client's.
    expect(text).toMatch(/PostgreSQL's EXPLAIN ANALYZE of the rewritten statement:/);
    await expectSameAnswer(bed, SPLIT);
  });

  it('keeps the client\'s options and parameters, in a block and in a READ ONLY block', async () => {
    const sql = `EXPLAIN (ANALYZE, BUFFERS, VERBOSE) SELECT host, max(v) FROM analyze_events WHERE time >= $1 GROUP BY host ORDER BY host`;
    expectAnalyzed(await analyze(sql, ['2026-01-01 12:00+00']), [/Output: /]);
    await bed.client.query('BEGIN');
    try {
      expectAnalyzed(await analyze(sql, ['2026-01-01 12:00+00']), [/Output: /]);
    } finally {
      await bed.client.query('COMMIT');
    }
    await bed.client.query('BEGIN READ ONLY');
    try {
      expectAnalyzed(await analyze(`EXPLAIN ANALYZE ${SPLIT}`), [/its answer read as array parameters: [^\n]*; [1-9]\d* rows/]);
    } finally {
      await bed.client.query('COMMIT');
    }
  });

  it('analyses a view over the table, and runs as the client\'s role', async () => {
    await bed.ref.query(`CREATE VIEW analyze_view AS SELECT time, host, v * 2 AS v2 FROM analyze_events`);
    await bed.ref.query(`CREATE VIEW analyze_reference_view AS SELECT time, host, v * 2 AS v2 FROM analyze_reference`);
    const viewSql = `SELECT host, sum(v2) FROM analyze_view WHERE time >= '2026-01-02 00:00+00' GROUP BY host ORDER BY host`;
    // The proxy's catalog learns of the view from PostgreSQL's notification.
    for (let i = 0; i < 50 && !/Strata route: split/.test(await analyze(`EXPLAIN ${viewSql}`).catch(() => '')); i++) await new Promise((r) => setTimeout(r, 100));
    expectAnalyzed(await analyze(`EXPLAIN ANALYZE ${viewSql}`), [/Strata route: split/, /ClickHouse \(analyze_events\): the cold answer[^\n]*; [1-9]\d* rows/]);
    // Roles belong to the cluster, not the test's database: a name of this run's own, dropped after.
    const role = `analyze_reader_${process.pid}_${Date.now()}`;
    await bed.ref.query(`CREATE ROLE ${role}`);
    await bed.ref.query(`GRANT SELECT ON analyze_events TO ${role}`);
    await bed.client.query(`SET ROLE ${role}`);
    try {
      expectAnalyzed(await analyze(`EXPLAIN ANALYZE ${SPLIT}`), [/Strata route: split/]);
      await bed.ref.query(`REVOKE SELECT ON analyze_events FROM ${role}`);
      await expect(bed.client.query(`EXPLAIN ANALYZE ${SPLIT}`)).rejects.toMatchObject({ code: '42501' });
    } finally {
      await bed.client.query('RESET ROLE');
      await bed.ref.query(`REVOKE ALL ON analyze_events FROM ${role}`);
      await bed.ref.query(`DROP ROLE ${role}`);
    }
  });

  it('analyses a statement over the hot tier alone as written', async () => {
    const text = await analyze(`EXPLAIN ANALYZE SELECT count(*) FROM analyze_events WHERE time >= '2026-01-03 12:00+00'`);
    expectAnalyzed(text, [/Strata route: hot/, /PostgreSQL: the statement as written \(hot tier only\)/]);
    expect(text).not.toMatch(/ClickHouse \(/);
  });

  it('without ANALYZE (or with ANALYZE off) prints the plan alone', async () => {
    for (const sql of [`EXPLAIN ${SPLIT}`, `EXPLAIN (ANALYZE off) ${SPLIT}`, `EXPLAIN (ANALYZE 0) ${SPLIT}`]) {
      const text = await analyze(sql);
      expect({ sql, text }).toEqual({ sql, text: expect.stringMatching(/Strata route: split/) });
      expect({ sql, analyzed: /Strata steps|actual time=/.test(text) }).toEqual({ sql, analyzed: false });
    }
  });

  it('explains a DELETE or UPDATE as PostgreSQL plans its hot rows, saying so, and modifies nothing', async () => {
    const count = async () => (await bed.ref.query('SELECT count(*)::int AS n FROM analyze_events')).rows[0].n as number;
    const before = await count();
    for (const sql of [`EXPLAIN DELETE FROM analyze_events WHERE host = 'h1'`, `EXPLAIN UPDATE analyze_events SET v = 1 WHERE host = $1`]) {
      const text = await analyze(sql, sql.includes('$1') ? ['h1'] : undefined);
      expect({ sql, text }).toEqual({ sql, text: expect.stringMatching(/^Strata route: modify\n.*covers the hot rows only[^\n]*\n(Delete|Update) on /s) });
    }
    expect(await count()).toBe(before);
  });

  it('refuses what it cannot analyse with 0A000, and runs nothing', async () => {
    const count = async () => (await bed.ref.query('SELECT count(*)::int AS n FROM analyze_events')).rows[0].n as number;
    const before = await count();
    for (const [sql, message] of [
      [`EXPLAIN ANALYZE DELETE FROM analyze_events WHERE host = 'h1'`, /EXPLAIN ANALYZE of a statement other than a SELECT/],
      [`EXPLAIN ANALYZE WITH d AS (UPDATE analyze_events SET v = 0 WHERE host = 'h2' RETURNING 1) SELECT count(*) FROM d`, /EXPLAIN ANALYZE of a statement other than a SELECT/],
      [`EXPLAIN (ANALYZE, FORMAT JSON) ${SPLIT}`, /FORMAT JSON/],
      [`EXPLAIN (FORMAT YAML) ${SPLIT}`, /FORMAT YAML/],
    ] as const) {
      const err = await bed.client.query(sql).then(
        () => undefined,
        (e: { code?: string; message: string }) => e,
      );
      expect({ sql, code: err?.code, message: err?.message }).toEqual({ sql, code: '0A000', message: expect.stringMatching(message) });
    }
    expect(await count()).toBe(before);
    // The session goes on.
    await expectSameAnswer(bed, SPLIT);
  });
});
