import { sameAsReference, startDifferentialBed, textOutcome, tieredSpec, type DifferentialBed } from './differential-bed';
import { explainText } from './top-k-cold-read';

/**
 * "The latest n rows" of a range reaching the present: when the hot tier holds n + m rows
 * of the statement's WHERE at or above W, they are the first n + m over both tiers and
 * ClickHouse is not read (engine/hot-top-n.ts). Through the real proxy against
 * PostgreSQL holding every row: enough hot rows and not enough, OFFSET, conditions and
 * parameters, ties on the time at the cut, NULLS LAST, late hot rows below W (never
 * counted, still merged), ascending order and other first keys (never cut by the hot
 * tier), a cursor and a READ ONLY block.
 */
const TABLE = tieredSpec({
  table: 'hot_latest_events',
  timeColumn: 'time',
  columns: [
    { name: 'time', type: 'timestamptz' },
    { name: 'host', type: 'text' },
    { name: 'v', type: 'double precision' },
  ],
  hot: { chunkInterval: '1h', retention: '24h' },
  cold: { orderBy: ['host', 'time'], partitionBy: 'day' },
});

const W = '2026-01-03T00:00:00Z';

/**
 * Every 10 minutes for three days, two hosts per instant (ties on time); `h3` only below W
 * and in the last hot hour; v NULL now and then.
 */
const ROWS = `SELECT t, h, CASE WHEN n % 7 = 0 THEN NULL ELSE (n % 13)::float8 END
  FROM generate_series(timestamptz '2026-01-01 00:00+00', timestamptz '2026-01-03 11:50+00', interval '10 minutes') WITH ORDINALITY g(t, n),
    LATERAL unnest(CASE WHEN t < '${W}' OR t >= '2026-01-03 11:00+00' THEN ARRAY['h1', 'h2', 'h3'] ELSE ARRAY['h1', 'h2'] END) AS h`;

/** Late rows: below W, in the hot table; h3's is later than every cold row, h4's earlier than many. */
const LATE = `SELECT timestamptz '2026-01-02 23:59:59+00', 'h3', 1000::float8 UNION ALL SELECT timestamptz '2026-01-02 10:00+00', 'h4', 1001::float8`;

const PASSWORD = 'hot-top-n-secret';

jest.setTimeout(60_000);

