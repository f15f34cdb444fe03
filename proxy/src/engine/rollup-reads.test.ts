import { validateTieredTable, type ColdStore } from '@strata/core';
import { catalogSnapshot } from '../router/catalog-snapshot';
import { loadSqlParser, parseStatements } from '../router/sql-parser';
import type { HotSession } from './hot-session';
import { partialColumns, planStatement } from './plan';
import { rollupColdQuery } from './rollup-plan';
import { RollupReadPolicy } from './rollup-read-policy';
import { chooseRollupReads, type RollupContext } from './rollup-reads';
import type { TierStateRow } from './statement-tables';

/**
 * chooseRollupReads (rollup-reads.ts) with a stand-in session and cold store: whether a
 * rollup is read (the engine's default, the session's setting) and which raw pieces the
 * rollup's coverage (rollup-coverage.ts) leaves in the statement (rollupColdQuery).
 */
const columns = [['time', 'timestamptz'], ['app', 'text'], ['value', 'double precision']].map(([name, type]) => ({ name, type }));
const spec = validateTieredTable({
  table: 'metrics_events',
  timeColumn: 'time',
  columns,
  cold: { orderBy: ['app', 'time'], retention: '3650d' },
  rollups: [{ name: '1m', interval: '1m', groupBy: ['app'], aggregates: { value: ['avg', 'min', 'max', 'count'] } }],
});
if (!spec.ok) throw new Error(JSON.stringify(spec.errors));
const snapshot = catalogSnapshot([spec.spec]);
const us = (iso: string) => BigInt(Date.parse(iso)) * 1000n;
const MINUTE = 60_000_000n;
const NOW = us('2026-03-01T00:00:00Z');
const W = us('2026-02-01T00:00:00Z');
const state: TierStateRow = { w: W, text: '', visibility: '`_strata_gen` <= 7', generations: '`_strata_gen` <= 7', rowSecurity: false };

beforeAll(() => loadSqlParser());

interface Cold {
  firstGen?: string;
  olderRaw?: [string, string];
  raw?: [string, string];
  nanBuckets?: string[];
  /** The visible rollup rows' least and greatest bucket; by default wider than every range here. */
  buckets?: [string, string];
}

/** A cold store answering the coverage's three or four questions, counting them. */
function coldStore(c: Cold): ColdStore & { asked: number } {
  const store = {
    asked: 0,
    async query(sql: string) {
      store.asked++;
      if (sql.includes('minOrNull')) {
        const [lo, hi] = c.buckets ?? ['2020-01-01T00:00:00Z', '2030-01-01T00:00:00Z'];
        return [{ first: c.firstGen ?? null, lo: String(us(lo)), hi: String(us(hi)) }];
      }
      if (sql.includes('AS b FROM')) return (c.nanBuckets ?? []).map((b) => ({ b: String(us(b)) }));
      throw new Error(`not asked as JSON: ${sql}`);
    },
    /** Where raw rows lie (cold-spans.ts readTimeSpan): of generations below the first (`< `), or of any. */
    async queryTsv(sql: string) {
      store.asked++;
      const span = sql.includes('< ') ? c.olderRaw : c.raw;
      return span ? `1\t${us(span[0])}\t${us(span[1])}\n` : '0\t0\t0\n';
    },
  };
  return store as unknown as ColdStore & { asked: number };
}

/** A session answering the rollup context (setting, cold deletes), counting the questions. */
function hotSession(setting: string | null, deletedUpTo?: string): HotSession & { asked: number } {
  const deleted = deletedUpTo === undefined ? null : JSON.stringify({ metrics_events: deletedUpTo });
  const hot = {
    asked: 0,
    query: async () => {
      hot.asked++;
      return { fields: [], rows: [[setting, deleted]], commandTag: 'SELECT 1' };
    },
  };
  return hot as unknown as HotSession & { asked: number };
}

const SQL = "SELECT time_bucket('1 hour', time), app, max(value), count(*) FROM metrics_events WHERE time >= $1 AND time < $2 GROUP BY 1, 2";

