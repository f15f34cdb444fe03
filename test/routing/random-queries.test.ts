import type { Client } from 'pg';
import { runTiering } from '@strata/core';
import { loadDataset, tieredFixture, tiererDeps, type TieredFixture } from '../support/tiered-fixture';
import { seededRandom } from '../support/seeded-random';
import { compareOutcomes, formatOutcome } from './corpus/compare';
import { errorOutcome, simpleQuery } from './corpus/runners';
import { closeRollupBed, startRollupProxy, startRollupReference, TWO_ROLLUPS_SPEC, type RollupProxy, type RollupReference } from './rollup-proxy-bed';

/**
 * Randomly composed statements through the real proxy, each answer compared with
 * PostgreSQL holding every row: time ranges around W, around the first and last tiered
 * rows and before 1970's cells; bucketed and plain aggregates (partials, exact partials,
 * whole aggregates, FILTER, rollups on and off; ordered by their keys or by an aggregate
 * with a LIMIT; inside a CTE), DISTINCT, top-N with windows, filters on text, NULL,
 * NaN, ±Infinity, -0 and non-ASCII rows; two sessions' time zones. The plan classes meet
 * in combinations no hand-written case lists (issue 14: a statement through the proxy
 * returns what PostgreSQL alone would, or a clear error).
 *
 * Seeded: STRATA_RANDOM_SEED and STRATA_RANDOM_QUERIES pick another set; a failure names
 * the seed, the statement and both answers.
 */
const SEED = Number(process.env.STRATA_RANDOM_SEED ?? 20261208);
const QUERIES = Number(process.env.STRATA_RANDOM_QUERIES ?? 240);

const W1 = '2026-01-02T00:00:00Z';
const W2 = '2026-01-03T00:00:00Z';

/** Rows off the minute grid: NULL hosts and values, NaN, ±Infinity, -0, non-ASCII text, in both tiers. */
const EXTRA_ROWS = `INSERT INTO metrics_events (time, app, host, value, level) VALUES
  ('2026-01-01 00:00:00+00', 'api', NULL, -0.0, 'info'),
  ('2026-01-01 10:02:31.5+00', 'api', NULL, 5.5, 'info'),
  ('2026-01-01 10:02:45+00', 'api', NULL, NULL, 'info'),
  ('2026-01-01 11:15:07+00', 'web', 'h1', 'NaN', 'error'),
  ('2026-01-01 12:20:00+00', 'db', 'h2', 'Infinity', 'info'),
  ('2026-01-01 12:20:30+00', 'db', 'h2', '-Infinity', 'warn'),
  ('2026-01-01 13:40:10+00', 'zürich-ü', 'hôte', -7.25, 'warn'),
  ('2026-01-01 15:00:10+00', 'neg', 'h1', '-0', 'info'),
  ('2026-01-01 23:59:59.999999+00', 'web', NULL, 1e10, 'warn'),
  ('2026-01-02 20:07:09.999+00', 'web', NULL, 1e-300, 'warn'),
  ('2026-01-03 05:05:05+00', 'api', NULL, 2.25, 'error')`;

/** Late rows below W1, moved by the second run (their buckets hold rows of two generations). */
const LATE_ROWS = `INSERT INTO metrics_events (time, app, host, value, level) VALUES
  ('2026-01-01 10:05:20+00', 'api', 'h1', 3.5, 'info'), ('2026-01-01 18:00:00+00', 'zürich-ü', NULL, 'NaN', 'error')`;

/** Instants the ranges are made of: before every row, the first row, around W1 and W2, after every row. */
const INSTANTS = [
  '1969-12-31T23:00:00Z',
  '2025-12-01T00:00:00Z',
  '2026-01-01T00:00:00Z',
  '2026-01-01T00:00:00.000001Z',
  '2026-01-01T10:02:30Z',
  '2026-01-01T12:00:00Z',
  '2026-01-01T23:59:59.999999Z',
  W1,
  '2026-01-02T12:00:17Z',
  '2026-01-02T23:59:59.999999Z',
  W2,
  '2026-01-03T06:00:00Z',
  '2026-01-05T00:00:00Z',
];

const FILTERS = [
  "app = 'api'",
  'host IS NULL',
  "host = 'h1'",
  'value > 50',
  'value IS NOT NULL',
  "level IN ('warn', 'error')",
  "level <> 'info'",
  "host LIKE 'h%'",
  "app ILIKE '%EB%'",
  "app IN ('neg', 'zürich-ü', 'db')",
  'NOT (value < 10)',
];

