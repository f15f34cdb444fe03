import { Counter, Gauge, type Registry } from 'prom-client';
import type { TableStatus } from '@strata/core';

/**
 * Tiering metrics of every TieredTable, read from the catalog (strata.tier_state) by the
 * reconcile that writes its status: so they exist whoever ran tiering — a CronJob's pod
 * that is gone by the time Prometheus scrapes, the in-process scheduler, a manual
 * `strata tier`. Same names as core's per-run metrics (`strata tier --metrics-textfile`,
 * `strata up`), with the TieredTable's namespace as an extra label. Only the leader
 * reconciles, so only the leader has values: dashboards take `max by (namespace, table)`.
 * Refreshed on every reconcile (resync: STRATA_OPERATOR_RESYNC_MS, 60 s by default).
 */
export const TIERING_METRIC = {
  watermark: 'strata_tiering_watermark_seconds',
  lag: 'strata_tiering_lag_seconds',
  lastSuccess: 'strata_tiering_last_success_timestamp_seconds',
  lastRunFailed: 'strata_tiering_last_run_failed',
  rowsMoved: 'strata_tiering_rows_moved_total',
  rows: 'strata_tiering_table_rows',
} as const;

export interface TableLabels {
  namespace: string;
  table: string;
}

export interface TieringGauges {
  observe(labels: TableLabels, status: TableStatus): void;
  /** The TieredTable is gone (or no longer owns its table): its series end. */
  forget(labels: TableLabels): void;
}

export function createTieringGauges(registry: Registry): TieringGauges {
  const registers = [registry];
  const labelNames = ['namespace', 'table'] as const;
  const watermark = new Gauge({ name: TIERING_METRIC.watermark, help: 'The watermark W as Unix time: rows below it live in ClickHouse (from strata.tier_state)', labelNames, registers });
  const lag = new Gauge({ name: TIERING_METRIC.lag, help: 'How far W trails now − hot.retention, in seconds; 0 when caught up', labelNames, registers });
  const lastSuccess = new Gauge({
    name: TIERING_METRIC.lastSuccess,
    help: 'When the last successful tiering run finished (any runner); alert on time() minus this',
    labelNames,
    registers,
  });
  const lastRunFailed = new Gauge({ name: TIERING_METRIC.lastRunFailed, help: '1 when the last tiering run of the table failed (its error is in the status), else 0', labelNames, registers });
  const rowsMoved = new Counter({ name: TIERING_METRIC.rowsMoved, help: 'Rows moved from PostgreSQL to ClickHouse, all runners (strata.tier_state.total_rows_moved)', labelNames, registers });
  const rows = new Gauge({ name: TIERING_METRIC.rows, help: 'Rows per tier as a reader sees them (visible cold rows only)', labelNames: [...labelNames, 'tier'] as const, registers });
  // The catalog's running total, as last seen: the counter moves by the difference.
  const seenMoved = new Map<string, number>();
  const keyOf = (l: TableLabels) => `${l.namespace}\u0000${l.table}`;

  return {
    observe(labels, s) {
      const w = Date.parse(s.watermark);
      if (Number.isFinite(w)) watermark.set(labels, w / 1000);
      if (Number.isFinite(w) && s.lagSeconds !== null) lag.set(labels, s.lagSeconds);
      if (s.lastRun.finishedAt) {
        lastRunFailed.set(labels, s.lastRun.error ? 1 : 0);
        // A failed run overwrites last_finished_at in the catalog: the success before it
        // stays as this process last saw it.
        if (!s.lastRun.error) lastSuccess.set(labels, Date.parse(s.lastRun.finishedAt) / 1000);
      }
      if (s.rowsHot !== null) rows.set({ ...labels, tier: 'hot' }, s.rowsHot);
      if (s.rowsCold !== null) rows.set({ ...labels, tier: 'cold' }, s.rowsCold);
      const key = keyOf(labels);
      const before = seenMoved.get(key);
      if (before === undefined || s.totalRowsMoved < before) {
        // First sight, or the table was dropped and made again: a counter reset.
        rowsMoved.remove(labels);
        rowsMoved.inc(labels, s.totalRowsMoved);
      } else if (s.totalRowsMoved > before) rowsMoved.inc(labels, s.totalRowsMoved - before);
      seenMoved.set(key, s.totalRowsMoved);
    },
    forget(labels) {
      for (const m of [watermark, lag, lastSuccess, lastRunFailed, rowsMoved]) m.remove(labels);
      for (const tier of ['hot', 'cold']) rows.remove({ ...labels, tier });
      seenMoved.delete(keyOf(labels));
    },
  };
}
