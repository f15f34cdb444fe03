import { expectSameAnswer, startDifferentialBed, type DifferentialBed } from './differential-bed';
import { floatSpecialsSpec } from './float-specials';

/**
 * sum() of double precision and real columns whose non-NULL values are all -0, through the
 * real proxy against PostgreSQL holding every row, compared as exact text (`-0` vs `0`).
 * PostgreSQL's sum takes its first input as the state, so it is -0 exactly when every
 * non-NULL input is; ClickHouse's sum starts from +0. Hosts set where the zeros lie:
 * `coldneg` -0 below W and NULL above, `neg` -0 everywhere (late hot rows below W too),
 * `mix` 0 below W and -0 above, `xim` the other way round, `both` both in each tier,
 * `nulls` -0 and NULL, `none` NULL only, `nan` -0 and NaN, `cancel` -1, 1 and -0 (sums to
 * +0 in any order), `tiny` -0 and the smallest negative subnormal of each type (a sum with the
 * sign bit in every input that is not 0). k (an integer) drives FILTERs and a whole aggregate.
 * avg beside: PostgreSQL's own sum inside avg starts from +0 (never -0), and its Sx / N has
 * no underflow check (`tiny`'s average is a subnormal or -0, where the `/` operator fails).
 */
const TABLE = floatSpecialsSpec('fsum_events', [{ name: 'k', type: 'integer' }]);

const W = '2026-01-03T00:00:00Z';

const ROWS = `SELECT t, h, z::float8, CASE WHEN h = 'tiny' AND z <> '-0' THEN '-1e-45' ELSE z END::real, (n % 7)::int4
  FROM generate_series(timestamptz '2026-01-01 00:00+00', timestamptz '2026-01-03 23:50+00', interval '10 minutes') WITH ORDINALITY g(t, n),
    LATERAL (SELECT (ARRAY['coldneg', 'neg', 'mix', 'xim', 'both', 'nulls', 'none', 'nan', 'cancel', 'tiny'])[1 + n % 10] AS h) host,
    LATERAL (SELECT CASE h WHEN 'coldneg' THEN CASE WHEN t < '${W}' THEN '-0' END
        WHEN 'neg' THEN '-0'
        WHEN 'mix' THEN CASE WHEN t < '${W}' THEN '0' ELSE '-0' END
        WHEN 'xim' THEN CASE WHEN t < '${W}' THEN '-0' ELSE '0' END
        WHEN 'both' THEN (ARRAY['-0', '0'])[1 + n / 10 % 2]
        WHEN 'nulls' THEN CASE WHEN n / 10 % 2 = 0 THEN '-0' END
        WHEN 'none' THEN NULL
        WHEN 'nan' THEN CASE WHEN n / 10 % 5 = 0 THEN 'NaN' ELSE '-0' END
        WHEN 'cancel' THEN (ARRAY['-1', '1', '-0'])[1 + n / 10 % 3]
        ELSE (ARRAY['-0', '-4.9406564584124654e-324'])[1 + n / 10 % 2] END AS z) zero`;

/** Late rows: below W, in the hot table: -0 of `neg` and of `coldneg`. */
const LATE = `SELECT timestamptz '2026-01-02 23:55+00' + i * interval '1 second', h, '-0'::float8, '-0'::real, 1
  FROM unnest(ARRAY['neg', 'coldneg']) WITH ORDINALITY u(h, i)`;

const RANGES = {
  'a cold-only range': `time < '2026-01-02 12:00+00'`,
  'a range spanning W': `time >= '2026-01-02 00:00+00' AND time < '2026-01-03 12:00+00'`,
  'every row': `time >= '2026-01-01 00:00+00' AND time < '2026-01-04 00:00+00'`,
};

jest.setTimeout(60_000);

describe('sum() of float columns holding only -0', () => {
  let bed: DifferentialBed;

  const planClass = async (sql: string) =>
    /Strata plan class: (\S+)/.exec((await bed.client.query(`EXPLAIN ${sql}`)).rows.map((r) => r['QUERY PLAN']).join('\n'))?.[1];

  beforeAll(async () => {
    bed = await startDifferentialBed(TABLE, {
      reference: 'fsum_reference', rows: ROWS, late: LATE,
      partitions: ['2026-01-01T00:00:00Z', '2026-01-05T00:00:00Z'], watermark: W, password: 'float-neg-zero-sum-secret',
    });
  }, 180_000);

  afterAll(async () => {
    await bed?.close();
  });

  it('the reference shows -0 for the groups of -0 alone (the data can tell)', async () => {
    const { rows } = await bed.ref.query(`SELECT host, sum(f)::text AS f, sum(r)::text AS r FROM fsum_reference GROUP BY host ORDER BY host`);
    const negative = rows.filter((row) => row.f === '-0').map((row) => row.host);
    expect(negative).toEqual(['coldneg', 'neg', 'nulls']);
    expect(rows.filter((row) => row.r === '-0').map((row) => row.host)).toEqual(negative);
  });

  describe.each(Object.entries(RANGES))('%s', (_, range) => {
    it('sum, sum FILTER and sums in expressions, grouped by host, as partials', async () => {
      const sql = `SELECT host, sum(f) AS f, sum(f) FILTER (WHERE k < 4) AS ff, sum(f)::text AS ft, -sum(f) AS nf, sum(f) * 2 AS f2,
          avg(f) AS af, avg(r) AS ar, avg(f) FILTER (WHERE k >= 2) AS aff, count(f) AS n
        FROM fsum_events WHERE ${range} GROUP BY host ORDER BY host`;
      expect(await planClass(sql)).toBe('partials');
      await expectSameAnswer(bed, sql);
      // sum(real) adds in float4 (float4pl): finished in PostgreSQL from raw rows.
      await expectSameAnswer(bed, `SELECT host, sum(r) AS r, sum(r) FILTER (WHERE k >= 2) AS rf, -sum(r) AS nr FROM fsum_events WHERE ${range} GROUP BY host ORDER BY host`);
    });

    it('per day and host, and with no GROUP BY', async () => {
      await expectSameAnswer(bed, `SELECT date_trunc('day', time) AS d, host, sum(f) AS f, avg(f) AS a FROM fsum_events WHERE ${range} GROUP BY 1, 2 ORDER BY 1, 2`);
      for (const host of ['coldneg', 'neg', 'mix', 'nulls', 'none', 'nan', 'tiny']) {
        await expectSameAnswer(bed, `SELECT sum(f) AS f, avg(f) AS a, sum(f) FILTER (WHERE k = 3) AS ff FROM fsum_events WHERE ${range} AND host = '${host}'`);
      }
    });

    it('beside a whole aggregate (ClickHouse sums the cold and the shipped hot rows)', async () => {
      const sql = `SELECT host, sum(f) AS f, sum(f) FILTER (WHERE k < 4) AS ff, avg(f) AS af, avg(r) AS ar, count(DISTINCT k) AS dk FROM fsum_events WHERE ${range} GROUP BY host ORDER BY host`;
      expect(await planClass(sql)).toBe('whole');
      await expectSameAnswer(bed, sql);
    });
  });
});
