import type { Client, Pool } from 'pg';
import { DATASET_START, runTiering } from '@strata/core';
import { createTierEngine, loadCatalogSnapshot, type TierEngine } from '../../proxy/src/engine';
import { resolveProxyConfig } from '../../proxy/src/config';
import { compareOutcomes } from './corpus/compare';
import { createReferenceTable, loadDataset, metricsSpec, tieredFixture, tiererDeps, type TieredFixture } from '../support/tiered-fixture';
import { engineSession, startEngineBed, type EngineBed } from './differential-bed';

/**
 * Short ranges stay cheap (issue 14, item 5; engine/small-cold-answer.ts): a SELECT whose
 * cold answer is small (a top-N, a few partial groups) gets it as array parameters, with
 * no temporary table; a large one is still staged in a temporary table. Either way the
 * answer is PostgreSQL's over every row — NULLs, NaN, non-ASCII text and tabs, backslashes
 * and newlines in values included.
 */
const DAY = 24 * 60;
const W = new Date(DATASET_START + DAY * 60_000).toISOString();
const session = engineSession('UTC');

describe('short ranges: small cold answers inline', () => {
  let bed: EngineBed;
  let fx: TieredFixture;
  let pool: Pool;
  let ref: Client;
  let engine: TierEngine;
  const logged: Array<{ msg: string; obj: Record<string, unknown> }> = [];
  let rowsSeen: Array<Array<string | null>> = [];

  beforeAll(async () => {
    fx = await tieredFixture(metricsSpec());
    await loadDataset(fx.hot, 'metrics_events', { toMinute: 2 * DAY }, fx.spec);
    // Values COPY and array literals escape differently: both tiers get some.
    const odd = `UPDATE %T SET trace_id = E'tab\\there\\\\ back\\nnew "quoted" {braced,} Zeitüberschreitung ☃', value = 'NaN' WHERE time IN ('2026-01-01T23:58:00Z', '2026-01-02T00:01:00Z') AND host = 'h1'`;
    await fx.hot.query(odd.replace('%T', 'metrics_events'));
    await createReferenceTable(fx.hot);
    await fx.hot.query('INSERT INTO reference_rows SELECT * FROM metrics_events');
    await runTiering(tiererDeps(fx.pgUrl, fx.cold, fx.database), { table: 'metrics_events', until: new Date(W) });
    const logger = { debug: (obj: Record<string, unknown>, msg: string) => logged.push({ msg, obj }), warn: () => undefined };
    bed = await startEngineBed(fx, { logger, timeZone: 'UTC' });
    ({ pool, ref, engine } = bed);
  }, 120_000);

  afterAll(async () => bed?.close());

  async function expectPostgresAnswer(sql: string): Promise<string[]> {
    logged.length = 0;
    const r = await engine.execute({ sql, params: [], paramTypes: [] }, session);
    const rows: Array<Array<string | null>> = [];
    for await (const row of r.rows) rows.push(row);
    const expected = await ref.query({ text: sql.replace(/metrics_events/g, 'reference_rows'), rowMode: 'array' });
    const fields = r.fields.map((f) => ({ name: f.name, typeOid: f.typeOid }));
    expect(compareOutcomes({ ok: true, fields, rows: expected.rows }, { ok: true, fields, rows }, /ORDER BY/i.test(sql))).toBeUndefined();
    expect(rows.length).toBeGreaterThan(0);
    rowsSeen = rows;
    return logged.map((l) => l.msg).filter((m) => m.startsWith('cold rows'));
  }

  it('inlines a top-N over minutes around W (odd text, NaN and NULL values among them)', async () => {
    const how = await expectPostgresAnswer(
      `SELECT time, app, host, value, trace_id FROM metrics_events WHERE time >= '2026-01-01T23:55:00Z' AND time < '2026-01-02T00:00:00Z' ORDER BY time DESC, app, host LIMIT 40`,
    );
    expect(how).toEqual(['cold rows inlined']);
    expect(rowsSeen.some((r) => r[3] === 'NaN' && String(r[4]).includes('\t') && String(r[4]).includes('☃'))).toBe(true);
  });

  it('inlines the raw rows of a short span and the partial groups of a 5-minute dashboard', async () => {
    expect(await expectPostgresAnswer(`SELECT time, host, value, trace_id FROM metrics_events WHERE time BETWEEN '2026-01-01T23:57:00Z' AND '2026-01-02T00:02:00Z' AND host = 'h1' ORDER BY 1, 2, 4`)).toEqual([
      'cold rows inlined',
    ]);
    expect(
      // Half an hour of hot rows: too few to aggregate beside ClickHouse (hot-partials.ts).
      await expectPostgresAnswer(`SELECT time_bucket('5 minutes', time) AS b, count(*), avg(value), max(value) FROM metrics_events WHERE time >= '2026-01-01T12:00:00Z' AND time < '2026-01-02T00:30:00Z' GROUP BY 1 ORDER BY 1`),
    ).toEqual(['cold rows inlined']);
    // A day of them is: the hot partials and then the cold ones in the partial table.
    expect(
      await expectPostgresAnswer(`SELECT time_bucket('5 minutes', time) AS b, count(*), avg(value), max(value) FROM metrics_events WHERE time >= '2026-01-01T12:00:00Z' GROUP BY 1 ORDER BY 1`),
    ).toEqual(['cold rows loaded']);
  });

  it("inlines SELECT * in the hot table's own column order, read with the tier state (a dropped column in it)", async () => {
    await fx.hot.query('ALTER TABLE metrics_events ADD COLUMN scratch int');
    await fx.hot.query('ALTER TABLE metrics_events DROP COLUMN scratch');
    // Ascending: the first rows are cold (descending, the hot tier would hold the first 45: hot-top-n.ts).
    expect(await expectPostgresAnswer(`SELECT * FROM metrics_events WHERE time >= '2026-01-01T23:58:00Z' AND time < '2026-01-02T00:02:00Z' ORDER BY time, app, host LIMIT 45`)).toEqual([
      'cold rows inlined',
    ]);
  });

  it('stages a large cold answer in a temporary table', async () => {
    // A day of raw rows (about 43,000, several MiB of text) is past the inline bound.
    const how = await expectPostgresAnswer(`SELECT count(DISTINCT (time, host, app, value, trace_id)) FROM (SELECT * FROM metrics_events OFFSET 0) t`);
    expect(how).toEqual(['cold rows loaded']);
  });

  it('bounds raw cold rows, inlined or staged: 54000 naming the limit and the cold rows in range', async () => {
    const bounded = createTierEngine({ hot: pool, cold: fx.cold, coldDatabase: fx.database, catalog: await loadCatalogSnapshot(fx.hot), maxRawColdRows: 1000 });
    const run = async (sql: string) => {
      const r = await bounded.execute({ sql, params: [], paramTypes: [] }, session);
      for await (const row of r.rows) void row;
    };
    // A join is finished in PostgreSQL from raw rows. A comma join's time range is pushed:
    // two hours, 3,600 cold rows, a small answer (inlined) past the row bound.
    const comma = `SELECT count(*) FROM metrics_events m, (VALUES ('h1'), ('h2')) AS v (h) WHERE m.host = v.h AND m.time >= '2026-01-01T22:00:00Z' AND m.time < '2026-01-02T00:00:00Z'`;
    await expect(run(comma)).rejects.toMatchObject({ sqlState: '54000', message: expect.stringMatching(/1000 rows .*cold rows in range: 3,600$/) });
    // Nothing of an explicit JOIN is pushed: the whole cold day, 43,200 rows, staged, stopped
    // on its way into PostgreSQL and counted by ClickHouse.
    const join = `SELECT count(*) FROM metrics_events m JOIN (VALUES ('h1'), ('h2')) AS v (h) ON m.host = v.h WHERE m.time >= '2026-01-01T22:00:00Z'`;
    await expect(run(join)).rejects.toMatchObject({ sqlState: '54000', message: expect.stringMatching(/1000 rows .*cold rows in range: 43,200$/) });
    // Partials and top-N are not bounded; the engine goes on answering.
    await run(`SELECT count(*) FROM metrics_events`);
    await run(`SELECT time FROM metrics_events ORDER BY time LIMIT 2000`);
  });

  it('gives its own statements a default statement timeout where the session has none (the proxy: 5 minutes)', async () => {
    expect(resolveProxyConfig({ backendUrl: fx.pgUrl, users: { u: 'p' } }).statementTimeoutMs).toBe(300_000);
    const catalog = await loadCatalogSnapshot(fx.hot);
    const run = async (e: TierEngine, sql: string) => {
      const r = await e.execute({ sql, params: [], paramTypes: [] }, session);
      const rows: unknown[] = [];
      for await (const row of r.rows) rows.push(row);
      return rows;
    };
    // One row, cold and hot, each sleeping 0.3 s in the statement PostgreSQL finishes.
    const slow = `SELECT time, pg_sleep(0.3)::text FROM metrics_events WHERE host = 'h1' AND app = 'api' AND time IN ('2026-01-01T23:59:00Z', '2026-01-02T00:00:00Z') ORDER BY time`;
    const limited = createTierEngine({ hot: pool, cold: fx.cold, coldDatabase: fx.database, catalog, statementTimeoutMs: 200 });
    await expect(run(limited, slow)).rejects.toMatchObject({ sqlState: '57014', message: expect.stringMatching(/statement timeout/) });
    // Fast statements are unaffected; without the default the slow one answers.
    expect(await run(limited, `SELECT count(*) FROM metrics_events`)).toHaveLength(1);
    expect(await run(createTierEngine({ hot: pool, cold: fx.cold, coldDatabase: fx.database, catalog }), slow)).toHaveLength(2);
  });
});
