import { Pool } from 'pg';
import { createTierEngine, loadCatalogSnapshot } from '../../proxy/src/engine';
import { engineRows, engineSession, sameAsReference, startDifferentialBed, tieredSpec, type DifferentialBed } from './differential-bed';
import { explainText, topKColdRead } from './top-k-cold-read';

/**
 * Top-N with window functions (proxy/src/engine/top-n-windows.ts): the cold read still
 * stops at the first n + m rows when each window orders by the cut's keys first (or
 * against them) and reads no later row, and at a bounded number past them when it does. Through the real proxy against PostgreSQL holding every
 * row, exact text: lag, ranking, running and moving aggregates (ROWS, RANGE with peers,
 * RANGE with an interval, GROUPS, EXCLUDE), first/last/nth_value, a window in ORDER BY,
 * OFFSET, NULL and NaN values, ties on time at the cut, ranges across W and cold-only;
 * windows reading later rows (the latest rows with their change; lead, centred frames),
 * whose cut is widened by their reach, a tie group of 10 at the cut included; windows
 * partitioned by columns the WHERE does not fix (reach 0: the plain cut; reach k: each
 * partition's first rows); row_number, rank, running counts, integer sums and averages
 * ordered against the statement, and percent_rank, cume_dist and ntile either way, offset
 * by the cold rows the read leaves out (per partition, up to the engine's bound); and the
 * windows that read later rows without bound otherwise: raw rows.
 */
const TABLE = tieredSpec({
  table: 'topn_window_events',
  timeColumn: 'time',
  columns: [
    { name: 'time', type: 'timestamptz' },
    { name: 'host', type: 'text' },
    { name: 'v', type: 'double precision' },
    { name: 'n', type: 'integer' },
    { name: 'm', type: 'bigint' },
  ],
  hot: { chunkInterval: '1h', retention: '24h' },
  cold: { orderBy: ['host', 'time'], partitionBy: 'day' },
});

const W = '2026-01-03T00:00:00Z';

/**
 * Every 10 minutes for three days, two hosts per instant (ties on time), n unique; v NULL
 * or NaN now and then. Host 'tie': 40 cold rows in 4 instants of 10 rows each, so a cut
 * falls inside a tie group and a reach crosses groups. Hosts 'Ünï' and 'ünï': 7 cold rows
 * hours apart, so a partition's previous rows lie far past any cut.
 */
const ROWS = `SELECT t, h, CASE WHEN (2 * g + i) % 7 = 0 THEN NULL WHEN (2 * g + i) % 11 = 0 THEN 'NaN' ELSE ((2 * g + i) % 13)::float8 / 4 END, (2 * g + i)::int4,
      CASE WHEN (2 * g + i) % 5 = 0 THEN NULL ELSE (2 * g + i) * 1000000000000000 * (1 - 2 * ((2 * g + i) % 3 = 0)::int) END
  FROM generate_series(timestamptz '2026-01-01 00:00+00', timestamptz '2026-01-03 11:50+00', interval '10 minutes') WITH ORDINALITY s(t, g),
    LATERAL unnest(ARRAY['h1', 'h2']) WITH ORDINALITY AS u(h, i)
  UNION ALL SELECT timestamptz '2026-01-02 05:00+00' + (g / 10) * interval '1 minute', 'tie', (g % 7)::float8, 10000 + g, NULL FROM generate_series(0, 39) AS g
  UNION ALL SELECT timestamptz '2026-01-01 03:05+00' + g * interval '5 hours 7 minutes', CASE WHEN g % 2 = 0 THEN 'Ünï' ELSE 'ünï' END, g::float8 / 3, 20000 + g, g FROM generate_series(0, 6) AS g`;

/** A late row below W (hot), between cold rows. */
const LATE = `SELECT timestamptz '2026-01-02 23:55+00', 'h3', 1000::float8, -1, 9000000000000000000::int8`;

jest.setTimeout(120_000);

