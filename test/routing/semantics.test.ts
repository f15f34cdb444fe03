import { applyTable, ensurePartitions } from '@strata/core';
import { compareOutcomes } from './corpus/compare';
import { tieredFixture, type TieredFixture } from '../support/tiered-fixture';
import { engineOutcome, engineRows, engineSession as session, loadDifferentialTable, startEngineBed, textOutcome, tieredSpec, type EngineBed } from './differential-bed';

/**
 * Value semantics where ClickHouse and PostgreSQL differ, checked against real
 * PostgreSQL holding every row: float comparisons and aggregates over NaN (Prometheus
 * staleness markers), ±Infinity, -0 and NULL; and `timestamp` (without time zone) time
 * columns bounded in sessions whose TimeZone is not UTC, across DST changes.
 */

const FLOATS = tieredSpec({
  table: 'float_events',
  timeColumn: 'time',
  columns: [
    { name: 'time', type: 'timestamptz' },
    { name: 'host', type: 'text' },
    { name: 'value', type: 'double precision' },
    { name: 'r', type: 'real' },
  ],
  hot: { chunkInterval: '1h', retention: '24h' },
  cold: { orderBy: ['host', 'time'], partitionBy: 'day' },
});

const LOCAL = tieredSpec({
  table: 'local_events',
  timeColumn: 'time',
  columns: [
    { name: 'time', type: 'timestamp' },
    { name: 'host', type: 'text' },
    { name: 'value', type: 'double precision' },
  ],
  hot: { chunkInterval: '1d', retention: '24h' },
  cold: { orderBy: ['host', 'time'], partitionBy: 'day' },
});

/** Every special float, NULL and a few plain numbers, cycled over the rows of both tiers. */
const SPECIALS = `ARRAY['NaN', 'Infinity', '-Infinity', '-0', '0', '1.5', '-2.5', NULL, '7', '1e-300', 'NaN', '3']::float8[]`;
const FLOAT_ROWS = `SELECT t, 'h' || (n % 3), (${SPECIALS})[1 + n % 12], (${SPECIALS.replace('1e-300', '1e-30')})[1 + (n * 5) % 12]::real
  FROM generate_series(timestamptz '2026-01-01 00:00+00', timestamptz '2026-01-02 23:50+00', interval '10 minutes') WITH ORDINALITY g(t, n)`;
const FLOAT_W = '2026-01-02T00:00:00Z';

/** Wall-clock times every 10 minutes over New York's spring-forward and fall-back days (gap and repeated hour included). */
const LOCAL_ROWS = `SELECT t, 'h' || (n % 2), n::float8 FROM (
    SELECT t FROM generate_series(timestamp '2026-03-07 00:00', timestamp '2026-03-09 23:50', interval '10 minutes') t
    UNION ALL SELECT t FROM generate_series(timestamp '2026-10-31 00:00', timestamp '2026-11-02 23:50', interval '10 minutes') t
  ) s(t), LATERAL (SELECT extract(epoch FROM t)::int8 / 600) x(n)`;
const LOCAL_W = '2026-11-02T00:00:00Z';

const ZONES = ['UTC', 'America/New_York', 'Asia/Kolkata'];

jest.setTimeout(30_000);

