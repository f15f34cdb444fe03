import { DEFAULT_MIN_ROWS_PER_ROLLUP_ROW, RollupDensity } from '../../proxy/src/engine/rollup-density';
import { Client } from 'pg';
import { applyTable, runTiering, DATASET_START } from '@strata/core';
import { loadDataset, metricsSpec, tieredFixture, tiererDeps, type TieredFixture } from '../support/tiered-fixture';
import { compareOutcomes, type Outcome } from './corpus/compare';
import { errorOutcome, simpleQuery } from './corpus/runners';
import { closeRollupBed, expectSameAnswer, startRollupProxy, startRollupReference, TWO_ROLLUPS_SPEC, type RollupProxy, type RollupReference } from './rollup-proxy-bed';

/**
 * Rollup-served aggregates through the real proxy (engine/rollup-plan.ts), each answer
 * compared with PostgreSQL holding every row, and EXPLAIN telling whether the rollup
 * was read. Three days of the corpus dataset plus rows between whole minutes, NULL
 * hosts and values, NaN and ±Infinity; two tiering runs (two generations) move the
 * first two days; the 1m rollup (app, host) and a 1h rollup (app; sum and count only).
 */
const W1 = '2026-01-02T00:00:00Z';
const W2 = '2026-01-03T00:00:00Z';

const SPEC = TWO_ROLLUPS_SPEC;

/** The same table after a 2m rollup (app) is added between the two runs: it has no rows of the first. */
const SPEC_LATER = metricsSpec({
  rollups: [...SPEC.rollups, { name: '2m', interval: '2m', groupBy: ['app'], aggregates: { value: ['sum', 'count'] } }],
});

/**
 * App `neg`: minutes of -0 alone (15:00, with a late -0 moved by the second run; the hour of
 * 16:00, late rows too), of -0 and 0 (15:01), of -0 and NULL (15:02), of NULL alone (15:03).
 * PostgreSQL's sum of -0 alone is -0; ClickHouse's sum starts from +0.
 */
const NEGATIVE_ZEROS = `('2026-01-01 15:00:10+00', 'neg', 'h1', '-0', 'info'), ('2026-01-01 15:00:20+00', 'neg', 'h1', '-0', 'info'),
  ('2026-01-01 15:01:10+00', 'neg', 'h1', '-0', 'info'), ('2026-01-01 15:01:20+00', 'neg', 'h1', '0', 'info'),
  ('2026-01-01 15:02:10+00', 'neg', 'h1', '-0', 'info'), ('2026-01-01 15:02:20+00', 'neg', 'h1', NULL, 'info'),
  ('2026-01-01 15:03:10+00', 'neg', 'h1', NULL, 'info'),
  ('2026-01-01 16:00:10+00', 'neg', 'h1', '-0', 'info'), ('2026-01-01 16:05:10+00', 'neg', 'h1', '-0', 'info')`;

/** Rows off the minute grid, NULL hosts and values, NaN and ±Infinity (in their own buckets), in both tiers. */
const EXTRA_ROWS = `INSERT INTO metrics_events (time, app, host, value, level) VALUES
  ('2026-01-01 10:02:31.5+00', 'api', NULL, 5.5, 'info'),
  ('2026-01-01 10:02:45+00', 'api', NULL, NULL, 'info'),
  ('2026-01-01 11:15:07+00', 'web', 'h1', 'NaN', 'info'),
  ('2026-01-01 12:20:00+00', 'db', 'h2', 'Infinity', 'info'),
  ('2026-01-01 12:20:30+00', 'db', 'h2', '-Infinity', 'info'),
  ('2026-01-01 13:40:10+00', 'db', 'h3', 'NaN', 'info'),
  ('2026-01-01 13:40:11+00', 'db', 'h3', 'Infinity', 'info'),
  ('2026-01-01 13:40:12+00', 'db', 'h3', '-Infinity', 'info'),
  ('2026-01-02 20:07:09.999+00', 'web', NULL, 1e10, 'warn'),
  ('2026-01-03 05:05:05+00', 'api', NULL, 2.25, 'warn'),
  ${NEGATIVE_ZEROS}`;

const LATE_ROW = `INSERT INTO metrics_events (time, app, host, value, level) VALUES ('2026-01-01 10:05:20+00', 'api', 'h1', 3.5, 'info'),
  ('2026-01-01 15:00:30+00', 'neg', 'h1', '-0', 'info'), ('2026-01-01 16:10:10+00', 'neg', 'h1', '-0', 'info')`;

