import { applyTable, runTiering, validateTieredTable } from '@strata/core';
import { loadDataset, metricsSpec, tieredFixture, tiererDeps, type TieredFixture } from '../support/tiered-fixture';
import { closeRollupBed, expectSameAnswer, startRollupProxy, startRollupReference, type RollupProxy, type RollupReference } from './rollup-proxy-bed';

/**
 * Time conditions every visible cold row meets are left out of the ClickHouse read once
 * the engine has read where those rows lie (engine/cold-spans.ts, once per generation
 * set, in the background), and time cells are plain integer divisions where every row
 * lies after 1970 — through the real proxy, every answer PostgreSQL's (holding all rows).
 */
const W1 = '2026-01-01T12:00:00Z';
const W2 = '2026-01-01T18:00:00Z';

/** A late row before 1970: the next run moves it (another generation set, its span reaching below 0). */
const BEFORE_1970 = `INSERT INTO metrics_events (time, app, host, value, level) VALUES ('1969-12-31 23:30:00.25+00', 'api', 'h1', 4.5, 'info')`;

const DAY_MAX = (from: string) =>
  `SELECT time_bucket('1 day', time) AS t, host, max(value) AS max, count(*) AS n FROM metrics_events WHERE time >= '${from}' GROUP BY 1, 2 ORDER BY 1, 2`;

/** A cold-only table: the gateway writes its rows straight to ClickHouse, all in generation 0. */
const DIRECT = validateTieredTable({
  table: 'direct_events',
  mode: 'cold-only',
  timeColumn: 'time',
  columns: [
    { name: 'time', type: 'timestamptz' },
    { name: 'host', type: 'text' },
    { name: 'value', type: 'double precision' },
  ],
  cold: { orderBy: ['time'] },
});
const directRows = (from: string, n: number) => `SELECT toDateTime64('${from}', 6, 'UTC') + toIntervalMinute(number), concat('h', toString(number % 3)), number / 4 FROM numbers(${n})`;
const referenceRows = (from: string, n: number) =>
  `SELECT timestamptz '${from}+00' + n * interval '1 minute', 'h' || (n % 3), n / 4.0 FROM generate_series(0, ${n - 1}) n`;

jest.setTimeout(60_000);

describe('time conditions every visible cold row meets are left out', () => {
  let fx: TieredFixture;
  let reference: RollupReference;
  let bed: RollupProxy;

  /** The ClickHouse statement EXPLAIN shows. */
  const coldStatement = async (sql: string) => (await bed.explain(sql)).split('\n').find((l) => l.startsWith('  ClickHouse: '))!;
  /** EXPLAIN until the span is read (the first statement of a generation set starts the read). */
  async function spanRead(sql: string, sent: RegExp): Promise<string> {
    for (let i = 0; i < 100; i++) {
      const ch = await coldStatement(sql);
      if (!sent.test(ch)) return ch;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`still sent after 2 s: ${sent}`);
  }
  const same = (sql: string) => expectSameAnswer(reference.direct, bed.viaProxy, sql);

  beforeAll(async () => {
    // No cold retention: a row before 1970 is moved, not expired (tierer.ts).
    fx = await tieredFixture(metricsSpec({ cold: { orderBy: ['app', 'host', 'time'], partitionBy: 'day' } }));
    reference = await startRollupReference('strata_cold_spans_ref', 1440);
    await loadDataset(fx.hot, 'metrics_events', { toMinute: 1440 }, fx.spec);
    await runTiering(tiererDeps(fx.pgUrl, fx.cold, fx.database), { table: 'metrics_events', until: new Date(W1) });
    if (!DIRECT.ok) throw new Error(JSON.stringify(DIRECT.errors));
    await applyTable({ hot: fx.hot, cold: fx.cold, coldTarget: { database: fx.database } }, DIRECT.spec);
    await reference.direct.query('CREATE TABLE direct_events (time timestamptz, host text, value float8)');
    bed = await startRollupProxy(fx);
    // Raw partials: the rollup would serve these otherwise.
    await bed.viaProxy.query('SET strata.rollups = off');
  }, 180_000);

  afterAll(() => closeRollupBed(bed, fx, reference));

  it('a lower bound before the first tiered row: sent until the span is read, then left out, with the floor correction', async () => {
    const sql = DAY_MAX('2025-12-01T00:00:00Z');
    await same(sql);
    const read = await spanRead(sql, /`time` >= \{/);
    // Every row after 1970: the day cell is intDiv alone.
    expect(read).not.toMatch('% toInt64(86400000000) < 0');
    await same(sql);
  });

  it('bounds inside the span stay; an upper bound past the last tiered row goes', async () => {
    const inside = DAY_MAX('2026-01-01T06:00:00Z');
    await same(inside);
    expect(await spanRead(inside, /^$/)).toMatch(/`time` >= \{/);
    const before = `SELECT host, count(*) AS n FROM metrics_events WHERE time >= '2026-01-01T00:00:00Z' AND time < '2026-01-01T11:59:00.000001Z' GROUP BY 1 ORDER BY 1`;
    await same(before);
    // The last tiered row is at 11:59 (a row a minute): `< 11:59:00.000001` admits it, and every other.
    expect(await spanRead(before, /`time` [<>]=? \{/)).not.toMatch('`time`');
    const cut = `SELECT host, count(*) AS n FROM metrics_events WHERE time < '2026-01-01T11:59:00Z' GROUP BY 1 ORDER BY 1`;
    await same(cut);
    expect(await coldStatement(cut)).toMatch(/`time` < \{/);
  });

  it('a row before 1970 tiered by the next run: the new span keeps the floor correction, and answers stay PostgreSQL’s', async () => {
    for (const c of [fx.hot, reference.direct]) await c.query(BEFORE_1970);
    await runTiering(tiererDeps(fx.pgUrl, fx.cold, fx.database), { table: 'metrics_events', until: new Date(W2) });
    const sql = DAY_MAX('1969-01-01T00:00:00Z');
    await same(sql);
    const read = await spanRead(sql, /`time` >= \{/);
    expect(read).toMatch('% toInt64(86400000000) < 0');
    await same(sql);
    // A bound between the 1969 row and the first 2026 row is inside the span: it stays.
    const after = DAY_MAX('2000-01-01T00:00:00Z');
    await same(after);
    expect(await coldStatement(after)).toMatch(/`time` >= \{/);
  });

  it('a cold-only table keeps every condition: rows keep arriving in its one generation', async () => {
    const write = async (from: string, n: number) => {
      await fx.cold.command(`INSERT INTO \`${fx.database}\`.direct_events (time, host, value) ${directRows(from, n)}`);
      await reference.direct.query(`INSERT INTO direct_events ${referenceRows(from, n)}`);
    };
    await write('2026-02-01 00:00:00', 600);
    const sql = `SELECT host, count(*) AS n, max(value) AS max FROM direct_events WHERE time >= '2026-01-31T00:00:00Z' AND time < '2026-02-02T00:00:00Z' GROUP BY 1 ORDER BY 1`;
    for (let i = 0; i < 5; i++) await same(sql);
    await new Promise((r) => setTimeout(r, 100));
    expect(await coldStatement(sql)).toMatch(/`time` >= \{.*`time` < \{/);
    // Rows before and after every earlier one, in the same generation: the bounds decide them.
    await write('2026-01-30 23:00:00', 120);
    await write('2026-02-01 23:30:00', 120);
    await same(sql);
  });
});