/** Aggregates whose value does not depend on the order rows are read in. */
const EXACT_AGGREGATES = ['count(*)', 'count(value)', 'max(value)', 'min(value)', 'count(DISTINCT host)', 'max(time)', 'percentile_disc(0.9) WITHIN GROUP (ORDER BY value)'];

const BUCKETS = [
  "time_bucket('1 minute', time)",
  "time_bucket('5 minutes', time)",
  "time_bucket('1 hour', time)",
  "time_bucket('1 day', time)",
  "date_trunc('hour', time)",
  "date_trunc('day', time)",
  'floor(extract(epoch from time)/3600)*3600',
];

const AGGREGATES = [
  'count(*)',
  'count(value)',
  'sum(value)',
  'avg(value)',
  'min(value)',
  'max(value)',
  'count(DISTINCT host)',
  'percentile_cont(0.5) WITHIN GROUP (ORDER BY value)',
  'percentile_disc(0.9) WITHIN GROUP (ORDER BY value)',
  'stddev(value)',
  'min(time)',
  'max(time)',
  "sum(value) FILTER (WHERE level = 'warn')",
  'count(*) FILTER (WHERE host IS NULL)',
  'bool_or(value > 90)',
];

interface Composed {
  sql: string;
  rollupsOff: boolean;
  timeZone: string;
}

function composer(random: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const some = <T>(xs: readonly T[], max: number): T[] => {
    const n = 1 + Math.floor(random() * max);
    return [...new Set(Array.from({ length: n }, () => pick(xs)))];
  };

  function range(): string[] {
    const [a, b] = [pick(INSTANTS), pick(INSTANTS)].sort();
    switch (Math.floor(random() * 6)) {
      case 0:
        return [];
      case 1:
        return [`time >= '${a}'`];
      case 2:
        return [`time < '${b}'`];
      case 3:
        return [`time BETWEEN '${a}' AND '${b}'`];
      case 4:
        return [`time > '${a}'`, `time <= '${b}'`];
      default:
        return [`time >= '${a}'`, `time < '${b}'`];
    }
  }

  function where(): string {
    const conditions = [...range(), ...(random() < 0.4 ? some(FILTERS, 2) : [])];
    return conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
  }

  function aggregate(): string {
    const keys = [...(random() < 0.7 ? [pick(BUCKETS)] : []), ...(random() < 0.5 ? some(['app', 'host', 'level'], 2) : [])];
    // Ordered by an aggregate: the first is exact (a float sum's last bits depend on the order
    // rows are added in, so rows tied on it in one answer may not be in the other).
    const byAggregate = keys.length > 0 && random() < 0.25;
    const aggs = [...(byAggregate ? [pick(EXACT_AGGREGATES)] : []), ...some(AGGREGATES, 4)].map((a, i) => `${a} AS a${i}`);
    const select = [...keys.map((k, i) => `${k} AS k${i}`), ...aggs].join(', ');
    if (keys.length === 0) return `SELECT ${select} FROM metrics_events${where()}`;
    const positions = keys.map((_, i) => String(i + 1)).join(', ');
    const having = random() < 0.2 ? ` HAVING count(*) > ${Math.floor(random() * 40)}` : '';
    const byKeys = keys.map((_, i) => `${i + 1} NULLS FIRST`).join(', ');
    // The first groups by an aggregate ("top 10 hosts by errors"): the keys after it break its ties.
    const order = byAggregate ? `a0 DESC NULLS LAST, ${byKeys} LIMIT ${1 + Math.floor(random() * 12)}` : byKeys;
    const grouped = `SELECT ${select} FROM metrics_events${where()} GROUP BY ${positions}${having}`;
    // Inside a CTE (the occurrence planned within its own SELECT, the outer one finished in PostgreSQL).
    if (random() < 0.15) return `WITH g AS (${grouped}) SELECT * FROM g ORDER BY ${order}`;
    return `${grouped} ORDER BY ${order}`;
  }

  function distinct(): string {
    const columns = some(['app', 'host', 'level'], 3);
    return `SELECT DISTINCT ${columns.join(', ')} FROM metrics_events${where()} ORDER BY ${columns.map((c) => `${c} NULLS FIRST`).join(', ')}`;
  }

  function topN(): string {
    const dir = pick(['', ' DESC']);
    const window = pick(['', ', count(*) OVER (PARTITION BY host ORDER BY time) AS seen', ', rank() OVER (ORDER BY time) AS r', ', value - lag(value) OVER (PARTITION BY app, host ORDER BY time) AS change']);
    const offset = random() < 0.3 ? ` OFFSET ${Math.floor(random() * 30)}` : '';
    // Every column in the order: rows tied on all of them are the same text.
    return `SELECT time, app, host, value${window} FROM metrics_events${where()} ORDER BY time${dir}, app${dir}, host${dir} NULLS FIRST, value LIMIT ${1 + Math.floor(random() * 120)}${offset}`;
  }

  return (): Composed => ({
    sql: ((r) => (r < 0.65 ? aggregate() : r < 0.93 ? topN() : distinct()))(random()),
    rollupsOff: random() < 0.3,
    timeZone: random() < 0.75 ? 'UTC' : 'America/New_York',
  });
}

