import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'pg';
import { applyTable, getTierState, hotChecksum, tableStatuses } from '@strata/core';
import { createReferenceTable, metricsSpec, tieredChecksum, tieredFixture, type TieredFixture } from '../support/tiered-fixture';
import { runCli } from '../support/cli';
import { startProxyProcess } from '../support/proxy-process';

/**
 * Values the cold tier cannot hold (ClickHouse DateTime64 as the tierer writes it:
 * 1900-01-01 ≤ t < 2255-01-01; ±infinity) must not stop tiering. PostgreSQL refuses
 * them at write time, by constraints `strata apply` makes on new tables and adds to
 * existing ones; a run that still meets one (a table from before the constraint) sets
 * the row aside in strata.quarantine, counts it, and moves every other row exactly once.
 */
jest.setTimeout(180_000);

const RANGE = /1900-01-01 00:00:00\+00.*2255-01-01 00:00:00\+00/;

// No cold.retention: a row before 1900 is then not "expired" and must be met by the move.
const spec = metricsSpec({
  columns: [...metricsSpec().columns, { name: 'received_at', type: 'timestamptz' }],
  cold: { orderBy: ['app', 'host', 'time'], partitionBy: 'day' },
  rollups: [],
});

const insert = (hot: Client, table: string, time: string, host: string, receivedAt: string | null = null) =>
  hot.query(`INSERT INTO ${table} (time, app, host, value, received_at) VALUES ($1, 'api', $2, 1.5, $3)`, [time, host, receivedAt]);

async function refusal(hot: Client, time: string, receivedAt: string | null = null): Promise<{ code?: string; message: string; constraint?: string }> {
  try {
    await insert(hot, 'metrics_events', time, 'refused', receivedAt);
  } catch (err) {
    return err as { code?: string; message: string; constraint?: string };
  }
  throw new Error(`insert of time=${time} received_at=${receivedAt} was accepted`);
}

