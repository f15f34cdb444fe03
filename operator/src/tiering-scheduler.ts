import type { Logger } from 'pino';
import { ColdStoreError, parseDuration, runTiering, TieringError, TIERING_ERROR_CODES, type ColdStore, type TierRunResult } from '@strata/core';
import type { ConnectionSettings, Connections } from './connections';
import { DEFAULT_CLICKHOUSE_DATABASE } from './connections';
import type { OperatorMetrics } from './metrics';

/**
 * The in-process alternative to CronJobs: one timer per TieredTable, running core's
 * runTiering every `tiering.every` while this replica leads. A run records its result in
 * strata.tier_state (what status reports), and the table's key is requeued so the new
 * watermark and last run reach status at once.
 */

const noCold = (): Promise<never> => Promise.reject(new ColdStoreError('no ClickHouse connection is configured'));
/**
 * Stands in where no ClickHouse is configured; a hot-only run never calls it. A Proxy,
 * so every ColdStore method (present and future) fails the same way.
 */
const NO_COLD_STORE = new Proxy({} as ColdStore, {
  get: (_target, prop) => (prop === 'kind' ? 'http' : prop === 'close' ? async () => undefined : noCold),
});

interface Entry {
  table: string;
  everyMs: number;
  settingsKey: string;
  settings: ConnectionSettings;
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
}

export class TieringScheduler {
  private readonly entries = new Map<string, Entry>();
  private stopped = false;

  constructor(
    private readonly connections: Connections,
    private readonly metrics: OperatorMetrics,
    private readonly log: Logger,
    private readonly onRun: (key: string) => void,
  ) {}

  /** Registers or updates a table's schedule; the first run starts right away. Returns true when it changed. */
  ensure(key: string, table: string, every: string, settings: ConnectionSettings): boolean {
    const everyMs = parseDuration(every);
    const settingsKey = JSON.stringify([settings.pgUrl, settings.clickhouse]);
    const cur = this.entries.get(key);
    if (cur && cur.table === table && cur.everyMs === everyMs && cur.settingsKey === settingsKey) return false;
    if (cur) clearTimeout(cur.timer);
    const entry: Entry = { table, everyMs, settingsKey, settings };
    this.entries.set(key, entry);
    this.arm(key, entry, 0);
    return true;
  }

  remove(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    clearTimeout(e.timer);
    this.entries.delete(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const running = [...this.entries.values()].map((e) => e.running);
    for (const e of this.entries.values()) clearTimeout(e.timer);
    this.entries.clear();
    await Promise.all(running);
  }

  private arm(key: string, entry: Entry, delayMs: number): void {
    if (this.stopped) return;
    entry.timer = setTimeout(() => {
      entry.running = this.runOnce(key, entry).finally(() => {
        entry.running = undefined;
        if (this.entries.get(key) === entry) this.arm(key, entry, entry.everyMs);
      });
    }, delayMs);
    entry.timer.unref();
  }

  private async runOnce(key: string, entry: Entry): Promise<void> {
    // hot-only tables without ClickHouse: their runs only delete expired rows.
    const cold = this.connections.coldStore(entry.settings) ?? NO_COLD_STORE;
    const started = Date.now();
    let result: TierRunResult | undefined;
    try {
      result = await runTiering(
        {
          openHot: () => this.connections.openHot(entry.settings),
          cold,
          coldTarget: { database: entry.settings.clickhouse?.database ?? DEFAULT_CLICKHOUSE_DATABASE },
        },
        { table: entry.table },
      );
      this.metrics.tieringRuns.inc({ result: 'success' });
      this.metrics.tieringRows.inc(result.rows);
      this.log.info({ table: entry.table, rows: result.rows, durationMs: result.durationMs, watermark: result.watermark }, 'tiering run finished');
    } catch (err) {
      // Another run holds the table's lock (a CronJob, a manual `strata tier`): not a failure.
      if (err instanceof TieringError && err.code === TIERING_ERROR_CODES.locked) return;
      this.metrics.tieringRuns.inc({ result: 'error' });
      this.log.warn({ table: entry.table, code: (err as { code?: string }).code, err: (err as Error).message, durationMs: Date.now() - started }, 'tiering run failed');
    }
    this.onRun(key);
  }
}
