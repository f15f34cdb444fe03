import type { Client } from 'pg';
import { floatGroupSql } from '../../proxy/src/engine/float-equality-key';
import type { TieredFixture } from '../support/tiered-fixture';
import { compareOutcomes, type Outcome } from './corpus/compare';
import { coldSqlOf, startDifferentialBed, textOutcome, type DifferentialBed } from './differential-bed';
import { addColdNanVariants, floatSpecialsSpec, NAN_VARIANTS } from './float-specials';

/**
 * Whole aggregates (percentiles, float stddev, count(DISTINCT)) GROUP BY a double
 * precision or real column, through the real proxy against PostgreSQL holding every row.
 * ClickHouse groups cold rows ∪ the shipped hot rows on the float's PostgreSQL-equality
 * key (-0 = 0, every NaN one value) and names each group by one of its own values.
 * PostgreSQL names a group by the first value it met: a group of -0 alone shows -0, one of
 * -0 and 0 either. Hosts set where the zeros lie: `neg` holds -0 only (late hot rows below
 * W too), `mix` 0 below W and -0 above, `xim` the other way round, `both` both in each tier,
 * the NULL host 0 only. The cold tier also holds NaNs PostgreSQL never stores (-nan, 0/0,
 * another payload), the hot tier 'NaN' and -'NaN'. The aggregates read v besides: ties,
 * a NULL now and then.
 */
const TABLE = floatSpecialsSpec('fgroup_events', [{ name: 'v', type: 'double precision' }]);

const W = '2026-01-03T00:00:00Z';

/** Every 10 minutes over three days; f and r cycle through special values, v through ties. */
const ROWS = `SELECT t, h,
    CASE WHEN n % 9 = 0 THEN z::float8 ELSE (ARRAY['NaN', '1e-300', 'Infinity', '-Infinity', NULL, '2.5', '-1e-300', '0.125'])[n % 9]::float8 END,
    CASE WHEN n % 7 = 0 THEN z::real ELSE (ARRAY['NaN', '1e-30', '-Infinity', NULL, '2.5', '1e-45'])[n % 7]::real END,
    CASE WHEN n % 23 = 0 THEN NULL ELSE ((n * 37) % 101)::float8 / 8 END
  FROM generate_series(timestamptz '2026-01-01 00:00+00', timestamptz '2026-01-03 23:50+00', interval '10 minutes') WITH ORDINALITY g(t, n),
    LATERAL (SELECT (ARRAY['neg', 'mix', 'xim', 'both', NULL])[1 + n % 5] AS h) host,
    LATERAL (SELECT CASE h WHEN 'neg' THEN '-0'
        WHEN 'mix' THEN CASE WHEN t < '${W}' THEN '0' ELSE '-0' END
        WHEN 'xim' THEN CASE WHEN t < '${W}' THEN '-0' ELSE '0' END
        WHEN 'both' THEN (ARRAY['-0', '0'])[1 + n / 5 % 2]
        ELSE '0' END AS z) zero`;

/** Late rows: below W, in the hot table (shipped with the range): -0 and -'NaN' (a NaN of other bits) of `neg`. */
const LATE = `SELECT timestamptz '2026-01-02 23:55+00' + i * interval '1 second', 'neg', x, x::real, i::float8
  FROM unnest(ARRAY['-0'::float8, -'NaN'::float8, 12345.5, '-0'::float8]) WITH ORDINALITY u(x, i)`;

/** Cold rows only (the late hot rows lie later). */
const COLD_ONLY = `time < '2026-01-02 12:00+00'`;
/** Reaching the hot tier, its cold side longer (whole pushdown ships the hot side). */
const ACROSS_W = `time >= '2026-01-02 00:00+00' AND time < '2026-01-03 12:00+00'`;
/** Hosts whose zero group holds -0 and 0 in a range: it may show either. */
const MIXED: Record<string, Array<string | null>> = { [COLD_ONLY]: ['both'], [ACROSS_W]: ['mix', 'xim', 'both'] };

const AGGREGATES = `percentile_cont(0.5) WITHIN GROUP (ORDER BY v) AS p50, percentile_disc(0.9) WITHIN GROUP (ORDER BY v) AS p90,
    stddev(v) AS sd, count(DISTINCT v) AS dv, count(*) AS n`;

jest.setTimeout(60_000);