describe('values the cold tier cannot hold', () => {
  describe('refused at write time on a table strata apply made', () => {
    let fx: TieredFixture;
    beforeAll(async () => {
      fx = await tieredFixture(spec);
    });
    afterAll(async () => fx?.close());

    test.each([
      ['infinity', null],
      ['-infinity', null],
      ['1899-12-31 23:59:59.999999+00', null],
      ['2255-01-01 00:00:00+00', null],
      ['10000-01-01 00:00:00+00', null],
      ['2026-01-01 00:00:00+00', 'infinity'],
      ['2026-01-01 00:00:00+00', '1800-01-01 00:00:00+00'],
    ])('time=%s received_at=%s: SQLSTATE 23514 naming the constraint and the range', async (time, receivedAt) => {
      const e = await refusal(fx.hot, time, receivedAt);
      expect(e.code).toBe('23514');
      expect(e.message).toMatch(RANGE);
      expect(e.message).toMatch(receivedAt ? /received_at/ : /"time"/);
      expect(e.constraint).toBe(receivedAt ? 'metrics_events_received_at_cold_range' : 'metrics_events_time_cold_range');
    });

    test('through the proxy, a client gets the same refusal', async () => {
      const proxy = await startProxyProcess({ pgUrl: fx.pgUrl, chUrl: fx.chUrl, coldDatabase: fx.database });
      try {
        const e = await proxy.query("INSERT INTO metrics_events (time, app, host, value) VALUES ('infinity', 'api', 'proxied', 1)").then(
          () => null,
          (err: { code?: string; message: string }) => err,
        );
        expect(e).toMatchObject({ code: '23514' });
        expect(e!.message).toMatch(RANGE);
        const ok = await proxy.query("INSERT INTO metrics_events (time, app, host, value) VALUES ('2026-01-01 00:00:00+00', 'api', 'proxied', 1)");
        expect(ok.rowCount).toBe(1);
        await fx.hot.query("DELETE FROM metrics_events WHERE host = 'proxied'");
      } finally {
        await proxy.stop();
      }
    });

    test('the edges of the range are accepted, and move', async () => {
      await insert(fx.hot, 'metrics_events', '1900-01-01 00:00:00+00', 'first', '1900-01-01 00:00:00+00');
      await insert(fx.hot, 'metrics_events', '2254-12-31 23:59:59.999999+00', 'last', '2254-12-31 23:59:59.999999+00');
      const r = await runCli(['tier', '--table', 'metrics_events', '--until', '2026-01-01T00:00:00Z', '--json'], cliEnv(fx)).exited;
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ rows: 1, quarantinedRows: 0 });
    });
  });

  describe('a table from before the constraint', () => {
    let fx: TieredFixture;
    let ref: string;
    const good: Array<[string, string]> = [
      ['2025-12-31 10:00:00+00', 'g1'],
      ['2025-12-31 23:59:59.999999+00', 'g2'],
      ['2026-01-01 00:30:00+00', 'g3'],
      ['2026-01-02 00:00:00+00', 'g4'],
    ];

    beforeAll(async () => {
      fx = await tieredFixture(spec);
      // What a table applied by an earlier strata looks like: no range constraints.
      await fx.hot.query('ALTER TABLE metrics_events DROP CONSTRAINT IF EXISTS metrics_events_time_cold_range');
      await fx.hot.query('ALTER TABLE metrics_events DROP CONSTRAINT IF EXISTS metrics_events_received_at_cold_range');
      ref = await createReferenceTable(fx.hot);
      await fx.hot.query(`ALTER TABLE ${ref} ADD COLUMN received_at timestamptz`);
      for (const [t, host] of good) {
        await insert(fx.hot, 'metrics_events', t, host);
        await insert(fx.hot, ref, t, host);
      }
      await insert(fx.hot, 'metrics_events', 'infinity', 'bad-inf');
      await insert(fx.hot, 'metrics_events', '-infinity', 'bad-neg-inf');
      await insert(fx.hot, 'metrics_events', '1800-06-01 00:00:00+00', 'bad-1800');
      await insert(fx.hot, 'metrics_events', '2300-01-01 00:00:00+00', 'bad-2300');
      await insert(fx.hot, 'metrics_events', '2025-12-31 12:00:00+00', 'bad-received', 'infinity');
    });
    afterAll(async () => fx?.close());

    test('a run sets the rows aside, counts them (JSON, text, metric, status), and moves the rest exactly once', async () => {
      const textfile = join(mkdtempSync(join(tmpdir(), 'strata-metrics-')), 'tiering.prom');
      const r = await runCli(['tier', '--table', 'metrics_events', '--until', '2026-01-01T00:00:00Z', '--json', '--metrics-textfile', textfile], cliEnv(fx)).exited;
      expect(r.stderr).not.toMatch(/getTime|Error/);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ rows: 2, quarantinedRows: 5, watermark: '2026-01-01T00:00:00.000Z' });
      expect(readFileSync(textfile, 'utf8')).toContain('strata_tiering_rows_quarantined_total{table="metrics_events"} 5');

      const q = await fx.hot.query<{ host: string; reason: string; gen: string }>(
        "SELECT row->>'host' AS host, reason, gen::text AS gen FROM strata.quarantine WHERE table_name = 'metrics_events' ORDER BY row->>'host'",
      );
      expect(q.rows.map((x) => x.host)).toEqual(['bad-1800', 'bad-2300', 'bad-inf', 'bad-neg-inf', 'bad-received']);
      expect(q.rows.find((x) => x.host === 'bad-received')!.reason).toMatch(/received_at/);
      expect(q.rows.find((x) => x.host === 'bad-inf')!.reason).toMatch(RANGE);
      const state = (await getTierState(fx.hot, 'metrics_events'))!;
      expect(q.rows[0].gen).toBe(String(state.committedGen));

      const expected = await hotChecksum(fx.hot, fx.spec, ref);
      const actual = await tieredChecksum(fx);
      expect(actual.total).toEqual(expected);
      expect(actual.cold.rows).toBe(2);

      const [s] = await tableStatuses(fx.hot, fx.cold, { database: fx.database });
      expect(s).toMatchObject({ rowsHot: 2, rowsCold: 2, rowsQuarantined: 5 });

      const text = await runCli(['tier', '--table', 'metrics_events', '--until', '2026-01-01T00:00:00Z'], cliEnv(fx)).exited;
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/moved 0 rows/);
      expect(text.stdout).not.toMatch(/set aside/);
    });

    test('re-applying adds the constraints: new bad values are refused; existing ones are set aside, then the next apply validates', async () => {
      await insert(fx.hot, 'metrics_events', '-infinity', 'bad-before-apply');
      // Above W, in the default partition, in an hour a run will make a partition for.
      await insert(fx.hot, 'metrics_events', '2026-01-03 05:00:00+00', 'bad-received-ahead', 'infinity');
      const applied = await applyTable({ hot: fx.hot, cold: fx.cold, coldTarget: { database: fx.database } }, spec);
      expect(applied.action).toBe('updated');
      expect(applied.changes.join('\n')).toMatch(/time.*1 existing row/);
      expect(await validated(fx.hot)).toEqual({ metrics_events_received_at_cold_range: false, metrics_events_time_cold_range: false });
      expect((await refusal(fx.hot, 'infinity')).code).toBe('23514');
      expect((await refusal(fx.hot, '2026-01-01 00:00:00+00', '-infinity')).code).toBe('23514');

      const r = await runCli(['tier', '--table', 'metrics_events', '--until', '2026-01-01T00:00:00Z'], cliEnv(fx)).exited;
      expect(r.code).toBe(0);
      expect(r.stderr).not.toMatch(/Error/);
      expect(r.stdout).toMatch(/; set aside 2 rows the cold tier cannot hold \(strata\.quarantine\)/);

      const again = await applyTable({ hot: fx.hot, cold: fx.cold, coldTarget: { database: fx.database } }, spec);
      expect(again.action).toBe('updated');
      expect(await validated(fx.hot)).toEqual({ metrics_events_received_at_cold_range: true, metrics_events_time_cold_range: true });
      const third = await applyTable({ hot: fx.hot, cold: fx.cold, coldTarget: { database: fx.database } }, spec);
      expect(third.action).toBe('unchanged');
    });
  });
});

function cliEnv(fx: TieredFixture): Record<string, string> {
  return { STRATA_PG_URL: fx.pgUrl, STRATA_CLICKHOUSE_URL: fx.chUrl, STRATA_CLICKHOUSE_DATABASE: fx.database };
}

async function validated(hot: Client): Promise<Record<string, boolean>> {
  const r = await hot.query<{ conname: string; convalidated: boolean }>(
    "SELECT conname, convalidated FROM pg_constraint WHERE conrelid = 'public.metrics_events'::regclass AND contype = 'c' ORDER BY conname",
  );
  return Object.fromEntries(r.rows.map((x) => [x.conname, x.convalidated]));
}
