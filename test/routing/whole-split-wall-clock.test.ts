import { runTiering } from '@strata/core';
import { tiererDeps } from '../support/tiered-fixture';
import { expectSameAnswer, startDifferentialBed, textOutcome, tieredSpec, type DifferentialBed } from './differential-bed';
import { explainText, shippedSelectOf } from './top-k-cold-read';
import { SPLIT_AGGREGATES, splitBucketQueries } from './whole-split-queries';

/**
 * Whole aggregates split at W (proxy/src/engine/whole-split.ts) over a `timestamp` time
 * column: its values are wall-clock readings, which ClickHouse holds as UTC instants, and
 * W⁻ is the same reading as a `timestamp` literal, compared with no TimeZone in between.
 * Through the real proxy against PostgreSQL holding every row, exact text, in UTC and in
 * America/New_York (a session zone changes nothing for a wall clock's buckets, but bounds
 * written as timestamptz are read in it); W inside an hour, then on a day's start; late
 * hot rows below W; New York's fall-back night (its repeated hour is two hours of wall
 * clock, one after the other); inside a block, a READ ONLY block, through a view and a
 * cursor, and for a role without the TEMPORARY privilege.
 */
const TABLE = tieredSpec({
  table: 'wall_events',
  timeColumn: 'time',
  columns: [
    { name: 'time', type: 'timestamp' },
    { name: 'host', type: 'text' },
    { name: 'v', type: 'double precision' },
    { name: 'n', type: 'integer' },
  ],
  hot: { chunkInterval: '1h', retention: '24h' },
  cold: { orderBy: ['host', 'time'], partitionBy: 'day' },
});

/** Every 7 minutes over 2026-10-31 – 11-03 (New York falls back on 11-01), one empty cold hour. */
const ROWS = `SELECT t, (ARRAY['h1', 'h2', 'ü-日本', NULL])[1 + n % 4],
    CASE WHEN n % 6 = 0 THEN (ARRAY['NaN', NULL, '1.5', 'Infinity', '0', '-2.25'])[1 + (n / 6) % 6]::float8 ELSE (n % 9)::float8 / 4 END,
    CASE WHEN n % 13 = 0 THEN NULL ELSE (n % 5)::int4 END
  FROM generate_series(timestamp '2026-10-31 00:00', timestamp '2026-11-03 23:55', interval '7 minutes') WITH ORDINALITY g(t, n)
  WHERE NOT (t >= '2026-11-01 03:00' AND t < '2026-11-01 04:00')`;
/** Wall clock 10:20 on 11-02: W's hour holds cold rows (10:00–10:20) and hot ones. */
const W = '2026-11-02T10:20:00Z';
const LATE = `VALUES (timestamp '2026-11-02 10:10', 'h2', 1e6::float8, 7), (timestamp '2026-11-02 09:59:59.999999', 'h1', -3::float8, 9),
    (timestamp '2026-11-01 05:05', NULL, 'NaN'::float8, NULL)`;

jest.setTimeout(120_000);