const RANGE = `time >= '2026-01-01 10:02:30+00' AND time < '2026-01-02 20:07:10+00'`;
const SPANNING = `time >= '2026-01-02 12:00:17+00' AND time <= '2026-01-03 06:00:00+00'`;
const AGGS = 'avg(value) AS avg, min(value) AS min, max(value) AS max, sum(value) AS sum, count(*) AS n, count(value) AS nv';

jest.setTimeout(60_000);

describe('rollups serve bucketed aggregates through the proxy', () => {
  let fx: TieredFixture;
  let reference: RollupReference;
  let bed: RollupProxy;
  let viaProxy: Client;
  let direct: Client;

  beforeAll(async () => {
    fx = await tieredFixture(SPEC);
    reference = await startRollupReference('strata_rollup_ref', 3 * 1440);
    direct = reference.direct;
    await loadDataset(fx.hot, 'metrics_events', { toMinute: 3 * 1440 }, fx.spec);
    await direct.query(EXTRA_ROWS);
    await fx.hot.query(EXTRA_ROWS);
    await runTiering(tiererDeps(fx.pgUrl, fx.cold, fx.database), { table: 'metrics_events', until: new Date(W1) });
    // A late row below W: the next run moves it, so its bucket has rollup rows of two generations.
    for (const c of [direct, fx.hot]) await c.query(LATE_ROW);
    await applyTable({ hot: fx.hot, cold: fx.cold, coldTarget: { database: fx.database } }, SPEC_LATER, new Date(DATASET_START));
    await runTiering(tiererDeps(fx.pgUrl, fx.cold, fx.database), { table: 'metrics_events', until: new Date(W2) });
    bed = await startRollupProxy(fx);
    viaProxy = bed.viaProxy;
  }, 180_000);

  afterAll(() => closeRollupBed(bed, fx, reference));

  const run = (c: Client, sql: string): Promise<Outcome> => simpleQuery(c, sql).catch(errorOutcome);

  const explain = (sql: string): Promise<string> => bed.explain(sql);

  /** The proxy's answer equals PostgreSQL's; returns the rollup EXPLAIN names, if any. */
  async function check(sql: string): Promise<string | undefined> {
    await expectSameAnswer(direct, viaProxy, sql);
    const plan = await explain(sql);
    const m = /from rollup (\w+) \(/.exec(plan);
    if (m) expect(plan).toMatch('Strata plan class: rollup');
    return m?.[1];
  }

  it('reads a rollup only where it stands for enough raw rows (rollup-density.ts): this data has one raw row per rollup row', async () => {
    const pair = { raw: 'metrics_events', rollup: 'metrics_events__rollup_1m' };
    const counts = await fx.cold.query<{ table: string; n: string }>(
      `SELECT table, toString(sum(rows)) AS n FROM system.parts WHERE active AND database = '${fx.database}' AND table IN ('${pair.raw}', '${pair.rollup}') GROUP BY table`,
    );
    const n = Object.fromEntries(counts.map((c) => [c.table, Number(c.n)]));
    expect(n[pair.rollup]).toBeGreaterThan(0);
    const density = n[pair.raw] / n[pair.rollup];
    expect(density).toBeLessThan(DEFAULT_MIN_ROWS_PER_ROLLUP_ROW);
    expect(await new RollupDensity(fx.cold, fx.database, DEFAULT_MIN_ROWS_PER_ROLLUP_ROW).worthReading([pair])).toEqual(new Set());
    expect(await new RollupDensity(fx.cold, fx.database, Math.floor(density)).worthReading([pair])).toEqual(new Set([pair.rollup]));
    expect(await new RollupDensity(fx.cold, fx.database, 0).worthReading([pair])).toEqual(new Set([pair.rollup]));
  });

  describe('in UTC', () => {
    it.each([
      ['5 minutes', `SELECT time_bucket('5 minutes', time) AS t, app, host, ${AGGS} FROM metrics_events WHERE ${RANGE} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, '1m'],
      ['1 hour', `SELECT time_bucket('1 hour', time) AS t, app, host, ${AGGS} FROM metrics_events WHERE ${RANGE} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, '1m'],
      ['date_trunc hour, NULL hosts grouped', `SELECT date_trunc('hour', time) AS t, host, ${AGGS} FROM metrics_events WHERE ${RANGE} GROUP BY 1, 2 ORDER BY 1, 2 NULLS FIRST`, '1m'],
      ["Grafana's $__timeGroup", `SELECT floor(extract(epoch from time)/300)*300 AS "time", avg(value) FROM metrics_events WHERE time BETWEEN '2026-01-01T06:00:00Z' AND '2026-01-01T18:00:00Z' GROUP BY 1 ORDER BY 1`, '1m'],
      ['spanning W', `SELECT time_bucket('1 hour', time) AS t, app, ${AGGS} FROM metrics_events WHERE ${SPANNING} GROUP BY 1, 2 ORDER BY 1, 2`, '1m'],
      ['a covered WHERE', `SELECT time_bucket('15 minutes', time) AS t, ${AGGS} FROM metrics_events WHERE ${RANGE} AND host IN ('h1', 'h3') AND app <> 'web' GROUP BY 1 ORDER BY 1`, '1m'],
      ['no time grouping', `SELECT app, host, ${AGGS} FROM metrics_events WHERE ${RANGE} GROUP BY 1, 2 ORDER BY 1, 2`, '1m'],
      ['the coarser rollup when it covers', `SELECT time_bucket('1 day', time) AS t, app, sum(value), count(*), avg(value) FROM metrics_events WHERE ${RANGE} GROUP BY 1, 2 ORDER BY 1, 2`, '1h'],
      ['a rollup added after the first run: its generation read raw', `SELECT time_bucket('10 minutes', time) AS t, app, sum(value), count(*) FROM metrics_events WHERE ${RANGE} GROUP BY 1, 2 ORDER BY 1, 2`, '2m'],
      ['HAVING and ORDER BY an aggregate', `SELECT host, max(value) AS m FROM metrics_events WHERE ${RANGE} GROUP BY host HAVING count(*) > 100 ORDER BY m DESC, host`, '1m'],
    ])('%s: served by the rollup', async (_name, sql, rollup) => {
      expect(await check(sql)).toBe(rollup);
    });

    it.each([
      ['90-second buckets', `SELECT time_bucket('90 seconds', time) AS t, avg(value) FROM metrics_events WHERE ${RANGE} GROUP BY 1 ORDER BY 1`],
      ['30-second buckets', `SELECT time_bucket('30 seconds', time) AS t, avg(value) FROM metrics_events WHERE ${RANGE} GROUP BY 1 ORDER BY 1`],
      ['a WHERE on a column the rollup does not keep', `SELECT time_bucket('1 hour', time) AS t, ${AGGS} FROM metrics_events WHERE ${RANGE} AND level = 'error' GROUP BY 1 ORDER BY 1`],
      ['a GROUP BY column the rollup does not keep', `SELECT time_bucket('1 hour', time) AS t, level, count(*) FROM metrics_events WHERE ${RANGE} GROUP BY 1, 2 ORDER BY 1, 2`],
      ['an OR of time ranges', `SELECT time_bucket('1 hour', time) AS t, count(*) FROM metrics_events WHERE time < '2026-01-01 05:00+00' OR time >= '2026-01-01 20:00+00' GROUP BY 1 ORDER BY 1`],
      ['less than one whole bucket', `SELECT count(*), sum(value) FROM metrics_events WHERE time >= '2026-01-01 10:02:10+00' AND time < '2026-01-01 10:02:50+00'`],
    ])('%s: not served, same answer', async (_name, sql) => {
      expect(await check(sql)).toBeUndefined();
    });

    /** The ClickHouse statement EXPLAIN shows for `sql`. */
    async function coldStatement(sql: string): Promise<string> {
      return (await explain(sql)).split('\n').find((l) => l.startsWith('  ClickHouse: '))!;
    }

    it('whole buckets of one generation with no NaN: one SELECT over the rollup, no raw rows', async () => {
      const sql = `SELECT time_bucket('1 hour', time) AS t, app, ${AGGS} FROM metrics_events WHERE time >= '2026-01-01 14:00+00' AND time < '2026-01-01 18:00+00' GROUP BY 1, 2 ORDER BY 1, 2`;
      expect(await check(sql)).toBe('1m');
      const ch = await coldStatement(sql);
      expect(ch).not.toMatch('UNION ALL');
      expect(ch).not.toMatch('FROM `strata_test`.`metrics_events` ');
      expect(await explain(sql)).not.toMatch(/read raw|outside them/);
      // Unbounded below: the cold range starts before the rollup's buckets, but no raw row lies there.
      const all = `SELECT app, host, count(*) AS n, sum(value) AS sum, count(value) AS nv FROM metrics_events GROUP BY 1, 2 ORDER BY 1, 2`;
      expect(await check(all)).toBe('1m');
      expect(await coldStatement(all)).not.toMatch('UNION ALL');
    });

    it('a bucket bound every visible rollup row meets is not sent, and the answer stays PostgreSQL’s', async () => {
      const bounds = (ch: string) => [/`bucket` >= \{/.test(ch), /`bucket` < \{/.test(ch)];
      // No range: every visible bucket lies in [the rollup's retention, W).
      const all = `SELECT app, host, count(*) AS n, sum(value) AS sum, count(value) AS nv FROM metrics_events GROUP BY 1, 2 ORDER BY 1, 2`;
      expect(await check(all)).toBe('1m');
      expect(bounds(await coldStatement(all))).toEqual([false, false]);
      expect(await explain(all)).toMatch('bucket bounds every visible rollup row meets not sent');
      // From the first tiered minute (the dataset's start) to W: still none.
      const fromStart = `SELECT app, count(*) AS n FROM metrics_events WHERE time >= '2026-01-01 00:00+00' AND time < '${W2}' GROUP BY 1 ORDER BY 1`;
      expect(await check(fromStart)).toBe('1h');
      expect(bounds(await coldStatement(fromStart))).toEqual([false, false]);
      // An hour later: the first hour's buckets lie below it (grouped by app alone: the 1h rollup).
      const later = `SELECT app, count(*) AS n FROM metrics_events WHERE time >= '2026-01-01 01:00+00' GROUP BY 1 ORDER BY 1`;
      expect(await check(later)).toBe('1h');
      expect(bounds(await coldStatement(later))).toEqual([true, false]);
      // Ending an hour before W: the last buckets lie above it.
      const earlier = `SELECT app, count(*) AS n FROM metrics_events WHERE time < '2026-01-02 23:00+00' GROUP BY 1 ORDER BY 1`;
      expect(await check(earlier)).toBe('1h');
      expect(bounds(await coldStatement(earlier))).toEqual([false, true]);
    });

    it('edges of the range, NaN buckets and the generation before the rollup: one raw SELECT beside the rollup', async () => {
      // 10:05 holds the late row (the second run's generation, the 2m rollup's first); 11:15 (NaN) and 12:20 (+∞ and −∞: a NaN sum) are read raw for max.
      const sql = `SELECT time_bucket('10 minutes', time) AS t, app, max(value) AS max, sum(value), count(*) FROM metrics_events WHERE ${RANGE} GROUP BY 1, 2 ORDER BY 1, 2`;
      expect(await check(sql)).toBe('1m');
      const plan = await explain(sql);
      expect(plan).toMatch('raw rows outside them');
      expect(plan).toMatch(/[1-9]\d* run\(s\) of buckets with a NaN sum read raw/);
      expect((await coldStatement(sql)).split('UNION ALL')).toHaveLength(2);
      // No min/max: NaN sums do not matter. The 2m rollup has no rows of the first run: those are read raw.
      const later = `SELECT time_bucket('10 minutes', time) AS t, app, sum(value), count(*) FROM metrics_events WHERE ${RANGE} GROUP BY 1, 2 ORDER BY 1, 2`;
      expect(await check(later)).toBe('2m');
      // Generation 3: the apply that added 2m drew 2 as its start (catalog rollup-starts.ts), the second run 3.
      expect(await explain(later)).toMatch(/generations below 3 read raw/);
      expect(await explain(later)).not.toMatch('NaN');
    });

    it('an ungrouped aggregate over buckets with no row: one row, as PostgreSQL gives', async () => {
      await check(`SELECT count(*), max(value), sum(value) FROM metrics_events WHERE time >= '2025-06-01 00:00+00' AND time < '2025-06-02 00:00+00'`);
      await check(`SELECT count(*), max(value), sum(value) FROM metrics_events WHERE time >= '2026-01-01 14:00+00' AND time < '2026-01-01 14:05+00' AND app = 'nope'`);
    });

    it('sums of -0 alone are -0, as PostgreSQL sums them (the rollup stores and combines them so)', async () => {
      const range = `app = 'neg' AND time >= '2026-01-01 15:00+00' AND time < '2026-01-01 17:00+00'`;
      for (const [sql, rollup] of [
        [`SELECT time_bucket('1 minute', time) AS t, host, sum(value) AS s, sum(value)::text AS st, avg(value) AS a, count(value) AS n FROM metrics_events WHERE ${range} GROUP BY 1, 2 ORDER BY 1, 2`, '1m'],
        [`SELECT time_bucket('1 hour', time) AS t, app, sum(value) AS s, -sum(value) AS ns, avg(value) AS a FROM metrics_events WHERE ${range} GROUP BY 1, 2 ORDER BY 1, 2`, '1h'],
      ]) {
        expect(await check(sql)).toBe(rollup);
        // Exact text: -0 and 0 differ.
        expect({ sql, outcome: await run(viaProxy, sql) }).toEqual({ sql, outcome: await run(direct, sql) });
      }
      const stored = await run(viaProxy, `SELECT bucket, value__sum FROM metrics_events__rollup_1m WHERE app = 'neg' ORDER BY 1`);
      expect(stored.ok && stored.rows.map((r) => r[1])).toEqual(['-0', '0', '-0', null, '-0', '-0', '-0']);
    });

    it('SET strata.rollups = off reads raw cold rows, same answer; RESET serves again', async () => {
      const sql = `SELECT time_bucket('1 hour', time) AS t, app, ${AGGS} FROM metrics_events WHERE ${RANGE} GROUP BY 1, 2 ORDER BY 1, 2`;
      await viaProxy.query('SET strata.rollups = off');
      try {
        expect(await check(sql)).toBeUndefined();
        expect(await explain(sql)).toMatch('Strata plan class: partials');
      } finally {
        await viaProxy.query('RESET strata.rollups');
      }
      expect(await check(sql)).toBe('1m');
    });
  });

  describe.each(['America/New_York', 'Asia/Kolkata'])('in %s', (zone) => {
    beforeAll(async () => {
      await direct.query(`SET TimeZone = '${zone}'`);
      await viaProxy.query(`SET TimeZone = '${zone}'`);
    });
    afterAll(async () => {
      await direct.query('RESET TimeZone');
      await viaProxy.query('RESET TimeZone');
    });

    it('time_bucket by hour and by day (UTC-aligned): served', async () => {
      expect(await check(`SELECT time_bucket('1 hour', time) AS t, app, ${AGGS} FROM metrics_events WHERE ${RANGE} GROUP BY 1, 2 ORDER BY 1, 2`)).toBe('1m');
      expect(await check(`SELECT time_bucket('1 day', time) AS t, app, ${AGGS} FROM metrics_events WHERE ${SPANNING} GROUP BY 1, 2 ORDER BY 1, 2`)).toBe('1m');
    });

    it("date_trunc by hour and by day (the session's calendar): the same answer as PostgreSQL", async () => {
      await check(`SELECT date_trunc('hour', time) AS t, host, ${AGGS} FROM metrics_events WHERE ${RANGE} GROUP BY 1, 2 ORDER BY 1, 2 NULLS LAST`);
      await check(`SELECT date_trunc('day', time) AS t, app, ${AGGS} FROM metrics_events WHERE time >= '2026-01-01 07:00' AND time < '2026-01-03 02:00' GROUP BY 1, 2 ORDER BY 1, 2`);
    });
  });

  describe('read over the wire as metrics_events__rollup_<name>', () => {
    /** The rollup's rows as PostgreSQL computes them from every raw row (the range holds no NaN). */
    const fromRaw = (where: string) =>
      `SELECT date_bin('1 minute', time, TIMESTAMPTZ '2000-01-01 00:00+00') AS bucket, app, host, sum(value) AS value__sum, count(value) AS value__count,
              min(value) AS value__min, max(value) AS value__max, count(*) AS _rows FROM metrics_events WHERE ${where} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`;

    it("returns the committed rows, one per bucket and group (two generations' rows combined)", async () => {
      const cols = 'bucket, app, host, value__sum, value__count, value__min, value__max, _rows';
      const sql = `SELECT ${cols} FROM metrics_events__rollup_1m WHERE bucket >= '2026-01-01 10:00+00' AND bucket < '2026-01-01 11:00+00' AND app = 'api' ORDER BY 1, 2, 3`;
      const expected = await run(direct, fromRaw(`time >= '2026-01-01 10:00+00' AND time < '2026-01-01 11:00+00' AND app = 'api'`));
      const actual = await run(viaProxy, sql);
      expect(compareOutcomes(expected, actual, true)).toBeUndefined();
      // One app: 60 minutes × 10 hosts, and the NULL host's bucket.
      expect(actual.ok && actual.rows.length).toBe(60 * 10 + 1);
      expect(await explain(sql)).toMatch('metrics_events__rollup_1m');
    });

    it('Grafana-style aggregates over it, and a bound parameter (extended protocol)', async () => {
      // Hours with no NaN or ±Infinity: there the rollup's sums are PostgreSQL's (up to float rounding).
      const sql = `SELECT time_bucket('1 hour', bucket) AS "time", app, sum(value__sum) / sum(value__count) AS avg, sum(_rows) AS n
                     FROM metrics_events__rollup_1m WHERE bucket BETWEEN '2026-01-01T14:00:00Z' AND '2026-01-02T11:59:00Z' GROUP BY 1, 2 ORDER BY 1, 2`;
      const raw = `SELECT time_bucket('1 hour', time) AS "time", app, avg(value) AS avg, count(*)::numeric AS n
                     FROM metrics_events WHERE time >= '2026-01-01T14:00:00Z' AND time < '2026-01-02T12:00:00Z' GROUP BY 1, 2 ORDER BY 1, 2`;
      expect(compareOutcomes(await run(direct, raw), await run(viaProxy, sql), true)).toBeUndefined();
      const p = await viaProxy.query({
        text: 'SELECT count(*) AS n, sum(_rows) AS rows FROM metrics_events__rollup_1m WHERE bucket >= $1 AND bucket < $2',
        values: ['2026-01-01 00:00+00', '2026-01-01 01:00+00'],
        rowMode: 'array',
      });
      expect(p.rows).toEqual([['1800', '1800']]);
    });

    it('refuses writes with 42809', async () => {
      for (const sql of [
        'DELETE FROM metrics_events__rollup_1m',
        "INSERT INTO metrics_events__rollup_1m (bucket) VALUES ('2026-01-01')",
        "UPDATE metrics_events__rollup_1m SET _rows = 0",
        'TRUNCATE metrics_events__rollup_1m',
      ]) {
        const o = await run(viaProxy, sql);
        expect(o).toMatchObject({ ok: false, code: '42809' });
      }
      // The session is unharmed.
      expect((await run(viaProxy, 'SELECT 1')).ok).toBe(true);
    });
  });

  it('a cold delete: generations it reaches are read raw (pending and applied), later ones from the rollup', async () => {
    const sql = `SELECT time_bucket('1 hour', time) AS t, app, host, ${AGGS} FROM metrics_events WHERE ${RANGE} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`;
    const del = `DELETE FROM metrics_events WHERE host = 'h4' AND time >= '2026-01-01 11:30:20+00' AND time < '2026-01-02 03:00+00'`;
    await direct.query(del);
    await viaProxy.query(del);
    // Pending: the tombstone reaches both generations, so no rollup row is read.
    let plan = await explain(sql);
    expect(plan).toMatch(/generations ≤ \d+ \(reached by cold deletes\) read raw/);
    expect(await check(sql)).toBe('1m');
    // Applied by the next tiering run (which also moves day three: generation 3).
    await runTiering(tiererDeps(fx.pgUrl, fx.cold, fx.database), { table: 'metrics_events', until: new Date('2026-01-03T12:00:00Z') });
    const applied = await fx.hot.query("SELECT count(*)::int AS n FROM strata.cold_deletes WHERE applied_at IS NOT NULL");
    expect(applied.rows[0].n).toBe(1);
    expect(await check(sql)).toBe('1m');
    const late = `SELECT time_bucket('1 hour', time) AS t, app, ${AGGS} FROM metrics_events WHERE time >= '2026-01-02 18:00+00' AND time < '2026-01-03 12:00+00' GROUP BY 1, 2 ORDER BY 1, 2`;
    expect(await check(late)).toBe('1m');
    plan = await explain(late);
    expect(plan).toMatch('metrics_events__rollup_1m');
  });
});