jest.setTimeout(300_000);

describe('randomly composed statements: every answer PostgreSQL’s', () => {
  let fx: TieredFixture;
  let reference: RollupReference;
  let bed: RollupProxy;

  beforeAll(async () => {
    fx = await tieredFixture(TWO_ROLLUPS_SPEC);
    reference = await startRollupReference('strata_random_ref', 3 * 1440);
    await loadDataset(fx.hot, 'metrics_events', { toMinute: 3 * 1440 }, fx.spec);
    for (const c of [reference.direct, fx.hot]) await c.query(EXTRA_ROWS);
    await runTiering(tiererDeps(fx.pgUrl, fx.cold, fx.database), { table: 'metrics_events', until: new Date(W1) });
    for (const c of [reference.direct, fx.hot]) await c.query(LATE_ROWS);
    await runTiering(tiererDeps(fx.pgUrl, fx.cold, fx.database), { table: 'metrics_events', until: new Date(W2) });
    bed = await startRollupProxy(fx);
  }, 180_000);

  afterAll(() => closeRollupBed(bed, fx, reference));

  /** The statement's outcome on `c` in the composed session; through the proxy, also its plan classes (EXPLAIN). */
  async function outcome(c: Client, q: Composed, settings: string[], classes?: Map<string, number>) {
    await c.query(`SET TimeZone = '${q.timeZone}'`);
    for (const s of settings) await c.query(s);
    try {
      if (classes) {
        const plan = await simpleQuery(c, `EXPLAIN ${q.sql}`).catch(errorOutcome);
        const names = plan.ok ? plan.rows.map((r) => /^Strata plan class: (.*)$/.exec(r[0] ?? '')?.[1]).filter((x) => x !== undefined) : ['EXPLAIN failed'];
        for (const n of names) classes.set(n, (classes.get(n) ?? 0) + 1);
      }
      return await simpleQuery(c, q.sql).catch(errorOutcome);
    } finally {
      if (settings.length > 0) await c.query('RESET strata.rollups');
    }
  }

  it(`${QUERIES} statements of seed ${SEED}`, async () => {
    const next = composer(seededRandom(SEED));
    const failures: string[] = [];
    const classes = new Map<string, number>();
    for (let i = 0; i < QUERIES; i++) {
      const q = next();
      const expected = await outcome(reference.direct, q, []);
      const actual = await outcome(bed.viaProxy, q, q.rollupsOff ? ['SET strata.rollups = off'] : [], classes);
      const diff = expected.ok ? compareOutcomes(expected, actual, true) : `the reference failed: ${formatOutcome(expected)}`;
      if (diff) failures.push(`#${i} (TimeZone ${q.timeZone}${q.rollupsOff ? ', rollups off' : ''}): ${q.sql}\n  ${diff}\n${formatOutcome(expected, 5)}\n${formatOutcome(actual, 5)}`);
    }
    expect(failures.join('\n\n')).toBe('');
    // The set reaches every kind of plan (proxy/src/engine/plan-class.ts).
    process.stdout.write(`plan classes: ${JSON.stringify(Object.fromEntries(classes))}\n`);
    for (const c of ['hot', 'partials', 'whole', 'rollup', 'top-n', 'top-k', 'raw']) expect({ [c]: (classes.get(c) ?? 0) > 0 }).toEqual({ [c]: true });
    expect(classes.get('EXPLAIN failed')).toBeUndefined();
  });
});