describe('whole aggregates split at W over a timestamp (wall-clock) time column', () => {
  let bed: DifferentialBed;

  const AGGREGATES = SPLIT_AGGREGATES;
  const queries = (range: string) => splitBucketQueries('wall_events', range, `timestamp '2026-01-01 00:00'`);
  const RANGES = [
    `time >= '2026-11-01 00:00' AND time < '2026-11-02 14:00'`,
    `time >= timestamptz '2026-11-01 00:00+00' AND time < timestamptz '2026-11-02 14:00+00'`,
    `time < '2026-11-02 00:00'`,
    `time >= '2026-11-02 12:00'`,
    'true',
  ];

  async function expectAllSame(zone: string): Promise<void> {
    for (const c of [bed.client, bed.ref]) await c.query(`SET TimeZone = '${zone}'`);
    try {
      for (const range of RANGES) for (const sql of queries(range)) await expectSameAnswer(bed, sql);
    } finally {
      for (const c of [bed.client, bed.ref]) await c.query(`SET TimeZone = 'UTC'`);
    }
  }

  beforeAll(async () => {
    bed = await startDifferentialBed(TABLE, { reference: 'wall_reference', rows: ROWS, late: LATE, partitions: ['2026-10-31T00:00:00Z', '2026-11-05T00:00:00Z'], watermark: W, password: 'wall-secret' });
  }, 180_000);

  afterAll(async () => {
    await bed?.close();
  });

  it("ships W's hour from W and the late rows, W⁻ a timestamp literal; PostgreSQL computes the later hours", async () => {
    const sql = queries(RANGES[0])[0];
    const plan = await explainText(bed.client, sql);
    expect(plan).toMatch(/Strata plan class: whole[\s\S]*time buckets reaching below W/);
    expect(plan).toMatch(/Hot rows shipped[\s\S]*date_trunc\('hour', "time"\) > date_trunc\('hour', '2026-11-02 10:19:59\.999999'::timestamp\) IS NOT TRUE/);
    expect(plan).toMatch(/PostgreSQL, while ClickHouse reads: INSERT INTO [\s\S]*'2026-11-02 10:19:59\.999999'::timestamp/);
    // W's hour from 10:20 (a row every 7 minutes: 6) and the three late rows, not the range's later hours.
    const shipped = await bed.ref.query(`SELECT count(*)::int AS n FROM (${shippedSelectOf(plan)}) AS s`);
    expect(shipped.rows[0].n).toBe(6 + 3);
    await expectAllSame('UTC');
  });

  it('answers alike in America/New_York, across its fall-back night', async () => {
    await expectAllSame('America/New_York');
  });

  it('answers alike inside a block, through a view and a cursor, in a READ ONLY block, and for a role without TEMPORARY', async () => {
    const sql = queries(RANGES[0])[1];
    expect(await explainText(bed.client, sql)).toMatch(/PostgreSQL, while ClickHouse reads: INSERT/);
    const expected = await textOutcome(bed.ref, sql.replace('wall_events', 'wall_reference'));
    expect(expected.ok && expected.rows.length).toBeGreaterThan(5);
    await bed.client.query('BEGIN');
    try {
      await bed.client.query(`SET LOCAL TimeZone = 'America/New_York'`);
      expect(await textOutcome(bed.client, sql)).toEqual(expected);
      await bed.client.query('CREATE VIEW wall_view AS SELECT * FROM wall_events');
      expect(await textOutcome(bed.client, sql.replace('wall_events', 'wall_view'))).toEqual(expected);
      await bed.client.query(`DECLARE wall_cursor CURSOR FOR ${sql}`);
      expect(await textOutcome(bed.client, 'FETCH ALL FROM wall_cursor')).toEqual(expected);
    } finally {
      await bed.client.query('ROLLBACK');
    }
    await bed.client.query('BEGIN READ ONLY');
    try {
      expect(await textOutcome(bed.client, sql)).toEqual(expected);
    } finally {
      await bed.client.query('COMMIT');
    }
    // A hardened database revokes TEMPORARY from PUBLIC: the later hours' table and a
    // large shipment's cold answer cannot be temporary tables, as in a READ ONLY block.
    const role = `strata_wall_notemp_${process.pid}`;
    const database = new URL(bed.fx.pgUrl).pathname.slice(1);
    await bed.ref.query(`CREATE ROLE ${role}`);
    try {
      await bed.ref.query(`GRANT SELECT ON wall_events, wall_reference TO ${role}`);
      await bed.ref.query(`REVOKE TEMPORARY ON DATABASE ${database} FROM PUBLIC`);
      for (const c of [bed.client, bed.ref]) await c.query(`SET ROLE ${role}`);
      try {
        await expect(bed.ref.query('CREATE TEMP TABLE wall_t (x int)')).rejects.toMatchObject({ code: '42501' });
        for (const q of queries(RANGES[0])) await expectSameAnswer(bed, q);
      } finally {
        for (const c of [bed.client, bed.ref]) await c.query('RESET ROLE');
      }
    } finally {
      await bed.ref.query(`GRANT TEMPORARY ON DATABASE ${database} TO PUBLIC`);
      await bed.ref.query(`DROP OWNED BY ${role}`);
      await bed.ref.query(`DROP ROLE ${role}`);
    }
  });

  it("W on a day's start ships none of the hot day", async () => {
    await runTiering(tiererDeps(bed.fx.pgUrl, bed.fx.cold, bed.fx.database), { table: 'wall_events', until: new Date('2026-11-03T00:00:00Z') });
    const sql = `SELECT date_trunc('day', time) AS d, ${AGGREGATES} FROM wall_events WHERE time >= '2026-11-01 00:00' GROUP BY 1 ORDER BY 1`;
    const plan = await explainText(bed.client, sql);
    expect(plan).toMatch(/Strata plan class: whole[\s\S]*'2026-11-02 23:59:59\.999999'::timestamp/);
    expect((await bed.ref.query(`SELECT count(*)::int AS n FROM (${shippedSelectOf(plan)}) AS s WHERE time >= '2026-11-03 00:00'`)).rows[0].n).toBe(0);
    await expectSameAnswer(bed, sql);
    await expectAllSame('UTC');
    await expectAllSame('America/New_York');
  });
});