describe('PostgreSQL semantics across tiers', () => {
  let bed: EngineBed;
  let fx: TieredFixture;

  /** The statement through the engine and on the reference tables; both answers as text rows. */
  async function both(sql: string, timeZone: string, params: Array<string | null> = []) {
    const actual = await engineOutcome(bed.engine, sql, session(timeZone), params);
    await bed.ref.query(`SET TimeZone = '${timeZone}'`);
    const expected = await textOutcome(bed.ref, sql.replace(/\b(float|local)_events\b/g, '$1_reference'), params);
    return { actual, expected };
  }

  async function expectSame(sql: string, timeZone: string, params: Array<string | null> = []): Promise<void> {
    const { actual, expected } = await both(sql, timeZone, params);
    expect({ sql, timeZone, params, diff: compareOutcomes(expected, actual, /ORDER BY/i.test(sql)) }).toEqual({ sql, timeZone, params, diff: undefined });
  }

  async function route(sql: string, timeZone: string): Promise<string | null> {
    return (await engineRows(await bed.engine.execute({ sql: `EXPLAIN ${sql}`, params: [], paramTypes: [] }, session(timeZone))))[0][0];
  }

  beforeAll(async () => {
    fx = await tieredFixture(FLOATS);
    await applyTable({ hot: fx.hot, cold: fx.cold, coldTarget: { database: fx.database } }, LOCAL, new Date('2026-03-07T00:00:00Z'));
    await loadDifferentialTable(fx, FLOATS, {
      reference: 'float_reference', rows: FLOAT_ROWS,
      partitions: ['2026-01-01T00:00:00Z', '2026-01-03T00:00:00Z'], watermark: FLOAT_W,
    });
    // The fall-back days' partitions; loadDifferentialTable adds the spring-forward days'.
    await ensurePartitions(fx.hot, LOCAL, new Date('2026-10-30T00:00:00Z'), new Date('2026-11-04T00:00:00Z'));
    await loadDifferentialTable(fx, LOCAL, {
      reference: 'local_reference', rows: LOCAL_ROWS,
      partitions: ['2026-03-06T00:00:00Z', '2026-03-11T00:00:00Z'], watermark: LOCAL_W,
    });
    bed = await startEngineBed(fx);
  }, 120_000);

  afterAll(async () => bed?.close());

  it('holds both tiers of each table (the tests below would prove nothing otherwise)', async () => {
    const coldRows = async (t: string) => Number((await fx.cold.query<{ n: string }>(`SELECT count() AS n FROM \`${fx.database}\`.\`${t}\``))[0].n);
    const hotRows = async (t: string) => (await fx.hot.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n;
    expect([await coldRows('float_events'), await hotRows('float_events')]).toEqual([144, 144]);
    expect([await coldRows('local_events'), await hotRows('local_events')]).toEqual([432 + 288, 144]);
  });

  describe('float comparisons pushed to ClickHouse treat NaN, ±Infinity, -0 and NULL as PostgreSQL does', () => {
    const conditions = [
      'value > 1',
      'value >= 3',
      '1 < value',
      '0 <= value',
      'value < 0',
      'value <= 1.5',
      'value = 0',
      'value = -0.0',
      'value <> 1.5',
      'value != 0',
      'value IN (0, 7)',
      'value IN (-0.0, 3)',
      'value NOT IN (0, 7)',
      'value BETWEEN -1 AND 2',
      'value NOT BETWEEN -1 AND 2',
      'NOT (value > 1)',
      'NOT (value < 1)',
      '(value > 2 OR value IS NULL)',
      'r > 0.5',
      'r >= 0',
      'r IN (0, 7)',
      'r <> 3',
    ];
    // Partial aggregates (ClickHouse filters, then aggregates) and raw rows (ClickHouse filters, PostgreSQL re-checks).
    it.each(conditions.map((c, i) => [c, i % 2 === 0 ? 'UTC' : 'America/New_York']))('WHERE %s (%s)', async (cond, timeZone) => {
      await expectSame(`SELECT host, count(*), count(value), sum(value), min(value), max(value) FROM float_events WHERE ${cond} GROUP BY host ORDER BY host`, timeZone);
      await expectSame(`SELECT time, host, value, r FROM float_events WHERE ${cond} AND time >= '2026-01-01 18:00+00' ORDER BY time`, timeZone);
    });
  });

  describe('float aggregates pushed as partials match PostgreSQL', () => {
    const queries = [
      'SELECT host, min(value), max(value), sum(value), avg(value), count(value), count(*) FROM float_events GROUP BY host ORDER BY host',
      'SELECT min(r), max(r), avg(r), count(r) FROM float_events',
      `SELECT host, min(value), max(value) FROM float_events WHERE value IS NOT NULL AND value <> 'NaN' GROUP BY host ORDER BY host`,
      `SELECT host, sum(value), avg(value) FROM float_events WHERE value > -1 AND value < 'Infinity' GROUP BY host ORDER BY host`,
      `SELECT host, max(value) FILTER (WHERE value < 5), min(value) FILTER (WHERE value > 0) FROM float_events GROUP BY host ORDER BY host`,
      'SELECT value::text AS v, count(*) FROM float_events GROUP BY 1 ORDER BY 1',
      'SELECT date_trunc(\'hour\', time) AS h, max(value), min(value) FROM float_events GROUP BY 1 ORDER BY 1',
      'SELECT count(DISTINCT value), count(DISTINCT r) FROM float_events',
    ];
    for (const timeZone of ['UTC', 'Asia/Kolkata']) {
      it.each(queries)(`%s (${timeZone})`, async (sql) => {
        await expectSame(sql, timeZone);
      });
    }
  });

  describe('timestamp (without time zone) time columns bound by wall-clock time in any session zone', () => {
    const queries: Array<[string, Array<string | null>]> = [
      // New York's spring-forward gap (02:00–03:00 local does not exist as an instant).
      [`SELECT count(*), sum(value) FROM local_events WHERE time >= '2026-03-08 01:30' AND time < '2026-03-08 03:30'`, []],
      [`SELECT time, value FROM local_events WHERE time BETWEEN '2026-03-08 02:00' AND '2026-03-08 03:00' ORDER BY time`, []],
      [`SELECT host, count(*), min(time), max(time) FROM local_events WHERE time > '2026-03-07 23:00' AND time <= '2026-03-08 06:00' GROUP BY host ORDER BY host`, []],
      // The repeated hour of fall-back, and ranges across W.
      [`SELECT count(*), sum(value) FROM local_events WHERE time >= '2026-11-01 00:30' AND time < '2026-11-01 02:30'`, []],
      [`SELECT count(*), sum(value) FROM local_events WHERE time >= '2026-11-01 22:00'`, []],
      [`SELECT count(*) FROM local_events WHERE time < '2026-11-02 03:00' AND time >= '2026-11-01 20:00'`, []],
      [`SELECT time FROM local_events WHERE time = '2026-11-01 23:50'`, []],
      // Typed bounds: a timestamp literal, a date, and timestamptz (compared as instants in the session zone).
      [`SELECT count(*) FROM local_events WHERE time >= TIMESTAMP '2026-03-08 02:10' AND time < DATE '2026-03-09'`, []],
      [`SELECT count(*), sum(value) FROM local_events WHERE time >= TIMESTAMPTZ '2026-03-08 07:20+00' AND time < TIMESTAMPTZ '2026-03-08 08:10+00'`, []],
      [`SELECT time, value FROM local_events WHERE time >= '2026-03-08 07:20+00'::timestamptz AND time < '2026-03-08 08:10+00'::timestamptz ORDER BY time`, []],
      [`SELECT host, count(*) FROM local_events WHERE time > TIMESTAMPTZ '2026-11-01 05:15+00' AND time < TIMESTAMPTZ '2026-11-01 06:45+00' GROUP BY host ORDER BY host`, []],
      [`SELECT count(*) FROM local_events WHERE time >= TIMESTAMPTZ '2026-11-01 23:00+00'`, []],
      // Bind parameters typed by PostgreSQL from the column (timestamp).
      ['SELECT count(*), sum(value) FROM local_events WHERE time >= $1 AND time < $2', ['2026-03-08 02:00', '2026-03-08 04:00']],
      ['SELECT count(*) FROM local_events WHERE time >= $1', ['2026-11-01 21:00']],
      // Buckets: wall-clock ones, and timestamptz ones that put the column in the session zone.
      [`SELECT date_trunc('hour', time) AS h, count(*), sum(value) FROM local_events WHERE time >= '2026-03-08' AND time < '2026-03-09' GROUP BY 1 ORDER BY 1`, []],
      [`SELECT date_bin('1 hour', time, TIMESTAMPTZ '2000-01-01 00:00+00') AS b, count(*) FROM local_events WHERE time < '2026-03-08 12:00' GROUP BY 1 ORDER BY 1`, []],
      [`SELECT time_bucket('1 hour', time) AS b, count(*) FROM local_events WHERE time >= '2026-11-01' AND time < '2026-11-02' GROUP BY 1 ORDER BY 1`, []],
    ];
    for (const timeZone of ZONES) {
      // Every row has its parameters: a shorter row would make jest pass `done` as the second argument.
      it.each(queries)(`%s (${timeZone})`, async (sql, params) => {
        await expectSame(sql, timeZone, params);
      });
    }

    it('routes a range wholly above W to PostgreSQL only when it is, in wall-clock terms', async () => {
      expect(await route(`SELECT count(*) FROM local_events WHERE time >= '2026-11-02 03:00'`, 'Asia/Kolkata')).toBe('Strata route: hot');
      expect(await route(`SELECT count(*) FROM local_events WHERE time >= '2026-11-01 22:00'`, 'America/New_York')).toBe('Strata route: split');
    });
  });
});