describe('whole aggregates grouped by float columns through the proxy', () => {
  let bed: DifferentialBed;
  let fx: TieredFixture;
  let client: Client;
  let ref: Client;

  async function plan(sql: string): Promise<{ planClass: string; coldSql: string }> {
    const text = (await client.query(`EXPLAIN ${sql}`)).rows.map((r) => r['QUERY PLAN']).join('\n');
    return { planClass: /Strata plan class: (\S+)/.exec(text)?.[1] ?? '?', coldSql: coldSqlOf(text) };
  }

  /**
   * `sql` answers through the proxy as PostgreSQL alone: every value within the float
   * tolerance (stddev's last bits; -0 and 0 compare equal, as a percentile among their ties
   * may land on either) — and the columns `exact` (the group's float, expressions of it)
   * with PostgreSQL's text, -0 included, except in rows whose first column (the host) is
   * one of `mixed`, where a group of -0 and 0 may show either zero.
   */
  async function expectSame(sql: string, exact: number[], mixed: Array<string | null> = []): Promise<void> {
    const either = (o: Outcome): Outcome =>
      o.ok ? { ...o, rows: o.rows.map((row) => row.map((v, i) => (exact.includes(i) && mixed.includes(row[0]) && (v === '-0' || v === '0') ? '±0' : v))) } : o;
    const actual = either(await textOutcome(client, sql));
    const expected = either(await textOutcome(ref, sql.replace(/\bfgroup_events\b/g, 'fgroup_reference')));
    expect({ sql, ok: expected.ok && actual.ok, diff: compareOutcomes(expected, actual, true) }).toEqual({ sql, ok: true, diff: undefined });
    const shown = (o: Outcome) => (o.ok ? o.rows.map((row) => exact.map((i) => row[i])) : []);
    expect({ sql, shown: shown(actual) }).toEqual({ sql, shown: shown(expected) });
  }

  beforeAll(async () => {
    bed = await startDifferentialBed(TABLE, {
      reference: 'fgroup_reference', rows: ROWS, late: LATE,
      partitions: ['2026-01-01T00:00:00Z', '2026-01-05T00:00:00Z'], watermark: W, password: 'float-group-whole-secret',
    });
    ({ fx, client, ref } = bed);
    await addColdNanVariants(bed, '2026-01-03 00:00:00');
  }, 180_000);

  afterAll(async () => {
    await bed?.close();
  });

  it('the data can tell: ClickHouse grouping by the bare column splits zeros and NaNs that PostgreSQL groups as one', async () => {
    const cold = `${fx.database}.fgroup_events`;
    for (const x of ['f', 'r']) {
      const { key } = floatGroupSql(x);
      const [c] = await fx.cold.query<{ raw: string; keyed: string }>(
        `SELECT uniqExact(reinterpretAsUInt64(toFloat64(${x}))) AS raw, uniqExact(${key}) AS keyed FROM ${cold} WHERE isNaN(${x}) OR ${x} = 0`,
      );
      // NaNs of several bit patterns, -0 and 0 vs two keys.
      expect({ x, raw: Number(c.raw) >= (x === 'f' ? 5 : 3), keyed: c.keyed }).toEqual({ x, raw: true, keyed: '2' });
    }
    const hotBits = await ref.query(`SELECT DISTINCT encode(float8send(f), 'hex') AS b FROM fgroup_events WHERE f = 'NaN' OR f = 0 ORDER BY b`);
    expect(hotBits.rows.map((row) => row.b)).toEqual(['0000000000000000', '7ff8000000000000', '8000000000000000', 'fff8000000000000']);
  });

  it('ClickHouse names a keyed group by one of its values: -0 alone stays -0, NaNs of any bits NaN, NULL its own group', async () => {
    for (const type of ['Float64', 'Float32']) {
      const values = `[toNullable(-0.), -0., 0., -0., nan, ${NAN_VARIANTS.join(', ')}, NULL, inf, -inf, 1e-300, 1.]`;
      const source = `(SELECT g, CAST(${values}[g] AS Nullable(${type})) AS x FROM (SELECT arrayJoin(arrayEnumerate(${values})) AS g))`;
      const { key, value } = floatGroupSql('x');
      // Elements 1, 2 and 4 are -0: their group shows -0, not the key's 0.
      const onlyNegative = await fx.cold.query<{ v: string; n: string }>(`SELECT toString(${value}) AS v, toString(count()) AS n FROM ${source} WHERE g IN (1, 2, 4) GROUP BY ${key}`);
      expect({ type, onlyNegative }).toEqual({ type, onlyNegative: [{ v: '-0', n: '3' }] });
      const groups = await fx.cold.query<{ v: string | null; n: string }>(
        `SELECT toString(${value}) AS v, toString(count()) AS n FROM ${source} GROUP BY ${key} ORDER BY ${key} NULLS LAST`,
      );
      const shown = groups.map((g) => [g.v === '0' || g.v === '-0' ? '±0' : g.v === '-nan' ? 'nan' : g.v, g.n]);
      // Float32: 1e-300 rounds to 0 and joins the zeros.
      const expected = type === 'Float64'
        ? [['-inf', '1'], ['±0', '4'], ['1e-300', '1'], ['1', '1'], ['inf', '1'], ['nan', '4'], [null, '1']]
        : [['-inf', '1'], ['±0', '5'], ['1', '1'], ['inf', '1'], ['nan', '4'], [null, '1']];
      expect({ type, shown }).toEqual({ type, shown: expected });
    }
  });

  it('GROUP BY a double precision column, with and without host: cold-only and across W, ORDER BY it both ways', async () => {
    for (const where of [COLD_ONLY, ACROSS_W]) {
      const byHost = `SELECT host, f, f::text AS ft, -f AS negated, ${AGGREGATES} FROM fgroup_events WHERE ${where} GROUP BY host, f ORDER BY host, f`;
      const p = await plan(byHost);
      expect({ byHost, planClass: p.planClass }).toEqual({ byHost, planClass: 'whole' });
      expect(p.coldSql).toContain('any(`f`)');
      expect(p.coldSql).toContain('GROUP BY `host`, if(isNaN(`f`), nan, `f` + 0.)');
      if (where === ACROSS_W) expect(p.coldSql).toMatch(/UNION ALL SELECT .* FROM `strata_scratch`/);
      await expectSame(byHost, [1, 2, 3], MIXED[where]);
      // The zero groups PostgreSQL forms from the proxy's rows hold every zero: count(*) shows it.
      const zeros = `SELECT f = 0 AS zero, count(*), count(DISTINCT v) FROM fgroup_events WHERE ${where} GROUP BY f HAVING f = 0 OR f = 'NaN' ORDER BY 1`;
      expect((await plan(zeros)).planClass).toBe('whole');
      await expectSame(zeros, [0]);
      // -0 alone: must show -0 (and -f 0); DESC NULLS LAST.
      await expectSame(`SELECT host, f, f::text AS ft, -f AS negated, ${AGGREGATES} FROM fgroup_events WHERE ${where} AND host = 'neg' GROUP BY f, host ORDER BY f DESC NULLS LAST`, [1, 2, 3]);
      await expectSame(`SELECT f, ${AGGREGATES} FROM fgroup_events WHERE ${where} AND host = 'neg' GROUP BY 1 ORDER BY 1 NULLS FIRST`, [0]);
      // Every host: the zero group mixes -0 and 0 (compared as one value).
      await expectSame(`SELECT f, ${AGGREGATES} FROM fgroup_events WHERE ${where} GROUP BY 1 ORDER BY 1`, []);
    }
  });

  it('GROUP BY a real column, the aggregates over double precision columns, HAVING and ORDER BY on it', async () => {
    for (const where of [COLD_ONLY, ACROSS_W]) {
      const sql = `SELECT host, r, r::text AS rt, percentile_cont(0.25) WITHIN GROUP (ORDER BY f) AS pf, percentile_disc(0.5) WITHIN GROUP (ORDER BY r) AS pr,
          stddev_pop(v) AS sd, variance(v) AS var, count(DISTINCT f) AS df, count(DISTINCT r) AS dr, count(*)
        FROM fgroup_events WHERE ${where} GROUP BY host, r HAVING r <> 2.5 OR r IS NULL ORDER BY r NULLS FIRST, host`;
      expect((await plan(sql)).planClass).toBe('whole');
      await expectSame(sql, [1, 2], MIXED[where]);
    }
  });

  it('count(DISTINCT) alone (distinct hot rows shipped) and with a time bucket, grouped by both floats', async () => {
    const cases: Array<[string, number[]]> = [
      [`SELECT host, f, r, count(DISTINCT v), count(*) FROM fgroup_events WHERE ${ACROSS_W} GROUP BY host, f, r ORDER BY host, f, r`, [1, 2]],
      [`SELECT host, date_trunc('day', time) AS d, f, count(DISTINCT r), percentile_cont(0.5) WITHIN GROUP (ORDER BY v) FROM fgroup_events WHERE ${ACROSS_W} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, [2]],
    ];
    for (const [sql, exact] of cases) {
      expect((await plan(sql)).planClass).toBe('whole');
      await expectSame(sql, exact, MIXED[ACROSS_W]);
    }
  });

  it('aggregates PostgreSQL evaluates over the grouped rows that could tell -0 from 0 are not pushed whole, and answer as PostgreSQL', async () => {
    for (const sql of [
      `SELECT host, f, count(*) FILTER (WHERE f::text = '-0'), stddev(v) FROM fgroup_events WHERE ${ACROSS_W} GROUP BY host, f ORDER BY host, f`,
      `SELECT host, f, count(DISTINCT f::text), percentile_cont(0.5) WITHIN GROUP (ORDER BY v) FROM fgroup_events WHERE ${COLD_ONLY} GROUP BY host, f ORDER BY host, f`,
      `SELECT host, f, min(f::text), count(DISTINCT v) FROM fgroup_events WHERE ${ACROSS_W} GROUP BY host, f ORDER BY host, f`,
    ]) {
      expect({ sql, whole: (await plan(sql)).planClass === 'whole' }).toEqual({ sql, whole: false });
      // Computed from rows PostgreSQL reads (partials grouped by the column's bits, or raw rows): exact.
      await expectSame(sql, [2]);
    }
  });
});