describe('top-N with window functions', () => {
  let bed: DifferentialBed;

  beforeAll(async () => {
    bed = await startDifferentialBed(TABLE, {
      reference: 'topn_window_reference',
      rows: ROWS,
      late: LATE,
      partitions: ['2026-01-01T00:00:00Z', '2026-01-05T00:00:00Z'],
      watermark: W,
      password: 'topn-window-secret',
    });
  }, 180_000);

  afterAll(async () => {
    await bed?.close();
  });

  /** Same answer as PostgreSQL alone, and the cold read it made: 'cut' (top-N), 'per partition', 'raw' or 'none'. */
  async function coldRead(sql: string): Promise<string> {
    const plan = await sameAsReference(bed, sql, { referenceAnswers: true, someRows: true });
    if (/not queried/.test(plan)) return 'none';
    if (/raw rows of each partition/.test(plan)) return 'per partition';
    return /raw rows \(top-N\)/.test(plan) ? 'cut' : /raw rows from the cold tier/.test(plan) ? 'raw' : plan;
  }

  const ACROSS_W = `time >= '2026-01-02 22:00+00'`;
  const COLD_ONLY = `time < '2026-01-02 12:00+00'`;

  /** A cold-only range is cut; elsewhere the hot tier may hold the first rows (ClickHouse not queried). */
  function expectCut(sql: string, range: string, read: string): void {
    expect({ sql, read }).toEqual({ sql, read: range === COLD_ONLY ? 'cut' : expect.stringMatching(/^(cut|none)$/) });
  }

  it('cuts the cold read for lag, ranking and first/last/nth_value over the cut order', async () => {
    for (const range of [ACROSS_W, COLD_ONLY, `time >= '2026-01-01'`]) {
      for (const sql of [
        `SELECT time, n, v, lag(v) OVER (ORDER BY time, n) AS prev, lag(n, 3, -9) OVER (ORDER BY time, n), row_number() OVER (ORDER BY time, n) AS rn
           FROM topn_window_events WHERE ${range} ORDER BY time, n LIMIT 25`,
        // Windows ordered by time alone: the cut is on time, each instant's rows kept whole.
        `SELECT time, n, rank() OVER (ORDER BY time), dense_rank() OVER (ORDER BY time NULLS LAST, host)
           FROM topn_window_events WHERE ${range} AND host <> 'h3' ORDER BY time, n LIMIT 9 OFFSET 4`,
        `SELECT time, n, first_value(v) OVER (ORDER BY time DESC, n DESC ROWS BETWEEN 3 PRECEDING AND CURRENT ROW),
             last_value(n) OVER (ORDER BY time DESC, n DESC ROWS BETWEEN 2 PRECEDING AND 1 PRECEDING), nth_value(n, 2) OVER (ORDER BY time DESC, n DESC)
           FROM topn_window_events WHERE ${range} ORDER BY time DESC, n DESC LIMIT 15`,
        `SELECT time, n, v - lag(v, 0) OVER (ORDER BY time DESC, n DESC) FROM topn_window_events WHERE ${range} ORDER BY time DESC, n DESC LIMIT 6 OFFSET 30`,
      ]) {
        expectCut(sql, range, await coldRead(sql));
      }
    }
  });

  it('cuts it for running and moving aggregates: ROWS, RANGE with peers and an interval, GROUPS, EXCLUDE, FILTER', async () => {
    for (const range of [ACROSS_W, COLD_ONLY]) {
      for (const sql of [
        // Integer sums and float min/max/count: exact whatever order PostgreSQL adds peers in.
        `SELECT time, n, sum(n) OVER (ORDER BY time), count(v) OVER (ORDER BY time), max(v) OVER (ORDER BY time, n ROWS 4 PRECEDING)
           FROM topn_window_events WHERE ${range} ORDER BY time, n LIMIT 20`,
        `SELECT time, n, count(*) OVER (ORDER BY time RANGE BETWEEN '30 minutes' PRECEDING AND CURRENT ROW),
             sum(n) OVER (ORDER BY time GROUPS BETWEEN 1 PRECEDING AND CURRENT ROW EXCLUDE CURRENT ROW),
             min(v) FILTER (WHERE host = 'h2') OVER (ORDER BY time, n ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
           FROM topn_window_events WHERE ${range} ORDER BY time, n LIMIT 12`,
        `SELECT time, n, avg(n) OVER (ORDER BY time DESC, n DESC ROWS BETWEEN 5 PRECEDING AND CURRENT ROW) FROM topn_window_events WHERE ${range} ORDER BY time DESC, n DESC LIMIT 8`,
        // A window in ORDER BY, after the cut's keys.
        `SELECT time, n FROM topn_window_events WHERE ${range} ORDER BY time DESC, row_number() OVER (ORDER BY time DESC, n) DESC LIMIT 7`,
      ]) {
        expectCut(sql, range, await coldRead(sql));
      }
    }
  });

  it('cuts it, widened by their reach, for windows reading later rows: the latest rows with their change, lead, centred frames', async () => {
    for (const range of [ACROSS_W, COLD_ONLY]) {
      for (const sql of [
        `SELECT time, host, v, v - lag(v) OVER (ORDER BY time, n) AS change FROM topn_window_events WHERE ${range} ORDER BY time DESC, n DESC LIMIT 10`,
        `SELECT time, n, lag(n, 3, -1) OVER (ORDER BY time, n), sum(n) OVER (ORDER BY time, n ROWS BETWEEN 4 PRECEDING AND 1 PRECEDING),
             first_value(v) OVER (ORDER BY time, n ROWS 2 PRECEDING), count(v) OVER (ORDER BY time, n ROWS CURRENT ROW)
           FROM topn_window_events WHERE ${range} AND host <> 'h3' ORDER BY time DESC, n DESC LIMIT 6 OFFSET 3`,
      ]) {
        const read = await coldRead(sql);
        expectCut(sql, range, read);
        if (range === COLD_ONLY) expect(await explainText(bed.client, sql)).toMatch(/then through their ties and \d+ more/);
      }
    }
    // PARTITION BY columns the WHERE fixes: one partition.
    for (const sql of [
      `SELECT time, v, v - lag(v) OVER (PARTITION BY host ORDER BY time) AS change FROM topn_window_events WHERE host = 'h1' AND ${COLD_ONLY} ORDER BY time DESC LIMIT 10`,
      `SELECT time, n, sum(n) OVER (PARTITION BY host ORDER BY time, n ROWS 2 PRECEDING), row_number() OVER (PARTITION BY topn_window_events.host ORDER BY time, n)
           FROM topn_window_events WHERE 'h2' = host AND ${COLD_ONLY} ORDER BY time, n LIMIT 7`,
    ]) {
      expect({ sql, read: await coldRead(sql) }).toEqual({ sql, read: 'cut' });
    }
    // Ordered with the statement and reading later rows: lead, a centred moving average, a frame ending FOLLOWING.
    for (const sql of [
      `SELECT time, n, lead(n, 2) OVER (ORDER BY time, n), avg(n) OVER (ORDER BY time, n ROWS BETWEEN 2 PRECEDING AND 2 FOLLOWING),
           sum(n) OVER (ORDER BY time, n ROWS BETWEEN 1 FOLLOWING AND 3 FOLLOWING)
         FROM topn_window_events WHERE ${COLD_ONLY} ORDER BY time, n LIMIT 8 OFFSET 2`,
      // The window orders each instant's rows the other way than the statement: the 11th
      // row of the statement's order is the 20th of the window's, and its lead reads the 35th.
      `SELECT time, n, lead(n, 15, 0) OVER (ORDER BY time, n) FROM topn_window_events WHERE host = 'tie' ORDER BY time, n DESC LIMIT 3 OFFSET 8`,
    ]) {
      expect({ sql, read: await coldRead(sql) }).toEqual({ sql, read: 'cut' });
      expect(await explainText(bed.client, sql)).toMatch(/then through their ties and \d+ more/);
    }
    // Named windows, resolved as PostgreSQL resolves them (one refers to another, a frame added to one).
    for (const sql of [
      `SELECT time, n, lag(n) OVER w, sum(n) OVER (w ROWS 3 PRECEDING), lead(n, 2) OVER w2 FROM topn_window_events
         WHERE host = 'h2' AND ${COLD_ONLY} WINDOW w AS (PARTITION BY host ORDER BY time, n), w2 AS (w) ORDER BY time, n LIMIT 6`,
      `SELECT time, n, n - lag(n) OVER w FROM topn_window_events WHERE ${COLD_ONLY} WINDOW w AS (ORDER BY time, n) ORDER BY time DESC, n DESC LIMIT 4`,
    ]) {
      expect({ sql, read: await coldRead(sql) }).toEqual({ sql, read: 'cut' });
    }
    // lead against the statement reads earlier rows only: the cut is not widened.
    const leadAgainst = `SELECT time, n, lead(n) OVER (ORDER BY time, n) FROM topn_window_events WHERE ${COLD_ONLY} ORDER BY time DESC, n DESC LIMIT 5`;
    expect(await coldRead(leadAgainst)).toBe('cut');
    expect(await explainText(bed.client, leadAgainst)).not.toMatch(/then through/);
    // A cut inside a tie group of 10 rows: lag 4 and 15 rows back cross into the next groups.
    for (const sql of [
      `SELECT time, n, lag(n, 4) OVER (ORDER BY time, n), lag(n, 15) OVER (ORDER BY time, n) FROM topn_window_events WHERE host = 'tie' ORDER BY time DESC, n DESC LIMIT 3 OFFSET 8`,
      `SELECT time, n, lag(n) OVER (ORDER BY time, n), min(n) OVER (ORDER BY time, n ROWS 11 PRECEDING) FROM topn_window_events WHERE host = 'tie' ORDER BY time DESC LIMIT 12`,
      `SELECT time, n, sum(n) OVER (ORDER BY time ASC, n ASC ROWS BETWEEN 20 PRECEDING AND 20 PRECEDING) FROM topn_window_events WHERE host = 'tie' ORDER BY time DESC, n DESC LIMIT 25`,
    ]) {
      expect({ sql, read: await coldRead(sql) }).toEqual({ sql, read: 'cut' });
    }
  });

  it('reads raw rows for windows that read later rows without bound, count the whole partition or order otherwise', async () => {
    const range = COLD_ONLY;
    for (const sql of [
      `SELECT time, n, lag(n, -1) OVER (ORDER BY time, n) FROM topn_window_events WHERE ${range} ORDER BY time, n LIMIT 5`,
      // Ordered against the statement and looking back without bound: a float sum (its order of addition), a dense rank
      // (distinct keys do not add up), a frame ending before the current row, a partition of an expression.
      `SELECT time, n, sum(v) OVER (ORDER BY time, n) FROM topn_window_events WHERE ${range} ORDER BY time DESC, n DESC LIMIT 5`,
      `SELECT time, n, dense_rank() OVER (ORDER BY time) FROM topn_window_events WHERE ${range} ORDER BY time DESC, n DESC LIMIT 5`,
      `SELECT time, n, count(*) OVER (ORDER BY time, n ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) FROM topn_window_events WHERE ${range} ORDER BY time DESC, n DESC LIMIT 5`,
      `SELECT time, n, row_number() OVER (PARTITION BY lower(host) ORDER BY time, n) FROM topn_window_events WHERE ${range} ORDER BY time DESC, n DESC LIMIT 5`,
      `SELECT time, n, max(n) OVER (ORDER BY time RANGE BETWEEN '10 minutes' PRECEDING AND CURRENT ROW) FROM topn_window_events WHERE ${range} ORDER BY time DESC, n DESC LIMIT 5`,
      `SELECT time, n, ntile(n % 3 + 1) OVER (ORDER BY time, n) FROM topn_window_events WHERE ${range} ORDER BY time, n LIMIT 5`,
      `SELECT time, n, sum(n) OVER (ORDER BY time, n ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) FROM topn_window_events WHERE ${range} ORDER BY time, n LIMIT 5`,
      `SELECT time, n, count(*) OVER (ORDER BY time RANGE BETWEEN CURRENT ROW AND '10 minutes' FOLLOWING) FROM topn_window_events WHERE ${range} ORDER BY time, n LIMIT 5`,
      `SELECT time, n, count(*) OVER () FROM topn_window_events WHERE ${range} ORDER BY time, n LIMIT 5`,
      `SELECT time, n, lag(n) OVER (ORDER BY n) FROM topn_window_events WHERE ${range} ORDER BY time, n LIMIT 5`,
      // Reading past the cut within partitions of an expression, or of a column ClickHouse cannot rank by: raw rows.
      `SELECT time, n, lag(n) OVER (PARTITION BY lower(host) ORDER BY time, n) FROM topn_window_events WHERE ${range} ORDER BY time DESC, n DESC LIMIT 5`,
      `SELECT time, n, lead(n) OVER (PARTITION BY n % 3 ORDER BY time, n) FROM topn_window_events WHERE ${range} ORDER BY time, n LIMIT 5`,
      // Partitioned, reading every later row of the partition, with a FILTER.
      `SELECT time, n, sum(n) FILTER (WHERE v > 1) OVER (PARTITION BY host ORDER BY time, n) FROM topn_window_events WHERE ${range} ORDER BY time DESC, n DESC LIMIT 5`,
      `SELECT time, n, sum(n) OVER (w ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) FROM topn_window_events WHERE ${range} WINDOW w AS (ORDER BY time, n) ORDER BY time, n LIMIT 5`,
    ]) {
      expect({ sql, read: await coldRead(sql) }).toEqual({ sql, read: 'raw' });
    }
  });

  it('cuts it for partitioned windows reading no row past the current one, whatever they partition by', async () => {
    for (const range of [ACROSS_W, COLD_ONLY]) {
      for (const sql of [
        `SELECT time, n, lag(n) OVER (PARTITION BY host ORDER BY time, n) FROM topn_window_events WHERE ${range} ORDER BY time, n LIMIT 5`,
        `SELECT time, n, lag(n) OVER (PARTITION BY host ORDER BY time, n) FROM topn_window_events WHERE ${range} AND host <> 'h1' ORDER BY time, n LIMIT 5`,
        `SELECT time, n, lag(n) OVER (PARTITION BY host ORDER BY time, n) FROM topn_window_events WHERE ${range} AND (host = 'h1' OR host = 'h2') ORDER BY time, n LIMIT 5`,
        `SELECT time, n, lag(n) OVER w FROM topn_window_events WHERE ${range} WINDOW w AS (PARTITION BY host ORDER BY time, n) ORDER BY time, n LIMIT 5`,
        // Ranking, running sums and lead against the statement, by an expression and a float with NULLs and NaN.
        `SELECT time, host, n, row_number() OVER (PARTITION BY lower(host) ORDER BY time DESC, n DESC), sum(n) OVER (PARTITION BY v ORDER BY time DESC, n DESC),
             lead(n) OVER (PARTITION BY n % 3 ORDER BY time, n)
           FROM topn_window_events WHERE ${range} ORDER BY time DESC, n DESC LIMIT 30`,
      ]) {
        expectCut(sql, range, await coldRead(sql));
      }
    }
  });

  it("reads each partition's first rows for windows reaching past the cut within partitions: the latest rows with their host's change", async () => {
    // Offsets that put the answer around the tie group and the sparse hosts' rows.
    for (const [range, page] of [[ACROSS_W, 'LIMIT 10'], [COLD_ONLY, 'LIMIT 10'], [COLD_ONLY, 'LIMIT 40 OFFSET 150'], [`time >= '2026-01-01'`, 'LIMIT 25 OFFSET 230']]) {
      for (const sql of [
        `SELECT time, host, v, v - lag(v) OVER (PARTITION BY host ORDER BY time, n) AS change FROM topn_window_events WHERE ${range} ORDER BY time DESC, n DESC ${page}`,
        // Partitions of two columns and of a float (NULL and NaN partitions), reaches of 3 and 2;
        // a window over one partition and one over each host: candidates ranked within
        // (host, v), finer than each, serve them all.
        `SELECT time, host, n, lag(n, 3, -1) OVER (PARTITION BY host, v ORDER BY time, n), lag(n, 2) OVER (PARTITION BY v ORDER BY time, n),
             n - lag(n) OVER (ORDER BY time, n), sum(n) OVER (PARTITION BY host ORDER BY time, n ROWS 2 PRECEDING)
           FROM topn_window_events WHERE ${range} ORDER BY time DESC, n DESC ${page}`,
      ]) {
        expect({ sql, read: await coldRead(sql) }).toEqual({ sql, read: 'per partition' });
      }
    }
    // With the statement: lead and a centred frame per host, the sparse hosts' partitions included.
    for (const sql of [
      `SELECT time, host, n, lead(n, 2) OVER (PARTITION BY host ORDER BY time, n), avg(n) OVER (PARTITION BY host ORDER BY time, n ROWS BETWEEN 2 PRECEDING AND 2 FOLLOWING)
         FROM topn_window_events WHERE ${COLD_ONLY} ORDER BY time, n LIMIT 12 OFFSET 20`,
      `SELECT time, host, n, lag(n, 4) OVER (PARTITION BY topn_window_events.host, v ORDER BY time, n) FROM topn_window_events WHERE host <> 'h1' ORDER BY time DESC, n DESC LIMIT 9 OFFSET 60`,
      `SELECT time, host, n, lead(n, 15, 0) OVER (PARTITION BY host ORDER BY time, n) FROM topn_window_events WHERE host IN ('tie', 'Ünï') ORDER BY time, n DESC LIMIT 3 OFFSET 8`,
    ]) {
      expect({ sql, read: await coldRead(sql) }).toEqual({ sql, read: 'per partition' });
    }
    // Far fewer rows than the range: two hosts of 3 days × 144 rows, cut at 10 + 1 each.
    const latest = `SELECT time, host, v - lag(v) OVER (PARTITION BY host ORDER BY time, n) FROM topn_window_events WHERE ${COLD_ONLY} AND host IN ('h1', 'h2') ORDER BY time DESC, n DESC LIMIT 10`;
    const read = await topKColdRead(bed.client, bed.fx.cold, latest);
    expect(read).toEqual({ planClass: 'top-k', rows: 22, inRange: 432 });
    expect(await explainText(bed.client, latest)).toMatch(/the first 11 raw rows of each partition/);
  });

  it('resolves a partitioned top-N whose LIMIT and OFFSET are parameters per execution', async () => {
    const sql = `SELECT time, host, n, n - lag(n) OVER (PARTITION BY host ORDER BY time, n) FROM topn_window_events WHERE ${COLD_ONLY} ORDER BY time DESC, n DESC LIMIT $1 OFFSET $2`;
    const executions: unknown[][] = [[7, 150], [3, null], [null, 400], ['5', '0']];
    for (const values of executions) {
      const expected = (await bed.ref.query({ text: sql.replace('topn_window_events', 'topn_window_reference'), values, rowMode: 'array' })).rows;
      expect({ values, rows: (await bed.client.query({ text: sql, values, rowMode: 'array' })).rows }).toEqual({ values, rows: expected });
    }
    expect(await explainText(bed.client, sql, [7, 150])).toMatch(/the first 158 raw rows of each partition/);
  });

  it('cuts it for row_number and rank ordered against the statement, offset by the cold rows left out', async () => {
    for (const range of [ACROSS_W, COLD_ONLY, `time >= '2026-01-01'`]) {
      for (const sql of [
        `SELECT time, n, row_number() OVER (ORDER BY time, n) FROM topn_window_events WHERE ${range} ORDER BY time DESC, n DESC LIMIT 5`,
        // Peers on time (two hosts an instant, the tie group's 10): rank counts rows strictly before.
        `SELECT time, host, n, rank() OVER (ORDER BY time), rank() OVER (ORDER BY time, n) * 2 AS doubled, row_number() OVER w
           FROM topn_window_events WHERE ${range} WINDOW w AS (ORDER BY time ASC, n ASC) ORDER BY time DESC, n DESC LIMIT 12 OFFSET 150`,
        // Beside a window reading past the cut (the read widened) and one over a fixed partition.
        `SELECT time, n, n - lag(n, 2) OVER (ORDER BY time, n), rank() OVER (PARTITION BY host ORDER BY time) AS r
           FROM topn_window_events WHERE ${range} AND host = 'h2' ORDER BY time DESC LIMIT 7`,
        // In the statement's ORDER BY too.
        `SELECT time, n FROM topn_window_events WHERE ${range} ORDER BY time DESC, row_number() OVER (ORDER BY time, n) DESC LIMIT 6`,
      ]) {
        expect({ sql, read: await coldRead(sql) }).toEqual({ sql, read: 'cut' });
        expect(await explainText(bed.client, sql)).toMatch(/the rest counted/);
      }
    }
    // The tie group: a cut inside 10 rows of one instant, ranks ordered by time alone.
    const ties = `SELECT time, n, rank() OVER (ORDER BY time ASC NULLS LAST), row_number() OVER (ORDER BY time, n) FROM topn_window_events WHERE host = 'tie' ORDER BY time DESC, n DESC LIMIT 3 OFFSET 14`;
    expect(await coldRead(ties)).toBe('cut');
    // Parameters, a READ ONLY block (cold rows as array parameters) and a cursor.
    const sql = `SELECT time, n, row_number() OVER (ORDER BY time, n) AS pos FROM topn_window_events WHERE ${COLD_ONLY} ORDER BY time DESC, n DESC LIMIT $1 OFFSET $2`;
    const expected = (await bed.ref.query({ text: sql.replace('topn_window_events', 'topn_window_reference'), values: [4, 20], rowMode: 'array' })).rows;
    expect(expected).toHaveLength(4);
    expect((await bed.client.query({ text: sql, values: [4, 20], rowMode: 'array' })).rows).toEqual(expected);
    await bed.client.query('BEGIN READ ONLY');
    try {
      const r = await bed.client.query({ text: sql, values: [4, 20], rowMode: 'array' });
      expect({ fields: r.fields.map((f) => f.name), rows: r.rows }).toEqual({ fields: ['time', 'n', 'pos'], rows: expected });
    } finally {
      await bed.client.query('COMMIT');
    }
    await bed.client.query('BEGIN');
    try {
      await bed.client.query(`DECLARE rank_cursor CURSOR FOR ${sql.replace('$1', '4').replace('$2', '20')}`);
      expect((await bed.client.query({ text: 'FETCH ALL FROM rank_cursor', rowMode: 'array' })).rows).toEqual(expected);
    } finally {
      await bed.client.query('COMMIT');
    }
    // The output column keeps PostgreSQL's name.
    const named = await bed.client.query(`SELECT time, rank() OVER (ORDER BY time) FROM topn_window_events WHERE ${COLD_ONLY} ORDER BY time DESC LIMIT 1`);
    expect(named.fields.map((f) => f.name)).toEqual(['time', 'rank']);
  });

  it('cuts it for rankings per partition, running counts, integer sums and averages, percent_rank, cume_dist and ntile, offset per partition', async () => {
    for (const [range, page] of [[ACROSS_W, 'LIMIT 10'], [COLD_ONLY, 'LIMIT 12 OFFSET 150'], [`time >= '2026-01-01'`, 'LIMIT 25 OFFSET 230'], [`time >= '2026-01-01'`, 'LIMIT 3']]) {
      for (const sql of [
        // Per host (the sparse hosts' earlier rows lie hours past any cut), per float value (NULL and NaN partitions), per two columns.
        `SELECT time, host, n, row_number() OVER (PARTITION BY host ORDER BY time, n), rank() OVER (PARTITION BY v ORDER BY time) AS rv,
             count(*) OVER (PARTITION BY host, v ORDER BY time, n) AS c
           FROM topn_window_events WHERE ${range} ORDER BY time DESC, n DESC ${page}`,
        // Running counts, sums and averages: bigints past 2^63 in total (numeric), NULL-only partitions ('tie'), whole-partition and EXCLUDE frames.
        `SELECT time, host, n, m, sum(n) OVER (ORDER BY time, n), sum(m) OVER (PARTITION BY host ORDER BY time, n) AS sm, count(m) OVER (PARTITION BY host ORDER BY time) AS cm,
             sum(m) OVER (ORDER BY time ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS whole_m, avg(n) OVER (ORDER BY time), avg(m) OVER (PARTITION BY host ORDER BY time, n) AS am,
             count(v) OVER (PARTITION BY host ORDER BY time, n RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW EXCLUDE CURRENT ROW) AS cv
           FROM topn_window_events WHERE ${range} ORDER BY time DESC, n DESC ${page}`,
        // percent_rank and cume_dist, against the statement and with it: their partition's rows counted, peers on time.
        `SELECT time, host, n, percent_rank() OVER (PARTITION BY host ORDER BY time, n) AS pr, cume_dist() OVER (ORDER BY time) AS cd,
             percent_rank() OVER (PARTITION BY n ORDER BY time) AS single
           FROM topn_window_events WHERE ${range} ORDER BY time DESC, n DESC ${page}`,
        `SELECT time, host, n, percent_rank() OVER (ORDER BY time DESC), cume_dist() OVER (PARTITION BY host ORDER BY time DESC, n DESC) AS cd
           FROM topn_window_events WHERE ${range} ORDER BY time DESC, n DESC ${page}`,
        // ntile: buckets of unequal sizes, more buckets than a partition's rows, against the statement and with it.
        `SELECT time, host, n, ntile(7) OVER (ORDER BY time, n), ntile(4) OVER (PARTITION BY host ORDER BY time DESC, n DESC) AS by_host,
             ntile(1000) OVER (PARTITION BY host ORDER BY time, n) AS many, ntile(3) OVER (PARTITION BY host, v ORDER BY time) AS by_value
           FROM topn_window_events WHERE ${range} ORDER BY time DESC, n DESC ${page}`,
      ]) {
        expect({ sql, read: await coldRead(sql) }).toEqual({ sql, read: expect.stringMatching(range === COLD_ONLY ? /^cut$/ : /^(cut|none)$/) });
      }
    }
    // The tie group: a cut inside 10 rows of one instant, distributions over time alone (peers).
    const ties = `SELECT time, n, percent_rank() OVER (ORDER BY time), cume_dist() OVER (ORDER BY time), cume_dist() OVER (ORDER BY time DESC) AS d
      FROM topn_window_events WHERE host = 'tie' ORDER BY time DESC, n DESC LIMIT 3 OFFSET 14`;
    expect(await coldRead(ties)).toBe('cut');
    for (const page of ['LIMIT 5', 'LIMIT 8 OFFSET 9', 'LIMIT 40']) {
      const ntiles = `SELECT time, n, ntile(3) OVER (ORDER BY time, n), ntile(6) OVER (ORDER BY time DESC, n DESC) AS d FROM topn_window_events WHERE host = 'tie' ORDER BY time, n ${page}`;
      expect(await coldRead(ntiles)).toBe('cut');
    }
    const perHost = `SELECT time, host, row_number() OVER (PARTITION BY host ORDER BY time, n), sum(m) OVER (PARTITION BY host ORDER BY time, n)
      FROM topn_window_events WHERE ${COLD_ONLY} ORDER BY time DESC, n DESC LIMIT 4`;
    expect(await explainText(bed.client, perHost)).toMatch(/the rest counted \(row_number per partition, sum per partition: offset by the cold rows left out\)/);
    // The per-partition lookup in a READ ONLY block (cold rows as array parameters), with parameters.
    const sql = perHost.replace('LIMIT 4', 'LIMIT $1');
    const expected = (await bed.ref.query({ text: sql.replace('topn_window_events', 'topn_window_reference'), values: [6], rowMode: 'array' })).rows;
    expect(expected).toHaveLength(6);
    await bed.client.query('BEGIN READ ONLY');
    try {
      const r = await bed.client.query({ text: sql, values: [6], rowMode: 'array' });
      expect({ fields: r.fields.map((f) => f.name), rows: r.rows }).toEqual({ fields: ['time', 'host', 'row_number', 'sum'], rows: expected });
    } finally {
      await bed.client.query('COMMIT');
    }
    // Through a view (the proxy's catalog learns of it from PostgreSQL's notification), and as a role that may read the table.
    await bed.ref.query('CREATE VIEW topn_window_view AS SELECT * FROM topn_window_events');
    const viewSql = perHost.replace('topn_window_events', 'topn_window_view');
    const viewExpected = (await bed.ref.query({ text: perHost.replace('topn_window_events', 'topn_window_reference'), rowMode: 'array' })).rows;
    for (let i = 0; i < 50 && !/Strata route: (split|cold)/.test(await explainText(bed.client, viewSql).catch(() => '')); i++) await new Promise((r) => setTimeout(r, 100));
    expect((await bed.client.query({ text: viewSql, rowMode: 'array' })).rows).toEqual(viewExpected);
    const role = `topn_window_reader_${process.pid}_${Date.now()}`;
    await bed.ref.query(`CREATE ROLE ${role}`);
    await bed.ref.query(`GRANT SELECT ON topn_window_events TO ${role}`);
    await bed.client.query(`SET ROLE ${role}`);
    try {
      expect((await bed.client.query({ text: perHost, rowMode: 'array' })).rows).toEqual(viewExpected);
      await bed.ref.query(`REVOKE SELECT ON topn_window_events FROM ${role}`);
      await expect(bed.client.query(perHost)).rejects.toMatchObject({ code: '42501' });
    } finally {
      await bed.client.query('RESET ROLE');
      await bed.ref.query(`REVOKE ALL ON topn_window_events FROM ${role}`);
      await bed.ref.query(`DROP ROLE ${role}`);
    }
  });

  it('reads raw rows after all where a call offset per partition has more partitions than the engine looks up', async () => {
    const pool = new Pool({ connectionString: bed.fx.pgUrl, max: 2 });
    try {
      const engine = createTierEngine({ hot: pool, cold: bed.fx.cold, coldDatabase: bed.fx.database, catalog: await loadCatalogSnapshot(bed.fx.hot), maxOffsetPartitions: 3 });
      const run = async (sql: string) => engineRows(await engine.execute({ sql, params: [], paramTypes: [] }, engineSession('UTC')));
      const asText = { getTypeParser: () => (v: string) => v };
      const reference = async (sql: string) => (await bed.ref.query({ text: sql.replace('topn_window_events', 'topn_window_reference'), rowMode: 'array', types: asText })).rows;
      // Four cold hosts in range ('h1', 'h2', 'tie' and the sparse ones): past the bound of 3, raw rows.
      const sql = `SELECT time, host, n, row_number() OVER (PARTITION BY host ORDER BY time, n) FROM topn_window_events WHERE ${COLD_ONLY} ORDER BY time DESC, n DESC LIMIT 5 OFFSET 100`;
      expect(await run(sql)).toEqual(await reference(sql));
      expect((await run(`EXPLAIN ANALYZE ${sql}`)).join('\n')).toMatch(/measured per partition: [\d.]+ ms \([^)]*\); over 3 partitions: raw rows/);
      // Within the bound: the cut, offset per partition.
      const two = sql.replace(`WHERE ${COLD_ONLY}`, `WHERE ${COLD_ONLY} AND host IN ('h1', 'h2')`);
      expect(await run(two)).toEqual(await reference(two));
      expect((await run(`EXPLAIN ANALYZE ${two}`)).join('\n')).toMatch(/the cold rows the cut leaves out measured: [\d.]+ ms \([^)]*\); 2 partition measures/);
    } finally {
      await pool.end();
    }
  });

  it('answers alike in a READ ONLY block and through a cursor', async () => {
    const sql = `SELECT time, n, lag(v) OVER (ORDER BY time, n), sum(n) OVER (ORDER BY time) FROM topn_window_events WHERE ${COLD_ONLY} ORDER BY time, n LIMIT 10 OFFSET 3`;
    const expected = (await bed.ref.query({ text: sql.replace('topn_window_events', 'topn_window_reference'), rowMode: 'array' })).rows;
    expect(expected).toHaveLength(10);
    await bed.client.query('BEGIN READ ONLY');
    try {
      expect((await bed.client.query({ text: sql, rowMode: 'array' })).rows).toEqual(expected);
      await bed.client.query(`DECLARE topn_window_cursor CURSOR FOR ${sql}`);
      expect((await bed.client.query({ text: 'FETCH ALL FROM topn_window_cursor', rowMode: 'array' })).rows).toEqual(expected);
    } finally {
      await bed.client.query('COMMIT');
    }
  });
});