describe('top-N answered by the hot tier when it holds the first rows', () => {
  let bed: DifferentialBed;

  /** Same answer as PostgreSQL alone, and whether ClickHouse was read for it. */
  async function readsCold(sql: string): Promise<boolean> {
    const plan = await sameAsReference(bed, sql, { referenceAnswers: true, someRows: true });
    return !/not queried: the hot tier holds the first/.test(plan);
  }

  beforeAll(async () => {
    bed = await startDifferentialBed(TABLE, {
      reference: 'hot_latest_reference',
      rows: ROWS,
      late: LATE,
      partitions: ['2026-01-01T00:00:00Z', '2026-01-05T00:00:00Z'],
      watermark: W,
      password: PASSWORD,
    });
  }, 180_000);

  afterAll(async () => {
    await bed?.close();
  });

  it('reads no cold row when the hot rows at or above W are enough', async () => {
    for (const sql of [
      'SELECT time, host, v FROM hot_latest_events ORDER BY time DESC, host LIMIT 10',
      'SELECT time, host, v FROM hot_latest_events ORDER BY time DESC, host LIMIT 5 OFFSET 20',
      "SELECT time, host, v FROM hot_latest_events WHERE time >= '2026-01-02 12:00+00' AND host = 'h2' ORDER BY time DESC LIMIT 30",
      // Ties on the time at the cut: PostgreSQL orders them by host among the hot rows alone.
      'SELECT time, host FROM hot_latest_events ORDER BY time DESC, host DESC LIMIT 3',
      'SELECT time, host, v FROM hot_latest_events ORDER BY time DESC NULLS LAST, host LIMIT 7',
      'SELECT v, host FROM hot_latest_events WHERE v IS NOT NULL ORDER BY time DESC, host LIMIT 12',
    ]) {
      expect({ sql, readsCold: await readsCold(sql) }).toEqual({ sql, readsCold: false });
    }
  });

  it('reads ClickHouse when the hot tier holds too few: the answer then reaches cold rows', async () => {
    for (const sql of [
      // 72 hot rows of h1 at or above W: the 80th reaches below it.
      "SELECT time, host, v FROM hot_latest_events WHERE host = 'h1' ORDER BY time DESC LIMIT 80",
      "SELECT time, host, v FROM hot_latest_events WHERE host = 'h1' ORDER BY time DESC LIMIT 10 OFFSET 70",
      // h3 has 6 hot rows at or above W; its late row below W is hot too and still counts in the answer.
      "SELECT time, host, v FROM hot_latest_events WHERE host = 'h3' ORDER BY time DESC LIMIT 9",
      // 6 hot rows at or above W and 2 late ones: counting the late rows would skip h3's cold 23:50 for h4's 10:00.
      "SELECT time, host, v FROM hot_latest_events WHERE host IN ('h3', 'h4') ORDER BY time DESC LIMIT 8",
      "SELECT time, host, v FROM hot_latest_events WHERE time < '2026-01-03 00:30+00' ORDER BY time DESC, host LIMIT 12",
    ]) {
      expect({ sql, readsCold: await readsCold(sql) }).toEqual({ sql, readsCold: true });
    }
  });

  it('never cuts an ascending order or another first key at the hot tier', async () => {
    for (const sql of [
      "SELECT time, host FROM hot_latest_events WHERE time >= '2026-01-02 23:00+00' ORDER BY time, host LIMIT 5",
      'SELECT time, host FROM hot_latest_events ORDER BY host DESC, time DESC LIMIT 5',
    ]) {
      expect({ sql, readsCold: await readsCold(sql) }).toEqual({ sql, readsCold: true });
    }
  });

  it('cuts with LIMIT and OFFSET given as parameters; NULL, negative ones as PostgreSQL has them', async () => {
    const { client, ref } = bed;
    const sql = `SELECT time, host, v FROM hot_latest_events WHERE time < '2026-01-02 12:00+00' ORDER BY time DESC, host LIMIT $1 OFFSET $2`;
    for (const values of [[5, 0], [3, 7], ['4', null], [null, 2], [-1, 0], [2, -3], [0, 0]]) {
      const expected = await textOutcome(ref, sql.replace('hot_latest_events', 'hot_latest_reference'), values);
      expect({ values, outcome: await textOutcome(client, sql, values) }).toEqual({ values, outcome: expected });
    }
    expect(await explainText(client, sql, [3, 7])).toMatch(/the first 10 raw rows \(top-N\)/);
    // LIMIT NULL is no limit: every cold row of the range.
    expect(await explainText(client, sql, [null, 7])).toMatch(/; raw rows from the cold tier/);
    const cursor = `SELECT time, host FROM hot_latest_events ORDER BY time DESC, host LIMIT $1`;
    expect(await explainText(client, cursor, [80])).toMatch(/the first 80 raw rows \(top-N\)/);
    await client.query('BEGIN READ ONLY');
    try {
      const viaProxy = await textOutcome(client, cursor, [80]);
      expect(viaProxy).toEqual(await textOutcome(ref, cursor.replace('hot_latest_events', 'hot_latest_reference'), [80]));
    } finally {
      await client.query('COMMIT');
    }
  });

  it('counts with the client parameters, in a cursor and a READ ONLY block', async () => {
    const { client, ref } = bed;
    const sql = 'SELECT time, host, v FROM hot_latest_events WHERE host = $1 AND time > $2 ORDER BY time DESC LIMIT 4';
    for (const host of ['h2', 'h3', 'h9']) {
      const params = [host, '2026-01-02 00:00+00'];
      const viaProxy = await client.query({ text: sql, values: params, rowMode: 'array' });
      const alone = await ref.query({ text: sql.replace('hot_latest_events', 'hot_latest_reference'), values: params, rowMode: 'array' });
      expect({ host, rows: viaProxy.rows }).toEqual({ host, rows: alone.rows });
    }
    await client.query('BEGIN READ ONLY');
    await client.query('DECLARE c CURSOR FOR SELECT time, host FROM hot_latest_events ORDER BY time DESC, host LIMIT 6');
    const fetched = await client.query({ text: 'FETCH ALL FROM c', rowMode: 'array' });
    await client.query('COMMIT');
    const alone = await ref.query({ text: 'SELECT time, host FROM hot_latest_reference ORDER BY time DESC, host LIMIT 6', rowMode: 'array' });
    expect(fetched.rows).toEqual(alone.rows);
  });
});
