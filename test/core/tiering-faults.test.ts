import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { getTierState, hotChecksum } from '@strata/core';
import { createReferenceTable, loadDataset, metricsSpec, tieredChecksum, tieredFixture, type TieredFixture } from '../support/tiered-fixture';
import { runCli, type CliRun } from '../support/cli';

/**
 * Exactly-once under faults: the real CLI process is SIGKILLed at each step of a run
 * while a writer keeps inserting current and late rows; a rerun then completes, and
 * every acknowledged row is in exactly one tier. Also: ClickHouse or PostgreSQL lost
 * mid-run fail the run with a clear error, and the next run completes.
 */
jest.setTimeout(300_000);

describe('tiering under faults', () => {
  let fx: TieredFixture;
  let ref: string;
  let env: Record<string, string>;
  let writer: Writer;

  beforeAll(async () => {
    fx = await tieredFixture(metricsSpec({ tiering: { every: '5m', batchRows: 5000 } }));
    await loadDataset(fx.hot, 'public.metrics_events', { toMinute: 5 * 1440 }, fx.spec);
    ref = await createReferenceTable(fx.hot);
    await loadDataset(fx.hot, ref, { toMinute: 5 * 1440 });
    env = { STRATA_PG_URL: fx.pgUrl, STRATA_CLICKHOUSE_URL: fx.chUrl, STRATA_CLICKHOUSE_DATABASE: fx.database };
    writer = new Writer(fx.pgUrl, ref);
    await writer.start();
  });
  afterAll(async () => {
    await writer?.stop();
    await fx?.close();
  });

  const tier = (until: string, extra: Record<string, string> = {}): CliRun =>
    runCli(['tier', '--table', 'metrics_events', '--until', until], { ...env, STRATA_CLICKHOUSE_URL: fx.chUrl, ...extra });

  async function killAt(step: string, until: string): Promise<void> {
    const run = tier(until, { STRATA_TEST_PAUSE_AT: step });
    await Promise.race([
      run.paused,
      run.exited.then((r) => {
        throw new Error(`tierer exited before reaching ${step}: ${r.stderr}`);
      }),
    ]);
    run.child.kill('SIGKILL');
    const r = await run.exited;
    expect(r.signal).toBe('SIGKILL');
  }

  async function completes(until: string): Promise<string> {
    const r = await tier(until).exited;
    if (r.code !== 0) throw new Error(`rerun failed: ${r.stderr}`);
    return r.stdout;
  }

  test.each([
    ['copy-batch', '2026-01-02T00:00:00Z', 'mid-copy'],
    ['copied', '2026-01-02T12:00:00Z', 'after the copy, before W advances'],
    ['verified', '2026-01-03T00:00:00Z', 'after verification, before W advances'],
    ['committed', '2026-01-03T12:00:00Z', 'after W advances, before the drop'],
  ])('killed at %s (%s → W=%s), a rerun completes', async (step, until) => {
    await writer.burst(); // late and current rows keep arriving between runs
    await killAt(step, until);
    await writer.burst();
    await completes(until);
    const state = (await getTierState(fx.hot, 'metrics_events'))!;
    expect(state.watermark?.toISOString()).toBe(new Date(until).toISOString());
    expect(state.runningGen).toBeNull();
  });

  test('a second tierer for the same table is refused while one runs', async () => {
    const first = tier('2026-01-03T18:00:00Z', { STRATA_TEST_PAUSE_AT: 'copy-batch' });
    await first.paused;
    const second = await tier('2026-01-03T18:00:00Z').exited;
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/another tierer is running for table "metrics_events"/);
    first.child.kill('SIGKILL');
    await first.exited;
    await completes('2026-01-03T18:00:00Z'); // the killed holder's session lock died with it
  });

  test('killed mid late-row sweep (W unchanged), a rerun completes', async () => {
    await writer.burst(2000); // enough late rows for several batches
    const state = (await getTierState(fx.hot, 'metrics_events'))!;
    const late = await fx.hot.query<{ n: string }>('SELECT count(*)::text AS n FROM metrics_events WHERE time < $1', [state.watermark]);
    expect(Number(late.rows[0].n)).toBeGreaterThan(0);
    await killAt('copy-batch', state.watermark!.toISOString());
    await completes(state.watermark!.toISOString());
    const after = await fx.hot.query<{ n: string }>('SELECT count(*)::text AS n FROM metrics_events WHERE time < $1', [state.watermark]);
    // Only rows the writer added after the sweep's DELETE started may remain; they are still readable in PostgreSQL.
    expect(Number(after.rows[0].n)).toBeLessThan(Number(late.rows[0].n));
  });

  test('ClickHouse lost mid-run: clear error, next run completes', async () => {
    const textfile = join(mkdtempSync(join(tmpdir(), 'strata-metrics-')), 'tiering.prom');
    const args = ['tier', '--table', 'metrics_events', '--until', '2026-01-04T00:00:00Z', '--metrics-textfile', textfile];
    const run = runCli(args, { ...env, STRATA_CLICKHOUSE_URL: fx.chUrl, STRATA_TEST_PAUSE_AT: 'copy-batch', STRATA_TEST_PAUSE_MS: '1500' });
    await run.paused;
    await fx.stopClickHouse();
    const r = await run.exited;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ClickHouse/);
    expect(readFileSync(textfile, 'utf8')).toContain('strata_tiering_runs_total{table="metrics_events",outcome="TIER_COLD_STORE"} 1');
    await fx.restartClickHouse();
    const ok = await runCli(args, { ...env, STRATA_CLICKHOUSE_URL: fx.chUrl }).exited; // a restarted endpoint has a new port
    expect(ok.code).toBe(0);
    expect(readFileSync(textfile, 'utf8')).toMatch(/strata_tiering_rows_moved_total\{table="metrics_events"\} [1-9]/);
  });

  test('PostgreSQL connection lost mid-run: clear error, next run completes', async () => {
    const run = tier('2026-01-04T12:00:00Z', { STRATA_TEST_PAUSE_AT: 'copy-batch', STRATA_TEST_PAUSE_MS: '1500' });
    await run.paused;
    const admin = new Client({ connectionString: fx.pgUrl });
    await admin.connect();
    // What a crashed or restarted server does to the tierer's session.
    await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE '%DELETE FROM%'`,
    );
    await admin.end();
    const r = await run.exited;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/PostgreSQL|terminat|connection/i);
    await completes('2026-01-04T12:00:00Z');
  });

  test('every acknowledged row is in exactly one tier', async () => {
    await writer.stop();
    expect(writer.acknowledged).toBeGreaterThan(0);
    await completes('2026-01-04T12:00:00Z'); // sweep what the writer left below W
    const expected = await hotChecksum(fx.hot, fx.spec, ref);
    const actual = await tieredChecksum(fx);
    expect(actual.total).toEqual(expected);
    const hotBelow = await fx.hot.query<{ n: string }>("SELECT count(*)::text AS n FROM metrics_events WHERE time < '2026-01-04T12:00:00Z'");
    expect(hotBelow.rows[0].n).toBe('0');
  });
});

/**
 * Inserts rows in small committed transactions — current ones (day 5) and late ones
 * (day 1, below any watermark the test sets) — and records each acknowledged row in
 * the reference table only after its insert committed.
 */
class Writer {
  acknowledged = 0;
  private n = 0;
  private running = false;
  private loop: Promise<void> | null = null;
  private client: Client;

  constructor(url: string, private readonly ref: string) {
    this.client = new Client({ connectionString: url });
  }

  async start(): Promise<void> {
    await this.client.connect();
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        await this.burst(20);
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
  }

  private busy: Promise<void> = Promise.resolve();

  /** Inserts `rows` rows (half late), serialised with the background loop. */
  burst(rows = 200): Promise<void> {
    const next = this.busy.then(() => this.insert(rows));
    this.busy = next.catch(() => undefined);
    return next;
  }

  private async insert(rows: number): Promise<void> {
    const values: string[] = [];
    const params: unknown[] = [];
    for (let i = 0; i < rows; i++) {
      const k = this.n++;
      const late = k % 2 === 0;
      const t = new Date(Date.UTC(2026, 0, late ? 1 : 5, 0, 0, 0) + (k % 86_400) * 1000 + 123);
      params.push(t.toISOString(), late ? 'late' : 'live', `w${k % 7}`, JSON.stringify({ k, late }), k / 3, `t${k}`, 'info');
      const b = params.length - 7;
      values.push(`($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}, $${b + 7})`);
    }
    const sql = (table: string) => `INSERT INTO ${table} (time, app, host, labels, value, trace_id, level) VALUES ${values.join(', ')}`;
    await this.client.query(sql('metrics_events'), params);
    this.acknowledged += rows;
    await this.client.query(sql(this.ref), params);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.loop;
    await this.busy;
    await this.client.end();
  }
}