async function choose(opts: { cold?: Cold; setting?: string | null; readByDefault?: boolean; deletedUpTo?: string; from?: string; to?: string; context?: RollupContext }) {
  const plan = planStatement(parseStatements(SQL)[0].stmt, snapshot, { utc: true, includeHot: true });
  const store = coldStore(opts.cold ?? { firstGen: '3', raw: ['2026-01-01T00:00:00Z', '2026-01-31T23:59:59Z'] });
  const policy = new RollupReadPolicy(store, 'db', { minRowsPerRollupRow: 0, readByDefault: opts.readByDefault ?? true });
  const values = [us(opts.from ?? '2026-01-10T00:00:00Z'), us(opts.to ?? '2026-01-20T00:00:00Z')];
  const hot = hotSession(opts.setting ?? null, opts.deletedUpTo);
  await chooseRollupReads(hot, plan, new Map([['metrics_events', state]]), values, policy, NOW, opts.context);
  const occ = plan.occurrences[0];
  const sql = occ.rollupRead ? rollupColdQuery(occ, occ.rollupRead, partialColumns(occ), { from: 'raw', where: ['1'], database: 'db' }).sql : undefined;
  return { read: occ.rollupRead, sql, asked: store.asked, policy, store, hotAsked: hot.asked };
}

