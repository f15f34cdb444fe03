import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { DATASET_START, getTierState, hotChecksum, runTiering, TIER_STEPS, type TierStep } from '@strata/core';
import { createReferenceTable, metricsSpec, tieredChecksum, tieredFixture, tiererDeps, type TieredFixture } from '../support/tiered-fixture';

/**
 * Native partitions under full-speed writers: several connections insert current rows,
 * rows past the partitions made ahead (they land in the default partition, which the
 * next run re-homes into a new partition) and late rows below W, while tiering runs one
 * after another on an advancing clock, some dying mid-run. No insert may be refused
 * because tiering reorganises partitions, and every acknowledged row is in exactly one
 * tier at the end (count + checksum against a reference copy).
 */
jest.setTimeout(300_000);

const HOUR = 3_600_000;
const WRITERS = 4; // the last one writes with COPY, as the gateway's batch writers do
const ROWS_PER_INSERT = 10;
const RUNS = 14;

describe('tiering while writers insert at full speed (native partitions)', () => {
  let fx: TieredFixture;
  let ref: string;
  let clock = DATASET_START + 4 * HOUR;
  let watermark = DATASET_START;

  beforeAll(async () => {
    fx = await tieredFixture(metricsSpec({ hot: { chunkInterval: '1h', retention: '2h' }, tiering: { every: '5m', batchRows: 2000 } }));
    ref = await createReferenceTable(fx.hot);
  });
  afterAll(async () => fx?.close());

  test('zero refused inserts through many runs, and every acknowledged row exactly once', async () => {
    const writers = Array.from({ length: WRITERS }, (_, i) => new Writer(fx.pgUrl, ref, i, i === WRITERS - 1, () => ({ now: clock, watermark })));
    await Promise.all(writers.map((w) => w.start()));
    const deps = tiererDeps(fx.pgUrl, fx.cold, fx.database);
    const dieAt: TierStep[] = [TIER_STEPS.copied, TIER_STEPS.verified, TIER_STEPS.committed];
    let completed = 0;
    let reHomed = 0;
    for (let run = 0; run < RUNS; run++) {
      // Writers now park rows in the default partition for [clock + 25h, clock + 26h),
      // beyond every partition made so far; this run makes that partition.
      clock += HOUR;
      await new Promise((r) => setTimeout(r, 300));
      const die = run % 3 === 2 ? dieAt[(run / 3) % dieAt.length | 0] : null;
      const parked = await inDefault(fx.hot, clock + 25 * HOUR, clock + 26 * HOUR);
      const outcome = await runTiering(deps, {
        table: 'metrics_events',
        now: new Date(clock),
        onStep: (p) => {
          if (p.step === die) throw new Error(`killed at ${die}`);
        },
      }).then(
        (r) => r,
        (err: Error) => err,
      );
      if (outcome instanceof Error) expect(outcome.message).toMatch(/killed at/);
      else {
        completed++;
        watermark = Date.parse(outcome.watermark);
      }
      // Rows that sat in the default partition for a range the run made a partition for.
      const after = await inDefault(fx.hot, clock + 25 * HOUR, clock + 26 * HOUR);
      if (parked > 0 && after === 0) reHomed++;
    }
    await Promise.all(writers.map((w) => w.stop()));

    const refused = writers.flatMap((w) => w.refused);
    expect(refused).toEqual([]);
    const acknowledged = writers.reduce((n, w) => n + w.acknowledged, 0);
    expect(acknowledged).toBeGreaterThan(RUNS * 200);
    expect(completed).toBeGreaterThan(RUNS / 2);
    expect(reHomed).toBeGreaterThan(RUNS / 2);

    // A last run sweeps the late rows the writers left below W.
    const last = await runTiering(deps, { table: 'metrics_events', now: new Date(clock) });
    const state = (await getTierState(fx.hot, 'metrics_events'))!;
    expect(state.watermark?.toISOString()).toBe(last.watermark);
    const expected = await hotChecksum(fx.hot, fx.spec, ref);
    expect(expected.rows).toBe(acknowledged);
    const actual = await tieredChecksum(fx);
    expect(actual.cold.rows).toBeGreaterThan(0);
    expect(actual.hot.rows).toBeGreaterThan(0);
    expect(actual.total).toEqual(expected);
  });
});

async function inDefault(hot: Client, from: number, to: number): Promise<number> {
  const r = await hot.query<{ n: string }>('SELECT count(*)::text AS n FROM metrics_events_default WHERE time >= $1 AND time < $2', [
    new Date(from).toISOString(),
    new Date(to).toISOString(),
  ]);
  return Number(r.rows[0].n);
}

/**
 * One connection inserting in a tight loop, autocommit, ROWS_PER_INSERT rows a
 * statement (an INSERT, or a COPY): a third current (within the partitions made ahead), a third just past
 * them (the default partition, until a run makes their partition), a third late (below
 * W). A refused insert is recorded, not retried; an acknowledged one is copied into the
 * reference table.
 */
class Writer {
  acknowledged = 0;
  readonly refused: string[] = [];
  private seq = 0;
  private running = false;
  private loop: Promise<void> | null = null;
  private readonly client: Client;

  constructor(
    url: string,
    private readonly ref: string,
    private readonly id: number,
    private readonly copy: boolean,
    private readonly times: () => { now: number; watermark: number },
  ) {
    this.client = new Client({ connectionString: url });
  }

  async start(): Promise<void> {
    await this.client.connect();
    this.running = true;
    this.loop = (async () => {
      while (this.running) await this.insert();
    })();
  }

  private async insert(): Promise<void> {
    const { now, watermark } = this.times();
    const params: unknown[] = [];
    const values: string[] = [];
    const tsv: string[] = [];
    for (let i = 0; i < ROWS_PER_INSERT; i++) {
      const k = this.seq++;
      const kind = k % 3;
      const t =
        kind === 0
          ? now + Math.floor(Math.random() * HOUR)
          : kind === 1
            ? now + 24 * HOUR + Math.floor(Math.random() * 2 * HOUR)
            : watermark - 1 - Math.floor(Math.random() * 3 * HOUR);
      const row = [new Date(t).toISOString(), ['live', 'ahead', 'late'][kind], `w${this.id}`, JSON.stringify({ k }), k / 7, `w${this.id}-${k}`, 'info'];
      params.push(...row);
      tsv.push(row.join('\t') + '\n');
      const b = params.length - 7;
      values.push(`($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}, $${b + 7})`);
    }
    const sql = (table: string) => `INSERT INTO ${table} (time, app, host, labels, value, trace_id, level) VALUES ${values.join(', ')}`;
    try {
      if (this.copy) {
        const sink = this.client.query(copyFrom('COPY metrics_events (time, app, host, labels, value, trace_id, level) FROM STDIN'));
        await pipeline(Readable.from([tsv.join('')]), sink);
      } else await this.client.query(sql('metrics_events'), params);
    } catch (err) {
      this.refused.push((err as Error).message);
      return;
    }
    this.acknowledged += ROWS_PER_INSERT;
    await this.client.query(sql(this.ref), params);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.client.end();
  }
}
