import type { Client } from 'pg';
import { partitionKeySql } from '../../proxy/src/engine/partition-keys';
import type { TieredFixture } from '../support/tiered-fixture';
import { topKColdRead } from './top-k-cold-read';
import { expectSameAnswer, startDifferentialBed, type DifferentialBed } from './differential-bed';
import { addColdNanVariants, floatSpecialsSpec, NAN_VARIANTS } from './float-specials';

/**
 * Top-k per partition (top-k.ts) with float partition keys, through the real proxy against
 * PostgreSQL holding every row. PostgreSQL's float equality has -0 = 0 and NaN = NaN (every
 * NaN), so DISTINCT ON (f) and PARTITION BY f put them together; ClickHouse partitions on a
 * normalised key (partitionKeySql) with the same equality. The cold tier also holds NaNs
 * PostgreSQL never stores (-nan, 0/0, another payload), written to ClickHouse directly.
 */
const TABLE = floatSpecialsSpec('float_events');

/** Every 10 minutes over three days, one row an instant; f and r cycle through the special floats. */
const ROWS = `SELECT t, (ARRAY['h1', 'h2', NULL])[1 + g.n % 3],
    (ARRAY['-0', '0', 'NaN', NULL, 'Infinity', '-Infinity', '1.5', '-0', 'NaN', '0', '-1.5'])[1 + g.n % 11]::float8,
    (ARRAY['NaN', '-0', NULL, '0', '-Infinity', 'Infinity', 'NaN'])[1 + g.n % 7]::real
  FROM generate_series(timestamptz '2026-01-01 00:00+00', timestamptz '2026-01-03 23:50+00', interval '10 minutes') WITH ORDINALITY g(t, n)`;
const W = '2026-01-03T00:00:00Z';
/** Late rows: below W, yet in the hot table, each the latest of its value in the cold range. */
const LATE = `SELECT timestamptz '2026-01-02 23:55+00' + i * interval '1 second', 'h1', v, v::real
  FROM unnest(ARRAY['-0', 'NaN', '-Infinity']::float8[]) WITH ORDINALITY u(v, i)`;
const PASSWORD = 'float-top-k-secret';

jest.setTimeout(60_000);

describe('top-k with float partition keys through the proxy', () => {
  let bed: DifferentialBed;
  let fx: TieredFixture;
  let client: Client;

  const coldRead = (sql: string) => topKColdRead(client, fx.cold, sql);

  const expectSame = (sql: string) => expectSameAnswer(bed, sql);

  beforeAll(async () => {
    bed = await startDifferentialBed(TABLE, {
      reference: 'float_reference', rows: ROWS, late: LATE,
      partitions: ['2026-01-01T00:00:00Z', '2026-01-05T00:00:00Z'], watermark: W, password: PASSWORD,
    });
    ({ fx, client } = bed);
    await addColdNanVariants(bed, '2026-01-02 23:50:00');
    const cold = `${fx.database}.float_events`;
    const bits = await fx.cold.query<{ n: string }>(`SELECT uniqExact(reinterpretAsUInt64(f)) AS n FROM ${cold} WHERE isNaN(f)`);
    // nan, -nan (x86's 0/0 too) and the other payload.
    expect(Number(bits[0].n)).toBeGreaterThanOrEqual(3);
  }, 180_000);

  afterAll(async () => {
    await bed?.close();
  });

  it('ClickHouse partitions on the normalised key as PostgreSQL does: -0 with 0, every NaN together, NULL alone', async () => {
    const values = `[toNullable(-0.), 0., nan, ${NAN_VARIANTS.join(', ')}, NULL, NULL, inf, -inf, 1.]`;
    for (const type of ['Float64', 'Float32']) {
      const key = partitionKeySql({ column: 'x', float: true });
      const rows = await fx.cold.query<{ s: string; peers: string }>(
        `SELECT toString(x) AS s, count() OVER (PARTITION BY ${key}) AS peers FROM (SELECT CAST(arrayJoin(${values}) AS Nullable(${type})) AS x) ORDER BY s`,
      );
      const peers = Object.fromEntries(rows.map((r) => [r.s ?? 'NULL', Number(r.peers)]));
      expect({ type, peers }).toEqual({ type, peers: { '-0': 2, '0': 2, nan: 4, NULL: 2, inf: 1, '-inf': 1, '1': 1 } });
    }
  });

  it('DISTINCT ON a float reads only candidates and answers as PostgreSQL, cold-only and across W', async () => {
    for (const [col, where] of [
      ['f', `time < '2026-01-02 12:00+00'`],
      ['f', `time < '2026-01-03 06:00+00'`],
      ['r', `time < '2026-01-03 06:00+00'`],
      ['f', `time >= '2026-01-02 12:00+00'`],
    ]) {
      const sql = `SELECT DISTINCT ON (${col}) ${col}, time, host FROM float_events WHERE ${where} ORDER BY ${col}, time DESC`;
      const r = await coldRead(sql);
      expect({ sql, planClass: r.planClass }).toEqual({ sql, planClass: 'top-k' });
      // One candidate per value: -0 and 0 are one, NaNs one, NULL one.
      expect({ sql, candidates: r.rows }).toEqual({ sql, candidates: col === 'f' ? 7 : 5 });
      expect(r.inRange).toBeGreaterThan(40);
      await expectSame(sql);
    }
    // Two keys, one of them a float; NULL host too.
    const twoKeys = `SELECT DISTINCT ON (host, f) host, f, time FROM float_events WHERE time < '2026-01-03 06:00+00' ORDER BY host, f DESC, time DESC`;
    expect((await coldRead(twoKeys)).planClass).toBe('top-k');
    await expectSame(twoKeys);
  });

  it('row_number / rank / dense_rank partitioned by a float, k = 1 and k > 1', async () => {
    const ranked = (fn: string, col: string, k: string, where: string) =>
      `SELECT ${col}, time, host, rn FROM (SELECT ${col}, time, host, ${fn}() OVER (PARTITION BY ${col} ORDER BY time DESC) AS rn FROM float_events WHERE ${where}) s WHERE ${k} ORDER BY ${col}, rn, time`;
    for (const sql of [
      ranked('row_number', 'f', 'rn <= 3', `time < '2026-01-03 06:00+00'`),
      ranked('row_number', 'f', 'rn = 1', `time < '2026-01-02 12:00+00'`),
      ranked('rank', 'r', 'rn < 3', `time < '2026-01-03 12:00+00'`),
      ranked('dense_rank', 'f', 'rn <= 2', `time >= '2026-01-01 12:00+00' AND time < '2026-01-03 01:00+00'`),
    ]) {
      const r = await coldRead(sql);
      expect({ sql, planClass: r.planClass }).toEqual({ sql, planClass: 'top-k' });
      expect(r.rows).toBeLessThanOrEqual(7 * 3);
      expect(r.inRange).toBeGreaterThan(40);
      await expectSame(sql);
    }
  });
});