describe('chooseRollupReads', () => {
  it('reads rollups by default; SET strata.rollups = off does not; with the engine default off, on does', async () => {
    expect((await choose({})).read).toBeDefined();
    expect((await choose({ setting: 'off' })).read).toBeUndefined();
    expect((await choose({ readByDefault: false })).read).toBeUndefined();
    expect((await choose({ readByDefault: false, setting: 'on' })).read).toBeDefined();
  });

  it('whole buckets, one generation set, no NaN: no raw piece (the statement is the rollup SELECT alone)', async () => {
    const { read } = await choose({});
    expect(read).toMatchObject({ from: us('2026-01-10T00:00:00Z'), to: us('2026-01-20T00:00:00Z'), edges: { below: false, above: false }, firstGen: 3n, olderRaw: false, rawBuckets: [] });
  });

  it('edges outside whole buckets are read raw only where raw rows lie', async () => {
    const inside = await choose({ from: '2026-01-10T00:00:30Z', to: '2026-01-20T00:00:10Z' });
    expect(inside.read).toMatchObject({ from: us('2026-01-10T00:01:00Z'), to: us('2026-01-20T00:00:00Z'), edges: { below: true, above: true } });
    // Raw rows start on the 15th: the range's start needs none.
    const later = await choose({ from: '2026-01-10T00:00:30Z', cold: { firstGen: '3', raw: ['2026-01-15T00:00:00Z', '2026-01-31T00:00:00Z'] } });
    expect(later.read?.edges).toEqual({ below: false, above: false });
  });

  it('older generations are read raw only where their rows lie; deleted generations always', async () => {
    const far = await choose({ cold: { firstGen: '3', raw: ['2026-01-01T00:00:00Z', '2026-01-31T00:00:00Z'], olderRaw: ['2026-01-01T00:00:00Z', '2026-01-09T23:59:59Z'] } });
    expect(far.read).toMatchObject({ olderRaw: false, firstGen: 3n });
    const near = await choose({ cold: { firstGen: '3', raw: ['2026-01-01T00:00:00Z', '2026-01-31T00:00:00Z'], olderRaw: ['2026-01-01T00:00:00Z', '2026-01-10T00:00:00Z'] } });
    expect(near.read).toMatchObject({ olderRaw: true, firstGen: 3n });
    expect(near.sql).toMatch('`_strata_gen` < 3');
    const deleted = await choose({ deletedUpTo: '5' });
    expect(deleted.read).toMatchObject({ olderRaw: true, firstGen: 6n, deletedUpTo: 5n });
    expect(deleted.sql).toMatch('`_strata_gen` >= 6');
    // A delete below the rollup's first generation changes nothing it reads.
    expect((await choose({ deletedUpTo: '2' })).read).toMatchObject({ olderRaw: false, firstGen: 3n });
  });

  it('NaN buckets in range are read raw as runs, and left out of the rollup SELECT', async () => {
    const nanBuckets = ['2026-01-05T00:00:00Z', '2026-01-12T10:00:00Z', '2026-01-12T10:01:00Z', '2026-01-13T00:00:00Z'];
    const { read, sql } = await choose({ cold: { firstGen: '3', raw: ['2026-01-10T00:00:00Z', '2026-01-20T00:00:00Z'], nanBuckets } });
    expect(read?.rawBuckets).toEqual([
      { from: us('2026-01-12T10:00:00Z'), to: us('2026-01-12T10:02:00Z') },
      { from: us('2026-01-13T00:00:00Z'), to: us('2026-01-13T00:00:00Z') + MINUTE },
    ]);
    expect(sql).toMatch(/NOT \(\(`bucket` >= .* UNION ALL SELECT/);
  });

  it('takes the context read with the tier states when it covers the tables, else asks the session', async () => {
    const off: RollupContext = { tables: ['metrics_events'], row: ['off', null, null] };
    const covered = await choose({ context: off });
    expect(covered).toMatchObject({ read: undefined, hotAsked: 0 });
    const deleted = await choose({ context: { tables: ['metrics_events'], row: [null, JSON.stringify({ metrics_events: '5' }), null] } });
    expect(deleted).toMatchObject({ read: { firstGen: 6n, deletedUpTo: 5n }, hotAsked: 0 });
    const elsewhere = await choose({ context: { tables: ['other_events'], row: ['off', null, null] } });
    expect(elsewhere.hotAsked).toBe(1);
    expect(elsewhere.read).toBeDefined();
  });

  it('a bucket bound every visible rollup row meets is not sent; one that can leave a row out is', async () => {
    const raw: [string, string] = ['2026-01-01T00:00:00Z', '2026-01-31T00:00:00Z'];
    const wide = await choose({});
    expect(wide.read?.bucketBounds).toEqual({ from: true, to: true });
    expect(wide.sql).toMatch(/`bucket` >= \{p\d+_\d+:DateTime64\(6, 'UTC'\)\} AND `bucket` < \{p\d+_\d+:/);
    // Every visible bucket in [from, to): neither bound.
    const inside = await choose({ cold: { firstGen: '3', raw, buckets: ['2026-01-10T00:00:00Z', '2026-01-19T23:59:00Z'] } });
    expect(inside.read?.bucketBounds).toEqual({ from: false, to: false });
    expect(inside.sql).toMatch(/ WHERE `_strata_gen` <= 7 GROUP BY /);
    // The last bucket at `to` (the range ends before it): the upper bound stays, the lower goes.
    const atTo = await choose({ cold: { firstGen: '3', raw, buckets: ['2026-01-10T00:00:00Z', '2026-01-20T00:00:00Z'] } });
    expect(atTo.read?.bucketBounds).toEqual({ from: false, to: true });
    expect(atTo.sql).toMatch(/WHERE `bucket` < \{/);
    expect(atTo.sql).not.toMatch('`bucket` >=');
    // A bucket before `from`: the lower bound stays.
    const before = await choose({ cold: { firstGen: '3', raw, buckets: ['2026-01-09T23:59:00Z', '2026-01-15T00:00:00Z'] } });
    expect(before.read?.bucketBounds).toEqual({ from: true, to: false });
    // NaN runs are still left out of the rollup's SELECT.
    const nan = await choose({ cold: { firstGen: '3', raw, buckets: ['2026-01-10T00:00:00Z', '2026-01-11T00:00:00Z'], nanBuckets: ['2026-01-10T05:00:00Z'] } });
    expect(nan.sql).toMatch(/WHERE `_strata_gen` <= 7 AND NOT \(\(`bucket` >= /);
  });

  it('no visible rollup row: no rollup read', async () => {
    expect((await choose({ cold: {} })).read).toBeUndefined();
  });

  it('coverage is read once per generation set (cached by the policy)', async () => {
    const { policy, store } = await choose({});
    const before = store.asked;
    await policy.coverage.coverage({ raw: 'metrics_events', rollup: 'metrics_events__rollup_1m', timeColumn: 'time', generations: state.generations, nanColumns: ['value'] });
    expect(store.asked).toBe(before);
    await policy.coverage.coverage({ raw: 'metrics_events', rollup: 'metrics_events__rollup_1m', timeColumn: 'time', generations: '`_strata_gen` <= 8', nanColumns: ['value'] });
    expect(store.asked).toBeGreaterThan(before);
  });
});
